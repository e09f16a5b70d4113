/**
 * The terraform work for one project in a checkout: plan (the workflow's plan stage — by default
 * init → workspace → plan — then `show -json` of the saved plan for the digest and summary), apply
 * (the workflow's apply stage — by default workspace → apply <planfile>) and version. Stages run
 * through `runStage` (workflow-runner.ts). Each returns a ProjectResult and never throws for
 * terraform or step failures: those are results to report (worded in `step-results.ts`).
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Project } from "../../projects/project.js";
import type { Workflow, WorkflowStep } from "../../config/config-types.js";
import { defaultWorkflow } from "../../config/default-workflow.js";
import type { Checkout } from "../../ports/workspace.js";
import { planChanges, summarizePlan } from "../../terraform/plan-summary.js";
import type { PlanSummary } from "../../terraform/plan-summary-types.js";
import type { ProjectResult } from "../reporting/project-result.js";
import type { RunnerDeps } from "../runner-deps.js";
import { isDestroyPlanArgs } from "../gates/destroy-guard.js";
import { currentJobLog } from "../../logs/job-log.js";
import { findLocalState, LOCAL_STATE_FIX, localStateWarning, type LocalState } from "../../terraform/state-location.js";
import { planFilePath, projectDirPath, projectDirProblem, showFilePath } from "./project-paths.js";
import { destroyHeadline, failedResult, lastLine, planHeadline, stageFailedResult, tfLogLine, verboseSection, type LogLine } from "./step-results.js";
import { runStage, type StageResult, type StageRun } from "./workflow-runner.js";

export interface PlanOutcome {
  result: ProjectResult;
  /** Set when the plan succeeded and its file was saved. */
  planFile?: string;
  /** sha256 of the plan's JSON form; apply refuses a plan file that no longer matches it. */
  planDigest?: string;
  /** What the plan changes, address by address (`planChanges`), for the plan history. */
  changes?: Record<string, string>;
}

export interface StepOptions {
  verbose?: boolean;
  /** Command word for suggested comments ("atoll", "atlantis"). */
  name?: string;
  /** Record the process groups terraform runs in (crash recovery). */
  onSpawn?: (process: { pid: number; startTime: string }) => void;
  /** The project's workflow; default Atlantis's built-in default (`defaultWorkflow()`). */
  workflow?: Workflow;
  /** terraform/tofu binary for this project (see `resolveTerraformBinary`); default the terraform port's. */
  binary?: string;
  /**
   * Variables for every step (Atlantis's, built with `workflowEnv`). WORKSPACE, DIR, PLANFILE and
   * SHOWFILE are always set from this project's paths, over what is given here.
   */
  env?: Record<string, string>;
}

/**
 * Digest of a plan's `terraform show -json` document without its `timestamp` (the one field
 * that differs between two plans of the same change), so planning the same change again gives
 * the same digest: an approval of a plan still holds for an identical plan after a push.
 */
export function planDigestOf(json: unknown): string {
  const doc = typeof json === "object" && json !== null && !Array.isArray(json) ? { ...(json as Record<string, unknown>), timestamp: undefined } : json;
  return createHash("sha256").update(JSON.stringify(doc)).digest("hex");
}

/** The digest Atoll stored before `planDigestOf` left the timestamp out (plans saved by an older version). */
function legacyPlanDigestOf(json: unknown): string {
  return createHash("sha256").update(JSON.stringify(json)).digest("hex");
}

/** One project's plan or apply while it runs. */
interface ProjectStep {
  deps: RunnerDeps;
  project: Project;
  opts: StepOptions;
  started: number;
  cwd: string;
  timeoutMs: number;
  /** Spread into every terraform call. */
  spawn: { onSpawn?: StepOptions["onSpawn"] };
  binary: { binary?: string };
  /** Every process that ran, for the verbose log. */
  logLines: LogLine[];
}

function projectStep(deps: RunnerDeps, checkout: Checkout, project: Project, opts: StepOptions, started: number): ProjectStep {
  currentJobLog()?.note(`\n── ${project.name ? `project ${project.name}: ` : ""}dir ${project.dir}, workspace ${project.workspace} ──`);
  return {
    deps,
    project,
    opts,
    started,
    cwd: projectDirPath(checkout, project),
    timeoutMs: deps.settings.stepTimeoutMs,
    spawn: opts.onSpawn ? { onSpawn: opts.onSpawn } : {},
    binary: opts.binary ? { binary: opts.binary } : {},
    logLines: [],
  };
}

