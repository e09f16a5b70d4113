/**
 * What every project of one apply shares, prepared once: the repo config at the head commit
 * (it decides requirements, workflows, order and locks), the readiness of what could be applied,
 * the head commit's checkout, the pre-workflow hooks' notes, and the queue of check-run writes.
 */
import { projectSettings, type ProjectSettings, type ResolvedRepoConfig } from "../../../config/apply-policy.js";
import { fetchRepoConfig } from "../../../config/repo-config-source.js";
import type { ProjectState } from "../../../ports/store.js";
import type { Checkout } from "../../../ports/workspace.js";
import { renderConfigIssues } from "../../../render/config-errors.js";
import { keyedSerializer, peakConcurrency, type OrderOptions } from "../../execution-order.js";
import { currentPlans, projectsReadiness, type ProjectReadiness } from "../../gates/readiness.js";
import { pullCheckout } from "../../pull-checkout.js";
import type { CheckReporter } from "../../reporting/check-reporter.js";
import type { ProjectResult } from "../../reporting/project-result.js";
import { goRuntimeEnv } from "../../workflow/go-runtime-env.js";
import { hookNotes, hooksFor, runWorkflowHooks } from "../../workflow/workflow-hooks.js";
import { plainRefusal, type ApplyCall } from "./apply-targets.js";

export interface ApplyScope extends ApplyCall {
  checks: CheckReporter;
  config: ResolvedRepoConfig;
  settingsOf: (state: ProjectState) => ProjectSettings;
  /** Apply readiness of the projects that could be applied, by `projectKey`. */
  readiness: Map<string, ProjectReadiness>;
  checkout: Checkout | undefined;
  /** Why there is no checkout, when making it failed. */
  checkoutError: string;
  /** Lines for the end of the apply comment: the request's, then the hooks'. */
  notes: string[];
  order: Pick<OrderOptions<ProjectState, ProjectResult>, "groupOf" | "parallel" | "poolSize">;
  /** Projects sharing a directory never run at the same time (parallel_apply). */
  serialPerDir: ReturnType<typeof keyedSerializer>;
  goEnv: Record<string, string>;
  /**
   * Check-run writes of the projects: queued, not waited for (terraform does not wait for GitHub's
   * pacing); all of them are awaited before the job ends.
   */
  runWrites: Promise<unknown>[];
}

/**
 * Prepare the apply of `targets`. An invalid config (pushed after the plan was made) stops
 * everything: nothing is applied under rules Atoll cannot read — then the refusal to post.
 */
export async function prepareApply(call: ApplyCall, checks: CheckReporter, targets: ProjectState[]): Promise<ApplyScope | string> {
  const { ctx, req, pull } = call;
  const loaded = await fetchRepoConfig({ ...ctx, settings: ctx.deps.settings, ...(ctx.deps.policy ? { policy: ctx.deps.policy } : {}) }, pull);
  if (loaded.kind === "invalid") {
    return `**Apply refused:** \`${loaded.file}\` at ${pull.headSha.slice(0, 7)} is invalid, so nothing was applied.\n\n${renderConfigIssues(loaded.errors)}`;
  }
  const config = loaded.config;
  const settingsOf = (state: ProjectState): ProjectSettings => projectSettings(config, state.project);
  // Apply requirements only for what could be applied.
  const candidates = targets.filter((t) => !plainRefusal(call, t) && t.hasChanges);
  // Approvals count for the plan they saw: bound to each candidate's current plan.
  const readiness = candidates.length ? await projectsReadiness(ctx, pull, config, candidates.map((c) => c.project), { plans: currentPlans(candidates) }) : new Map();
  const notes = [...(req.notes ?? [])];
  const { checkout, checkoutError } = await applyCheckout(call, candidates.length > 0);
  if (checkout && hooksFor(config.policy.preWorkflowHooks, "apply").length) {
    notes.push(...hookNotes(await runWorkflowHooks(ctx, config.policy.preWorkflowHooks, "apply", checkout, pull), "pre"));
  }
  const order = {
    groupOf: (s: ProjectState) => settingsOf(s).executionOrderGroup,
    parallel: config.parallelApply,
    poolSize: ctx.deps.settings.parallelPoolSize,
  };
  // Only projects with a plan to apply run terraform.
  const goEnv = goRuntimeEnv(peakConcurrency(candidates, order), { gogc: ctx.deps.settings.terraformGogc });
  const serialPerDir = keyedSerializer();
  return { ...call, checks, config, settingsOf, readiness, checkout, checkoutError, notes, order, serialPerDir, goEnv, runWrites: [] };
}

/**
 * The head commit's checkout: this replica's own, or — when the plan was made on another
 * replica, or the checkout was cleaned up — a fresh one of the same commit (the saved plan is
 * in the blob store). Without anything to apply, only an existing one (for hooks).
 */
async function applyCheckout({ ctx, pull }: ApplyCall, anythingToApply: boolean): Promise<{ checkout?: Checkout; checkoutError: string }> {
  try {
    const checkout = anythingToApply
      ? await pullCheckout(ctx, pull)
      : ((await ctx.deps.workspaces.find(ctx.repo.owner, ctx.repo.repo, pull.number, pull.headSha)) ?? undefined);
    return { checkout, checkoutError: "" };
  } catch (error) {
    return { checkoutError: (error as Error).message };
  }
}

/** Queue a check-run write of `scope` (awaited before the job ends). */
export function queueWrite(scope: ApplyScope, write: Promise<unknown>): void {
  write.catch(() => undefined); // handled when awaited, not an unhandled rejection meanwhile
  scope.runWrites.push(write);
}
