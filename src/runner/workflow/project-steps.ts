/**
 * The terraform work for one project in a checkout: plan (the workflow's plan stage — by default
 * init → workspace → plan — then `show -json` of the saved plan for the digest and summary), apply
 * (the workflow's apply stage — by default workspace → apply <planfile>) and version. Stages run
 * through `runStage` (workflow-runner.ts). Each returns a ProjectResult and never throws for
 * terraform or step failures: those are results to report.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { projectFlags, projectKey, projectLabel, type Project } from "../../projects/project.js";
import { parseStateLockError, renderStateLockError } from "../../terraform/state-lock-error.js";
import type { Workflow, WorkflowStep } from "../../config/config-types.js";
import { defaultWorkflow } from "../../config/default-workflow.js";
import type { TerraformStepResult } from "../../ports/terraform.js";
import type { Checkout } from "../../ports/workspace.js";
import { summarizePlan } from "../../terraform/plan-summary.js";
import type { PlanSummary } from "../../terraform/plan-summary-types.js";
import type { ProjectResult } from "../reporting/project-result.js";
import type { RunnerDeps } from "../runner-deps.js";
import { runStage, type StageFailure, type StageResult } from "./workflow-runner.js";

const TERRAFORM_FILE = /\.(tf|tofu)(\.json)?$/;

/** The one-line result, worded as terraform words its own "Plan:" line. */
export function planHeadline(summary: PlanSummary): string {
  if (!summary.hasChanges) return "No changes. Your infrastructure matches the configuration.";
  const resources = summary.add + summary.change + summary.destroy + summary.import + summary.forget;
  if (resources === 0 && summary.move === 0 && summary.outputChanges) return "Changes to Outputs only.";
  const imports = summary.import > 0 ? `${summary.import} to import, ` : "";
  const forget = summary.forget > 0 ? `, ${summary.forget} to forget` : "";
  return `Plan: ${imports}${summary.add} to add, ${summary.change} to change, ${summary.destroy} to destroy${forget}.`;
}

/** The last "Plan: …" / "No changes." / "Apply complete! …" line terraform printed. */
function lastLine(output: string, re: RegExp): string | undefined {
  const lines = output.split("\n").filter((l) => re.test(l));
  return lines.length ? lines[lines.length - 1].trim() : undefined;
}

function secondsOf(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** Where a project's plan file lives: next to the checkout, named by a hash of the project identity. */
export function planFilePath(checkout: Checkout, project: Project): string {
  const id = createHash("sha256").update(projectKey(project)).digest("hex").slice(0, 16);
  return path.join(checkout.artifactsDir, `${id}.tfplan`);
}

/** Where a project's `show -json` output goes for workflows ($SHOWFILE): the plan file's name with `.json`. */
export function showFilePath(checkout: Checkout, project: Project): string {
  return planFilePath(checkout, project).replace(/\.tfplan$/, ".json");
}

/** Absolute project directory inside the checkout ($DIR, where every step runs). */
export function projectDirPath(checkout: Checkout, project: Project): string {
  return path.resolve(checkout.dir, project.dir);
}

/** Check the project dir is inside the checkout, exists and holds Terraform files. */
async function projectDirProblem(checkout: Checkout, project: Project): Promise<string | null> {
  const root = path.resolve(checkout.dir);
  const dir = path.resolve(root, project.dir);
  if (dir !== root && !dir.startsWith(root + path.sep)) return `directory \`${project.dir}\` is outside the repository`;
  let entries: string[];
  try {
    const real = await fs.realpath(dir);
    const realRoot = await fs.realpath(root);
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
      return `directory \`${project.dir}\` is outside the repository`;
    }
    entries = await fs.readdir(dir);
  } catch {
    return `directory \`${project.dir}\` does not exist at commit ${checkout.sha.slice(0, 7)}`;
  }
  if (!entries.some((e) => TERRAFORM_FILE.test(e))) {
    return `directory \`${project.dir}\` has no Terraform files at commit ${checkout.sha.slice(0, 7)}`;
  }
  return null;
}

/** One line per process that ran: what it was, its exit code and duration. */
interface LogLine {
  display: string;
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
}

function verboseLog(lines: LogLine[]): string {
  return lines
    .map((s) => `$ ${s.display}  (exit ${s.exitCode}${s.timedOut ? ", timed out" : ""}, ${secondsOf(Math.round(s.durationMs))})`)
    .join("\n");
}

function verboseSection(opts: StepOptions, lines: LogLine[]): string {
  return opts.verbose ? `\n\n--- Atoll log ---\n${verboseLog(lines)}\n` : "";
}

