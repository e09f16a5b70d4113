/**
 * ShellPort over `runProcess`: `<shell> <...shellArgs> <command>` with argv (the command text is one
 * argument of the shell, never re-split by Atoll), in its own process group with a tree-killing
 * timeout.
 *
 * Environment: the server's environment minus Atoll's own credentials (as for terraform: cloud
 * credentials legitimately come from the server, the GitHub App key must not), plus the call's
 * variables (Atlantis's workflow variables and earlier `env` steps), plus `TF_IN_AUTOMATION=1` so a
 * `terraform` run by the command behaves as Atoll's own runs do.
 */
import path from "node:path";
import type { ShellPort, ShellRunOptions, ShellRunResult } from "../ports/shell.js";
import { withoutAtollSecrets } from "./redact.js";
import { runProcess } from "./run-process.js";

export interface ProcessShellOptions {
  /** Environment the child starts from (minus secrets). Default `process.env`. */
  baseEnv?: NodeJS.ProcessEnv;
  /** More variable names to withhold from commands, on top of Atoll's own secrets. */
  secretEnvNames?: string[];
  /** SIGTERM → SIGKILL grace after a timeout (default 5 s). */
  killGraceMs?: number;
  /** In-memory cap for captured output per command (default 20 MiB; the tail is kept). */
  maxOutputBytes?: number;
  /** Run the processes this much nicer than the server (see `runProcess`); default 0. */
  niceness?: number;
}

export function createProcessShell(opts: ProcessShellOptions = {}): ShellPort {
  const secretEnvNames = opts.secretEnvNames ?? [];

  function envFor(call: ShellRunOptions): Record<string, string> {
    const env: Record<string, string> = {
      ...withoutAtollSecrets(opts.baseEnv ?? process.env, secretEnvNames),
      ...(call.env ?? {}),
      TF_IN_AUTOMATION: "1",
    };
    const prefix = (call.pathPrefix ?? []).filter((d) => d !== "");
    if (prefix.length > 0) env.PATH = [...prefix, ...(env.PATH ? [env.PATH] : [])].join(path.delimiter);
    return env;
  }

  return {
    async run(call): Promise<ShellRunResult> {
      const raw = await runProcess({
        file: call.shell,
        // "shell binary not found: /bin/zsh"
        name: "shell",
        args: [...call.shellArgs, call.command],
        cwd: call.cwd,
        env: envFor(call),
        timeoutMs: call.timeoutMs,
        ...(call.onSpawn ? { onSpawn: call.onSpawn } : {}),
        killGraceMs: opts.killGraceMs,
        redact: call.redact,
        maxOutputBytes: opts.maxOutputBytes,
        captureStdout: call.captureStdout ?? false,
        ...(call.live ? { live: `${call.shell} ${call.shellArgs.join(" ")} ${call.command.trim().split("\n")[0]}` } : {}),
        ...(opts.niceness ? { niceness: opts.niceness } : {}),
      });
      return {
        exitCode: raw.exitCode,
        output: raw.output,
        ...(raw.stdout !== undefined ? { stdout: raw.stdout } : {}),
        timedOut: raw.timedOut,
        durationMs: raw.durationMs,
        ...(raw.spawnError !== undefined ? { spawnError: raw.spawnError } : {}),
      };
    },
  };
}
