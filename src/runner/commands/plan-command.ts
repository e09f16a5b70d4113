/**
 * `plan`: autoplan on a push, or a comment/button. Finds the projects, discards the plans it
 * replaces, runs terraform in the PR's checkout, saves each plan for a later apply, and reports
 * through one PR comment, a check run per project and the two aggregate check runs.
 */
import type { ChangedFile, PullRequestInfo } from "../../ports/github.js";
import type { ProjectState } from "../../ports/store.js";
import type { Checkout } from "../../ports/workspace.js";
import { candidateDirs, expandGlobDirs, modifiedProjects, shouldDiscover } from "../../projects/find-projects.js";
import { projectKey, projectLabel, sameProject, type Project } from "../../projects/project.js";
import { projectSettings, type ResolvedRepoConfig } from "../../config/apply-policy.js";
import type { ProjectConfig } from "../../config/config-types.js";
import { selectProjects } from "../../projects/select-projects.js";
import { listTerraformDirs } from "../../projects/terraform-dirs.js";
import { renderConfigErrorComment, renderConfigIssues } from "../../render/config-errors.js";
import { renderPrComment } from "../../render/pr-comment.js";
import { truncateUtf8 } from "../../render/truncate-utf8.js";
import { CheckReporter } from "../reporting/check-reporter.js";
import { postComment, postParts } from "../reporting/comments.js";
import { acquireLocks, blockedCheck, blockedHeadline, wakeWaiters, type LockOutcome } from "../gates/project-locks.js";
import { discardPlans, savePlan } from "../saved-plans.js";
import { pullCheckout } from "../pull-checkout.js";
import { Interrupted, throwIfInterrupted } from "../interrupted.js";
import { pullGate } from "../gates/pull-gate.js";
import type { ProjectResult } from "../reporting/project-result.js";
import { planProject } from "../workflow/project-steps.js";
import { checkoutConfigFiles, fetchRepoConfig, type LoadedConfig } from "../../config/repo-config-source.js";
import type { CommandContext } from "../runner-deps.js";
import { cpuShareEnv } from "../workflow/cpu-share.js";
import { PlanTimings, progressDelay } from "../reporting/progress-timing.js";
import { WritePriority, writeQueueOf } from "../reporting/write-queue.js";
import { keyedSerializer, peakConcurrency, runInExecutionOrder } from "../execution-order.js";
import { projectRun } from "../project-run.js";
import { renderUnmet } from "../gates/apply-requirements.js";
import { projectsReadiness } from "../gates/readiness.js";
import { hookNotes, hooksFor, runWorkflowHooks } from "../workflow/workflow-hooks.js";
import { policyForRepo } from "../../config/load-repo-config.js";
import { configOptions } from "../../config/repo-config-source.js";

/** Output kept per project to re-render its check run later (GitHub's check-run text limit). */
export const KEPT_OUTPUT_BYTES = 60_000;

export interface PlanRequest {
  /** autoplan: a push/open event; comment: someone asked (comment, button, re-run). */
  trigger: "autoplan" | "comment";
  dir: string;
  workspace: string;
  project: string;
  extraArgs: string[];
  verbose: boolean;
  /** The PR as the webhook payload described it (saves a request); fetched when absent. */
  pull?: PullRequestInfo;
  /** Don't comment when the PR may not be planned (autoplan on a push: the PR was told when it opened). */
  quietRefusal?: boolean;
  /** Lines added to the end of the plan comment (e.g. who pressed a button). */
  notes?: string[];
}


