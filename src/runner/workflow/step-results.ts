/**
 * How a project's terraform work is worded as a ProjectResult: headlines ("Plan: 1 to add, …",
 * "terraform init failed (exit code 1)", a timeout, terraform's state lock explained) and the
 * verbose log (`--verbose`: every process that ran, its exit code and duration).
 */
import path from "node:path";
import type { TerraformStepResult } from "../../ports/terraform.js";
import { projectFlags, projectLabel, type Project } from "../../projects/project.js";
import type { PlanSummary } from "../../terraform/plan-summary-types.js";
import { parseStateLockError, renderStateLockError } from "../../terraform/state-lock-error.js";
import type { ProjectResult } from "../reporting/project-result.js";
import type { StageFailure, StageResult } from "./workflow-runner.js";

/** The one-line result, worded as terraform words its own "Plan:" line. */
export function planHeadline(summary: PlanSummary): string {
  if (!summary.hasChanges) return "No changes. Your infrastructure matches the configuration.";
  const resources = summary.add + summary.change + summary.destroy + summary.import + summary.forget;
  if (resources === 0 && summary.move === 0 && summary.outputChanges) return "Changes to Outputs only.";
  const imports = summary.import > 0 ? `${summary.import} to import, ` : "";
  const forget = summary.forget > 0 ? `, ${summary.forget} to forget` : "";
  return `Plan: ${imports}${summary.add} to add, ${summary.change} to change, ${summary.destroy} to destroy${forget}.`;
}

/** The headline of a `-destroy` plan: what applying it destroys. */
export function destroyHeadline(summary: PlanSummary): string {
  if (!summary.hasChanges) return "Destroy plan: nothing to destroy (the state is empty).";
  return `Destroy plan: ${summary.destroy} to destroy.`;
}

/** The last "Plan: …" / "No changes." / "Apply complete! …" line terraform printed. */
export function lastLine(output: string, re: RegExp): string | undefined {
  const lines = output.split("\n").filter((l) => re.test(l));
  return lines.length ? lines[lines.length - 1].trim() : undefined;
}

function secondsOf(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** One line per process that ran: what it was, its exit code and duration. */
export interface LogLine {
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

/** The verbose log appended to a result's output; "" unless `verbose`. */
export function verboseSection(opts: { verbose?: boolean }, lines: LogLine[]): string {
  return opts.verbose ? `\n\n--- Atoll log ---\n${verboseLog(lines)}\n` : "";
}

export function tfLogLine(binary: string | undefined, r: TerraformStepResult): LogLine {
  return { display: `${path.basename(binary ?? "terraform")} ${r.args.join(" ")}`, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs };
}

/** What failed, for `failedResult`: a terraform step of Atoll's own, or a workflow step. */
export interface FailedStep {
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

/** The project's result when a step failed: a timeout, terraform's state lock, or an exit code. */
export function failedResult(
  project: Project,
  command: ProjectResult["command"],
  failed: FailedStep,
  timeoutMs: number,
  started: number,
  name = "atoll",
): ProjectResult {
  const { result: step, stepName } = failed;
  const output = failed.output ?? step.output;
  const lockHeadline = step.timedOut ? undefined : stateLockHeadline(project, command, failed, name);
  if (lockHeadline) return { project, command, outcome: "failed", headline: lockHeadline, output, durationMs: Date.now() - started };
  const what = failed.terraform ? `terraform ${stepName}` : `the ${stepName} step`;
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

/**
 * Terraform's own state lock (also from a `run` step running terraform): who holds it and what
 * to do, not just the raw error. Undefined when the step did not fail on a state lock.
 */
function stateLockHeadline(project: Project, command: ProjectResult["command"], failed: FailedStep, name: string): string | undefined {
  const { result: step, stepName } = failed;
  const ended = new Date();
  const lockError = parseStateLockError(step.output, {
    stepStartedAt: new Date(ended.getTime() - step.durationMs),
    stepEndedAt: ended,
    ...(stepName === "plan" || stepName === "apply" ? { operation: stepName } : {}),
  });
  if (!lockError) return undefined;
  const rendered = renderStateLockError(lockError, {
    commandHint: `${name} ${command === "apply" ? "apply" : "plan"} ${projectFlags(project)}`,
    project: projectLabel(project),
  });
  return rendered.body;
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

/** What a project's (or its started clock's) run needs to word a failed stage. */
export interface StageFailureContext {
  project: Project;
  timeoutMs: number;
  started: number;
  opts: { verbose?: boolean; name?: string };
  logLines: LogLine[];
}

/** The project's result when a workflow stage failed: the failed step's headline, the stage's output, the verbose log. */
export function stageFailedResult(run: StageFailureContext, command: ProjectResult["command"], stage: StageResult): ProjectResult {
  const f = failedResult(run.project, command, fromStage(stage.failed!, stage.output), run.timeoutMs, run.started, run.opts.name);
  return { ...f, output: f.output + verboseSection(run.opts, run.logLines) };
}
