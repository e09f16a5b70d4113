/**
 * Which projects a comment command (`atlantis plan -p x`, `-d dir -w ws`, or no flags) targets.
 * Pure: the caller passes the parsed repo config (if the repo has one) and the projects the PR
 * modifies (from `find-projects.ts`).
 */
import { minimatch } from "minimatch";
import { posix } from "node:path";
import { DEFAULT_WORKSPACE, type Project } from "./project.js";
import { cleanRepoDir } from "../config/repo-config.js";
import type { ProjectConfig } from "../config/config-types.js";

type RepoConfig = { projects: readonly ProjectConfig[] };

export interface SelectionRequest {
  /** `-d`; "" when not given. */
  dir: string;
  /** `-w`; "" when not given. */
  workspace: string;
  /** `-p`; "" when not given. */
  project: string;
}

export interface SelectionContext {
  /** Parsed repo config; undefined when the repo has none. */
  config?: RepoConfig;
  /** Projects the pull request modifies (what a bare command runs on). */
  modified: Project[];
  /**
   * Directories with Terraform files in the checkout, for a `-d` glob: those that are not
   * configured projects match too, as unnamed projects (the caller passes them when the repo
   * has no config or autodiscovery is on).
   */
  discovered?: string[];
}

export type SelectionResult = { ok: true; projects: Project[] } | { ok: false; error: string };

const GLOB_CHARS = /[*?[]/;

function toProject(p: Project): Project {
  return { name: p.name, dir: p.dir, workspace: p.workspace };
}

function byName(name: string, config: RepoConfig | undefined): SelectionResult {
  if (!config) {
    return {
      ok: false,
      error: `cannot target project ${JSON.stringify(name)} with -p: this repo has no repo config (atlantis.yaml) defining projects; use -d and -w instead`,
    };
  }
  const found = config.projects.filter((p) => p.name === name);
  if (found.length > 0) return { ok: true, projects: found.map(toProject) };
  const names = config.projects.map((p) => p.name).filter((n) => n !== "");
  const available = names.length > 0 ? `available projects: ${names.join(", ")}` : "no project in it has a name";
  return { ok: false, error: `no project named ${JSON.stringify(name)} is defined in the repo config; ${available}` };
}

/**
 * `-d` as a glob (Atlantis: `*`, `?`, `[` make it a pattern over project dirs): matches the
 * configured projects and the discovered Terraform directories (or, when neither is known, the
 * modified projects), in that order, each directory once.
 */
function byDirGlob(pattern: string, workspace: string, ctx: SelectionContext): SelectionResult {
  const glob = pattern.replace(/^(\.\/|\/)+/, "");
  if (glob.split("/").includes("..")) {
    return { ok: false, error: `using '..' in glob pattern ${JSON.stringify(pattern)} with -d/--dir is not allowed` };
  }
  const configured = ctx.config?.projects ?? [];
  const configuredDirs = new Set(configured.map((p) => p.dir));
  const discovered = (ctx.discovered ?? []).filter((dir) => !configuredDirs.has(dir)).map((dir) => ({ name: "", dir, workspace }));
  const pool: readonly Project[] = ctx.config || ctx.discovered ? [...configured, ...discovered] : ctx.modified;
  const projects = pool.filter((p) => p.workspace === workspace && minimatch(p.dir, glob, { dot: true }));
  if (projects.length === 0) {
    const source = ctx.discovered ? "project or Terraform directory" : ctx.config ? "configured project" : "modified project";
    return {
      ok: false,
      error: `no ${source} matches -d ${JSON.stringify(pattern)} in workspace ${JSON.stringify(workspace)}`,
    };
  }
  return { ok: true, projects: projects.map(toProject) };
}

/**
 * Resolve a command's flags to projects, following Atlantis:
 * - no flags → all modified projects;
 * - `-p name` → the configured project(s) with that name;
 * - `-d`/`-w` → configured projects for that dir (default ".") and workspace (default
 *   "default"); when none is configured there, or the repo has no config, the dir/workspace
 *   itself as an unnamed project (Atlantis plans unconfigured dirs with default settings).
 */
export function selectProjects(req: SelectionRequest, ctx: SelectionContext): SelectionResult {
  if (req.project !== "") {
    if (req.dir !== "" || req.workspace !== "") {
      return { ok: false, error: "cannot use -p/--project at same time as -d/--dir or -w/--workspace" };
    }
    return byName(req.project, ctx.config);
  }
  if (req.dir === "" && req.workspace === "") return { ok: true, projects: ctx.modified.map(toProject) };

  const workspace = req.workspace === "" ? DEFAULT_WORKSPACE : req.workspace;
  if (GLOB_CHARS.test(req.dir)) return byDirGlob(req.dir, workspace, ctx);

  // Like Atlantis: clean the path and force it relative (`/x` → `x`); only refuse it when the
  // cleaned path leaves the repo. (The comment parser normally did this already.)
  const normalized = posix.normalize(req.dir.replace(/^\/+/, "") || ".");
  const cleaned = cleanRepoDir(normalized);
  if (!cleaned.ok) {
    return { ok: false, error: `using a relative path ${JSON.stringify(req.dir)} with -d/--dir is not allowed` };
  }
  const dir = cleaned.dir;

  const configured = (ctx.config?.projects ?? []).filter((p) => p.dir === dir && p.workspace === workspace);
  if (configured.length > 0) return { ok: true, projects: configured.map(toProject) };
  return { ok: true, projects: [{ name: "", dir, workspace }] };
}