/** What every stage of the project runs with (all but its steps and name). */
function stageRunOf(step: ProjectStep, planFile: string, showFile: string, commentArgs: string[]): Omit<StageRun, "steps"> {
  const { deps, opts } = step;
  return {
    terraform: deps.terraform,
    shell: deps.shell,
    ...step.binary,
    cwd: step.cwd,
    workspace: step.project.workspace,
    planFile,
    showFile,
    commentArgs,
    env: opts.env ?? {},
    timeoutMs: step.timeoutMs,
    ...step.spawn,
  };
}

export async function planProject(
  deps: RunnerDeps,
  checkout: Checkout,
  project: Project,
  extraArgs: string[],
  opts: StepOptions = {},
): Promise<PlanOutcome> {
  const started = Date.now();
  const problem = await projectDirProblem(checkout, project);
  if (problem) {
    return { result: { project, command: "plan", outcome: "refused", headline: `Cannot plan: ${problem}.`, output: "" } };
  }
  const step = projectStep(deps, checkout, project, opts, started);
  const planFile = planFilePath(checkout, project);
  const showFile = showFilePath(checkout, project);
  await fs.mkdir(path.dirname(planFile), { recursive: true });
  await fs.rm(planFile, { force: true });
  await fs.rm(showFile, { force: true });
  const workflow = opts.workflow ?? defaultWorkflow();
  const stage = await runStage({ ...stageRunOf(step, planFile, showFile, extraArgs), steps: workflow.plan, stage: "plan" });
  step.logLines.push(...stage.steps);
  if (!stage.ok) {
    await fs.rm(planFile, { force: true });
    return { result: stageFailedResult(step, "plan", stage) };
  }
  const planSaved = await fs.stat(planFile).then(
    (st) => st.isFile(),
    () => false,
  );
  const local = await localStateOf(step, checkout, workflow.plan, stage.env);
  const marks: PlanMarks = {
    destroyPlan: isDestroyPlanArgs(extraArgs),
    warnings: local ? [localStateWarning(local, deps.settings.allowLocalState)] : [],
  };
  // A workflow that plans without a plan file (pure `run` steps): report what it printed.
  if (!planSaved) return { result: { ...planResult(step, stage, stage.hasChanges ?? true, ""), ...marked(marks) } };
  const outcome = await savedPlanOutcome(step, stage, planFile);
  const plan = outcome.result.plan;
  const headline = marks.destroyPlan && plan ? destroyHeadline(plan) : outcome.result.headline;
  return { ...outcome, result: { ...outcome.result, headline, ...marked(marks) } };
}

/** What a plan result carries besides terraform's answer. */
interface PlanMarks {
  destroyPlan: boolean;
  warnings: string[];
}

function marked(marks: PlanMarks): Partial<ProjectResult> {
  const out: Partial<ProjectResult> = {};
  if (marks.destroyPlan) out.destroyPlan = true;
  if (marks.warnings.length) out.warnings = marks.warnings;
  return out;
}

/**
 * Whether the project's state would stay in the checkout (`state-location.ts`). Judged only when
 * the stage ran the built-in `init` (then terraform recorded its backend where Atoll looks).
 */
async function localStateOf(step: ProjectStep, checkout: Checkout, steps: WorkflowStep[], env: Record<string, string>): Promise<LocalState | null> {
  if (!steps.some((s) => s.kind === "builtin" && s.name === "init")) return null;
  const dataDir = env.TF_DATA_DIR || process.env.TF_DATA_DIR || ".terraform";
  return findLocalState(checkout.dir, step.cwd, step.project.workspace, dataDir);
}

/** A successful plan's result; its headline is terraform's own line unless a summary says better. */
function planResult(step: ProjectStep, stage: StageResult, hasChanges: boolean, notes: string, summary?: PlanSummary): ProjectResult {
  const headline = summary
    ? planHeadline(summary)
    : (lastLine(stage.output, /^(Plan: |No changes\.)/) ?? (hasChanges ? "Plan has changes." : "No changes."));
  return {
    project: step.project,
    command: "plan",
    outcome: "success",
    headline,
    output: stage.output + notes + verboseSection(step.opts, step.logLines),
    ...(summary ? { plan: summary } : {}),
    hasChanges,
    durationMs: Date.now() - step.started,
  };
}

