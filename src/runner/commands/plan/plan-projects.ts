/**
 * Planning the runnable projects, in execution order: terraform in the PR's checkout (one
 * project per directory at a time), plan requirements checked first, each result recorded as
 * soon as it is known — state first (a click on Apply finds the plan), its check run later
 * (after the comment). The "in progress" write (`plan-progress.ts`) runs meanwhile.
 */
import type { ResolvedRepoConfig } from "../../../config/apply-policy.js";
import type { PlanHistoryEntry, ProjectState } from "../../../ports/store.js";
import type { Checkout } from "../../../ports/workspace.js";
import { projectKey, projectLabel, type Project } from "../../../projects/project.js";
import { truncateUtf8 } from "../../../render/truncate-utf8.js";
import { cancellation, keyedSerializer, peakConcurrency, runInExecutionOrder, type OrderOptions } from "../../execution-order.js";
import { renderUnmet } from "../../gates/apply-requirements.js";
import { blockedHeadline } from "../../gates/project-locks.js";
import { projectsReadiness, type ProjectReadiness } from "../../gates/readiness.js";
import { throwIfInterrupted } from "../../interrupted.js";
import { projectRun } from "../../project-run.js";
import { PlanTimings, progressDelay } from "../../reporting/progress-timing.js";
import type { ProjectResult } from "../../reporting/project-result.js";
import { savePlan } from "../../saved-plans.js";
import { goRuntimeEnv } from "../../workflow/go-runtime-env.js";
import { planProject } from "../../workflow/project-steps.js";
import { planAnnotations } from "../../reporting/plan-annotations.js";
import { planDelta } from "../../../terraform/plan-delta.js";
import type { LockedProjects } from "./lock-projects.js";
import { PlanProgress } from "./plan-progress.js";
import { CheckoutFailed, type PlanScope } from "./plan-scope.js";

/** Output kept per project to re-render its check run later (GitHub's check-run text limit). */
export const KEPT_OUTPUT_BYTES = 60_000;

/** Headline of projects not planned because an earlier execution order group failed. */
const SKIPPED =
  "Not planned: a project in an earlier execution order group failed, and the repo config sets `abort_on_execution_order_fail: true`.";

export interface PlannedProjects {
  /** Blocked projects' refusals, then the planned projects' results. */
  results: ProjectResult[];
  /** Check-run writes of the results, sent after the comment. */
  reports: (() => Promise<unknown>)[];
  /** The checkout planned in (undefined when nothing ran or it failed). */
  checkout: Checkout | undefined;
  /** The "in progress" write, when it started. */
  progress: Promise<void> | undefined;
}

interface PlanOutcomeLike {
  result: ProjectResult;
  planFile?: string;
  /** A carried plan's saved plan file (already in the blob store). */
  planBlob?: string;
  planDigest?: string;
  changes?: Record<string, string>;
}

/** One plan's planning, shared by its projects. */
interface Planning {
  scope: PlanScope;
  config: ResolvedRepoConfig;
  locked: LockedProjects;
  checkout: Checkout | undefined;
  checkoutError: string;
  /** Whether any project has plan requirements (then readiness is needed before planning). */
  withPlan: boolean;
  readiness: Promise<Map<string, ProjectReadiness>>;
  serialPerDir: ReturnType<typeof keyedSerializer>;
  goEnv: Record<string, string>;
  reports: (() => Promise<unknown>)[];
  /** The pull request's plan history before this plan, read once when the first project needs it. */
  history?: Promise<PlanHistoryEntry[]>;
}

/** Plan `locked.runnable`, with the plan's "in progress" write on its timer meanwhile. */
export async function planLocked(scope: PlanScope, config: ResolvedRepoConfig, locked: LockedProjects): Promise<PlannedProjects> {
  const { ctx, repoName } = scope;
  const { runnable, settingsOf } = locked;
  const order: PlanOrder = {
    groupOf: (p: Project) => settingsOf.get(projectKey(p))!.executionOrderGroup,
    parallel: config.parallelPlan,
    poolSize: ctx.deps.settings.parallelPoolSize,
  };
  const concurrent = peakConcurrency(runnable, order);
  const timings = ctx.deps.planTimings ?? new PlanTimings();
  const { progressDelayMs, progressDelayAuto } = ctx.deps.settings;
  const delay = progressDelayAuto ? progressDelay(timings.expectedMs(repoName, runnable.length, concurrent), progressDelayMs) : progressDelayMs;
  const progress = new PlanProgress(scope, delay);
  const planStart = Date.now();
  const results: ProjectResult[] = locked.blocked.map((b) => ({
    project: b.project,
    command: "plan" as const,
    outcome: "refused" as const,
    headline: blockedHeadline(ctx, b),
    output: "",
  }));
  let planning: Planning;
  try {
    planning = await startPlanning(scope, config, locked, concurrent);
    results.push(...(await planInOrder(planning, order)));
    if (planning.checkout) timings.record(repoName, runnable.length, concurrent, Date.now() - planStart);
  } catch (error) {
    // Failed or interrupted: let "in progress" writes already under way land first, so whoever
    // reports the failure (failOpenRuns, the interruption report) sees and completes them.
    progress.stop();
    if (progress.write) await progress.write.catch(() => undefined);
    throw error;
  } finally {
    progress.stop();
  }
  return { results, reports: planning.reports, checkout: planning.checkout, progress: progress.write };
}

