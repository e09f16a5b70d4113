/**
 * Runs one stage of a workflow (the steps of `plan:` or `apply:`) for one project, with Atlantis's
 * semantics. Never throws: every failure — a step's non-zero exit, a timeout, a missing binary or
 * shell, an unsupported step — ends the stage with `ok: false` and says which step failed.
 *
 * Steps:
 *  - `init`: `terraform init -input=false <extra_args>`; its output is shown only when it fails.
 *  - `plan`: in a non-default workspace first `workspace select -or-create`; then
 *    `terraform plan -input=false -detailed-exitcode -out=$PLANFILE [-var-file=env/<ws>.tfvars]
 *    <extra_args> <comment args>`. The var file is added when `env/<workspace>.tfvars` exists in the
 *    project dir (Atlantis's auto var-file; before extra_args, so they can override it). Output shown;
 *    `hasChanges` comes from its detailed exit code.
 *  - `apply`: workspace select when needed, then `terraform apply -input=false <extra_args> $PLANFILE`.
 *    Output shown. (The comment's `--` args are for plan only: a saved plan takes no variables.)
 *  - `show`: `terraform show -json $PLANFILE` written to $SHOWFILE; nothing shown.
 *  - `import`, `state_rm`, `policy_check`: Atoll has no such commands yet; the stage fails saying so.
 *  - `run`: `<shell> <shellArgs…> <command>` in the project dir. Its output is shown according to its
 *    output modes (show, hide, strip_refreshing, filter_regex; combinable, hide wins). A non-zero
 *    exit stops the stage; a hidden step's failure shows only "run step failed (exit N)".
 *  - `env`: sets a variable for later steps, from `value` (literally) or from a command's stdout
 *    (one trailing newline removed). Values are never shown.
 *  - `multienv`: the command prints `A=1,B=2` (or one `NAME=value` per line, then values may
 *    contain commas; values may contain `=`); each pair becomes a variable for later steps. With
 *    output `show` the comment names the variables set (never their values).
 *
 * Environment: every step sees the stage env — the caller's variables (Atlantis's, see
 * `workflow-env.ts`) with WORKSPACE, DIR, PLANFILE and SHOWFILE set from this run — plus what earlier
 * `env`/`multienv` steps set. Built-in steps get it through the terraform port; `run`/`env`/
 * `multienv` through the shell port (both over the server environment minus Atoll's secrets).
 * `extra_args` elements have `$VAR` / `${VAR}` expanded from the stage env only (unknown → ""), each
 * element stays one argv entry, and no shell is involved.
 *
 * When the stage's binary is a path named `terraform` or `tofu` (e.g. `<versions dir>/1.11.4/terraform`),
 * its directory is put first in PATH for shell steps, so `run: terraform …` uses the project's version.
 *
 * Output layout (the text for the PR comment): the shown output of each step, in order, separated
 * by a blank line. Built-in steps' output is included as terraform printed it. When more than one
 * step shows something, the output of each shell step (`run`, or a failing `env`/`multienv` command)
 * is preceded by a `$ <command>` line (first line of the command, `…` when it has more) so readers
 * can tell the pieces apart; a single shown step's output is included as is. A `multienv` step with
 * output `show` adds a line `multienv: set A, B`. A failing step always shows its output (a hidden
 * `run`/`multienv` step only its exit code), so the reason is visible.
 */
import { goRegExp } from "../../config/yaml-reader.js";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { StageName, WorkflowStep } from "../../config/config-types.js";
import { DEFAULT_WORKSPACE } from "../../projects/project.js";
import type { ShellPort, ShellRunResult } from "../../ports/shell.js";
import type { TerraformPort, TerraformStepOptions, TerraformStepResult } from "../../ports/terraform.js";

export interface StageRun {
  steps: WorkflowStep[];
  terraform: TerraformPort;
  shell: ShellPort;
  /** terraform/tofu binary for built-in steps; default: the terraform port's own. */
  binary?: string;
  /** Absolute project dir; every step runs here. */
  cwd: string;
  workspace: string;
  /** Absolute path of the plan file ($PLANFILE). */
  planFile: string;
  /** Absolute path of the plan's JSON form ($SHOWFILE). */
  showFile: string;
  /** The user's `-- …` args; appended to built-in `plan` steps. */
  commentArgs: string[];
  /** Variables for every step (Atlantis's; see `workflowEnv`). */
  env: Record<string, string>;
  /** Per step. */
  timeoutMs: number;
  /** Strings to replace with `***` in all output. */
  redact?: string[];
  onSpawn?: (process: { pid: number; startTime: string }) => void;
  /** Which stage this is, for messages ("… in the plan stage"). */
  stage?: StageName;
}

