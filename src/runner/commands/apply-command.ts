/**
 * `apply`: applies exactly the saved plans of the PR's current head commit. Refuses — never
 * re-plans silently — when there is no plan, when the plan was made for an older commit, or when
 * the user lacks write access.
 */
import type { ProjectState } from "../../ports/store.js";
import type { Checkout } from "../../ports/workspace.js";
import { DEFAULT_WORKSPACE, projectFlags, projectKey, projectLabel } from "../../projects/project.js";
import { renderPrComment } from "../../render/pr-comment.js";
import { CheckReporter } from "../reporting/check-reporter.js";
import { postComment, postParts } from "../reporting/comments.js";
import { pullCheckout } from "../pull-checkout.js";
import { discardPlans, restorePlan } from "../saved-plans.js";
import type { ProjectResult } from "../reporting/project-result.js";
import { applyProject } from "../workflow/project-steps.js";
import { renderUnmet } from "../gates/apply-requirements.js";
import { Interrupted, throwIfInterrupted } from "../interrupted.js";
import { pullGate } from "../gates/pull-gate.js";
import { projectsReadiness } from "../gates/readiness.js";
import { fetchRepoConfig } from "../../config/repo-config-source.js";
import { projectSettings, type ProjectSettings } from "../../config/apply-policy.js";
import { renderConfigIssues } from "../../render/config-errors.js";
import type { CommandContext } from "../runner-deps.js";
import { cpuShareEnv } from "../workflow/cpu-share.js";
import { keyedSerializer, peakConcurrency, runInExecutionOrder } from "../execution-order.js";
import { projectRun } from "../project-run.js";
import { hookNotes, hooksFor, runWorkflowHooks } from "../workflow/workflow-hooks.js";
import { automergeAfterApply } from "./automerge.js";

export interface ApplyRequest {
  dir: string;
  workspace: string;
  project: string;
  verbose: boolean;
  /**
   * Set for buttons and re-runs: the commit of the check run that was clicked, and for a plan
   * check run its id — then only the plan that run shows may be applied.
   */
  fromCheckRun?: { id?: number; headSha: string };
  /** Lines added to the end of the apply comment (e.g. who pressed the button). */
  notes?: string[];
}

const WRITE = new Set(["admin", "write"]);

function refused(state: ProjectState, headline: string): ProjectResult {
  return { project: state.project, command: "apply", outcome: "refused", headline, output: "" };
}

/** The states an apply request targets, or an explanation when it targets nothing. */
function targetStates(ctx: CommandContext, req: ApplyRequest, states: ProjectState[]): ProjectState[] | string {
  if (req.project) {
    const match = states.filter((s) => s.project.name === req.project);
    return match.length ? match : `There is no plan for project \`${req.project}\` in this pull request. Comment \`${ctx.name} plan -p ${req.project}\` first.`;
  }
  if (req.dir || req.workspace) {
    const dir = req.dir || ".";
    const workspace = req.workspace || DEFAULT_WORKSPACE;
    const match = states.filter((s) => s.project.dir === dir && s.project.workspace === workspace);
    const flags = projectFlags({ name: "", dir, workspace });
    return match.length ? match : `There is no plan for dir \`${dir}\` workspace \`${workspace}\` in this pull request. Comment \`${ctx.name} plan ${flags}\` first.`;
  }
  const pending = states.filter((s) => s.plan === "success" && s.apply !== "success");
  return pending.length ? pending : `There are no plans to apply in this pull request. Comment \`${ctx.name} plan\` first.`;
}

