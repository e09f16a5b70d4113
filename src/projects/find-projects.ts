/**
 * Which Terraform projects a pull request touches, from the list of files it changes.
 *
 * Two modes, as in Atlantis:
 * - without `projects` in the repo config, directories are discovered from the changed files
 *   ({@link candidateDirs} / {@link discoverProjects});
 * - with configured projects, each project's `autoplan.when_modified` patterns decide
 *   ({@link configuredProjects}).
 * All functions here are pure: the caller supplies the changed files and, for discovery, the
 * set of directories that hold Terraform in the PR head (see `terraform-dirs.ts`).
 */
import { Minimatch } from "minimatch";
import { posix } from "node:path";
import type { ChangedFile } from "../ports/github.js";
import { DEFAULT_WORKSPACE, type Project } from "./project.js";
import type { AutodiscoverConfig, ProjectConfig } from "../config/config-types.js";
import { expandGlobProject } from "../config/apply-policy.js";

/**
 * Atlantis's default `--autoplan-file-list`: the files whose change makes their directory a
 * candidate project. `.tfvars` count because they change a plan's inputs.
 */
export const AUTOPLAN_FILE_PATTERNS: readonly string[] = Object.freeze([
  "**/*.tf",
  "**/*.tf.json",
  "**/*.tfvars",
  "**/*.tfvars.json",
  "**/*.tofu",
  "**/*.tofu.json",
  "**/terragrunt.hcl",
  "**/.terraform.lock.hcl",
]);

const MATCH_OPTIONS = { dot: true } as const;

/**
 * Compiled globs by pattern. Every changed file is matched against every project's patterns, so
 * compiling each pattern once matters for big PRs on monorepos. Bounded: patterns come from repo
 * configs, so the cache is emptied when it grows past a few thousand.
 */
const compiled = new Map<string, Minimatch>();
function globMatch(path: string, pattern: string): boolean {
  let m = compiled.get(pattern);
  if (!m) {
    if (compiled.size >= 4096) compiled.clear();
    m = new Minimatch(pattern, MATCH_OPTIONS);
    compiled.set(pattern, m);
  }
  return m.match(path);
}

/** Repo-relative POSIX path without `./` prefix (GitHub already sends this form; be lenient). */
function cleanPath(file: string): string {
  const normalized = posix.normalize(file.replace(/^\/+/, ""));
  return normalized.startsWith("./") ? normalized.slice(2) : normalized;
}

/**
 * Every path a change touches: the new name and, for renames/copies, the old one. Removed files
 * are included on purpose: deleting a resource's file is a change to plan.
 */
export function touchedPaths(changedFiles: readonly ChangedFile[]): string[] {
  const paths = new Set<string>();
  for (const f of changedFiles) {
    paths.add(cleanPath(f.filename));
    if (f.previousFilename) paths.add(cleanPath(f.previousFilename));
  }
  return [...paths];
}

function isAutoplanFile(path: string): boolean {
  return AUTOPLAN_FILE_PATTERNS.some((p) => globMatch(path, p));
}

/**
 * The project dir a changed Terraform file points at (Atlantis's `getProjectDir`):
 * - a file directly in an `env/` dir belongs to the dir above (`stack/env/dev.tfvars` → `stack`);
 * - a file anywhere under a `modules` segment belongs to the dir above the first `modules`
 *   (`stack/modules/vpc/main.tf` → `stack`, `modules/vpc/main.tf` → `.`), because a module is
 *   planned through the root module that calls it;
 * - otherwise its own dir.
 */
export function projectDirOf(file: string): string {
  const dir = posix.dirname(cleanPath(file));
  if (posix.basename(dir) === "env") return posix.dirname(dir);
  const segments = dir === "." ? [] : dir.split("/");
  const modulesAt = segments.indexOf("modules");
  if (modulesAt >= 0) return modulesAt === 0 ? "." : segments.slice(0, modulesAt).join("/");
  return dir;
}