function tfLogLine(binary: string | undefined, r: TerraformStepResult): LogLine {
  return { display: `${path.basename(binary ?? "terraform")} ${r.args.join(" ")}`, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs };
}

/** What failed, for `failure`: a terraform step of Atoll's own, or a workflow step. */
interface FailedStep {
  result: TerraformStepResult;
  /** "init", "plan", "workspace select", "run", "env FOO", … */
  stepName: string;
  /** Whether it is terraform's own command (worded "terraform <step>"). */
  terraform: boolean;
  /** Shown instead of the "failed (exit code N)" headline. */
  message?: string;
  /** Output for the result; default the step's. */
  output?: string;
}

function fromStage(failed: StageFailure, output: string): FailedStep {
  return {
    result: failed.result,
    stepName: failed.step,
    terraform: failed.terraform,
    output,
    ...(failed.message ? { message: failed.message } : {}),
  };
}

function failure(
  project: Project,
  command: ProjectResult["command"],
  failed: FailedStep,
  timeoutMs: number,
  started: number,
  name = "atoll",
): ProjectResult {
  const { result: step, stepName } = failed;
  const output = failed.output ?? step.output;
  const what = failed.terraform ? `terraform ${stepName}` : `the ${stepName} step`;
  if (!step.timedOut) {
    // Terraform's own state lock (also from a `run` step running terraform): say who holds it and
    // what to do, not just the raw error.
    const ended = new Date();
    const lockError = parseStateLockError(step.output, {
      stepStartedAt: new Date(ended.getTime() - step.durationMs),
      stepEndedAt: ended,
      ...(stepName === "plan" || stepName === "apply" ? { operation: stepName } : {}),
    });
    if (lockError) {
      const rendered = renderStateLockError(lockError, {
        commandHint: `${name} ${command === "apply" ? "apply" : "plan"} ${projectFlags(project)}`,
        project: projectLabel(project),
      });
      return { project, command, outcome: "failed", headline: rendered.body, output, durationMs: Date.now() - started };
    }
  }
  return {
    project,
    command,
    outcome: step.timedOut ? "timed_out" : "failed",
    headline: step.timedOut
      ? `Timed out after ${secondsOf(timeoutMs)} during ${what}; the process was stopped.`
      : (failed.message ?? `${failed.terraform ? what : `The ${stepName} step`} failed (exit code ${step.exitCode}).`),
    output,
    durationMs: Date.now() - started,
  };
}

function stageFailure(
  project: Project,
  command: ProjectResult["command"],
  stage: StageResult,
  timeoutMs: number,
  started: number,
  opts: StepOptions,
  logLines: LogLine[],
): ProjectResult {
  const f = failure(project, command, fromStage(stage.failed!, stage.output), timeoutMs, started, opts.name);
  return { ...f, output: f.output + verboseSection(opts, logLines) };
}

