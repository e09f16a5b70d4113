/**
 * `import ADDRESS ID` and `state rm ADDRESS...`: change one project's Terraform state outside a
 * plan, as Atlantis does. Off unless the operator allows them (`ATOLL_ALLOW_COMMANDS`, checked by
 * the comment parser). Like apply they need write access, and the project's
 * `import_requirements`; like plan they take the project's lock. The project's workflow stage
 * (`import`: init, import; `state_rm`: init, state_rm) runs in the pull request's checkout, and
 * afterwards the project's plan is discarded — it was made against the old state — and the
 * reply says to plan again.
 */
import { commandWords } from "../../commands/command-name.js";
import { fetchRepoConfig } from "../../config/repo-config-source.js";
import { projectSettings, type ResolvedRepoConfig } from "../../config/apply-policy.js";
import { canWrite, type PullRequestInfo } from "../../ports/github.js";
import type { ProjectState } from "../../ports/store.js";
import { projectFlags, projectLabel, sameProject, type Project } from "../../projects/project.js";
import { selectProjects } from "../../projects/select-projects.js";
import { renderConfigIssues } from "../../render/config-errors.js";
import { renderPrComment } from "../../render/pr-comment.js";
import { evaluateRequirements, gatherPullFacts, renderUnmet } from "../gates/apply-requirements.js";
import { acquireLocks, blockedHeadline } from "../gates/project-locks.js";
import { pullGate } from "../gates/pull-gate.js";
import { effectiveRequirements } from "../gates/readiness.js";
import { projectRun } from "../project-run.js";
import { pullCheckout } from "../pull-checkout.js";
import { CheckReporter } from "../reporting/check-reporter.js";
import { postComment, postParts } from "../reporting/comments.js";
import type { ProjectResult } from "../reporting/project-result.js";
import type { CommandContext } from "../runner-deps.js";
import { discardPlans } from "../saved-plans.js";
import { stateProject } from "../workflow/project-steps.js";

export interface StateRequest {
  command: "import" | "state_rm";
  dir: string;
  workspace: string;
  project: string;
  /** import: [ADDRESS, ID]; state_rm: the addresses. */
  args: string[];
  /** The comment's `--` arguments: placed before `args`. */
  extraArgs: string[];
  verbose: boolean;
}


export async function runStateCommand(ctx: CommandContext, req: StateRequest): Promise<void> {
  const word = commandWords(req.command);
  const pull = await ctx.github.getPull(ctx.pullNumber);
  const refusal = pullGate(ctx.deps.settings, pull, word);
  if (refusal) return postComment(ctx, refusal);
  const permission = await ctx.github.getPermission(ctx.user);
  if (!canWrite(permission)) {
    return postComment(
      ctx,
      `**${word} refused:** @${ctx.user} does not have write access to ${ctx.repo.owner}/${ctx.repo.repo} (permission: ${permission}). ` +
        `\`${word}\` changes Terraform state directly, so it needs write, maintain or admin permission, as apply does. Nothing was changed.`,
    );
  }
  const loaded = await fetchRepoConfig({ ...ctx, settings: ctx.deps.settings, ...(ctx.deps.policy ? { policy: ctx.deps.policy } : {}) }, pull);
  if (loaded.kind === "invalid") {
    return postComment(ctx, `**${word} refused:** \`${loaded.file}\` at ${pull.headSha.slice(0, 7)} is invalid.\n\n${renderConfigIssues(loaded.errors)}`);
  }
  const project = await targetProject(ctx, req, pull, loaded.config);
  if (typeof project === "string") return postComment(ctx, `**Cannot run \`${word}\`:** ${project}`);
  const result = await runOn(ctx, req, pull, loaded.config, project);
  if (result.outcome === "success") await discardPlan(ctx, pull, project, word);
  const notes =
    result.outcome === "success"
      ? [`The plan of this project was discarded: it was made before this \`${word}\`. Comment \`${ctx.name} plan ${projectFlags(project)}\` to plan again.`]
      : [];
  await postParts(ctx, renderPrComment({ command: req.command, name: ctx.name, results: [result], headSha: pull.headSha, notes }));
}