/** Which projects this plan covers; `null` after replying with an error. */
async function chooseProjects(
  ctx: CommandContext,
  req: PlanRequest,
  pull: PullRequestInfo,
  config: ResolvedRepoConfig,
  checkout: () => Promise<Checkout>,
  changedFiles: () => Promise<ChangedFile[]>,
): Promise<Project[] | null> {
  let configured: ProjectConfig[] = config.projects;
  if (configured.some((p) => p.dirIsGlob)) configured = expandGlobDirs(configured, await listTerraformDirs((await checkout()).dir));
  if (req.dir || req.workspace || req.project) {
    const sel = selectProjects(
      { dir: req.dir, workspace: req.workspace, project: req.project },
      { ...(config.repo ? { config: { projects: configured } } : {}), modified: [] },
    );
    if (!sel.ok) {
      await postComment(ctx, `**Cannot plan:** ${sel.error}`);
      return null;
    }
    return sel.projects;
  }
  const files = await changedFiles();
  // A bare `plan` comment plans every modified project, even those with autoplan disabled.
  const options = { includeAutoplanDisabled: req.trigger === "comment" };
  // `auto` discovers only when the repo config lists no project: a glob entry counts as listed
  // even when it matches no directory (so judge by the entries as written, not their expansion).
  const discover = shouldDiscover(config.projects, config.autodiscover) && candidateDirs(files).length > 0;
  const dirs = discover ? await listTerraformDirs((await checkout()).dir) : undefined;
  return modifiedProjects(files, configured, config.autodiscover, dirs, options);
}

export async function runPlan(ctx: CommandContext, req: PlanRequest): Promise<void> {
  const pull = req.pull ?? (await ctx.github.getPull(ctx.pullNumber));
  const refusal = pullGate(ctx.deps.settings, pull, "plan");
  if (refusal) {
    if (!req.quietRefusal) await postComment(ctx, refusal);
    return;
  }
  const checks = new CheckReporter(ctx, pull.headSha);
  try {
    await planPull(ctx, req, pull, checks);
  } catch (error) {
    if (!(error instanceof Interrupted)) {
      await checks.failOpenRuns(`Atoll hit an internal error while planning: ${(error as Error).message}`);
    }
    throw error;
  }
}

/** A checkout (or the token for it) could not be made; reported as such, not as an internal error. */
class CheckoutFailed extends Error {}

