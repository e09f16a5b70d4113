/**
 * The repo config a plan runs under, and the pre-workflow hooks that may generate it. Where it is
 * read from:
 * - pre-workflow hooks run first, in the checkout, and may generate it: from the checkout;
 * - a repository checked out before: from the checkout too — fetching what is new into the
 *   local cache is quicker than two API reads (listing, file), and saves them;
 * - otherwise through the API, so that a repository whose pull requests never touch Terraform
 *   is never downloaded.
 * An invalid config is reported (comment, both aggregates failed) and nothing is planned.
 */
import type { ResolvedRepoConfig } from "../../../config/apply-policy.js";
import { policyForRepo } from "../../../config/load-repo-config.js";
import { checkoutConfigFiles, configOptions, fetchRepoConfig, type LoadedConfig } from "../../../config/repo-config-source.js";
import type { Checkout } from "../../../ports/workspace.js";
import { renderConfigErrorComment, renderConfigIssues } from "../../../render/config-errors.js";
import { truncateUtf8 } from "../../../render/truncate-utf8.js";
import { throwIfInterrupted } from "../../interrupted.js";
import { postComment } from "../../reporting/comments.js";
import { hookNotes, hooksFor, runWorkflowHooks } from "../../workflow/workflow-hooks.js";
import { CheckoutFailed, reportCheckoutFailure, type PlanScope } from "./plan-scope.js";

export interface PlanConfig {
  loaded: Extract<LoadedConfig, { kind: "ok" }>;
  config: ResolvedRepoConfig;
  /** Lines for the end of the plan comment so far: the request's, then the pre-workflow hooks'. */
  notes: string[];
  /** When reading the config began, and how much of it the checkout took (README "Performance"). */
  configStart: number;
  checkoutMs: number;
}

/** The valid repo config; `null` after reporting a failed checkout or an invalid config. */
export async function readPlanConfig(scope: PlanScope): Promise<PlanConfig | null> {
  const { ctx, req, pull } = scope;
  const source = { ...ctx, settings: ctx.deps.settings, ...(ctx.deps.policy ? { policy: ctx.deps.policy } : {}) };
  const configStart = Date.now();
  let checkoutMs = 0;
  const policy = policyForRepo(configOptions(source, pull));
  const notes = [...(req.notes ?? [])];
  let loaded: LoadedConfig;
  const hooks = hooksFor(policy.preWorkflowHooks, "plan").length > 0;
  if (hooks || (await ctx.deps.workspaces.hasRepository(ctx.repo.owner, ctx.repo.repo))) {
    let co: Checkout;
    try {
      const t = Date.now();
      co = await scope.checkout();
      checkoutMs = Date.now() - t;
    } catch (error) {
      if (!(error instanceof CheckoutFailed)) throw error;
      await reportCheckoutFailure(scope, error.message);
      return null;
    }
    if (hooks) notes.push(...hookNotes(await runWorkflowHooks(ctx, policy.preWorkflowHooks, "plan", co, pull, req.extraArgs), "pre"));
    throwIfInterrupted(ctx);
    loaded = await fetchRepoConfig(source, pull, checkoutConfigFiles(co.dir));
  } else {
    loaded = await fetchRepoConfig(source, pull);
  }
  if (loaded.kind === "invalid") {
    await reportInvalidConfig(scope, loaded);
    return null;
  }
  return { loaded, config: loaded.config, notes, configStart, checkoutMs };
}

async function reportInvalidConfig(scope: PlanScope, loaded: Extract<LoadedConfig, { kind: "invalid" }>): Promise<void> {
  const { ctx, pull, checks } = scope;
  await postComment(ctx, renderConfigErrorComment(loaded.file, pull.headSha, loaded.errors, ctx.name));
  const output = {
    title: `Invalid ${loaded.file}`,
    summary: truncateUtf8(`No Terraform ran.\n\n${renderConfigIssues(loaded.errors)}`, 65535),
  };
  await checks.setAggregate("plan", { status: "completed", conclusion: "failure", output });
  await checks.setAggregate("apply", {
    status: "completed",
    conclusion: "failure",
    output: { ...output, title: `Nothing to apply: invalid ${loaded.file}` },
  });
}
