/**
 * ShellPort: run one shell command — a workflow's `run`, `env` and `multienv` steps. The real
 * implementation (`src/adapters/process-shell.ts`) runs `<shell> <...shellArgs> <command>` through
 * `runProcess`: own process group, tree-killing timeout, capped and redacted interleaved output, and
 * the server's environment minus Atoll's secrets plus the call's variables.
 */

export interface ShellRunOptions {
  /** Program, e.g. "sh" (looked up in PATH) or "/bin/bash". */
  shell: string;
  /** Arguments before the command, e.g. ["-c"]. */
  shellArgs: string[];
  /** The command text, passed as one argv entry after `shellArgs`. */
  command: string;
  /** Working directory (the project dir). */
  cwd: string;
  /** Extra variables for this run, merged over the server's environment (minus Atoll's secrets). */
  env?: Record<string, string>;
  /**
   * Directories put in front of the child's PATH (e.g. the directory of the project's terraform
   * version, so a `run: terraform …` step uses it).
   */
  pathPrefix?: string[];
  /** Kill the process tree and report a timeout after this long. */
  timeoutMs: number;
  /** Strings to replace with `***` in captured output. */
  redact?: string[];
  /** Told the pid and start time of the process group, so a crash recovery can kill it later. */
  onSpawn?: (process: { pid: number; startTime: string }) => void;
  /** Also return stdout alone (for `env`/`multienv` steps, whose stdout is a value). */
  captureStdout?: boolean;
  /** Stream the output to the running job's log (only output a comment would show unchanged). */
  live?: boolean;
}

export interface ShellRunResult {
  exitCode: number;
  /** stdout and stderr interleaved in order, redacted. */
  output: string;
  /** stdout alone, redacted; only with `captureStdout`. */
  stdout?: string;
  timedOut: boolean;
  durationMs: number;
  /** Set when the shell could not be started (missing binary or directory); `output` says so too. */
  spawnError?: string;
}

export interface ShellPort {
  /** Run one command. Never rejects: failures, timeouts and a missing shell are results. */
  run(opts: ShellRunOptions): Promise<ShellRunResult>;
}
