/**
 * `apply`: applies exactly the saved plans of the PR's current head commit. Refuses — never
 * re-plans silently — when there is no plan, when the plan was made for an older commit, or when
 * the user lacks write access.
 */
import { promises as fs } from "node:fs";
import type { ProjectState } from "../ports/store.js";
import { DEFAULT_WORKSPACE, projectFlags, projectKey, projectLabel } from "../projects/project.js";
import { renderPrComment } from "../render/pr-comment.js";
import { CheckReporter } from "./check-reporter.js";
import { postComment, postParts } from "./comments.js";
import { deletePlanFiles } from "./project-locks.js";
import type { ProjectResult } from "./project-result.js";
import { applyProject } from "./project-steps.js";
import { renderUnmet } from "./apply-requirements.js";
import { Interrupted, throwIfInterrupted } from "./interrupted.js";
import { pullGate } from "./pull-gate.js";
import { projectsReadiness } from "./readiness.js";
import { loadRepoConfig } from "../config/repo-config-source.js";
import type { CommandContext } from "./runner-deps.js";

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
  // Apply requirements (from the config at the head commit) only for what could be applied.
  const candidates = targets.filter((t) => !plainRefusal(t) && t.hasChanges);
  const loaded = candidates.length ? await loadRepoConfig(ctx.github, pull.headSha) : undefined;
  const config = loaded?.kind === "ok" ? loaded.config : undefined;
  const readiness = candidates.length ? await projectsReadiness(ctx, pull, config, candidates.map((c) => c.project)) : new Map();
  try {
    for (const state of targets) {
      const label = projectLabel(state.project);
      const replan = `\`${ctx.name} plan ${projectFlags(state.project)}\``;
      const refusal = plainRefusal(state);
      if (refusal) {
        results.push(refused(state, refusal));
        continue;
      }
      if (!state.hasChanges) {
        results.push({ project: state.project, command: "apply", outcome: "success", headline: "No changes to apply.", output: "" });
        await store.upsertProject(ctx.repo, pull.number, { ...state, apply: "success", updatedAt: new Date().toISOString() });
        continue;
      }
      const lock = await store.getLock(ctx.repo, state.project);
      if (!lock || lock.pullNumber !== pull.number) {
        const who = lock ? `#${lock.pullNumber} holds it now` : "nobody holds it";
        results.push(refused(state, `This pull request no longer holds the lock of ${label} (${who}). Run ${replan} first.`));
        continue;
      }
      const unmet = readiness.get(projectKey(state.project))?.unmet ?? [];
      if (unmet.length) {
        const headline = `Apply requirements not met for ${label}:\n${renderUnmet(unmet)}`;
        results.push(refused(state, headline));
        await checks.projectReplaced("apply", state.project, {
          status: "completed",
          conclusion: "failure",
          output: {
            title: "Apply requirements not met",
            summary: `${renderUnmet(unmet)}\n\nNothing was applied. Requirements are checked again on every apply; reviews refresh the plan check run.`,
          },
        });
        continue;
      }
      const checkout = await workspaces.find(ctx.repo.owner, ctx.repo.repo, pull.number, pull.headSha);
      const planExists = state.planFile ? await fs.stat(state.planFile).then(() => true, () => false) : false;
      if (!checkout || !state.planFile || !planExists) {
        results.push(refused(state, `The saved plan of ${label} is gone (discarded or cleaned up). Run ${replan} first.`));
        continue;
      }
      await store.upsertProject(ctx.repo, pull.number, { ...state, apply: "pending", updatedAt: new Date().toISOString() });
      await checks.projectStarted("apply", state.project);
      const result = await applyProject(ctx.deps, checkout, state.project, state.planFile, {
        verbose: req.verbose,
        name: ctx.name,
        ...(state.planDigest ? { planDigest: state.planDigest } : {}),
        ...(ctx.onSpawn ? { onSpawn: ctx.onSpawn } : {}),
      });
      await checks.projectFinished("apply", result);
      // Killed by a shutdown: not a result; the interruption is reported instead.
      throwIfInterrupted(ctx);
      const applied = result.outcome === "success";
      const refusedNow = result.outcome === "refused";
      // A plan file is single-use: terraform refuses a stale plan, so drop it after a successful apply.
      if (applied) await deletePlanFiles([state]);
      await store.upsertProject(ctx.repo, pull.number, {
        ...state,
        apply: applied ? "success" : refusedNow ? "none" : "failed",
        ...(applied ? { planFile: undefined } : {}),
        updatedAt: new Date().toISOString(),
      });
      results.push(result);
    }
  } catch (error) {
    if (!(error instanceof Interrupted)) {
      await checks.failOpenRuns(`Atoll hit an internal error while applying: ${(error as Error).message}`);
    }
    throw error;
  }
  await postParts(ctx, renderPrComment({ command: "apply", name: ctx.name, results, headSha: pull.headSha, notes: req.notes ?? [] }));
  // Refusals change nothing; only refresh the aggregates when some project's apply state moved.
  if (results.some((r) => r.outcome !== "refused")) {
    await checks.refreshAggregates(await store.listProjects(ctx.repo, pull.number));
  }
}