/** One step (or sub-step, like `workspace select`) that ran, for logs and verbose output. */
export interface StageStepLog {
  /** "init", "workspace select", "plan", "apply", "show", "run", "env NAME", "multienv", … */
  label: string;
  /** What ran, for a log line: "terraform plan -input=false …", "sh -c echo hi", "env FOO (value)". */
  display: string;
  /** argv after the binary/shell (redacted), when a process ran. */
  args?: string[];
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
}

export interface StageFailure {
  /** Label of the failed step (see StageStepLog.label). */
  step: string;
  /** Whether the step is one of terraform's own (init, workspace select, plan, apply, show). */
  terraform: boolean;
  /** The failed step's result; `output` is what may be shown (filtered/hidden as configured). */
  result: TerraformStepResult;
  /** A one-line explanation when the step failed for a reason other than its exit code (unsupported step, bad output, …). */
  message?: string;
}

export interface StageResult {
  ok: boolean;
  /** Text for the PR comment (see the module comment for its layout). */
  output: string;
  /** From the last built-in `plan` step's detailed exit code; undefined when no plan step succeeded. */
  hasChanges?: boolean;
  /** Whether a built-in `plan` step ran (successfully or not). */
  planStepRan: boolean;
  /** Set when ok is false. */
  failed?: StageFailure;
  steps: StageStepLog[];
  /** The stage env at the end (caller's variables plus what env/multienv steps set). */
  env: Record<string, string>;
}

/** Expand `$VAR` and `${VAR}` from `vars` (unknown → ""); a `$` not starting a name stays as is. */
export function expandVars(text: string, vars: Record<string, string>): string {
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    return Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : "";
  });
}

const REFRESHING_LINE = /^.*: Refreshing state\.\.\./;
const REFRESH_PREAMBLE = [
  "Refreshing Terraform state in-memory prior to plan...",
  "The refreshed state will be used to calculate this plan, but will not be",
  "persisted to local or remote state storage.",
];

/**
 * Drop terraform's refresh noise: `x.y: Refreshing state... [id=…]` lines and the old (< 0.15)
 * "Refreshing Terraform state in-memory prior to plan..." preamble, then leading blank lines.
 */
export function stripRefreshing(text: string): string {
  const lines = text.split("\n").filter((l) => {
    const t = l.trimEnd();
    return !REFRESHING_LINE.test(t) && !REFRESH_PREAMBLE.includes(t.trim());
  });
  while (lines.length > 1 && lines[0].trim() === "") lines.shift();
  return lines.join("\n");
}

type RunOutput = { hidden: boolean; render: (text: string) => string } | { error: string };

function runOutput(step: Extract<WorkflowStep, { kind: "run" }>): RunOutput {
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
    render: (text) => {
      let out = strip ? stripRefreshing(text) : text;
      for (const re of regexes) out = out.replace(re, "<redacted>");
      return out;
    },
  };
}