/** Readiness read and checkout made: what every project's plan needs. */
async function startPlanning(scope: PlanScope, config: ResolvedRepoConfig, locked: LockedProjects, concurrent: number): Promise<Planning> {
  const { ctx, pull } = scope;
  const { runnable, settingsOf } = locked;
  // One GitHub round for readiness (apply) and plan requirements of every project, read while the
  // checkout is made and terraform runs: only plan requirements are needed before planning.
  const withPlan = runnable.some((p) => settingsOf.get(projectKey(p))!.planRequirements.length > 0);
  const readiness = runnable.length ? projectsReadiness(ctx, pull, config, runnable, { withPlan }) : Promise.resolve(new Map());
  readiness.catch(() => undefined);
  let checkout: Checkout | undefined;
  let checkoutError = "";
  if (runnable.length) {
    try {
      checkout = await scope.checkout();
    } catch (error) {
      if (!(error instanceof CheckoutFailed)) throw error;
      checkoutError = error.message;
    }
  }
  // Projects sharing a directory never run at the same time (one .terraform dir, one selected workspace).
  const serialPerDir = keyedSerializer();
  const goEnv = goRuntimeEnv(concurrent, { gogc: ctx.deps.settings.terraformGogc });
  return { scope, config, locked, checkout, checkoutError, withPlan, readiness, serialPerDir, goEnv, reports: [] };
}

type PlanOrder = Pick<OrderOptions<Project, ProjectResult>, "groupOf" | "parallel" | "poolSize">;

async function planInOrder(planning: Planning, order: PlanOrder): Promise<ProjectResult[]> {
  const { config } = planning;
  const planned = await runInExecutionOrder<Project, ProjectResult>(
    planning.locked.runnable,
    {
      ...order,
      abortOnFailure: config.abortOnExecutionOrderFail,
      failed: (r) => r.outcome !== "success",
      skipped: (p): ProjectResult => ({ project: p, command: "plan", outcome: "refused", headline: SKIPPED, output: "" }),
      ...cancellation(planning.scope.ctx, "plan"),
    },
    (project) => planOne(planning, project),
  );
  for (const r of planned) {
    if (r.headline === SKIPPED || r.outcome === "cancelled") await recordPlan(planning, r.project, { result: r });
  }
  return planned;
}

function refusal(project: Project, headline: string, outcome: ProjectResult["outcome"] = "refused", output = ""): PlanOutcomeLike {
  return { result: { project, command: "plan", outcome, headline, output } };
}

async function planOne(planning: Planning, project: Project): Promise<ProjectResult> {
  const { scope, checkout: co } = planning;
  const { ctx, req, pull } = scope;
  if (!co) return recordPlan(planning, project, refusal(project, "Could not check out the pull request.", "failed", planning.checkoutError));
  const unmetPlan = planning.withPlan ? ((await planning.readiness).get(projectKey(project))?.unmetPlan ?? []) : [];
  if (unmetPlan.length) {
    return recordPlan(planning, project, refusal(project, `Plan requirements not met for ${projectLabel(project)}:\n${renderUnmet(unmetPlan)}`));
  }
  const carried = scope.carry.carried.get(projectKey(project));
  const outcome = carried ? await carriedOutcome(planning, project, carried) : await planWithTerraform(planning, project, co);
  if ("refused" in outcome) return recordPlan(planning, project, outcome.refused);
  const plan = outcome.result.outcome === "success" ? outcome.result.plan : undefined;
  if (plan && (plan.destroyed.length || plan.replaced.length)) {
    // Annotations are a help, never a reason for the plan to fail.
    const annotations = await planAnnotations(co.dir, project.dir, plan).catch((error: unknown) => {
      ctx.log.warn({ err: error, project: projectLabel(project) }, "could not find the declarations to annotate");
      return [];
    });
    if (annotations.length) outcome.result.annotations = annotations;
  }
  return recordPlan(planning, project, outcome);
}

