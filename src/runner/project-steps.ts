/**
 * The terraform steps for one project in a checkout: plan (init → workspace → plan → show -json),
 * apply (workspace → apply <planfile>) and version. Each returns a ProjectResult and never throws
 * for terraform failures: those are results to report.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { DEFAULT_WORKSPACE, projectFlags, projectKey, projectLabel, type Project } from "../projects/project.js";
import { parseStateLockError, renderStateLockError } from "../terraform/state-lock-error.js";
import type { TerraformStepResult } from "../ports/terraform.js";
import type { Checkout } from "../ports/workspace.js";
import { summarizePlan } from "../terraform/plan-summary.js";
import type { PlanSummary } from "../terraform/plan-summary-types.js";
import type { ProjectResult } from "./project-result.js";
import type { RunnerDeps } from "./runner-deps.js";

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

interface StepLog {
  steps: TerraformStepResult[];
}

function verboseLog(log: StepLog): string {
  return log.steps
    .map((s) => `$ terraform ${s.args.join(" ")}  (exit ${s.exitCode}${s.timedOut ? ", timed out" : ""}, ${secondsOf(Math.round(s.durationMs))})`)
    .join("\n");
}

function failure(
  project: Project,
  command: ProjectResult["command"],
  step: TerraformStepResult,
  stepName: string,
  timeoutMs: number,
  started: number,
  name = "atoll",
): ProjectResult {
  if (!step.timedOut) {
    // Terraform's own state lock: say who holds it and what to do, not just the raw error.
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
      return { project, command, outcome: "failed", headline: rendered.body, output: step.output, durationMs: Date.now() - started };
    }
  }
  return {
    project,
    command,
    outcome: step.timedOut ? "timed_out" : "failed",
    headline: step.timedOut
      ? `Timed out after ${secondsOf(timeoutMs)} during terraform ${stepName}; the process was stopped.`
      : `terraform ${stepName} failed (exit code ${step.exitCode}).`,
    output: step.output,
    durationMs: Date.now() - started,
  };
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
  const cwd = path.join(checkout.dir, project.dir);
  const timeoutMs = deps.settings.stepTimeoutMs;
  const spawn = opts.onSpawn ? { onSpawn: opts.onSpawn } : {};
  const log: StepLog = { steps: [] };
  const step = async (r: Promise<TerraformStepResult>) => {
    const s = await r;
    log.steps.push(s);
    return s;
  };
  const init = await step(deps.terraform.init({ cwd, timeoutMs, ...spawn }));
  if (init.exitCode !== 0 || init.timedOut) return { result: failure(project, "plan", init, "init", timeoutMs, started, opts.name) };
  if (project.workspace !== DEFAULT_WORKSPACE) {
    const ws = await step(deps.terraform.selectWorkspace({ cwd, timeoutMs, workspace: project.workspace, ...spawn }));
    if (ws.exitCode !== 0 || ws.timedOut) return { result: failure(project, "plan", ws, "workspace select", timeoutMs, started, opts.name) };
  }
  const planFile = planFilePath(checkout, project);
  await fs.mkdir(path.dirname(planFile), { recursive: true });
  await fs.rm(planFile, { force: true });
  const plan = await deps.terraform.plan({ cwd, timeoutMs, planFile, extraArgs, ...spawn });
  log.steps.push(plan);
  if (!plan.ok) {
    await fs.rm(planFile, { force: true });
    return { result: failure(project, "plan", plan, "plan", timeoutMs, started, opts.name) };
  }
  let summary: PlanSummary | undefined;
  let planDigest: string | undefined;
  let notes = "";
  const show = await deps.terraform.showJson({ cwd, timeoutMs, planFile, ...spawn });
  log.steps.push(show);
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
  const hasChanges = summary ? summary.hasChanges : plan.hasChanges;
  const headline = summary
    ? planHeadline(summary)
    : (lastLine(plan.output, /^(Plan: |No changes\.)/) ?? (hasChanges ? "Plan has changes." : "No changes."));
  const verbose = opts.verbose ? `\n\n--- Atoll log ---\n${verboseLog(log)}\n` : "";
  return {
    result: {
      project,
      command: "plan",
      outcome: "success",
      headline,
      output: plan.output + notes + verbose,
      ...(summary ? { plan: summary } : {}),
      hasChanges,
      durationMs: Date.now() - started,
    },
    planFile,
    ...(planDigest ? { planDigest } : {}),
  };
}

export async function applyProject(
  deps: RunnerDeps,
  checkout: Checkout,
  project: Project,
  planFile: string,
  opts: StepOptions & { planDigest?: string } = {},
): Promise<ProjectResult> {
  const started = Date.now();
  const cwd = path.join(checkout.dir, project.dir);
  const timeoutMs = deps.settings.stepTimeoutMs;
  const spawn = opts.onSpawn ? { onSpawn: opts.onSpawn } : {};
  const log: StepLog = { steps: [] };
  if (opts.planDigest) {
    // Exactly the reviewed plan: the file must still be the one whose summary was shown.
    const show = await deps.terraform.showJson({ cwd, timeoutMs, planFile, ...spawn });
    log.steps.push(show);
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
  if (project.workspace !== DEFAULT_WORKSPACE) {
    const ws = await deps.terraform.selectWorkspace({ cwd, timeoutMs, workspace: project.workspace, ...spawn });
    log.steps.push(ws);
    if (ws.exitCode !== 0 || ws.timedOut) return failure(project, "apply", ws, "workspace select", timeoutMs, started, opts.name);
  }
  const apply = await deps.terraform.apply({ cwd, timeoutMs, planFile, ...spawn });
  log.steps.push(apply);
  const verbose = opts.verbose ? `\n\n--- Atoll log ---\n${verboseLog(log)}\n` : "";
  if (apply.exitCode !== 0 || apply.timedOut) {
    const f = failure(project, "apply", apply, "apply", timeoutMs, started, opts.name);
    return { ...f, output: f.output + verbose };
  }
  return {
    project,
    command: "apply",
    outcome: "success",
    headline: lastLine(apply.output, /^Apply complete!/) ?? "Apply complete!",
    output: apply.output + verbose,
    durationMs: Date.now() - started,
  };
}

export async function versionProject(deps: RunnerDeps, checkout: Checkout, project: Project): Promise<ProjectResult> {
  const started = Date.now();
  const problem = await projectDirProblem(checkout, project);
  if (problem) return { project, command: "version", outcome: "refused", headline: `Cannot run: ${problem}.`, output: "" };
  const cwd = path.join(checkout.dir, project.dir);
  const v = await deps.terraform.version({ cwd, timeoutMs: deps.settings.stepTimeoutMs });
  if (v.exitCode !== 0 || v.timedOut) return failure(project, "version", v, "version", deps.settings.stepTimeoutMs, started);
  return {
    project,
    command: "version",
    outcome: "success",
    headline: v.output.split("\n")[0]?.trim() || "terraform version",
    output: v.output,
    durationMs: Date.now() - started,
  };
}