export interface PlanOutcome {
  result: ProjectResult;
  /** Set when the plan succeeded and its file was saved. */
  planFile?: string;
  /** sha256 of the plan's JSON form; apply refuses a plan file that no longer matches it. */
  planDigest?: string;
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

/** Digest of a plan's `terraform show -json` document. */
export function planDigestOf(json: unknown): string {
  return createHash("sha256").update(JSON.stringify(json)).digest("hex");
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
  const cwd = projectDirPath(checkout, project);
  const timeoutMs = deps.settings.stepTimeoutMs;
  const spawn = opts.onSpawn ? { onSpawn: opts.onSpawn } : {};
  const binary = opts.binary ? { binary: opts.binary } : {};
  const planFile = planFilePath(checkout, project);
  const showFile = showFilePath(checkout, project);
  await fs.mkdir(path.dirname(planFile), { recursive: true });
  await fs.rm(planFile, { force: true });
  await fs.rm(showFile, { force: true });
  const workflow = opts.workflow ?? defaultWorkflow();
  const stage = await runStage({
    steps: workflow.plan,
    terraform: deps.terraform,
    shell: deps.shell,
    ...binary,
    cwd,
    workspace: project.workspace,
    planFile,
    showFile,
    commentArgs: extraArgs,
    env: opts.env ?? {},
    timeoutMs,
    ...spawn,
    stage: "plan",
  });
  const logLines: LogLine[] = [...stage.steps];
  if (!stage.ok) {
    await fs.rm(planFile, { force: true });
    return { result: stageFailure(project, "plan", stage, timeoutMs, started, opts, logLines) };
  }
  const planSaved = await fs.stat(planFile).then(
    (st) => st.isFile(),
    () => false,
  );
  if (!planSaved) {
    // A workflow that plans without a plan file (pure `run` steps): report what it printed.
    const hasChanges = stage.hasChanges ?? true;
    return {
      result: {
        project,
        command: "plan",
        outcome: "success",
        headline: lastLine(stage.output, /^(Plan: |No changes\.)/) ?? (hasChanges ? "Plan has changes." : "No changes."),
        output: stage.output + verboseSection(opts, logLines),
        hasChanges,
        durationMs: Date.now() - started,
      },
    };
  }
  let summary: PlanSummary | undefined;
  let planDigest: string | undefined;
  let notes = "";
  const show = await deps.terraform.showJson({ cwd, timeoutMs, planFile, env: { ...stage.env }, ...spawn, ...binary });
  logLines.push(tfLogLine(opts.binary, show));
  if (show.exitCode === 0 && show.json !== undefined) {
    planDigest = planDigestOf(show.json);
    try {
      summary = summarizePlan(show.json);
    } catch (error) {
      notes = `\n(Atoll could not summarise the plan: ${(error as Error).message})`;
    }
  } else {
    notes = `\n(terraform show -json failed with exit code ${show.exitCode}; no summary)`;
  }
  const hasChanges = summary ? summary.hasChanges : (stage.hasChanges ?? true);
  const headline = summary
    ? planHeadline(summary)
    : (lastLine(stage.output, /^(Plan: |No changes\.)/) ?? (hasChanges ? "Plan has changes." : "No changes."));
  return {
    result: {
      project,
      command: "plan",
      outcome: "success",
      headline,
      output: stage.output + notes + verboseSection(opts, logLines),
      ...(summary ? { plan: summary } : {}),
      hasChanges,
      durationMs: Date.now() - started,
    },
    planFile,
    ...(planDigest ? { planDigest } : {}),
  };
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
  const started = Date.now();
  const cwd = projectDirPath(checkout, project);
  const timeoutMs = deps.settings.stepTimeoutMs;
  const spawn = opts.onSpawn ? { onSpawn: opts.onSpawn } : {};
  const binary = opts.binary ? { binary: opts.binary } : {};
  const workflow = opts.workflow ?? defaultWorkflow();
  const logLines: LogLine[] = [];
  const stageRun = {
    terraform: deps.terraform,
    shell: deps.shell,
    ...binary,
    cwd,
    workspace: project.workspace,
    planFile: planFile ?? planFilePath(checkout, project),
    showFile: showFilePath(checkout, project),
    commentArgs: [],
    env: opts.env ?? {},
    timeoutMs,
    ...spawn,
  };
  const needsPlanFile = workflow.apply.some((s) => s.kind === "builtin" && (s.name === "apply" || s.name === "show"));
  if (planFile === undefined && needsPlanFile) {
    return {
      project,
      command: "apply",
      outcome: "refused",
      headline: "There is no saved plan to apply. Plan again.",
      output: "",
      durationMs: Date.now() - started,
    };
  }
  if (opts.prepare) {
    const prepared = await runStage({ ...stageRun, steps: applyPreparationSteps(workflow), stage: "plan" });
    logLines.push(...prepared.steps);
    if (!prepared.ok) return stageFailure(project, "apply", prepared, timeoutMs, started, opts, logLines);
  }
  if (opts.planDigest && planFile !== undefined) {
    // Exactly the reviewed plan: the file must still be the one whose summary was shown.
    const show = await deps.terraform.showJson({ cwd, timeoutMs, planFile, ...(opts.env ? { env: { ...opts.env } } : {}), ...spawn, ...binary });
    logLines.push(tfLogLine(opts.binary, show));
    if (show.exitCode !== 0 || show.json === undefined || planDigestOf(show.json) !== opts.planDigest) {
      return {
        project,
        command: "apply",
        outcome: "refused",
        headline: "The saved plan file no longer matches the plan that was reviewed, so it was not applied. Plan again.",
        output: show.exitCode !== 0 ? show.output : "",
        durationMs: Date.now() - started,
      };
    }
  }
  const stage = await runStage({ ...stageRun, steps: workflow.apply, stage: "apply" });
  logLines.push(...stage.steps);
  if (!stage.ok) return stageFailure(project, "apply", stage, timeoutMs, started, opts, logLines);
  return {
    project,
    command: "apply",
    outcome: "success",
    headline: lastLine(stage.output, /^Apply complete!/) ?? "Apply complete!",
    output: stage.output + verboseSection(opts, logLines),
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
    return failure(project, "version", { result: v, stepName: "version", terraform: true }, deps.settings.stepTimeoutMs, started);
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
