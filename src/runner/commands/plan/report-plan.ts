/**
 * The end of a plan: post-workflow hooks, then one PR comment for every project shown (projects
 * with `silence_pr_comments: [plan]` report through check runs only), then every check-run write
 * at once — results before the aggregates, "queued" runs of projects waiting for a lock after
 * them: the write queue sends them in that order, one a second.
 */
import { projectKey } from "../../../projects/project.js";
import { renderConfigIssues } from "../../../render/config-errors.js";
import { renderPrComment } from "../../../render/pr-comment.js";
import { blockedCheck } from "../../gates/project-locks.js";
import { postComment, postParts } from "../../reporting/comments.js";
import { hideOutdatedPlanComments, planCommentMarker } from "../../reporting/outdated-comments.js";
import { syncPlanLabels } from "../../reporting/plan-labels.js";
import { hookNotes, hooksFor, runWorkflowHooks } from "../../workflow/workflow-hooks.js";
import type { LockedProjects } from "./lock-projects.js";
import type { PlanConfig } from "./plan-config.js";
import type { PlannedProjects } from "./plan-projects.js";
import type { PlanScope } from "./plan-scope.js";

export async function reportPlan(
  scope: PlanScope,
  planConfig: PlanConfig,
  locked: LockedProjects,
  planned: PlannedProjects,
  superseded: Promise<void>,
): Promise<void> {
  const { ctx, req, pull, checks } = scope;
  const { config, loaded, notes } = planConfig;
  const { results, checkout: co } = planned;
  if (co && hooksFor(config.policy.postWorkflowHooks, "plan").length) {
    notes.push(...hookNotes(await runWorkflowHooks(ctx, config.policy.postWorkflowHooks, "plan", co, pull, req.extraArgs), "post"));
  }
  if (loaded.warnings.length) {
    notes.push(`Warnings about \`${config.file ?? "the repo config"}\`:\n${renderConfigIssues(loaded.warnings)}`);
  }
  const shown = results.filter((r) => !locked.settingsOf.get(projectKey(r.project))?.silencePrComments.includes("plan"));
  let hideOutdated = Promise.resolve();
  if (shown.length > 0 || results.length === 0) {
    const posted = await postParts(
      ctx,
      renderPrComment({ command: "plan", name: ctx.name, results: shown, headSha: pull.headSha, extraArgs: req.extraArgs, notes, marker: planCommentMarker(shown.map((r) => r.project)) }),
    );
    // Earlier plan comments of these projects (of every project, for a full plan) are outdated now.
    hideOutdated = hideOutdatedPlanComments(ctx, posted, results.map((r) => r.project), !scope.targeted);
  }
  const writes = [
    ...planned.reports.map((report) => report()),
    checks.refreshAggregates(await ctx.deps.store.listProjects(ctx.repo, pull.number)),
    ...locked.blocked.map((b) => checks.projectWaiting(b.project, blockedCheck(ctx, b))),
    ...(planned.progress ? [planned.progress] : []),
    superseded,
    hideOutdated,
    syncPlanLabels(ctx, pull.headSha),
  ];
  await Promise.all(writes);
}

/** Nothing to plan: the aggregates of a full plan say so, and a comment explains how to plan anyway. */
export async function reportNoProjects(scope: PlanScope, superseded: Promise<void>): Promise<void> {
  const { ctx, req, pull, checks } = scope;
  await superseded;
  if (!scope.targeted) await checks.refreshAggregates([], { allowEmpty: true });
  if (req.trigger === "comment") {
    await postComment(
      ctx,
      `Ran Plan for 0 projects: this pull request changes no Terraform project at ${pull.headSha.slice(0, 7)}.\n\n` +
        `To plan a directory anyway, comment \`${ctx.name} plan -d <dir>\`.`,
    );
  }
}
