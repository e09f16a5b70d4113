/**
 * TerraformPort over the real terraform CLI.
 *
 * Every command runs through `runProcess` (argv, no shell, own process group, tree-killing timeout,
 * capped and redacted interleaved output, never rejects). This module only knows terraform: which
 * flags each subcommand takes and how to read its exit codes.
 *
 * Flags: `-no-color` everywhere (output goes to PR comments, not a terminal), `-input=false` on
 * init/plan/apply plus `TF_INPUT=0` (a prompt would hang until the timeout), `TF_IN_AUTOMATION=1`
 * (terraform stops suggesting "now run terraform apply").
 *
 * Environment: the server's environment minus Atoll's own credentials — terraform runs providers
 * and user-controlled `run` steps, and cloud credentials legitimately come from the server
 * environment, but the GitHub App key must not.
 */
import path from "node:path";
import type {
  TerraformPlanResult,
  TerraformPort,
  TerraformStepOptions,
  TerraformStepResult,
} from "../ports/terraform.js";
import { mkdir } from "node:fs/promises";
import { withPluginCache } from "./plugin-cache.js";
import { redact, withoutAtollSecrets } from "./redact.js";
import { runProcess, type RunProcessResult } from "./run-process.js";

export interface ExecaTerraformOptions {
  /** Terraform binary: a path or a name looked up in PATH. Default "terraform"; a call's `binary` overrides it. */
  binary?: string;
  /** Environment the child starts from (minus secrets). Default `process.env`. */
  baseEnv?: NodeJS.ProcessEnv;
  /** More variable names to withhold from terraform, on top of Atoll's own secrets. */
  secretEnvNames?: string[];
  /** SIGTERM → SIGKILL grace after a timeout (default 5 s). */
  killGraceMs?: number;
  /** In-memory cap for captured output per step (default 20 MiB; the tail is kept). */
  maxOutputBytes?: number;
  /**
   * Shared provider plugin cache (TF_PLUGIN_CACHE_DIR), created on demand. `init`s that may write
   * it take turns (see plugin-cache.ts). Unset: no cache.
   */
  pluginCacheDir?: string;
  /** Run the processes this much nicer than the server (see `runProcess`); default 0. */
  niceness?: number;
}

export function createExecaTerraform(opts: ExecaTerraformOptions = {}): TerraformPort {
  const binary = opts.binary ?? "terraform";
  const secretEnvNames = opts.secretEnvNames ?? [];

  /** Environment per run: computed per call so a changed `process.env` is honoured. */
  function envFor(step: TerraformStepOptions): Record<string, string> {
    return {
      ...withoutAtollSecrets(opts.baseEnv ?? process.env, secretEnvNames),
      ...(step.env ?? {}),
      ...(opts.pluginCacheDir ? { TF_PLUGIN_CACHE_DIR: opts.pluginCacheDir } : {}),
      // Last, so no workflow can switch interactive mode back on.
      TF_IN_AUTOMATION: "1",
      TF_INPUT: "0",
    };
  }

  async function run(
    args: string[],
    step: TerraformStepOptions,
    captureStdout = false,
  ): Promise<{ step: TerraformStepResult; raw: RunProcessResult }> {
    const file = step.binary ?? binary;
    const raw = await runProcess({
      file,
      // For messages ("tofu binary not found: …").
      name: /^tofu/.test(path.basename(file)) ? "tofu" : "terraform",
      args,
      cwd: step.cwd,
      env: envFor(step),
      timeoutMs: step.timeoutMs,
      ...(step.onSpawn ? { onSpawn: step.onSpawn } : {}),
      killGraceMs: opts.killGraceMs,
      redact: step.redact,
      maxOutputBytes: opts.maxOutputBytes,
      captureStdout,
      // Into the job log, as the comment shows it — but never `show -json` (every value of the plan).
      ...(captureStdout ? {} : { live: `${path.basename(file)} ${args.join(" ")}` }),
      ...(opts.niceness ? { niceness: opts.niceness } : {}),
    });
    return {
      step: {
        // Redacted too: extra args may carry values (`-var=token=…`), and args end up in logs.
        args: args.map((a) => redact(a, step.redact)),
        exitCode: raw.exitCode,
        output: raw.output,
        timedOut: raw.timedOut,
        durationMs: raw.durationMs,
      },
      raw,
    };
  }

  return {
    async init(step) {
      const init = async () => (await run(["init", "-input=false", "-no-color", ...(step.extraArgs ?? [])], step)).step;
      const cache = opts.pluginCacheDir;
      if (!cache) return init();
      await mkdir(cache, { recursive: true });
      return withPluginCache(step.cwd, cache, init);
    },

    async selectWorkspace(step) {
      // `-or-create` (terraform ≥ 1.4) makes this idempotent, including for "default", which
      // always exists and is simply re-selected.
      return (await run(["workspace", "select", "-no-color", "-or-create=true", step.workspace], step)).step;
    },

    async plan(step): Promise<TerraformPlanResult> {
      const args = [
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        `-out=${step.planFile}`,
        ...step.extraArgs,
      ];
      const { step: result } = await run(args, step);
      // -detailed-exitcode: 0 = no changes, 1 = error, 2 = changes present.
      const ok = !result.timedOut && (result.exitCode === 0 || result.exitCode === 2);
      return { ...result, ok, hasChanges: ok && result.exitCode === 2 };
    },

    async showJson(step) {
      const { step: result, raw } = await run(["show", "-json", "-no-color", step.planFile], step, true);
      // Parse stdout only: terraform prints warnings (e.g. about the CLI config file) on stderr.
      let json: unknown;
      if (result.exitCode === 0 && !result.timedOut && raw.stdout !== undefined) {
        try {
          json = JSON.parse(raw.stdout);
        } catch {
          json = undefined;
        }
      }
      return { ...result, json };
    },

    async apply(step) {
      // Applying a saved plan never asks for approval, so no -auto-approve.
      // Extra args go before the plan file: terraform reads its options first.
      return (await run(["apply", "-input=false", "-no-color", ...(step.extraArgs ?? []), step.planFile], step)).step;
    },

    async import(step) {
      // As Atlantis: extra args first, then ADDRESS ID (terraform reads its options first).
      return (await run(["import", "-input=false", "-no-color", ...step.extraArgs, step.address, step.id], step)).step;
    },

    async stateRm(step) {
      return (await run(["state", "rm", "-no-color", ...step.extraArgs, ...step.addresses], step)).step;
    },

    async version(step) {
      return (await run(["version", "-no-color"], step)).step;
    },
  };
}
