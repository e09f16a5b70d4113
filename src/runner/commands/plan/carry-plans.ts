/**
 * Skip what did not change: on a push, a project whose inputs are the same as at its previous
 * plan keeps that plan ("carried from <sha>") instead of running terraform again. The inputs are
 * what git tracks in the project's directory and in every local module it calls (so its var and
 * lock files too), the repo config files, the base commit and the plan's extra arguments — one
 * fingerprint. A project whose `when_modified` reaches outside its directory is always planned.
 * The carried plan is the same saved plan file; apply checks the fingerprint again in its own
 * checkout, and terraform itself refuses a plan whose state has moved on.
 * `ATOLL_CARRY_UNCHANGED_PLANS=false` turns it off.
 */
import { createHash } from "node:crypto";
import { configuredProject, type ResolvedRepoConfig } from "../../../config/apply-policy.js";
import { staysInside } from "../../../projects/find-projects.js";
import type { ProjectState } from "../../../ports/store.js";
import type { Checkout } from "../../../ports/workspace.js";
import { projectKey, type Project } from "../../../projects/project.js";
import { localModuleDirs } from "../../../terraform/hcl-declarations.js";
import type { CommandContext } from "../../runner-deps.js";

/** The repo config files a plan reads (any of them changing changes every project's inputs). */
const CONFIG_FILES = ["atoll.yaml", "atoll.yml", "atlantis.yaml", "atlantis.yml"];

/** Whether `file` (repo-relative) is under `dir` (`.` is the whole repository). */
function under(file: string, dir: string): boolean {
  return dir === "." || dir === "" || file === dir || file.startsWith(`${dir}/`);
}

/**
 * The fingerprints of these projects' inputs in `checkout` (by `projectKey`), with one `git
 * ls-files` for all of them; a project whose inputs cannot be told is left out (it is planned).
 */
export async function inputsFingerprints(
  ctx: Pick<CommandContext, "deps">,
  checkout: Checkout,
  projects: Project[],
  at: { baseSha: string; extraArgs: string[] },
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const dirsOf = new Map<string, string[]>();
  for (const project of projects) {
    try {
      dirsOf.set(projectKey(project), [project.dir || ".", ...(await localModuleDirs(checkout.dir, project.dir))]);
    } catch {
      // unreadable module sources: not carried
    }
  }
  if (dirsOf.size === 0) return out;
  const paths = [...new Set([...[...dirsOf.values()].flat(), ...CONFIG_FILES])];
  // `git ls-files -s`: the blob id of every tracked file under those paths (nothing terraform wrote).
  const r = await ctx.deps.shell.run({
    shell: "git",
    shellArgs: ["ls-files", "-s", "--", ...paths.slice(0, -1)],
    command: paths[paths.length - 1]!,
    cwd: checkout.dir,
    timeoutMs: 30_000,
    captureStdout: true,
  });
  if (r.exitCode !== 0 || r.stdout === undefined) return out;
  // "<mode> <blob> <stage>\t<path>"
  const lines = r.stdout.split("\n").filter(Boolean).map((line) => ({ line, file: line.slice(line.indexOf("\t") + 1) }));
  for (const [key, dirs] of dirsOf) {
    const files = lines
      .filter((l) => CONFIG_FILES.includes(l.file) || dirs.some((d) => under(l.file, d)))
      .map((l) => l.line)
      .sort()
      .join("\n");
    out.set(key, createHash("sha256").update(`inputs v1\nbase ${at.baseSha}\nargs ${JSON.stringify(at.extraArgs)}\n${files}`).digest("hex"));
  }
  return out;
}

/** The fingerprint of one project's inputs in `checkout`, or undefined when it cannot be told. */
export async function inputsFingerprint(
  ctx: Pick<CommandContext, "deps">,
  checkout: Checkout,
  project: Project,
  at: { baseSha: string; extraArgs: string[] },
): Promise<string | undefined> {
  return (await inputsFingerprints(ctx, checkout, [project], at)).get(projectKey(project));
}

/** Whether the project's `when_modified` stays inside its directory (otherwise its inputs are not all known). */
function inputsKnown(config: ResolvedRepoConfig, project: Project): boolean {
  const configured = configuredProject(config, project);
  return !configured || configured.autoplan.whenModified.every(staysInside);
}

export interface CarryDecision {
  /**
   * Each project's inputs fingerprint (stored with its new plan). Still being computed when no
   * project could be carried anyway (a new pull request): planning does not wait for it.
   */
  fingerprints: Promise<Map<string, string>>;
  /** Projects that keep their previous plan, with that plan's state. */
  carried: Map<string, ProjectState>;
}

/** Nothing carried, no fingerprints. */
export function noCarry(): CarryDecision {
  return { fingerprints: Promise.resolve(new Map()), carried: new Map() };
}

/** Whether `prev` is a plan a push could keep: successful, not applied, saved, at another commit, without extra arguments. */
function carryable(prev: ProjectState | undefined, headSha: string): prev is ProjectState {
  return (
    prev !== undefined &&
    prev.plan === "success" &&
    prev.apply === "none" &&
    Boolean(prev.planBlob) &&
    prev.headSha.toLowerCase() !== headSha.toLowerCase() &&
    (prev.extraArgs ?? []).length === 0
  );
}

/**
 * Which projects of an automatic plan (a push) keep their previous plan: a successful plan at an
 * earlier commit, not applied, with its saved plan file, whose inputs fingerprint is today's.
 */
export async function decideCarry(
  ctx: CommandContext,
  config: ResolvedRepoConfig,
  pull: { number: number; headSha: string; baseSha: string },
  projects: Project[],
  checkout: () => Promise<Checkout>,
  opts: { autoplan: boolean; extraArgs: string[] },
): Promise<CarryDecision> {
  if (!ctx.deps.settings.carryUnchangedPlans || projects.length === 0) return noCarry();
  let co: Checkout;
  try {
    co = await checkout();
  } catch {
    return noCarry(); // reported by the plan itself
  }
  const previous = new Map((await ctx.deps.store.listProjects(ctx.repo, pull.number)).map((s) => [projectKey(s.project), s]));
  const known = projects.filter((p) => inputsKnown(config, p));
  const fingerprints = inputsFingerprints(ctx, co, known, { baseSha: pull.baseSha, extraArgs: opts.extraArgs }).then((all) => {
    for (const project of known) {
      const key = projectKey(project);
      const fingerprint = all.get(key);
      const prev = previous.get(key);
      ctx.log.debug(
        { project: key, fingerprint: fingerprint?.slice(0, 12), previous: prev ? { sha: prev.headSha.slice(0, 7), plan: prev.plan, apply: prev.apply, fingerprint: prev.fingerprint?.slice(0, 12) } : null },
        "plan inputs",
      );
    }
    return all;
  });
  const candidates = opts.autoplan ? known.filter((p) => carryable(previous.get(projectKey(p)), pull.headSha)) : [];
  if (candidates.length === 0) {
    fingerprints.catch(() => undefined); // awaited when the plans are recorded
    return { fingerprints, carried: new Map() };
  }
  const today = await fingerprints;
  const carried = new Map<string, ProjectState>();
  for (const project of candidates) {
    const key = projectKey(project);
    const prev = previous.get(key)!;
    const fingerprint = today.get(key);
    if (fingerprint !== undefined && prev.fingerprint === fingerprint) carried.set(key, prev);
  }
  return { fingerprints: Promise.resolve(today), carried };
}
