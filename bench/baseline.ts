/**
 * The bare baseline: the same git and terraform work Atoll does for a plan, with nothing around
 * it — `git clone` of the fake GitHub's URL (token in an `http.extraHeader` from the environment,
 * as Atoll passes it), then per project `terraform init`, `plan -out` and `show -json`, one
 * project after the other. This is the floor Atoll is compared against.
 *
 * Atoll fetches exactly one commit (`fetch --depth=1 <sha>`); the baseline's equivalent is a
 * shallow single-branch clone (`clone --depth=1 --no-tags -b <branch>`).
 */
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import { scrubbedEnv } from "../test/helpers/atoll-process.js";
import { run } from "./harness.js";

export interface BaselineConfig {
  terraformBin: string;
  /** Per command. */
  timeoutMs: number;
}

export interface ProjectTiming {
  dir: string;
  initMs: number;
  planMs: number;
  showMs: number;
  showJsonBytes: number;
}

export interface BaselineResult {
  totalMs: number;
  cloneMs: number;
  projects: ProjectTiming[];
}

/** Environment for git: the bench's environment without GIT_*, TF_* etc., plus the auth header as config. */
export function gitEnv(token?: string): Record<string, string> {
  const env: Record<string, string> = { ...scrubbedEnv(), GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "" };
  const config: Array<[string, string]> = [["advice.detachedHead", "false"]];
  if (token) config.push(["http.extraHeader", `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`]);
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

/** Environment for terraform: as Atoll runs it (automation mode, no input). */
export function terraformEnv(): Record<string, string> {
  return { ...scrubbedEnv(), TF_IN_AUTOMATION: "1", TF_INPUT: "0" };
}

/** `git clone --depth=1 --no-tags -b <branch> <url> <dest>`; returns milliseconds. */
export async function shallowClone(url: string, branch: string, dest: string, token: string, timeoutMs: number): Promise<number> {
  const r = await run("git", ["clone", "-q", "--depth=1", "--no-tags", "--single-branch", "-b", branch, url, dest], {
    cwd: join(dest, ".."),
    env: gitEnv(token),
    timeoutMs,
  });
  return r.ms;
}

/** A full `git clone` (every commit); returns milliseconds. */
export async function fullClone(url: string, dest: string, token: string, timeoutMs: number): Promise<number> {
  const r = await run("git", ["clone", "-q", "--no-tags", url, dest], { cwd: join(dest, ".."), env: gitEnv(token), timeoutMs });
  return r.ms;
}

/** init → plan -out → show -json in one project directory. */
export async function planProject(cfg: BaselineConfig, projectDir: string, artifactsDir: string, dir: string): Promise<ProjectTiming> {
  const env = terraformEnv();
  const planFile = join(artifactsDir, `${dir.replace(/[^A-Za-z0-9]/g, "_")}.tfplan`);
  const opts = { cwd: projectDir, env, timeoutMs: cfg.timeoutMs };
  const init = await run(cfg.terraformBin, ["init", "-input=false", "-no-color"], opts);
  const plan = await run(cfg.terraformBin, ["plan", "-input=false", "-no-color", `-out=${planFile}`], opts);
  const show = await run(cfg.terraformBin, ["show", "-json", "-no-color", planFile], { ...opts, captureStdout: false });
  if (show.stdoutBytes === 0) throw new Error(`terraform show -json printed nothing in ${projectDir}`);
  return { dir, initMs: init.ms, planMs: plan.ms, showMs: show.ms, showJsonBytes: show.stdoutBytes };
}

/**
 * The whole baseline for one PR: clone the branch into `workDir/repo`, then plan `dirs` one by
 * one. `workDir` must be empty and is left for the caller to remove.
 */
export async function baselinePlan(
  cfg: BaselineConfig,
  args: { url: string; branch: string; token: string; dirs: string[]; workDir: string },
): Promise<BaselineResult> {
  const started = performance.now();
  const repoDir = join(args.workDir, "repo");
  const artifacts = join(args.workDir, "artifacts");
  await mkdir(artifacts, { recursive: true });
  const cloneMs = await shallowClone(args.url, args.branch, repoDir, args.token, cfg.timeoutMs);
  const projects: ProjectTiming[] = [];
  for (const dir of args.dirs) projects.push(await planProject(cfg, join(repoDir, dir), artifacts, dir));
  return { totalMs: performance.now() - started, cloneMs, projects };
}