function firstLine(command: string): string {
  const trimmed = command.trim();
  const nl = trimmed.indexOf("\n");
  return nl < 0 ? trimmed : `${trimmed.slice(0, nl).trimEnd()} …`;
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

interface Section {
  text: string;
  /** Line shown before the text when more than one step shows output. */
  heading?: string;
}

function layout(sections: Section[]): string {
  const shown = sections.filter((s) => s.text.trim() !== "");
  if (shown.length === 1) return shown[0].text;
  return shown
    .map((s) => {
      const body = s.text.replace(/\n+$/, "");
      return s.heading ? `${s.heading}\n${body}` : body;
    })
    .join("\n\n")
    .concat(shown.length > 0 ? "\n" : "");
}

const BUILTIN_UNSUPPORTED = new Set(["import", "state_rm", "policy_check"]);

/** Run one stage; see the module comment. Never rejects. */
export async function runStage(run: StageRun): Promise<StageResult> {
  const env: Record<string, string> = {
    ...run.env,
    WORKSPACE: run.workspace,
    DIR: run.cwd,
    PLANFILE: run.planFile,
    SHOWFILE: run.showFile,
  };
  const steps: StageStepLog[] = [];
  const sections: Section[] = [];
  let hasChanges: boolean | undefined;
  let planStepRan = false;
  const program = path.basename(run.binary ?? "terraform");
  const pathPrefix =
    run.binary && path.isAbsolute(run.binary) && /^(terraform|tofu)$/.test(path.basename(run.binary)) ? [path.dirname(run.binary)] : [];

  const tfOpts = (): TerraformStepOptions => ({
    cwd: run.cwd,
    env: { ...env },
    timeoutMs: run.timeoutMs,
    ...(run.redact ? { redact: run.redact } : {}),
    ...(run.onSpawn ? { onSpawn: run.onSpawn } : {}),
    ...(run.binary ? { binary: run.binary } : {}),
  });

  const logTf = (label: string, r: TerraformStepResult) =>
    steps.push({ label, display: `${program} ${r.args.join(" ")}`, args: r.args, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs });

  /** End the stage: the failed step's (shown) output is the last section. */
  const fail = (failure: StageFailure, heading?: string): StageResult => {
    const text = failure.result.output === "" && failure.message ? `${failure.message}\n` : failure.result.output;
    sections.push({ text, ...(heading ? { heading } : {}) });
    return { ok: false, output: layout(sections), ...(hasChanges !== undefined ? { hasChanges } : {}), planStepRan, failed: failure, steps, env };
  };

  /** A failure that is not a process exit: nothing ran, or its output was unusable. */
  const failWithMessage = (label: string, message: string, terraform = false, base?: Partial<TerraformStepResult>): StageResult =>
    fail({
      step: label,
      terraform,
      message,
      result: { args: [], exitCode: 1, timedOut: false, durationMs: 0, ...base, output: `${message}\n` },
    });

  const tfFailed = (r: TerraformStepResult) => r.exitCode !== 0 || r.timedOut;

  const selectWorkspace = async (): Promise<TerraformStepResult | null> => {
    if (run.workspace === DEFAULT_WORKSPACE) return null;
    const ws = await run.terraform.selectWorkspace({ ...tfOpts(), workspace: run.workspace });
    logTf("workspace select", ws);
    return ws;
  };

  const shellResultToStep = (r: ShellRunResult, args: string[], output: string): TerraformStepResult => ({
    args,
    exitCode: r.exitCode,
    output,
    timedOut: r.timedOut,
    durationMs: r.durationMs,
  });

  const runShell = (shell: string, shellArgs: string[], command: string, captureStdout: boolean) =>
    run.shell.run({
      shell,
      shellArgs,
      command,
      cwd: run.cwd,
      env: { ...env },
      ...(pathPrefix.length ? { pathPrefix } : {}),
      timeoutMs: run.timeoutMs,
      ...(run.redact ? { redact: run.redact } : {}),
      ...(run.onSpawn ? { onSpawn: run.onSpawn } : {}),
      captureStdout,
    });

  for (const step of run.steps) {
    try {
      switch (step.kind) {
        case "builtin": {
          const extraArgs = step.extraArgs.map((a) => expandVars(a, env));
          if (BUILTIN_UNSUPPORTED.has(step.name)) {
            return failWithMessage(
              step.name,
              `Atoll cannot run the built-in "${step.name}" step${run.stage ? ` in the ${run.stage} stage` : ""}: ` +
                `Atoll does not support import, state_rm or policy checks yet. Remove the step from the workflow.`,
            );
          }
          if (step.name === "init") {
            const r = await run.terraform.init({ ...tfOpts(), extraArgs });
            logTf("init", r);
            if (tfFailed(r)) return fail({ step: "init", terraform: true, result: r });
          } else if (step.name === "plan") {
            const ws = await selectWorkspace();
            if (ws && tfFailed(ws)) return fail({ step: "workspace select", terraform: true, result: ws });
            const varFile = path.join("env", `${run.workspace}.tfvars`);
            const varFileArgs = (await isFileInside(run.cwd, varFile)) ? [`-var-file=${varFile}`] : [];
            planStepRan = true;
            const r = await run.terraform.plan({
              ...tfOpts(),
              planFile: run.planFile,
              extraArgs: [...varFileArgs, ...extraArgs, ...run.commentArgs],
            });
            logTf("plan", r);
            if (!r.ok) return fail({ step: "plan", terraform: true, result: r });
            hasChanges = r.hasChanges;
            sections.push({ text: r.output });
          } else if (step.name === "apply") {
            const ws = await selectWorkspace();
            if (ws && tfFailed(ws)) return fail({ step: "workspace select", terraform: true, result: ws });
            const r = await run.terraform.apply({ ...tfOpts(), planFile: run.planFile, extraArgs });
            logTf("apply", r);
            if (tfFailed(r)) return fail({ step: "apply", terraform: true, result: r });
            sections.push({ text: r.output });
          } else if (step.name === "show") {
            // A plan file carries its workspace: no selection needed.
            const r = await run.terraform.showJson({ ...tfOpts(), planFile: run.planFile });
            logTf("show", r);
            if (tfFailed(r)) return fail({ step: "show", terraform: true, result: r });
            if (r.json === undefined) {
              return fail({ step: "show", terraform: true, message: `${program} show -json did not print a JSON document.`, result: r });
            }
            await fs.writeFile(run.showFile, JSON.stringify(r.json));
          }
          break;
        }

        case "run": {
          const modes = runOutput(step);
          const display = `${step.shell} ${[...step.shellArgs, step.command].join(" ")}`;
          if ("error" in modes) return failWithMessage("run", `run step: ${modes.error}`);
          const r = await runShell(step.shell, step.shellArgs, step.command, false);
          const args = [...step.shellArgs, step.command];
          steps.push({ label: "run", display, args, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs });
          const shown = modes.hidden ? "" : modes.render(r.output);
          if (r.exitCode !== 0 || r.timedOut) {
            const text = modes.hidden
              ? r.spawnError
                ? `run step could not start: ${r.spawnError}\n`
                : `run step ${r.timedOut ? "timed out" : `failed (exit ${r.exitCode})`}\n`
              : shown;
            return fail({ step: "run", terraform: false, result: shellResultToStep(r, args, text) }, `$ ${firstLine(step.command)}`);
          }
          if (!modes.hidden) sections.push({ text: shown, heading: `$ ${firstLine(step.command)}` });
          break;
        }

        case "env": {
          const label = `env ${step.name}`;
          if (step.command === undefined) {
            env[step.name] = step.value ?? "";
            steps.push({ label, display: `env ${step.name} (value)`, exitCode: 0, timedOut: false, durationMs: 0 });
            break;
          }
          const r = await runShell(step.shell, step.shellArgs, step.command, true);
          const args = [...step.shellArgs, step.command];
          steps.push({ label, display: `env ${step.name}: ${step.shell} ${args.join(" ")}`, args, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs });
          if (r.exitCode !== 0 || r.timedOut) {
            // The value was not set, so the output is an error message, not a value.
            return fail({ step: label, terraform: false, result: shellResultToStep(r, args, r.output) }, `$ ${firstLine(step.command)}`);
          }
          if (r.stdout === undefined) {
            return failWithMessage(label, `env step ${step.name}: the command printed too much to be a variable value.`, false, { durationMs: r.durationMs });
          }
          env[step.name] = r.stdout.replace(/\r?\n$/, "");
          break;
        }

        case "multienv": {
          const r = await runShell(step.shell, step.shellArgs, step.command, true);
          const args = [...step.shellArgs, step.command];
          steps.push({ label: "multienv", display: `multienv: ${step.shell} ${args.join(" ")}`, args, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs });
          if (r.exitCode !== 0 || r.timedOut) {
            const text = step.output === "hide" ? `multienv step ${r.timedOut ? "timed out" : `failed (exit ${r.exitCode})`}\n` : r.output;
            return fail({ step: "multienv", terraform: false, result: shellResultToStep(r, args, text) }, `$ ${firstLine(step.command)}`);
          }
          if (r.stdout === undefined) {
            return failWithMessage("multienv", "multienv step: the command printed too much to be variables.", false, { durationMs: r.durationMs });
          }
          const parsed = parseMultienv(r.stdout);
          if (!parsed.ok) return failWithMessage("multienv", `multienv step: ${parsed.error}.`, false, { durationMs: r.durationMs });
          for (const [name, value] of parsed.vars) env[name] = value;
          if (step.output === "show") {
            const names = parsed.vars.map(([n]) => n);
            sections.push({ text: names.length > 0 ? `multienv: set ${names.join(", ")}\n` : "multienv: set no variables\n" });
          }
          break;
        }
      }
    } catch (error) {
      // Not a step's exit: something around it (a file that could not be written, …).
      const label = step.kind === "builtin" ? step.name : step.kind === "env" ? `env ${step.name}` : step.kind;
      return failWithMessage(label, `${label} step failed: ${(error as Error).message}`, step.kind === "builtin");
    }
  }
  return { ok: true, output: layout(sections), ...(hasChanges !== undefined ? { hasChanges } : {}), planStepRan, steps, env };
}

/** Whether `rel` is a regular file inside `dir` (no escaping through `..` or symlinks). */
async function isFileInside(dir: string, rel: string): Promise<boolean> {
  const file = path.resolve(dir, rel);
  if (!file.startsWith(path.resolve(dir) + path.sep)) return false;
  try {
    const [real, realDir] = await Promise.all([fs.realpath(file), fs.realpath(dir)]);
    if (!real.startsWith(realDir + path.sep)) return false;
    return (await fs.stat(real)).isFile();
  } catch {
    return false;
  }
}
