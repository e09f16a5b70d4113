/**
 * One stage while it runs: its env (the caller's variables, this run's WORKSPACE/DIR/PLANFILE/
 * SHOWFILE, and what `env`/`multienv` steps set), the log of the steps that ran, the sections of
 * output shown so far, and how steps reach terraform and the shell with all of that.
 */
import path from "node:path";
import type { ShellRunResult } from "../../ports/shell.js";
import type { TerraformStepOptions, TerraformStepResult } from "../../ports/terraform.js";
import { layout, type Section } from "./step-text.js";
import type { StageFailure, StageResult, StageRun, StageStepLog } from "./workflow-runner.js";

/** What a step returns: the stage's (failed) result when the stage ends there, undefined to go on. */
export type StepEnd = StageResult | undefined;

export class Stage {
  readonly env: Record<string, string>;
  readonly steps: StageStepLog[] = [];
  readonly sections: Section[] = [];
  hasChanges: boolean | undefined;
  planStepRan = false;
  /** The binary's name, for log lines ("terraform", "tofu"). */
  readonly program: string;
  /** A versioned terraform/tofu binary's directory, put first in PATH for shell steps. */
  private readonly pathPrefix: string[];

  constructor(readonly run: StageRun) {
    this.env = { ...run.env, WORKSPACE: run.workspace, DIR: run.cwd, PLANFILE: run.planFile, SHOWFILE: run.showFile };
    this.program = path.basename(run.binary ?? "terraform");
    const versioned = run.binary && path.isAbsolute(run.binary) && /^(terraform|tofu)$/.test(path.basename(run.binary));
    this.pathPrefix = versioned ? [path.dirname(run.binary!)] : [];
  }

  /** Options of a built-in step: the stage env as it is now. */
  tfOpts(): TerraformStepOptions {
    const run = this.run;
    return {
      cwd: run.cwd,
      env: { ...this.env },
      timeoutMs: run.timeoutMs,
      ...(run.redact ? { redact: run.redact } : {}),
      ...(run.onSpawn ? { onSpawn: run.onSpawn } : {}),
      ...(run.binary ? { binary: run.binary } : {}),
    };
  }

  logTf(label: string, r: TerraformStepResult): void {
    this.steps.push({ label, display: `${this.program} ${r.args.join(" ")}`, args: r.args, exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs });
  }

  /** Run a shell step's command in the project dir with the stage env. */
  runShell(shell: string, shellArgs: string[], command: string, captureStdout: boolean, live = false) {
    const run = this.run;
    return run.shell.run({
      shell,
      shellArgs,
      command,
      cwd: run.cwd,
      env: { ...this.env },
      ...(this.pathPrefix.length ? { pathPrefix: this.pathPrefix } : {}),
      timeoutMs: run.timeoutMs,
      ...(run.redact ? { redact: run.redact } : {}),
      ...(run.onSpawn ? { onSpawn: run.onSpawn } : {}),
      captureStdout,
      ...(live ? { live: true } : {}),
    });
  }

  /** End the stage: the failed step's (shown) output is the last section. */
  fail(failure: StageFailure, heading?: string): StageResult {
    const text = failure.result.output === "" && failure.message ? `${failure.message}\n` : failure.result.output;
    this.sections.push({ text, ...(heading ? { heading } : {}) });
    return { ok: false, ...this.outcome(), failed: failure, steps: this.steps, env: this.env };
  }

  /** A failure that is not a process exit: nothing ran, or its output was unusable. */
  failWithMessage(label: string, message: string, terraform = false, base?: Partial<TerraformStepResult>): StageResult {
    return this.fail({
      step: label,
      terraform,
      message,
      result: { args: [], exitCode: 1, timedOut: false, durationMs: 0, ...base, output: `${message}\n` },
    });
  }

  /** Every step ran. */
  succeeded(): StageResult {
    return { ok: true, ...this.outcome(), steps: this.steps, env: this.env };
  }

  private outcome(): Pick<StageResult, "output" | "hasChanges" | "planStepRan"> {
    const hasChanges = this.hasChanges;
    return { output: layout(this.sections), ...(hasChanges !== undefined ? { hasChanges } : {}), planStepRan: this.planStepRan };
  }
}

/** A shell step's result in the shape of a terraform step's (for StageFailure). */
export function shellStepResult(r: ShellRunResult, args: string[], output: string): TerraformStepResult {
  return { args, exitCode: r.exitCode, output, timedOut: r.timedOut, durationMs: r.durationMs };
}
