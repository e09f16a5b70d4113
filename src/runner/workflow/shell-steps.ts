/**
 * The shell steps of a workflow stage: `run` (a command whose output is shown by its output
 * modes), `env` (one variable, from a value or a command's stdout) and `multienv` (variables from
 * a command's `A=1,B=2` output). See the module comment of `workflow-runner.ts`.
 */
import { goRegExp } from "../../config/yaml-reader.js";
import type { WorkflowStep } from "../../config/config-types.js";
import { shellStepResult, type Stage, type StepEnd } from "./stage.js";
import { commandHeading, stripRefreshing } from "./step-text.js";
import { currentJobLog } from "../../logs/job-log.js";

/** First line of a command, for log headers. */
function firstLine(command: string): string {
  const lines = command.trim().split("\n");
  return lines.length > 1 ? `${lines[0]} …` : lines[0];
}

type RunStep = Extract<WorkflowStep, { kind: "run" }>;
type EnvStep = Extract<WorkflowStep, { kind: "env" }>;
type MultienvStep = Extract<WorkflowStep, { kind: "multienv" }>;

type RunOutput = { hidden: boolean; filtered: boolean; render: (text: string) => string } | { error: string };

/** How a `run` step's output is shown (its output modes; hide wins). */
function runOutput(step: RunStep): RunOutput {
  const modes = step.output.length > 0 ? step.output : [{ mode: "show" as const }];
  const hidden = modes.some((m) => m.mode === "hide");
  const strip = modes.some((m) => m.mode === "strip_refreshing");
  const regexes: RegExp[] = [];
  for (const m of modes) {
    if (m.mode !== "filter_regex") continue;
    try {
      regexes.push(goRegExp(m.regex, "g"));
    } catch (error) {
      return { error: `filter_regex ${JSON.stringify(m.regex)} is not a valid regular expression: ${(error as Error).message}` };
    }
  }
  return {
    hidden,
    filtered: regexes.length > 0,
    render: (text) => {
      let out = strip ? stripRefreshing(text) : text;
      for (const re of regexes) out = out.replace(re, "<redacted>");
      return out;
    },
  };
}

export async function runRunStep(stage: Stage, step: RunStep): Promise<StepEnd> {
  const modes = runOutput(step);
  const display = `${step.shell} ${[...step.shellArgs, step.command].join(" ")}`;
  if ("error" in modes) return stage.failWithMessage("run", `run step: ${modes.error}`);
  // The job log streams what the comment would show unchanged; filtered or hidden output is
  // logged after the step, as the comment shows it.
  const live = !modes.hidden && !modes.filtered;
  const r = await stage.runShell(step.shell, step.shellArgs, step.command, false, live);
  const args = [...step.shellArgs, step.command];
  stage.steps.push({ label: "run", display, args, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs });
  const shown = modes.hidden ? "" : modes.render(r.output);
  if (!live) currentJobLog()?.note(`$ ${firstLine(step.command)}\n${modes.hidden ? "[output hidden by the workflow]" : shown}`);
  if (r.exitCode !== 0 || r.timedOut) {
    const text = modes.hidden
      ? r.spawnError
        ? `run step could not start: ${r.spawnError}\n`
        : `run step ${r.timedOut ? "timed out" : `failed (exit ${r.exitCode})`}\n`
      : shown;
    return stage.fail({ step: "run", terraform: false, result: shellStepResult(r, args, text) }, commandHeading(step.command));
  }
  if (!modes.hidden) stage.sections.push({ text: shown, heading: commandHeading(step.command) });
  return undefined;
}

export async function runEnvStep(stage: Stage, step: EnvStep): Promise<StepEnd> {
  const label = `env ${step.name}`;
  if (step.command === undefined) {
    stage.env[step.name] = step.value ?? "";
    stage.steps.push({ label, display: `env ${step.name} (value)`, exitCode: 0, timedOut: false, durationMs: 0 });
    return undefined;
  }
  const r = await stage.runShell(step.shell, step.shellArgs, step.command, true);
  const args = [...step.shellArgs, step.command];
  const display = `env ${step.name}: ${step.shell} ${args.join(" ")}`;
  stage.steps.push({ label, display, args, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs });
  if (r.exitCode !== 0 || r.timedOut) {
    // The value was not set, so the output is an error message, not a value.
    return stage.fail({ step: label, terraform: false, result: shellStepResult(r, args, r.output) }, commandHeading(step.command));
  }
  if (r.stdout === undefined) {
    return stage.failWithMessage(label, `env step ${step.name}: the command printed too much to be a variable value.`, false, { durationMs: r.durationMs });
  }
  stage.env[step.name] = r.stdout.replace(/\r?\n$/, "");
  return undefined;
}

export async function runMultienvStep(stage: Stage, step: MultienvStep): Promise<StepEnd> {
  const r = await stage.runShell(step.shell, step.shellArgs, step.command, true);
  const args = [...step.shellArgs, step.command];
  const display = `multienv: ${step.shell} ${args.join(" ")}`;
  stage.steps.push({ label: "multienv", display, args, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs });
  if (r.exitCode !== 0 || r.timedOut) {
    const text = step.output === "hide" ? `multienv step ${r.timedOut ? "timed out" : `failed (exit ${r.exitCode})`}\n` : r.output;
    return stage.fail({ step: "multienv", terraform: false, result: shellStepResult(r, args, text) }, commandHeading(step.command));
  }
  if (r.stdout === undefined) {
    return stage.failWithMessage("multienv", "multienv step: the command printed too much to be variables.", false, { durationMs: r.durationMs });
  }
  const parsed = parseMultienv(r.stdout);
  if (!parsed.ok) return stage.failWithMessage("multienv", `multienv step: ${parsed.error}.`, false, { durationMs: r.durationMs });
  for (const [name, value] of parsed.vars) stage.env[name] = value;
  if (step.output === "show") {
    const names = parsed.vars.map(([n]) => n);
    stage.sections.push({ text: names.length > 0 ? `multienv: set ${names.join(", ")}\n` : "multienv: set no variables\n" });
  }
  return undefined;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parse multienv output into pairs, or say what is wrong (without echoing values). */
export function parseMultienv(stdout: string): { ok: true; vars: [string, string][] } | { ok: false; error: string } {
  const text = stdout.replace(/\r\n/g, "\n").replace(/\n+$/, "");
  if (text.trim() === "") return { ok: true, vars: [] };
  const pieces = text.includes("\n") ? text.split("\n").filter((l) => l.trim() !== "") : text.split(",");
  const vars: [string, string][] = [];
  for (const [i, piece] of pieces.entries()) {
    const eq = piece.indexOf("=");
    if (eq < 0) return { ok: false, error: `pair ${i + 1} of the output has no "=" (expected NAME=value pairs like A=1,B=2)` };
    const name = piece.slice(0, eq).trim();
    if (!NAME_RE.test(name)) {
      return { ok: false, error: `pair ${i + 1} of the output has an invalid variable name ${JSON.stringify(name.slice(0, 64))}` };
    }
    vars.push([name, piece.slice(eq + 1)]);
  }
  return { ok: true, vars };
}