/** Candidate project dirs for no-config discovery: deduplicated and sorted. */
export function candidateDirs(changedFiles: readonly ChangedFile[]): string[] {
  const dirs = new Set<string>();
  for (const path of touchedPaths(changedFiles)) {
    if (isAutoplanFile(path)) dirs.add(projectDirOf(path));
  }
  return [...dirs].sort();
}

/**
 * Projects discovered without repo config: candidate dirs that (still) contain Terraform in the
 * PR head. This drops dirs deleted by the PR and module changes whose parent dir is not itself a
 * root module (Atlantis plans a module change only if the dir above `modules/` holds Terraform).
 */
export function discoverProjects(changedFiles: readonly ChangedFile[], terraformDirs: ReadonlySet<string>): Project[] {
  return candidateDirs(changedFiles)
    .filter((dir) => terraformDirs.has(dir))
    .map((dir) => ({ name: "", dir, workspace: DEFAULT_WORKSPACE }));
}

/**
 * Whether `relPath` (relative to the project dir) is selected by .dockerignore-style patterns:
 * patterns apply in order, `!pattern` un-selects, so the last matching pattern wins. A pattern
 * that matches a directory also matches everything inside it (`../modules` covers
 * `../modules/vpc/main.tf`), as Atlantis's Docker pattern matcher does.
 */
export function matchesWhenModified(relPath: string, patterns: readonly string[]): boolean {
  const candidates = [relPath];
  const segments = relPath.split("/");
  for (let n = segments.length - 1; n >= 1; n--) candidates.push(segments.slice(0, n).join("/"));
  let selected = false;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = normalizePattern(negated ? raw.slice(1) : raw);
    if (pattern === "") continue;
    if (candidates.some((c) => globMatch(c, pattern))) selected = !negated;
  }
  return selected;
}

/** The pattern that decides `matchesWhenModified` for `relPath` when it selects it (the last matching one). */
export function decidingPattern(relPath: string, patterns: readonly string[]): string | undefined {
  const segments = relPath.split("/");
  const candidates = [relPath, ...Array.from({ length: segments.length - 1 }, (_, i) => segments.slice(0, segments.length - 1 - i).join("/"))];
  let deciding: string | undefined;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = normalizePattern(negated ? raw.slice(1) : raw);
    if (pattern === "") continue;
    if (candidates.some((c) => globMatch(c, pattern))) deciding = negated ? undefined : raw;
  }
  return deciding;
}

/**
 * Why a project is in a pull request's plan (trigger provenance, shown on its check run): which
 * changed file matched which `when_modified` pattern of a configured project, or which changed
 * file put a discovered directory in the plan. Undefined when no changed file explains it.
 */
export function whyModified(project: Project, changedFiles: readonly ChangedFile[], configured: readonly ProjectConfig[]): string | undefined {
  const paths = touchedPaths(changedFiles);
  const config = configured.find((c) => c.dir === project.dir && c.workspace === project.workspace && c.name === project.name);
  if (config) {
    const dir = normalizeDir(config.dir);
    for (const path of paths) {
      const pattern = decidingPattern(relativeTo(dir, path), config.autoplan.whenModified);
      if (pattern !== undefined) return `\`${path}\` changed and matches \`${pattern}\` (\`when_modified\` of this project)`;
    }
    return undefined;
  }
  for (const path of paths) {
    if (!isAutoplanFile(path) || projectDirOf(path) !== project.dir) continue;
    const dir = posix.dirname(path);
    const how = dir === project.dir ? "is in this directory" : `belongs to it (a module or \`env/\` file under \`${project.dir}\`)`;
    return `\`${path}\` changed and ${how}`;
  }
  return undefined;
}