/** The saved plan's `show -json`: its digest (for apply) and summary (for the comment). */
async function savedPlanOutcome(step: ProjectStep, stage: StageResult, planFile: string): Promise<PlanOutcome> {
  const { cwd, timeoutMs } = step;
  let summary: PlanSummary | undefined;
  let planDigest: string | undefined;
  let changes: Record<string, string> | undefined;
  let notes = "";
  const show = await step.deps.terraform.showJson({ cwd, timeoutMs, planFile, env: { ...stage.env }, ...step.spawn, ...step.binary });
  step.logLines.push(tfLogLine(step.opts.binary, show));
  if (show.exitCode === 0 && show.json !== undefined) {
    planDigest = planDigestOf(show.json);
    try {
      summary = summarizePlan(show.json, { statefulTypes: step.deps.settings.statefulTypes });
      changes = planChanges(show.json);
    } catch (error) {
      notes = `\n(Atoll could not summarise the plan: ${(error as Error).message})`;
    }
  } else {
    notes = `\n(terraform show -json failed with exit code ${show.exitCode}; no summary)`;
  }
  const hasChanges = summary ? summary.hasChanges : (stage.hasChanges ?? true);
  return { result: planResult(step, stage, hasChanges, notes, summary), planFile, ...(planDigest ? { planDigest } : {}), ...(changes ? { changes } : {}) };
}

/**
 * What prepares a checkout that did not make the plan for applying it (the plan was made on
 * another replica, or this checkout is new): the plan stage's steps before its built-in `plan`
 * step — by default just `init`, with the workflow's own init arguments — or a plain `init` when
 * the plan stage has no built-in `plan`.
 */
export function applyPreparationSteps(workflow: Workflow): WorkflowStep[] {
  const planAt = workflow.plan.findIndex((s) => s.kind === "builtin" && s.name === "plan");
  return planAt >= 0 ? workflow.plan.slice(0, planAt) : [{ kind: "builtin", name: "init", extraArgs: [] }];
}

/**
 * Run the workflow's apply stage. `planFile` is the saved plan ($PLANFILE); it may be missing only
 * when the apply stage has no built-in `apply` step (pure `run` workflows), then $PLANFILE is the
 * path a plan would have had. With `planDigest`, the plan file must still be the reviewed one.
 * With `prepare`, the checkout did not make this plan: `applyPreparationSteps` run first (their
 * output is shown only when they fail).
 */
export async function applyProject(
  deps: RunnerDeps,
  checkout: Checkout,
  project: Project,
  planFile: string | undefined,
  opts: StepOptions & { planDigest?: string; prepare?: boolean } = {},
): Promise<ProjectResult> {
  const step = projectStep(deps, checkout, project, opts, Date.now());
  const workflow = opts.workflow ?? defaultWorkflow();
  const stageRun = stageRunOf(step, planFile ?? planFilePath(checkout, project), showFilePath(checkout, project), []);
  const needsPlanFile = workflow.apply.some((s) => s.kind === "builtin" && (s.name === "apply" || s.name === "show"));
  if (planFile === undefined && needsPlanFile) return applyRefused(step, "There is no saved plan to apply. Plan again.");
  if (opts.prepare) {
    const prepared = await runStage({ ...stageRun, steps: applyPreparationSteps(workflow), stage: "plan" });
    step.logLines.push(...prepared.steps);
    if (!prepared.ok) return stageFailedResult(step, "apply", prepared);
  }
  if (!deps.settings.allowLocalState) {
    const local = await localStateOf(step, checkout, workflow.plan, opts.env ?? {});
    if (local) return applyRefused(step, localStateRefusal(local));
  }
  if (opts.planDigest && planFile !== undefined) {
    const changed = await changedPlanFile(step, planFile, opts.planDigest);
    if (changed) return changed;
  }
  const stage = await runStage({ ...stageRun, steps: workflow.apply, stage: "apply" });
  step.logLines.push(...stage.steps);
  if (!stage.ok) return stageFailedResult(step, "apply", stage);
  return {
    project,
    command: "apply",
    outcome: "success",
    headline: lastLine(stage.output, /^Apply complete!/) ?? "Apply complete!",
    output: stage.output + verboseSection(opts, step.logLines),
    durationMs: Date.now() - step.started,
  };
}

