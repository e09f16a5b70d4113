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
 *  - `import`: workspace select when needed, then `terraform import -input=false <extra_args>
 *    <comment args> ADDRESS ID`; `state_rm`: `terraform state rm <extra_args> <comment args>
 *    ADDRESS...`. Output shown. In a stage other than `import` / `state_rm` (no address given) they
 *    fail saying so.
 *  - `policy_check`: Atoll has no policy checks; the stage fails saying so.
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
 *
 * Code: built-in steps in `terraform-steps.ts`, `run`/`env`/`multienv` in `shell-steps.ts`, the
 * running stage's state (env, step log, shown sections) in `stage.ts`, text helpers in `step-text.ts`.
 */
import type { StageName, WorkflowStep } from "../../config/config-types.js";
import type { ShellPort } from "../../ports/shell.js";
import type { TerraformPort, TerraformStepResult } from "../../ports/terraform.js";
import { runEnvStep, runMultienvStep, runRunStep } from "./shell-steps.js";
import { Stage, type StepEnd } from "./stage.js";
import { runBuiltinStep } from "./terraform-steps.js";

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
  /** The user's `-- …` args; appended to built-in `plan`, `import` and `state_rm` steps. */
  commentArgs: string[];
  /**
   * `import`: `[ADDRESS, ID]`; `state_rm`: the addresses — after every other argument of the
   * built-in `import` / `state_rm` step (as Atlantis places them).
   */
  positionalArgs?: string[];
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

/** Run one stage; see the module comment. Never rejects. */
export async function runStage(run: StageRun): Promise<StageResult> {
  const stage = new Stage(run);
  for (const step of run.steps) {
    const end = await runStep(stage, step);
    if (end) return end;
  }
  return stage.succeeded();
}

/** One step: the stage's failed result when the stage ends here, undefined to go on. */
async function runStep(stage: Stage, step: WorkflowStep): Promise<StepEnd> {
  try {
    switch (step.kind) {
      case "builtin":
        return await runBuiltinStep(stage, step);
      case "run":
        return await runRunStep(stage, step);
      case "env":
        return await runEnvStep(stage, step);
      case "multienv":
        return await runMultienvStep(stage, step);
    }
  } catch (error) {
    // Not a step's exit: something around it (a file that could not be written, …).
    const label = step.kind === "builtin" ? step.name : step.kind === "env" ? `env ${step.name}` : step.kind;
    return stage.failWithMessage(label, `${label} step failed: ${(error as Error).message}`, step.kind === "builtin");
  }
}