async function planPull(ctx: CommandContext, req: PlanRequest, pull: PullRequestInfo, checks: CheckReporter) {
  const { store } = ctx.deps;
  const source = { ...ctx, settings: ctx.deps.settings, ...(ctx.deps.policy ? { policy: ctx.deps.policy } : {}) };

  let checkout: Checkout | undefined;
  const getCheckout = async (): Promise<Checkout> => {
    if (checkout) return checkout;
    try {
      checkout = await pullCheckout(ctx, pull);
      return checkout;
    } catch (error) {
      throw new CheckoutFailed((error as Error).message);
    }
  };

  // Where the repo config is read from:
  // - pre-workflow hooks run first, in the checkout, and may generate it: from the checkout;
  // - a repository checked out before: from the checkout too — fetching what is new into the
  //   local cache is quicker than two API reads (listing, file), and saves them;
  // - otherwise through the API, so that a repository whose pull requests never touch Terraform
  //   is never downloaded.
  // A full plan needs the changed files: read them meanwhile.
  const targeted = Boolean(req.dir || req.workspace || req.project);
  const filesRead = targeted ? undefined : ctx.github.listChangedFiles(pull.number);
  filesRead?.catch(() => undefined); // awaited in chooseProjects; unused when the config is invalid
  const changedFiles = () => filesRead ?? ctx.github.listChangedFiles(pull.number);

  const repoName = `${ctx.repo.owner}/${ctx.repo.repo}`;
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
      co = await getCheckout();
      checkoutMs = Date.now() - t;
    } catch (error) {
      if (!(error instanceof CheckoutFailed)) throw error;
      await reportCheckoutFailure(ctx, checks, error.message);
      return;
    }
    if (hooks) notes.push(...hookNotes(await runWorkflowHooks(ctx, policy.preWorkflowHooks, "plan", co, pull, req.extraArgs), "pre"));
    throwIfInterrupted(ctx);
    loaded = await fetchRepoConfig(source, pull, checkoutConfigFiles(co.dir));
  } else {
    loaded = await fetchRepoConfig(source, pull);
  }
  if (loaded.kind === "invalid") {
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
    return;
  }
  const config = loaded.config;

  let projects: Project[] | null;
  const chooseStart = Date.now();
  try {
    projects = await chooseProjects(ctx, req, pull, config, getCheckout, changedFiles);
  } catch (error) {
    if (!(error instanceof CheckoutFailed)) throw error;
    await reportCheckoutFailure(ctx, checks, error.message);
    return;
  }
  if (projects === null) return;
  // Where a monorepo's time goes (README "Performance"): the checkout the config is read from
  // (when the repository was checked out before), reading the config, then choosing.
  ctx.log.info(
    {
      repo: repoName,
      pull: pull.number,
      projects: projects.length,
      configured: config.projects.length,
      checkoutMs,
      configMs: chooseStart - configStart - checkoutMs,
      chooseMs: Date.now() - chooseStart,
    },
    "projects chosen",
  );

  // A full plan replaces every earlier plan of the PR; a targeted one replaces only its own.
  const discarded = await store.removeProjects(ctx.repo, pull.number, targeted ? projects : undefined);
  await discardPlans(ctx.deps, discarded);
  // Last in the write queue (cleanup); awaited when the plan's own writes are.
  const superseded = markSuperseded(ctx, discarded, pull.headSha);
  if (!targeted) {
    // Projects this PR no longer touches give their locks back (Atlantis clears stale locks on re-plan).
    const stale = discarded.filter((d) => !projects!.some((p) => sameProject(p, d.project)));
    const released = [];
    for (const d of stale) {
      const lock = await store.releaseLock(ctx.repo, d.project, pull.number);
      if (lock) released.push(lock);
    }
    await wakeWaiters(ctx, released, pull.number);
  }

  if (projects.length === 0) {
    await superseded;
    if (!targeted) await checks.refreshAggregates([], { allowEmpty: true });
    if (req.trigger === "comment") {
      await postComment(
        ctx,
        `Ran Plan for 0 projects: this pull request changes no Terraform project at ${pull.headSha.slice(0, 7)}.\n\n` +
          `To plan a directory anyway, comment \`${ctx.name} plan -d <dir>\`.`,
      );
    }
    return;
  }

  const now = () => new Date().toISOString();
  // `repo_locks: {mode: on_apply | disabled}` projects take no lock when planned.
  const settingsOf = new Map(projects.map((p) => [projectKey(p), projectSettings(config, p)]));
  const toLock = projects.filter((p) => settingsOf.get(projectKey(p))!.repoLocks === "on_plan");
  const outcomes = await acquireLocks(ctx, pull, toLock);
  const blocked = outcomes.filter((o): o is Extract<LockOutcome, { acquired: false }> => !o.acquired);
  const runnable = projects.filter((p) => !blocked.some((b) => sameProject(b.project, p)));
  for (const b of blocked) {
    await store.upsertProject(ctx.repo, pull.number, {
      ...pendingState(b.project, pull.headSha, req.extraArgs, now()),
      plan: "queued",
      headline: blockedHeadline(ctx, b),
    });
  }
  for (const project of runnable) {
    await store.upsertProject(ctx.repo, pull.number, pendingState(project, pull.headSha, req.extraArgs, now()));
  }
  // One "in progress" write for the whole plan (the `atoll/plan` aggregate names every project);
  // project runs are created when their results are known. When it is written: progress-timing.ts.
  const order = {
    groupOf: (p: Project) => settingsOf.get(projectKey(p))!.executionOrderGroup,
    parallel: config.parallelPlan,
    poolSize: ctx.deps.settings.parallelPoolSize,
  };
  const concurrent = peakConcurrency(runnable, order);
  const timings = ctx.deps.planTimings ?? new PlanTimings();
  let started: Promise<void> | undefined;
  const startWrites = (): Promise<void> =>
    (started ??= (async () => {
      // An interrupted job starts no more writes (the interruption report owns the check runs).
      if (!ctx.signal?.aborted) await checks.refreshAggregates(await store.listProjects(ctx.repo, pull.number), { kinds: ["plan"] });
    })());
  const { progressDelayMs, progressDelayAuto } = ctx.deps.settings;
  const delay = progressDelayAuto ? progressDelay(timings.expectedMs(repoName, runnable.length, concurrent), progressDelayMs) : progressDelayMs;
  const progressTimer = setTimeout(() => void startWrites().catch(() => undefined), delay);
  const planStart = Date.now();

  let co: Checkout | undefined;
  const results: ProjectResult[] = blocked.map((b) => ({
    project: b.project,
    command: "plan" as const,
    outcome: "refused" as const,
    headline: blockedHeadline(ctx, b),
    output: "",
  }));
  const reports: (() => Promise<unknown>)[] = [];
  try {
    // One GitHub round for readiness (apply) and plan requirements of every project, read while the
    // checkout is made and terraform runs: only plan requirements are needed before planning.
    const withPlan = runnable.some((p) => settingsOf.get(projectKey(p))!.planRequirements.length > 0);
    const readinessRead = runnable.length ? projectsReadiness(ctx, pull, config, runnable, { withPlan }) : Promise.resolve(new Map());
    readinessRead.catch(() => undefined);

    let checkoutError = "";
    if (runnable.length) {
      try {
        co = await getCheckout();
      } catch (error) {
        if (!(error instanceof CheckoutFailed)) throw error;
        checkoutError = error.message;
      }
    }

    /**
     * Record a project's result: state first (a click on Apply finds the plan); its check run is
     * written after the comment (`reports`), and then the state learns the run's id.
     */
    const finish = async (project: Project, outcome: PlanOutcomeLike): Promise<ProjectResult> => {
      const { result, planFile, planDigest } = outcome;
      const readinessOf = result.hasChanges ? (await readinessRead).get(projectKey(project))?.readiness : undefined;
      // Saved where every replica can read it: the apply may run elsewhere.
      const planBlob = planFile ? await savePlan(ctx.deps, { repo: ctx.repo, pullNumber: pull.number, headSha: pull.headSha, project }, planFile) : undefined;
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
        headline: result.headline,
        output: truncateUtf8(result.output, KEPT_OUTPUT_BYTES),
        updatedAt: now(),
      };
      await store.upsertProject(ctx.repo, pull.number, state);
      reports.push(async () => {
        const id = await checks.projectFinished("plan", result, readinessOf);
        if (id !== state.planCheckRunId) await store.upsertProject(ctx.repo, pull.number, { ...state, planCheckRunId: id });
      });
      return result;
    };
    const refusal = (project: Project, headline: string, outcome: ProjectResult["outcome"] = "refused", output = ""): PlanOutcomeLike => ({
      result: { project, command: "plan", outcome, headline, output },
    });

    // Projects sharing a directory never run at the same time (one .terraform dir, one selected workspace).
    const serialPerDir = keyedSerializer();
    const cpuShare = cpuShareEnv(concurrent);

    const planOne = async (project: Project): Promise<ProjectResult> => {
      if (!co) return finish(project, refusal(project, "Could not check out the pull request.", "failed", checkoutError));
      const unmetPlan = withPlan ? ((await readinessRead).get(projectKey(project))?.unmetPlan ?? []) : [];
      if (unmetPlan.length) {
        return finish(project, refusal(project, `Plan requirements not met for ${projectLabel(project)}:\n${renderUnmet(unmetPlan)}`));
      }
      const run = await projectRun(ctx, { config, pull, checkout: co, project, commentArgs: req.extraArgs });
      if (!run.ok) return finish(project, refusal(project, `Cannot plan: ${run.error}`, "failed"));
      const outcome = await serialPerDir(project.dir, () =>
        planProject(ctx.deps, co!, project, req.extraArgs, {
          verbose: req.verbose,
          name: ctx.name,
          ...run.options,
          env: { ...cpuShare, ...run.options.env },
          ...(ctx.onSpawn ? { onSpawn: ctx.onSpawn } : {}),
        }),
      );
      // Killed by a shutdown: not a result; the interruption is reported instead.
      throwIfInterrupted(ctx);
      return finish(project, outcome);
    };

    const planned = await runInExecutionOrder(
      runnable,
      {
        ...order,
        abortOnFailure: config.abortOnExecutionOrderFail,
        failed: (r) => r.outcome !== "success",
        skipped: (p): ProjectResult => ({ project: p, command: "plan", outcome: "refused", headline: SKIPPED, output: "" }),
      },
      planOne,
    );
    for (const r of planned) {
      if (r.headline === SKIPPED) await finish(r.project, { result: r });
    }
    results.push(...planned);
    if (co) timings.record(repoName, runnable.length, concurrent, Date.now() - planStart);
  } catch (error) {
    // Failed or interrupted: let "in progress" writes already under way land first, so whoever
    // reports the failure (failOpenRuns, the interruption report) sees and completes them.
    clearTimeout(progressTimer);
    if (started) await started.catch(() => undefined);
    throw error;
  } finally {
    // Planning is over: no "in progress" writes start after this.
    clearTimeout(progressTimer);
  }

  if (co && hooksFor(config.policy.postWorkflowHooks, "plan").length) {
    notes.push(...hookNotes(await runWorkflowHooks(ctx, config.policy.postWorkflowHooks, "plan", co, pull, req.extraArgs), "post"));
  }
  if (loaded.warnings.length) {
    notes.push(`Warnings about \`${config.file ?? "the repo config"}\`:\n${renderConfigIssues(loaded.warnings)}`);
  }
  // `silence_pr_comments: [plan]`: those projects report through check runs only.
  const shown = results.filter((r) => !settingsOf.get(projectKey(r.project))?.silencePrComments.includes("plan"));
  if (shown.length > 0 || results.length === 0) {
    await postParts(
      ctx,
      renderPrComment({ command: "plan", name: ctx.name, results: shown, headSha: pull.headSha, extraArgs: req.extraArgs, notes }),
    );
  }
  // Everything else is queued at once (results before the aggregates, "queued" runs of projects
  // waiting for a lock after them): the write queue sends them in that order, one a second.
  const writes = [
    ...reports.map((report) => report()),
    checks.refreshAggregates(await store.listProjects(ctx.repo, pull.number)),
    ...blocked.map((b) => checks.projectWaiting(b.project, blockedCheck(ctx, b))),
    ...(started ? [started] : []),
    superseded,
  ];
  await Promise.all(writes);
}