/** `./x/` → `x`; keeps leading `../` (patterns may reach outside the project dir). */
function normalizePattern(pattern: string): string {
  const trimmed = pattern.trim();
  if (trimmed === "") return "";
  const normalized = posix.normalize(trimmed).replace(/\/+$/, "");
  return normalized === "." ? "" : normalized.replace(/^\.\//, "");
}

/** `file` relative to `dir` (both repo-relative); may start with `../`. */
function relativeTo(dir: string, file: string): string {
  return dir === "." ? file : posix.relative(`/${dir}`, `/${file}`);
}

export interface ConfiguredProjectsOptions {
  /**
   * Also return projects with `autoplan.enabled: false`. Atlantis's bare `atlantis plan`
   * comment plans every modified project, autoplan or not; only the automatic run skips them.
   */
  includeAutoplanDisabled?: boolean;
}

/**
 * Configured projects this change touches: some changed path (old or new name) is selected by
 * the project's `when_modified`, with paths taken relative to the project dir. By default only
 * projects with `autoplan.enabled` (what autoplan runs). Config order is kept.
 *
 * Cost: a monorepo lists thousands of projects and a PR may change hundreds of files, and
 * matching every file against every project is their product (2,000 × 300 took 2.7 s). But a
 * path outside a project's dir is relative `../…` to it, and only patterns that can match `..`
 * can select it (see {@link staysInside}). So each path is matched only against the projects of
 * the dirs above it, plus the (few) projects whose patterns reach outside their dir: the cost
 * grows with files × depth, not files × projects.
 */
export function configuredProjects(
  changedFiles: readonly ChangedFile[],
  config: { projects: readonly ProjectConfig[] },
  options: ConfiguredProjectsOptions = {},
): Project[] {
  const paths = touchedPaths(changedFiles);
  const candidates = config.projects.filter((p) => p.autoplan.enabled || options.includeAutoplanDisabled);
  const dirOf = new Map(candidates.map((p) => [p, normalizeDir(p.dir)]));
  const byDir = new Map<string, ProjectConfig[]>();
  const reaching: ProjectConfig[] = [];
  for (const p of candidates) {
    if (!p.autoplan.whenModified.every(staysInside)) {
      reaching.push(p);
      continue;
    }
    const dir = dirOf.get(p)!;
    const list = byDir.get(dir);
    if (list) list.push(p);
    else byDir.set(dir, [p]);
  }
  const touched = new Set<ProjectConfig>();
  const check = (p: ProjectConfig, path: string) => {
    if (!touched.has(p) && matchesWhenModified(relativeTo(dirOf.get(p)!, path), p.autoplan.whenModified)) touched.add(p);
  };
  for (const path of paths) {
    for (const dir of ancestorDirs(path)) for (const p of byDir.get(dir) ?? []) check(p, path);
    for (const p of reaching) check(p, path);
  }
  return candidates.filter((p) => touched.has(p)).map((p) => ({ name: p.name, dir: p.dir, workspace: p.workspace }));
}

/** A project dir as paths are compared with it: `.` for the root, no `./` or trailing `/`. */
function normalizeDir(dir: string): string {
  const n = posix.normalize(dir.trim() || ".").replace(/\/+$/, "").replace(/^\.\//, "");
  return n === "" ? "." : n;
}

/** `.` and every dir above `path`'s file: `a/b/c.tf` → `.`, `a`, `a/b`. */
function ancestorDirs(path: string): string[] {
  const segments = path.split("/").slice(0, -1);
  const dirs = ["."];
  for (let i = 1; i <= segments.length; i++) dirs.push(segments.slice(0, i).join("/"));
  return dirs;
}

/**
 * Whether a `when_modified` pattern can only select paths inside the project dir, i.e. cannot
 * match a path whose first segment is `..`. Conservative: true only when the first segment is
 * made of `*` and literal characters and is not all dots (`*`, `**`, `*.tf*`, `modules`); minimatch
 * never lets `*` or `**` match `..` by themselves, but `*.`, `[.][.]` or `!(a)` do, and those
 * (and anything with other glob syntax) take the slow path. A leading `!` (negation) is ignored.
 */
export function staysInside(pattern: string): boolean {
  // A negation un-selects what it matches: whether it can reach outside is the same question.
  const normalized = normalizePattern(pattern.startsWith("!") ? pattern.slice(1) : pattern);
  if (normalized === "") return true; // ignored by matchesWhenModified
  const first = normalized.split("/")[0]!;
  if (/[?[\]{}()!+@\\]/.test(first)) return false;
  const literal = first.replace(/\*/g, "");
  if (literal === "") return true; // `*`, `**`
  return /[^.]/.test(literal);
}

/**
 * Replace each configured project whose `dir` is a glob with one project per matching directory
 * that holds Terraform (Atlantis expands glob dirs the same way; the name is not copied).
 * Directories already configured explicitly for the same workspace keep their own entry.
 */
export function expandGlobDirs(projects: readonly ProjectConfig[], terraformDirs: ReadonlySet<string>): ProjectConfig[] {
  const out: ProjectConfig[] = [];
  const explicit = new Set(projects.filter((p) => !p.dirIsGlob).map((p) => `${p.dir}\u0000${p.workspace}`));
  for (const p of projects) {
    if (!p.dirIsGlob) {
      out.push(p);
      continue;
    }
    for (const dir of [...terraformDirs].sort()) {
      if (!globMatch(dir, p.dir) || explicit.has(`${dir}\u0000${p.workspace}`)) continue;
      if (out.some((o) => o.dir === dir && o.workspace === p.workspace && o.name === "")) continue;
      // Unnamed even if an entry built outside the parser carries a name: one name cannot stand
      // for several projects, and settings are looked up by (unnamed) dir against the pattern.
      out.push({ ...expandGlobProject(p, dir), name: "" });
    }
  }
  return out;
}

/**
 * Whether a discovered dir is excluded by autodiscover's `ignore_paths`: a pattern excludes the
 * dirs it matches and everything below them (`legacy` covers `legacy/a`), and `x/**` also
 * covers `x` itself, as Atlantis's doublestar matching does.
 */
export function ignoredByAutodiscover(dir: string, autodiscover: AutodiscoverConfig): boolean {
  return autodiscover.ignorePaths.some((raw) => {
    const pattern = raw.trim().replace(/^(\.\/)+/, "").replace(/\/+$/, "");
    if (pattern === "") return false;
    // `x/**` (or `x/**/**`) → base `x`; a bare `**` stays itself.
    const base = pattern.replace(/(\/\*\*)+$/, "");
    return [pattern, base, `${base}/**`].some((p) => globMatch(dir, p));
  });
}

/**
 * The projects a change touches, Atlantis's way: configured projects by `when_modified`, and
 * discovered directories when autodiscover says so — `auto` only when nothing is configured,
 * `enabled` always (a configured project wins over a discovered one in the same dir), `disabled`
 * never.
 */
export function modifiedProjects(
  changedFiles: readonly ChangedFile[],
  configured: readonly ProjectConfig[],
  autodiscover: AutodiscoverConfig,
  terraformDirs: ReadonlySet<string> | undefined,
  options: ConfiguredProjectsOptions = {},
): Project[] {
  const fromConfig = configured.length ? configuredProjects(changedFiles, { projects: configured }, options) : [];
  if (!shouldDiscover(configured, autodiscover) || !terraformDirs) return fromConfig;
  const discovered = discoverProjects(changedFiles, terraformDirs).filter(
    (p) => !ignoredByAutodiscover(p.dir, autodiscover) && !configured.some((c) => c.dir === p.dir),
  );
  return [...fromConfig, ...discovered];
}

/** Whether discovery runs at all for this config. */
export function shouldDiscover(configured: readonly ProjectConfig[], autodiscover: AutodiscoverConfig): boolean {
  return autodiscover.mode === "enabled" || (autodiscover.mode === "auto" && configured.length === 0);
}
