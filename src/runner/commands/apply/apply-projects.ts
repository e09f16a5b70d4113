/**
 * Applying the targeted projects in execution order. Each project is checked first — its plan,
 * its `depends_on` projects, its lock (`repo_locks`), its apply requirements — then its saved plan
 * is restored into the checkout and the workflow's apply stage runs; its state and check run
 * follow the result.
 */
import type { ProjectState } from "../../../ports/store.js";
import { projectFlags, projectKey, projectLabel } from "../../../projects/project.js";
import { cancellation, runInExecutionOrder } from "../../execution-order.js";
import { renderUnmet } from "../../gates/apply-requirements.js";
import { Interrupted, throwIfInterrupted } from "../../interrupted.js";
import { projectRun } from "../../project-run.js";
import type { ProjectResult } from "../../reporting/project-result.js";
import { discardPlans, restorePlan } from "../../saved-plans.js";
import { inputsFingerprint } from "../plan/carry-plans.js";
import { applyProject } from "../../workflow/project-steps.js";
import { queueWrite, type ApplyScope } from "./apply-scope.js";
import { plainRefusal, refused } from "./apply-targets.js";

const SKIPPED =
  "Not applied: a project in an earlier execution order group failed, and the repo config sets `abort_on_execution_order_fail: true`.";

/** Apply `targets` in execution order; on an internal error, the open check runs are failed. */
export async function applyInOrder(scope: ApplyScope, targets: ProjectState[]): Promise<ProjectResult[]> {
  const { config, checks } = scope;
  try {
    return await runInExecutionOrder(
      targets,
      {
        ...scope.order,
        abortOnFailure: config.abortOnExecutionOrderFail,
        failed: (r) => r.outcome === "failed" || r.outcome === "timed_out",
        skipped: (s) => refused(s, SKIPPED),
        ...cancellation(scope.ctx, "apply", (r) => queueWrite(scope, checks.projectFinished("apply", r))),
      },
      (state) => applyOne(scope, state),
    );
  } catch (error) {
    await Promise.allSettled(scope.runWrites);
    if (!(error instanceof Interrupted)) {
      await checks.failOpenRuns(`Atoll hit an internal error while applying: ${(error as Error).message}`);
    }
    throw error;
  }
}

async function applyOne(scope: ApplyScope, state: ProjectState): Promise<ProjectResult> {
  const { ctx, pull } = scope;
  const refusal = plainRefusal(scope, state);
  if (refusal) return refused(state, refusal);
  const pending = await unappliedDependencies(scope, state);
  if (pending.length) {
    return refused(state, `Can't apply your project unless you apply its dependencies: [${pending.join(", ")}]`);
  }
  if (!state.hasChanges) {
    await ctx.deps.store.upsertProject(ctx.repo, pull.number, { ...state, apply: "success", updatedAt: new Date().toISOString() });
    return { project: state.project, command: "apply", outcome: "success", headline: "No changes to apply.", output: "" };
  }
  const lockRefusal = await lockRefusalOf(scope, state);
  if (lockRefusal) return refused(state, lockRefusal);
  const unmet = await unmetRequirements(scope, state);
  if (unmet) return unmet;
  if (!scope.checkout) {
    return { project: state.project, command: "apply", outcome: "failed", headline: "Could not check out the pull request, so nothing was applied.", output: scope.checkoutError };
  }
  return applyPlanned(scope, state);
}

/** Why a project may not be applied before its `depends_on` projects (Atlantis's wording). */
async function unappliedDependencies(scope: ApplyScope, state: ProjectState): Promise<string[]> {
  const { ctx, pull } = scope;
  const deps = scope.settingsOf(state).dependsOn;
  if (deps.length === 0) return [];
  const now = await ctx.deps.store.listProjects(ctx.repo, pull.number);
  return deps.filter((name) => now.some((s) => s.project.name === name && s.apply !== "success"));
}

/** `on_apply`: the lock is taken now; `on_plan`: this pull request must still hold it. */
async function lockRefusalOf(scope: ApplyScope, state: ProjectState): Promise<string | undefined> {
  const { ctx, pull } = scope;
  const { store } = ctx.deps;
  const label = projectLabel(state.project);
  const lockMode = scope.settingsOf(state).repoLocks;
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
      return `${label} is locked by #${taken.holder.pullNumber} (its lock is taken on apply); apply again when that pull request is merged or closed.`;
    }
  } else if (lockMode === "on_plan") {
    const lock = await store.getLock(ctx.repo, state.project);
    if (!lock || lock.pullNumber !== pull.number) {
      const who = lock ? `#${lock.pullNumber} holds it now` : "nobody holds it";
      return `This pull request no longer holds the lock of ${label} (${who}). Run \`${ctx.name} plan ${projectFlags(state.project)}\` first.`;
    }
  }
  return undefined;
}

