/**
 * What an apply request targets, and the refusals decided without reading the repo config: the
 * user's permission, a button of an older commit, no plan to apply, and states that cannot be
 * applied (older commit, replaced check run, pending, queued, failed, already applied).
 */
import { canWrite, type PullRequestInfo } from "../../../ports/github.js";
import type { ProjectState } from "../../../ports/store.js";
import { DEFAULT_WORKSPACE, projectFlags, projectLabel } from "../../../projects/project.js";
import { destroySkipReason } from "../../gates/destroy-guard.js";
import type { ProjectResult } from "../../reporting/project-result.js";
import type { CommandContext } from "../../runner-deps.js";
import type { ApplyRequest } from "../apply-command.js";

/** One apply request for one pull request. */
export interface ApplyCall {
  ctx: CommandContext;
  req: ApplyRequest;
  pull: PullRequestInfo;
}

export function refused(state: ProjectState, headline: string): ProjectResult {
  return { project: state.project, command: "apply", outcome: "refused", headline, output: "" };
}

/** Why nothing may be applied for this user or this button; undefined when it may. */
export async function requestRefusal({ ctx, req, pull }: ApplyCall): Promise<string | undefined> {
  const permission = await ctx.github.getPermission(ctx.user);
  if (!canWrite(permission)) {
    return (
      `**Apply refused:** @${ctx.user} does not have write access to ${ctx.repo.owner}/${ctx.repo.repo} ` +
      `(permission: ${permission}). Only users with write, maintain or admin permission can apply. Nothing was applied.`
    );
  }
  if (req.fromCheckRun && req.fromCheckRun.headSha !== pull.headSha) {
    return (
      `**Apply refused:** that button belongs to commit ${req.fromCheckRun.headSha.slice(0, 7)}, but the pull request is now at ` +
      `${pull.headSha.slice(0, 7)}. Review the plan of the latest commit and use its Apply button, or comment \`${ctx.name} apply\`.`
    );
  }
  return undefined;
}

/** The states an apply request targets, or an explanation when it targets nothing. */
export function targetStates(ctx: CommandContext, req: ApplyRequest, states: ProjectState[]): ProjectState[] | string {
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

/** Why this state cannot be applied, decided without asking GitHub anything. */
export function plainRefusal({ ctx, req, pull }: ApplyCall, state: ProjectState): string | undefined {
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
  // A bare apply (every plan of the PR) never applies a destroy plan: it must be named.
  if (!req.project && !req.dir && !req.workspace) return destroySkipReason(state, ctx.name);
  return undefined;
}