/** A plan kept from an earlier commit: its result and saved plan file, with its changes from the history. */
async function carriedOutcome(planning: Planning, project: Project, carried: ProjectState): Promise<PlanOutcomeLike> {
  const { ctx, pull } = planning.scope;
  const from = carried.carriedFrom ?? carried.headSha;
  const history = (await ctx.deps.store.listPlanHistory(ctx.repo, pull.number)).filter((h) => projectKey(h.project) === projectKey(project)).at(-1);
  return {
    result: {
      project,
      command: "plan",
      outcome: "success",
      headline: carried.headline,
      output: carried.output,
      hasChanges: carried.hasChanges,
      ...(carried.summary ? { plan: carried.summary } : {}),
      carriedFrom: from,
    },
    ...(carried.planBlob ? { planBlob: carried.planBlob } : {}),
    ...(carried.planDigest ? { planDigest: carried.planDigest } : {}),
    ...(history ? { changes: history.changes } : {}),
  };
}

/** terraform in the checkout: the project's plan workflow. */
async function planWithTerraform(planning: Planning, project: Project, co: Checkout): Promise<PlanOutcomeLike | { refused: PlanOutcomeLike }> {
  const { ctx, req, pull } = planning.scope;
  const run = await projectRun(ctx, { config: planning.config, pull, checkout: co, project, commentArgs: req.extraArgs });
  if (!run.ok) return { refused: refusal(project, `Cannot plan: ${run.error}`, "failed") };
  const outcome = await planning.serialPerDir(project.dir, () =>
    planProject(ctx.deps, co, project, req.extraArgs, {
      verbose: req.verbose,
      name: ctx.name,
      ...run.options,
      env: { ...planning.goEnv, ...run.options.env },
      ...(ctx.onSpawn ? { onSpawn: ctx.onSpawn } : {}),
    }),
  );
  // Killed by a shutdown: not a result; the interruption is reported instead.
  throwIfInterrupted(ctx);
  return outcome;
}

/**
 * Record a project's result: state first (a click on Apply finds the plan); its check run is
 * written after the comment (`reports`), and then the state learns the run's id.
 */
async function recordPlan(planning: Planning, project: Project, outcome: PlanOutcomeLike): Promise<ProjectResult> {
  const { ctx, req, pull, checks } = planning.scope;
  const { store } = ctx.deps;
  const { result, planFile, planDigest, changes } = outcome;
  // Approvals count for the plan they saw: judged against this new plan.
  const current = { headSha: pull.headSha, ...(planDigest ? { digest: planDigest } : {}) };
  const readinessOf = result.hasChanges ? (await planning.readiness).get(projectKey(project))?.forPlan(current).readiness : undefined;
  if (planDigest) result.planDigest = planDigest;
  const why = planning.scope.why.get(projectKey(project));
  if (why) result.why = why;
  // What changed since the previous push's plan of this project (the history has each plan's changes).
  if (result.outcome === "success" && changes) {
    planning.history ??= store.listPlanHistory(ctx.repo, pull.number);
    // Entries of this plan (at this commit) are added meanwhile; they are left out here anyway.
    const previous = (await planning.history)
      .filter((h) => projectKey(h.project) === projectKey(project) && h.headSha.toLowerCase() !== pull.headSha.toLowerCase())
      .at(-1);
    if (previous) result.sincePush = planDelta(previous, changes);
  }
  // Saved where every replica can read it: the apply may run elsewhere.
  const planBlob = planFile ? await savePlan(ctx.deps, { repo: ctx.repo, pullNumber: pull.number, headSha: pull.headSha, project }, planFile) : outcome.planBlob;
  const fingerprint = (await planning.scope.carry.fingerprints.catch(() => new Map<string, string>())).get(projectKey(project));
  const state: ProjectState = {
    project,
    headSha: pull.headSha,
    baseSha: pull.baseSha,
    plan: result.outcome === "success" ? "success" : "failed",
    hasChanges: result.hasChanges ?? false,
    apply: "none",
    ...(planBlob ? { planBlob } : {}),
    ...(planDigest ? { planDigest } : {}),
    extraArgs: req.extraArgs,
    ...(result.plan ? { summary: result.plan } : {}),
    ...(result.why ? { why: result.why } : {}),
    ...(result.sincePush ? { sincePush: result.sincePush } : {}),
    ...(fingerprint && result.outcome === "success" ? { fingerprint } : {}),
    ...(result.carriedFrom ? { carriedFrom: result.carriedFrom } : {}),
    headline: result.headline,
    output: truncateUtf8(result.output, KEPT_OUTPUT_BYTES),
    updatedAt: new Date().toISOString(),
  };
  await store.upsertProject(ctx.repo, pull.number, state);
  if (result.outcome === "success" && planDigest) {
    await store.recordPlanHistory(ctx.repo, pull.number, { project, headSha: pull.headSha, digest: planDigest, changes: changes ?? {}, createdAt: state.updatedAt });
  }
  planning.reports.push(async () => {
    const id = await checks.projectFinished("plan", result, readinessOf);
    if (id !== state.planCheckRunId) await store.upsertProject(ctx.repo, pull.number, { ...state, planCheckRunId: id });
  });
  return result;
}