/** Unmet apply requirements: the refusal, also shown on the project's apply check run. */
async function unmetRequirements(scope: ApplyScope, state: ProjectState): Promise<ProjectResult | undefined> {
  const unmet = scope.readiness.get(projectKey(state.project))?.unmet ?? [];
  if (!unmet.length) return undefined;
  await scope.checks.projectReplaced("apply", state.project, {
    status: "completed",
    conclusion: "failure",
    output: {
      title: "Apply requirements not met",
      summary: `${renderUnmet(unmet)}\n\nNothing was applied. Requirements are checked again on every apply; reviews refresh the plan check run.`,
    },
  });
  return refused(state, `Apply requirements not met for ${projectLabel(state.project)}:\n${renderUnmet(unmet)}`);
}

/** The saved plan restored into the checkout, then the workflow's apply stage. */
async function applyPlanned(scope: ApplyScope, state: ProjectState): Promise<ProjectResult> {
  const { ctx, req, pull, checks } = scope;
  const co = scope.checkout!;
  if (state.carriedFrom && state.fingerprint) {
    // A plan carried from an earlier commit: its inputs must still be the same in this checkout.
    const now = await inputsFingerprint(ctx, co, state.project, { baseSha: state.baseSha ?? pull.baseSha, extraArgs: state.extraArgs });
    if (now !== state.fingerprint) {
      return refused(state, `The plan of ${projectLabel(state.project)} was carried from ${state.carriedFrom.slice(0, 7)}, but its inputs differ in this checkout, so it was not applied. Run \`${ctx.name} plan ${projectFlags(state.project)}\` first.`);
    }
  }
  const saved = await restorePlan(ctx.deps, state, co);
  if ((state.planBlob && !saved) || (!state.planBlob && state.planDigest)) {
    const replan = `\`${ctx.name} plan ${projectFlags(state.project)}\``;
    return refused(state, `The saved plan of ${projectLabel(state.project)} is gone (discarded or cleaned up). Run ${replan} first.`);
  }
  const run = await projectRun(ctx, { config: scope.config, pull, checkout: co, project: state.project, commentArgs: [] });
  if (!run.ok) return { project: state.project, command: "apply", outcome: "failed", headline: `Cannot apply: ${run.error}`, output: "" };
  await ctx.deps.store.upsertProject(ctx.repo, pull.number, { ...state, apply: "pending", updatedAt: new Date().toISOString() });
  queueWrite(scope, checks.projectStarted("apply", state.project));
  const result = await scope.serialPerDir(state.project.dir, () =>
    applyProject(ctx.deps, co, state.project, saved?.file, {
      verbose: req.verbose,
      // A checkout that did not make this plan is initialised first.
      prepare: saved ? saved.restored : !co.reused,
      name: ctx.name,
      ...run.options,
      env: { ...scope.goEnv, ...run.options.env },
      ...(state.planDigest ? { planDigest: state.planDigest } : {}),
      ...(ctx.onSpawn ? { onSpawn: ctx.onSpawn } : {}),
    }),
  );
  queueWrite(scope, checks.projectFinished("apply", result));
  // Killed by a shutdown: not a result; the interruption is reported instead.
  throwIfInterrupted(ctx);
  await recordApply(scope, state, result);
  return result;
}

/** A plan file is single-use: terraform refuses a stale plan, so drop it after a successful apply. */
async function recordApply(scope: ApplyScope, state: ProjectState, result: ProjectResult): Promise<void> {
  const { ctx, pull } = scope;
  const applied = result.outcome === "success";
  const refusedNow = result.outcome === "refused";
  if (applied) await discardPlans(ctx.deps, [state]);
  await ctx.deps.store.upsertProject(ctx.repo, pull.number, {
    ...state,
    apply: applied ? "success" : refusedNow ? "none" : "failed",
    ...(applied ? { planBlob: undefined } : {}),
    updatedAt: new Date().toISOString(),
  });
}