/** The one project the command runs in: `-d`/`-w`/`-p`, or the pull request's only modified project. */
async function targetProject(ctx: CommandContext, req: StateRequest, pull: PullRequestInfo, config: ResolvedRepoConfig): Promise<Project | string> {
  const word = commandWords(req.command);
  const example = `\`${ctx.name} ${word} -p <project> ${req.args.join(" ")}\` or \`-d <dir>\``;
  if (!req.dir && !req.workspace && !req.project) {
    const planned = (await ctx.deps.store.listProjects(ctx.repo, pull.number)).filter((s) => s.headSha === pull.headSha);
    if (planned.length === 1) return planned[0].project;
    return `\`${word}\` runs in one project: name it, e.g. ${example}.`;
  }
  const sel = selectProjects({ dir: req.dir, workspace: req.workspace, project: req.project }, { ...(config.repo ? { config: { projects: config.projects } } : {}), modified: [] });
  if (!sel.ok) return sel.error;
  if (sel.projects.length !== 1) {
    return `\`${word}\` runs in one project, but that matches ${sel.projects.length}: ${sel.projects.map((p) => projectLabel(p)).join(", ")}. Name one, e.g. ${example}.`;
  }
  return sel.projects[0];
}

/** Gates (lock, import_requirements), then the workflow stage; the result to report. */
async function runOn(ctx: CommandContext, req: StateRequest, pull: PullRequestInfo, config: ResolvedRepoConfig, project: Project): Promise<ProjectResult> {
  const refused = (headline: string, outcome: ProjectResult["outcome"] = "refused"): ProjectResult => ({ project, command: req.command, outcome, headline, output: "" });
  // The project's lock, as a plan takes it (unless the repo config disables locking for it).
  if (projectSettings(config, project).repoLocks !== "disabled") {
    const [lock] = await acquireLocks(ctx, pull, [project]);
    if (lock && !lock.acquired) return refused(blockedHeadline(ctx, lock));
  }
  const required = effectiveRequirements(config, project, "import");
  if (required.length) {
    const unmet = evaluateRequirements(required, await gatherPullFacts(ctx.github, pull, required)).unmet;
    if (unmet.length) return refused(`Import requirements not met for ${projectLabel(project)}:\n${renderUnmet(unmet)}`);
  }
  let checkout;
  try {
    checkout = await pullCheckout(ctx, pull);
  } catch (error) {
    return { ...refused("Could not check out the pull request, so nothing was changed.", "failed"), output: (error as Error).message };
  }
  const run = await projectRun(ctx, { config, pull, checkout, project, commentArgs: req.extraArgs });
  if (!run.ok) return refused(`Cannot run \`${commandWords(req.command)}\`: ${run.error}`, "failed");
  return stateProject(ctx.deps, checkout, project, req.command, { args: req.args, extraArgs: req.extraArgs }, {
    verbose: req.verbose,
    name: ctx.name,
    ...run.options,
    ...(ctx.onSpawn ? { onSpawn: ctx.onSpawn } : {}),
  });
}

/** The state changed: the project's saved plan no longer applies; its check run loses the Apply button. */
async function discardPlan(ctx: CommandContext, pull: PullRequestInfo, project: Project, word: string): Promise<void> {
  const { store } = ctx.deps;
  const removed: ProjectState[] = await store.removeProjects(ctx.repo, pull.number, [project]);
  await discardPlans(ctx.deps, removed);
  const checks = new CheckReporter(ctx, pull.headSha);
  for (const state of removed.filter((s) => s.headSha === pull.headSha && sameProject(s.project, project) && s.planCheckRunId !== undefined)) {
    await checks.projectReplaced("plan", state.project, {
      status: "completed",
      conclusion: "neutral",
      output: {
        title: `Plan discarded after ${word}`,
        summary: `@${ctx.user} changed this project's state with \`${ctx.name} ${word}\`, so this plan was discarded. Comment \`${ctx.name} plan ${projectFlags(project)}\` to plan again.`,
      },
      actions: [{ label: "Re-plan", description: "Plan this project again", identifier: "plan" }],
    });
  }
  const remaining = (await store.listProjects(ctx.repo, pull.number)).filter((s) => s.headSha === pull.headSha);
  if (remaining.length) return checks.refreshAggregates(remaining);
  if (removed.length) {
    await checks.setAggregate("apply", {
      status: "queued",
      output: { title: "Plan discarded", summary: `The plan was discarded after \`${word}\`. Comment \`${ctx.name} plan\` to plan again.` },
    });
  }
}