function localStateRefusal(local: LocalState): string {
  return (
    `Not applied: this project's Terraform state would stay in Atoll's temporary checkout (\`${local.statePath}\`) and would be lost ` +
    `when the checkout is deleted (and every pull request would start from an empty state). ${LOCAL_STATE_FIX}`
  );
}

function applyRefused(step: ProjectStep, headline: string, output = ""): ProjectResult {
  return { project: step.project, command: "apply", outcome: "refused", headline, output, durationMs: Date.now() - step.started };
}

/** Exactly the reviewed plan: the refusal when the file is no longer the one whose summary was shown. */
async function changedPlanFile(step: ProjectStep, planFile: string, planDigest: string): Promise<ProjectResult | undefined> {
  const { cwd, timeoutMs, opts } = step;
  const show = await step.deps.terraform.showJson({ cwd, timeoutMs, planFile, ...(opts.env ? { env: { ...opts.env } } : {}), ...step.spawn, ...step.binary });
  step.logLines.push(tfLogLine(opts.binary, show));
  if (show.exitCode === 0 && show.json !== undefined && (planDigestOf(show.json) === planDigest || legacyPlanDigestOf(show.json) === planDigest)) return undefined;
  return applyRefused(
    step,
    "The saved plan file no longer matches the plan that was reviewed, so it was not applied. Plan again.",
    show.exitCode !== 0 ? show.output : "",
  );
}

/**
 * `import ADDRESS ID` / `state rm ADDRESS...`: the workflow's `import` / `state_rm` stage (by
 * default init → import / state_rm), with the addresses after every other argument.
 */
export async function stateProject(
  deps: RunnerDeps,
  checkout: Checkout,
  project: Project,
  command: "import" | "state_rm",
  input: { args: string[]; extraArgs: string[] },
  opts: StepOptions = {},
): Promise<ProjectResult> {
  const started = Date.now();
  const problem = await projectDirProblem(checkout, project);
  if (problem) return { project, command, outcome: "refused", headline: `Cannot run: ${problem}.`, output: "" };
  const step = projectStep(deps, checkout, project, opts, started);
  const workflow = opts.workflow ?? defaultWorkflow();
  const stage = await runStage({
    ...stageRunOf(step, planFilePath(checkout, project), showFilePath(checkout, project), input.extraArgs),
    positionalArgs: input.args,
    steps: workflow[command],
    stage: command,
  });
  step.logLines.push(...stage.steps);
  if (!stage.ok) return stageFailedResult(step, command, stage);
  const done = command === "import" ? /^Import successful!/ : /^Successfully removed /;
  return {
    project,
    command,
    outcome: "success",
    headline: lastLine(stage.output, done) ?? (command === "import" ? "Import done." : "state rm done."),
    output: stage.output + verboseSection(opts, step.logLines),
    durationMs: Date.now() - started,
  };
}

export async function versionProject(
  deps: RunnerDeps,
  checkout: Checkout,
  project: Project,
  opts: Pick<StepOptions, "binary"> = {},
): Promise<ProjectResult> {
  const started = Date.now();
  const problem = await projectDirProblem(checkout, project);
  if (problem) return { project, command: "version", outcome: "refused", headline: `Cannot run: ${problem}.`, output: "" };
  const cwd = path.join(checkout.dir, project.dir);
  const v = await deps.terraform.version({ cwd, timeoutMs: deps.settings.stepTimeoutMs, ...(opts.binary ? { binary: opts.binary } : {}) });
  if (v.exitCode !== 0 || v.timedOut) {
    return failedResult(project, "version", { result: v, stepName: "version", terraform: true }, deps.settings.stepTimeoutMs, started);
  }
  return {
    project,
    command: "version",
    outcome: "success",
    headline: v.output.split("\n")[0]?.trim() || "terraform version",
    output: v.output,
    durationMs: Date.now() - started,
  };
}