/** Headline of projects not planned because an earlier execution order group failed. */
const SKIPPED =
  "Not planned: a project in an earlier execution order group failed, and the repo config sets `abort_on_execution_order_fail: true`.";

interface PlanOutcomeLike {
  result: ProjectResult;
  planFile?: string;
  planDigest?: string;
}

/** Plans of older commits lose their Apply button and say what replaced them. */
async function markSuperseded(ctx: CommandContext, discarded: ProjectState[], headSha: string): Promise<void> {
  const queue = writeQueueOf(ctx.github);
  const writes = [];
  for (const d of discarded) {
    const id = d.planCheckRunId;
    if (d.headSha === headSha || id === undefined || d.plan === "pending" || d.plan === "queued") continue;
    const write = () =>
      ctx.github.updateCheckRun(id, {
        status: "completed",
        conclusion: "neutral",
        output: {
          title: `Superseded by ${headSha.slice(0, 7)}`,
          summary: `A newer commit (${headSha.slice(0, 7)}) was planned, so this plan was discarded and cannot be applied. See the checks of ${headSha.slice(0, 7)}.`,
        },
        actions: [],
      });
    writes.push(
      queue
        .run(WritePriority.cleanup, write, `check-run-id:${id}`)
        .catch((e: unknown) => ctx.log.warn({ err: e, checkRun: id }, "could not mark a plan check run superseded")),
    );
  }
  await Promise.all(writes);
}

function pendingState(project: Project, headSha: string, extraArgs: string[], now: string): ProjectState {
  return { project, headSha, plan: "pending", hasChanges: false, apply: "none", extraArgs, headline: "Planning…", output: "", updatedAt: now };
}



async function reportCheckoutFailure(ctx: CommandContext, checks: CheckReporter, message: string) {
  await postComment(ctx, `**Atoll could not check out this pull request**, so no Terraform ran.\n\n\`\`\`\n${message}\n\`\`\``);
  await checks.setAggregate("plan", {
    status: "completed",
    conclusion: "failure",
    output: { title: "Checkout failed", summary: truncateUtf8(message, 60_000) },
  });
}


export function findState(states: ProjectState[], project: Project): ProjectState | undefined {
  return states.find((s) => sameProject(s.project, project));
}
