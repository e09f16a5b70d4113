/**
 * The end of an apply: post-workflow hooks, one PR comment for every project shown (projects with
 * `silence_pr_comments: [apply]` report through check runs only), the projects' check-run writes,
 * then — when some project's apply state moved — the aggregates and auto-merge.
 */
import { projectSettings } from "../../../config/apply-policy.js";
import { renderPrComment } from "../../../render/pr-comment.js";
import { postParts } from "../../reporting/comments.js";
import type { ProjectResult } from "../../reporting/project-result.js";
import { hookNotes, hooksFor, runWorkflowHooks } from "../../workflow/workflow-hooks.js";
import { automergeAfterApply } from "../automerge.js";
import type { ApplyScope } from "./apply-scope.js";

export async function reportApply(scope: ApplyScope, results: ProjectResult[]): Promise<void> {
  const { ctx, pull, config, checkout, notes, checks } = scope;
  if (checkout && hooksFor(config.policy.postWorkflowHooks, "apply").length) {
    notes.push(...hookNotes(await runWorkflowHooks(ctx, config.policy.postWorkflowHooks, "apply", checkout, pull), "post"));
  }
  const shown = results.filter((r) => !projectSettings(config, r.project).silencePrComments.includes("apply"));
  if (shown.length > 0) {
    await postParts(ctx, renderPrComment({ command: "apply", name: ctx.name, results: shown, headSha: pull.headSha, notes }));
  }
  await Promise.all(scope.runWrites);
  // Refusals change nothing; only refresh the aggregates when some project's apply state moved.
  if (results.some((r) => r.outcome !== "refused")) {
    const after = await ctx.deps.store.listProjects(ctx.repo, pull.number);
    await checks.refreshAggregates(after);
    // After the aggregates: branch protection may require `atoll/apply` to be green.
    await automergeAfterApply(ctx, pull, config, after, scope.req.autoMerge);
  }
}