export async function runApply(ctx: CommandContext, req: ApplyRequest): Promise<void> {
  const { store, workspaces } = ctx.deps;
  const pull = await ctx.github.getPull(ctx.pullNumber);
  const refusal = pullGate(ctx.deps.settings, pull, "apply");
  if (refusal) return postComment(ctx, refusal);

  const permission = await ctx.github.getPermission(ctx.user);
  if (!WRITE.has(permission)) {
    return postComment(
      ctx,
      `**Apply refused:** @${ctx.user} does not have write access to ${ctx.repo.owner}/${ctx.repo.repo} ` +
        `(permission: ${permission}). Only users with write, maintain or admin permission can apply. Nothing was applied.`,
    );
  }
  if (req.fromCheckRun && req.fromCheckRun.headSha !== pull.headSha) {
    return postComment(
      ctx,
      `**Apply refused:** that button belongs to commit ${req.fromCheckRun.headSha.slice(0, 7)}, but the pull request is now at ` +
        `${pull.headSha.slice(0, 7)}. Review the plan of the latest commit and use its Apply button, or comment \`${ctx.name} apply\`.`,
    );
  }

  const states = await store.listProjects(ctx.repo, pull.number);
  const targets = targetStates(ctx, req, states);
  if (typeof targets === "string") return postComment(ctx, `**Nothing applied:** ${targets}`);

  const checks = new CheckReporter(ctx, pull.headSha);
  const results: ProjectResult[] = [];

  /** Why this state cannot be applied, decided without asking GitHub anything. */
  const plainRefusal = (state: ProjectState): string | undefined => {
    const label = projectLabel(state.project);
    const replan = `\`${ctx.name} plan ${projectFlags(state.project)}\``;
    if (state.headSha !== pull.headSha) {
      return `The plan for ${label} was made for commit ${state.headSha.slice(0, 7)}, but the pull request's head is now ${pull.headSha.slice(0, 7)}. Run ${replan} and review the new plan before applying.`;
    }
    if (req.fromCheckRun?.id !== undefined && state.planCheckRunId !== req.fromCheckRun.id) {
      return `That check run shows an older plan of ${label}; it was planned again since. Review the latest plan and apply from it.`;
    }
    if (state.plan === "pending") return `${label} is still being planned.`;
    if (state.plan === "queued") return `${label} is waiting for another pull request's lock and has not been planned.`;
    if (state.plan === "failed") return `The last plan of ${label} failed, so there is nothing to apply. Fix it and run ${replan}.`;
    if (state.apply === "success") return `${label} was already applied at this commit. Run ${replan} to plan again.`;
    return undefined;
  };
  // Nothing to do beyond explaining: no need to read the config.
  if (targets.every((t) => plainRefusal(t))) {
    const results = targets.map((t) => refused(t, plainRefusal(t)!));
    return postParts(ctx, renderPrComment({ command: "apply", name: ctx.name, results, headSha: pull.headSha, notes: req.notes ?? [] }));
  }
  // The config at the head commit decides requirements, workflows, order and locks. An invalid
  // config (pushed after the plan was made) stops everything: nothing is applied under rules
  // Atoll cannot read.
  const loaded = await fetchRepoConfig({ ...ctx, settings: ctx.deps.settings, ...(ctx.deps.policy ? { policy: ctx.deps.policy } : {}) }, pull);
  if (loaded.kind === "invalid") {
    return postComment(
      ctx,
      `**Apply refused:** \`${loaded.file}\` at ${pull.headSha.slice(0, 7)} is invalid, so nothing was applied.\n\n${renderConfigIssues(loaded.errors)}`,
    );
  }
  const config = loaded.config;
  const settingsOf = (state: ProjectState): ProjectSettings => projectSettings(config, state.project);
  // Apply requirements only for what could be applied.
  const candidates = targets.filter((t) => !plainRefusal(t) && t.hasChanges);
  const readiness = candidates.length ? await projectsReadiness(ctx, pull, config, candidates.map((c) => c.project)) : new Map();
  const notes = [...(req.notes ?? [])];
  // The head commit's checkout: this replica's own, or — when the plan was made on another
  // replica, or the checkout was cleaned up — a fresh one of the same commit (the saved plan is
  // in the blob store). Without anything to apply, only an existing one (for hooks).
  let checkout: Checkout | undefined;
  let checkoutError = "";
  try {
    checkout = candidates.length
      ? await pullCheckout(ctx, pull)
      : ((await workspaces.find(ctx.repo.owner, ctx.repo.repo, pull.number, pull.headSha)) ?? undefined);
  } catch (error) {
    checkoutError = (error as Error).message;
  }
  if (checkout && hooksFor(config.policy.preWorkflowHooks, "apply").length) {
    notes.push(...hookNotes(await runWorkflowHooks(ctx, config.policy.preWorkflowHooks, "apply", checkout, pull), "pre"));
  }

  /** Why a project may not be applied before its `depends_on` projects (Atlantis's wording). */
  const unappliedDependencies = async (state: ProjectState): Promise<string[]> => {
    const deps = settingsOf(state).dependsOn;
    if (deps.length === 0) return [];
    const now = await store.listProjects(ctx.repo, pull.number);
    return deps.filter((name) => now.some((s) => s.project.name === name && s.apply !== "success"));
  };

  // Projects sharing a directory never run at the same time (parallel_apply).
  const serialPerDir = keyedSerializer();
  const order = {
    groupOf: (s: ProjectState) => settingsOf(s).executionOrderGroup,
    parallel: config.parallelApply,
    poolSize: ctx.deps.settings.parallelPoolSize,
  };
  // Only projects with a plan to apply run terraform.
  const cpuShare = cpuShareEnv(peakConcurrency(candidates, order));
  // Check-run writes of the projects: queued, not waited for (terraform does not wait for GitHub's
  // pacing); all of them are awaited before the job ends.
  const runWrites: Promise<unknown>[] = [];
  const queueWrite = (write: Promise<unknown>) => {
    write.catch(() => undefined); // handled when awaited below, not an unhandled rejection meanwhile
    runWrites.push(write);
  };
  const applyOne = async (state: ProjectState): Promise<ProjectResult> => {
    const label = projectLabel(state.project);
    const replan = `\`${ctx.name} plan ${projectFlags(state.project)}\``;
    const refusal = plainRefusal(state);
    if (refusal) return refused(state, refusal);
    const pending = await unappliedDependencies(state);
    if (pending.length) {
      return refused(state, `Can't apply your project unless you apply its dependencies: [${pending.join(", ")}]`);
    }
    if (!state.hasChanges) {
      await store.upsertProject(ctx.repo, pull.number, { ...state, apply: "success", updatedAt: new Date().toISOString() });
      return { project: state.project, command: "apply", outcome: "success", headline: "No changes to apply.", output: "" };
    }
    const lockMode = settingsOf(state).repoLocks;
    if (lockMode === "on_apply") {
      const taken = await store.tryLock({
        repo: ctx.repo,
        project: state.project,
        pullNumber: pull.number,
        installationId: ctx.installationId,
        user: ctx.user,
        lockedAt: new Date().toISOString(),
      });
      if (!taken.acquired) {
        return refused(state, `${label} is locked by #${taken.holder.pullNumber} (its lock is taken on apply); apply again when that pull request is merged or closed.`);
      }
    } else if (lockMode === "on_plan") {
      const lock = await store.getLock(ctx.repo, state.project);
      if (!lock || lock.pullNumber !== pull.number) {
        const who = lock ? `#${lock.pullNumber} holds it now` : "nobody holds it";
        return refused(state, `This pull request no longer holds the lock of ${label} (${who}). Run ${replan} first.`);
      }
    }
    const unmet = readiness.get(projectKey(state.project))?.unmet ?? [];
    if (unmet.length) {
      await checks.projectReplaced("apply", state.project, {
        status: "completed",
        conclusion: "failure",
        output: {
          title: "Apply requirements not met",
          summary: `${renderUnmet(unmet)}\n\nNothing was applied. Requirements are checked again on every apply; reviews refresh the plan check run.`,
        },
      });
      return refused(state, `Apply requirements not met for ${label}:\n${renderUnmet(unmet)}`);
    }
    if (!checkout) {
      return { project: state.project, command: "apply", outcome: "failed", headline: "Could not check out the pull request, so nothing was applied.", output: checkoutError };
    }
    const saved = await restorePlan(ctx.deps, state, checkout);
    if ((state.planBlob && !saved) || (!state.planBlob && state.planDigest)) {
      return refused(state, `The saved plan of ${label} is gone (discarded or cleaned up). Run ${replan} first.`);
    }
    const run = await projectRun(ctx, { config, pull, checkout, project: state.project, commentArgs: [] });
    if (!run.ok) return { project: state.project, command: "apply", outcome: "failed", headline: `Cannot apply: ${run.error}`, output: "" };
    await store.upsertProject(ctx.repo, pull.number, { ...state, apply: "pending", updatedAt: new Date().toISOString() });
    queueWrite(checks.projectStarted("apply", state.project));
    const co = checkout;
    const result = await serialPerDir(state.project.dir, () =>
      applyProject(ctx.deps, co, state.project, saved?.file, {
        verbose: req.verbose,
        // A checkout that did not make this plan is initialised first.
        prepare: saved ? saved.restored : !co.reused,
        name: ctx.name,
        ...run.options,
        env: { ...cpuShare, ...run.options.env },
        ...(state.planDigest ? { planDigest: state.planDigest } : {}),
        ...(ctx.onSpawn ? { onSpawn: ctx.onSpawn } : {}),
      }),
    );
    queueWrite(checks.projectFinished("apply", result));
    // Killed by a shutdown: not a result; the interruption is reported instead.
    throwIfInterrupted(ctx);
    const applied = result.outcome === "success";
    const refusedNow = result.outcome === "refused";
    // A plan file is single-use: terraform refuses a stale plan, so drop it after a successful apply.
    if (applied) await discardPlans(ctx.deps, [state]);
    await store.upsertProject(ctx.repo, pull.number, {
      ...state,
      apply: applied ? "success" : refusedNow ? "none" : "failed",
      ...(applied ? { planBlob: undefined } : {}),
      updatedAt: new Date().toISOString(),
    });
    return result;
  };

  try {
    results.push(
      ...(await runInExecutionOrder(
        targets,
        {
          ...order,
          abortOnFailure: config.abortOnExecutionOrderFail,
          failed: (r) => r.outcome === "failed" || r.outcome === "timed_out",
          skipped: (s) =>
            refused(s, "Not applied: a project in an earlier execution order group failed, and the repo config sets `abort_on_execution_order_fail: true`."),
        },
        applyOne,
      )),
    );
  } catch (error) {
    await Promise.allSettled(runWrites);
    if (!(error instanceof Interrupted)) {
      await checks.failOpenRuns(`Atoll hit an internal error while applying: ${(error as Error).message}`);
    }
    throw error;
  }
  if (checkout && hooksFor(config.policy.postWorkflowHooks, "apply").length) {
    notes.push(...hookNotes(await runWorkflowHooks(ctx, config.policy.postWorkflowHooks, "apply", checkout, pull), "post"));
  }
  const shown = results.filter((r) => !projectSettings(config, r.project).silencePrComments.includes("apply"));
  if (shown.length > 0) {
    await postParts(ctx, renderPrComment({ command: "apply", name: ctx.name, results: shown, headSha: pull.headSha, notes }));
  }
  await Promise.all(runWrites);
  // Refusals change nothing; only refresh the aggregates when some project's apply state moved.
  if (results.some((r) => r.outcome !== "refused")) {
    const after = await store.listProjects(ctx.repo, pull.number);
    await checks.refreshAggregates(after);
    // After the aggregates: branch protection may require `atoll/apply` to be green.
    await automergeAfterApply(ctx, pull, config, after);
  }
}
