/**
 * The repo config file (`atoll.yaml` / `atlantis.yaml`): parse, validate, normalise.
 *
 * Compatibility goal: every file Atlantis accepts for the keys below is accepted with the same
 * meaning, and every problem is reported with a key path and a line, all at once (Atlantis stops
 * at the first YAML decode error). Supported keys for now: `version`, `projects[]` with `name`,
 * `dir`, `workspace`, `autoplan.enabled`, `autoplan.when_modified`. Other keys are ignored with
 * a warning instead of failing like Atlantis's strict decoder, so configs written for the full
 * Atlantis schema keep working while Atoll grows into it.
 *
 * Choices where Atlantis gives no single answer (documented in the tests too):
 * - An empty file (or only comments, or a bare `---`) is like Atlantis: `version` is required.
 * - Only the first YAML document is used (as Atlantis's decoder does); more give a warning.
 * - `dir: ""` means the repo root, like `dir: .`.
 * - Scalars are typed with the YAML 1.2 core schema plus `<<` merge keys (yaml.v3 supports
 *   both): `2024-01-01` stays a string. String-valued keys also accept numbers and booleans
 *   as written (`name: 1.10` is the name "1.10"), since yaml.v3 decodes those into strings too.
 */
import { CORE_SCHEMA, YAMLException, loadAll, mergeTag } from "js-yaml";
import { posix } from "node:path";
// One rule set for `-w` in comments and `workspace:` in config (reference §1.4).
import { parseRequirements, type Requirement } from "../runner/apply-requirements.js";
import { workspaceProblem } from "../commands/parse-comment.js";
import { DEFAULT_WORKSPACE } from "../projects/project.js";
import { formatYamlPath, yamlIndex, type YamlIndex, type YamlPath } from "./yaml-lines.js";

export interface ConfigIssue {
  file: string;
  message: string;
  /** Key path, e.g. "projects[1].dir"; absent for problems of the whole file. */
  path?: string;
  /** 1-based line. */
  line?: number;
}

export interface AutoplanConfig {
  enabled: boolean;
  /** .dockerignore-style patterns relative to the project dir; `[]` = never autoplan. */
  whenModified: string[];
}

export interface ProjectConfig {
  /** "" if unset. */
  name: string;
  /** Normalised repo-relative POSIX dir ("." for the root). */
  dir: string;
  workspace: string;
  autoplan: AutoplanConfig;
  /**
   * Apply requirements this project adds to the server's (`apply_requirements`); until the server
   * policy exists a repo can add requirements but never remove the server's.
   */
  applyRequirements: Requirement[];
}

export interface RepoConfig {
  version: number;
  projects: ProjectConfig[];
}

export type ParseRepoConfigResult =
  | { ok: true; config: RepoConfig; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[] };

/** Atlantis's default `when_modified`: any Terraform/OpenTofu file, Terragrunt file or lock file under the project dir. */
export const DEFAULT_WHEN_MODIFIED: readonly string[] = Object.freeze([
  "**/*.tf*",
  "**/*.tofu",
  "**/*.tofu.json",
  "**/terragrunt.hcl",
  "**/.terraform.lock.hcl",
]);

const SUPPORTED_VERSIONS = [2, 3];

/** Keys that Atlantis knows but Atoll does not implement yet: warned about differently from typos. */
const ATLANTIS_TOP_LEVEL_KEYS = new Set([
  "automerge",
  "autodiscover",
  "delete_source_branch_on_merge",
  "parallel_plan",
  "parallel_apply",
  "parallel_policy_check",
  "abort_on_execution_order_fail",
  "repo_locks",
  "silence_pr_comments",
  "emoji_reaction",
  "workflows",
  "allowed_regexp_prefixes",
  "policies",
]);
const ATLANTIS_PROJECT_KEYS = new Set([
  "branch",
  "execution_order_group",
  "depends_on",
  "delete_source_branch_on_merge",
  "repo_locking",
  "repo_locks",
  "custom_policy_check",
  "policy_check",
  "plan_requirements",
  "apply_requirements",
  "import_requirements",
  "terraform_version",
  "terraform_distribution",
  "workflow",
  "silence_pr_comments",
]);
const TOP_LEVEL_KEYS = new Set(["version", "projects"]);
const PROJECT_KEYS = new Set(["name", "dir", "workspace", "autoplan", "apply_requirements"]);
const AUTOPLAN_KEYS = new Set(["enabled", "when_modified"]);

/** yaml.v3 accepts these YAML 1.1 spellings when decoding into a bool field. */
const YAML11_BOOLEANS = new Map<string, boolean>([
  ...["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"].map((s) => [s, true] as const),
  ...["n", "N", "no", "No", "NO", "off", "Off", "OFF"].map((s) => [s, false] as const),
]);

const LOAD_SCHEMA = CORE_SCHEMA.withTags(mergeTag);

/**
 * Clean a repo-relative dir: POSIX-normalised, no leading `./`, no trailing `/`, "" and "." → ".".
 * Absolute dirs and any `..` segment are refused (Atlantis refuses `..` anywhere in `dir`),
 * because a project must stay inside the checkout.
 */
export function cleanRepoDir(dir: string): { ok: true; dir: string } | { ok: false; reason: string } {
  if (dir.startsWith("/")) return { ok: false, reason: `must be a path relative to the repo root, not absolute (${JSON.stringify(dir)})` };
  if (dir.split("/").includes("..")) return { ok: false, reason: `cannot contain '..' (${JSON.stringify(dir)})` };
  if (dir === "") return { ok: true, dir: "." };
  let cleaned = posix.normalize(dir);
  if (cleaned.endsWith("/") && cleaned.length > 1) cleaned = cleaned.slice(0, -1);
  if (cleaned.startsWith("./")) cleaned = cleaned.slice(2);
  return { ok: true, dir: cleaned === "" ? "." : cleaned };
}

/** `file:line: path: message`, the form used when showing issues to users. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

type Obj = Record<string, unknown>;

function isMapping(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Short description of a wrongly-typed value for error messages. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return "empty";
  if (Array.isArray(v)) return "a list";
  if (isMapping(v)) return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Collects issues, attaching file, formatted path and line to each. */
class Issues {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  constructor(
    private readonly file: string,
    private readonly index: YamlIndex,
  ) {}

  /**
   * The line for `path`; when the key itself is absent (e.g. a missing `dir`), the nearest
   * enclosing node that exists, so "dir is required" points at its project.
   */
  lineOf(path: YamlPath): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const line = this.index.lineOf(path.slice(0, n));
      if (line !== undefined) return line;
    }
    return undefined;
  }

  private issue(path: YamlPath, message: string, line?: number): ConfigIssue {
    const issue: ConfigIssue = { file: this.file, message };
    if (path.length > 0) issue.path = formatYamlPath(path);
    const l = line ?? this.lineOf(path);
    if (l !== undefined) issue.line = l;
    return issue;
  }
  error(path: YamlPath, message: string, line?: number): void {
    this.errors.push(this.issue(path, message, line));
  }
  warn(path: YamlPath, message: string, line?: number): void {
    this.warnings.push(this.issue(path, message, line));
  }
}

/** Outcome of reading one key: absent (missing or null), a value, or a reported error. */
type Read<T> = { kind: "absent" } | { kind: "ok"; value: T } | { kind: "bad" };

/**
 * A string-valued key: strings as they are, numbers/booleans as written in the source (yaml.v3
 * decodes any scalar into a string field). Missing or null → absent; lists/maps → error.
 */
function readString(value: unknown, path: YamlPath, issues: Issues, index: YamlIndex): Read<string> {
  if (value === null || value === undefined) return { kind: "absent" };
  if (typeof value === "string") return { kind: "ok", value };
  if (typeof value === "number" || typeof value === "boolean") {
    return { kind: "ok", value: index.scalarText(path) ?? String(value) };
  }
  issues.error(path, `must be a string, got ${describe(value)}`);
  return { kind: "bad" };
}

function warnUnknownKeys(obj: Obj, known: Set<string>, atlantisOnly: Set<string>, path: YamlPath, issues: Issues): void {
  for (const key of Object.keys(obj)) {
    if (known.has(key)) continue;
    if (atlantisOnly.has(key)) issues.warn([...path, key], "is not supported by Atoll yet; the key is ignored");
    else issues.warn([...path, key], "unknown key; it is ignored");
  }
}

function readVersion(root: Obj, issues: Issues, fileName: string): number | undefined {
  const v = root.version;
  if (v === null || v === undefined) {
    issues.error(
      ["version"],
      `is required. If you've just upgraded Atlantis you need to rewrite your ${fileName} for version 3. ` +
        "See www.runatlantis.io/docs/upgrading-atlantis-yaml.html",
    );
    return undefined;
  }
  if (typeof v !== "number" || !SUPPORTED_VERSIONS.includes(v)) {
    issues.error(["version"], `only versions 2 and 3 are supported (got ${JSON.stringify(v)})`);
    return undefined;
  }
  return v;
}

function readAutoplan(raw: unknown, path: YamlPath, issues: Issues, index: YamlIndex): AutoplanConfig | undefined {
  const result: AutoplanConfig = { enabled: true, whenModified: [...DEFAULT_WHEN_MODIFIED] };
  if (raw === null || raw === undefined) return result;
  if (!isMapping(raw)) {
    issues.error(path, `must be a mapping with 'enabled' and/or 'when_modified', got ${describe(raw)}`);
    return undefined;
  }
  warnUnknownKeys(raw, AUTOPLAN_KEYS, new Set(), path, issues);
  let ok = true;

  const enabled = raw.enabled;
  if (typeof enabled === "boolean") result.enabled = enabled;
  else if (typeof enabled === "string" && YAML11_BOOLEANS.has(enabled)) result.enabled = YAML11_BOOLEANS.get(enabled)!;
  else if (enabled !== null && enabled !== undefined) {
    issues.error([...path, "enabled"], `must be true or false, got ${describe(enabled)}`);
    ok = false;
  }

  const wm = raw.when_modified;
  if (Array.isArray(wm)) {
    const patterns: string[] = [];
    wm.forEach((item, i) => {
      const itemPath = [...path, "when_modified", i];
      const s = readString(item, itemPath, issues, index);
      if (s.kind === "ok") patterns.push(s.value);
      else {
        if (s.kind === "absent") issues.error(itemPath, "must be a file pattern string, got empty");
        ok = false;
      }
    });
    result.whenModified = patterns;
  } else if (wm !== null && wm !== undefined) {
    issues.error([...path, "when_modified"], `must be a list of file patterns, got ${describe(wm)}`);
    ok = false;
  }
  return ok ? result : undefined;
}

function readProject(raw: unknown, i: number, issues: Issues, index: YamlIndex): ProjectConfig | undefined {
  const path: YamlPath = ["projects", i];
  if (!isMapping(raw)) {
    issues.error(path, `each project must be a mapping with at least a 'dir' key, got ${describe(raw)}`);
    return undefined;
  }
  warnUnknownKeys(raw, PROJECT_KEYS, ATLANTIS_PROJECT_KEYS, path, issues);
  let ok = true;

  // `name:` left empty (null) means unnamed, as in Atlantis; an explicit "" is a mistake.
  let name = "";
  const n = readString(raw.name, [...path, "name"], issues, index);
  if (n.kind === "bad") ok = false;
  else if (n.kind === "ok" && n.value === "") {
    issues.error([...path, "name"], "cannot be empty; remove the key for an unnamed project");
    ok = false;
  } else if (n.kind === "ok") name = n.value;

  let dir = "";
  const d = readString(raw.dir, [...path, "dir"], issues, index);
  if (d.kind === "bad") ok = false;
  else if (d.kind === "absent") {
    issues.error([...path, "dir"], "is required: the project's directory relative to the repo root (use '.' for the root)");
    ok = false;
  } else {
    const cleaned = cleanRepoDir(d.value);
    if (cleaned.ok) {
      dir = cleaned.dir;
      if (/[*?[]/.test(dir)) {
        issues.warn([...path, "dir"], "glob dirs are not supported yet; the dir is used literally");
      }
    } else {
      issues.error([...path, "dir"], cleaned.reason);
      ok = false;
    }
  }

  let workspace = DEFAULT_WORKSPACE;
  const w = readString(raw.workspace, [...path, "workspace"], issues, index);
  if (w.kind === "bad") ok = false;
  else if (w.kind === "ok") {
    const problem = workspaceProblem(w.value);
    if (problem) {
      issues.error([...path, "workspace"], `invalid workspace ${JSON.stringify(w.value)}: ${problem}`);
      ok = false;
    } else workspace = w.value;
  }

  const autoplan = readAutoplan(raw.autoplan, [...path, "autoplan"], issues, index);
  if (!autoplan) ok = false;

  let applyRequirements: Requirement[] = [];
  const reqPath: YamlPath = [...path, "apply_requirements"];
  const rawReqs = raw.apply_requirements;
  if (rawReqs !== undefined && rawReqs !== null) {
    if (!Array.isArray(rawReqs) || rawReqs.some((r) => typeof r !== "string")) {
      issues.error(reqPath, `must be a list of requirements (approved, mergeable, undiverged), got ${describe(rawReqs)}`);
      ok = false;
    } else {
      rawReqs.forEach((r: string, k: number) => {
        const parsed = parseRequirements([r]);
        if (!parsed.ok) {
          issues.error([...reqPath, k], parsed.error);
          ok = false;
        }
      });
      const parsed = parseRequirements(rawReqs as string[]);
      if (parsed.ok) applyRequirements = parsed.requirements;
    }
  }

  return ok && autoplan ? { name, dir, workspace, autoplan, applyRequirements } : undefined;
}

/**
 * Atlantis's uniqueness rules: names are unique, and projects sharing a dir+workspace must all
 * be named (otherwise `-d`/`-w` could not tell them apart and they would share a lock).
 */
function checkUniqueness(projects: { project: ProjectConfig; index: number }[], issues: Issues): void {
  const seenNames = new Set<string>();
  const reportedNames = new Set<string>();
  for (const { project, index } of projects) {
    if (!project.name) continue;
    if (seenNames.has(project.name) && !reportedNames.has(project.name)) {
      reportedNames.add(project.name);
      issues.error(
        ["projects", index, "name"],
        `found two or more projects with name ${JSON.stringify(project.name)}; project names must be unique`,
      );
    }
    seenNames.add(project.name);
  }

  const groups = new Map<string, { project: ProjectConfig; index: number }[]>();
  for (const entry of projects) {
    const key = `${entry.project.dir}\u0000${entry.project.workspace}`;
    const group = groups.get(key) ?? [];
    group.push(entry);
    groups.set(key, group);
  }
  for (const group of groups.values()) {
    if (group.length < 2 || group.every((e) => e.project.name !== "")) continue;
    const { dir, workspace } = group[0].project;
    issues.error(
      ["projects", group[1].index],
      `there are two or more projects with dir: ${JSON.stringify(dir)} workspace: ${JSON.stringify(workspace)} ` +
        "that are not all named; they must have a 'name' key so they can be targeted for apply's separately",
    );
  }
}

/** Load the first YAML document, or report the syntax error with its line. */
function loadFirstDocument(
  text: string,
  fileName: string,
): { ok: true; value: unknown; documents: number } | { ok: false; issue: ConfigIssue } {
  try {
    const docs = loadAll(text, { schema: LOAD_SCHEMA, filename: fileName });
    return { ok: true, value: docs[0], documents: docs.length };
  } catch (e) {
    const issue: ConfigIssue = { file: fileName, message: "" };
    if (e instanceof YAMLException) {
      issue.message = `invalid YAML: ${e.reason}`;
      if (e.mark) issue.line = e.mark.line + 1;
    } else {
      issue.message = `invalid YAML: ${e instanceof Error ? e.message : String(e)}`;
    }
    return { ok: false, issue };
  }
}

/**
 * Line where the second YAML document starts, for the "ignored documents" warning. Found by
 * the second `---` marker at the start of a line (the first one may open document one).
 */
function secondDocumentLine(text: string): number | undefined {
  const lines = text.split(/\r\n|\r|\n/);
  const markers = lines.flatMap((l, i) => (/^---(\s|$)/.test(l) ? [i] : []));
  const firstContent = lines.findIndex((l) => l.trim() !== "" && !l.trimStart().startsWith("#") && !l.startsWith("%"));
  const opensFirst = markers.length > 0 && markers[0] === firstContent;
  const marker = opensFirst ? markers[1] : markers[0];
  return marker === undefined ? undefined : marker + 1;
}

/** Parse and validate a repo config file. Never throws. */
export function parseRepoConfig(text: string, fileName: string): ParseRepoConfigResult {
  const loaded = loadFirstDocument(text, fileName);
  if (!loaded.ok) return { ok: false, errors: [loaded.issue] };

  const index = yamlIndex(text);
  const issues = new Issues(fileName, index);
  if (loaded.documents > 1) {
    issues.warn([], "the file contains more than one YAML document; only the first is used", secondDocumentLine(text));
  }

  let root = loaded.value;
  // Empty file, only comments or a bare `---`: same as an empty mapping, so `version` is required.
  if (root === null || root === undefined) root = {};
  if (!isMapping(root)) {
    issues.error([], `the top level must be a mapping with 'version' and 'projects', got ${describe(root)}`, issues.lineOf([]) ?? 1);
    return { ok: false, errors: issues.errors };
  }

  const version = readVersion(root, issues, fileName);
  warnUnknownKeys(root, TOP_LEVEL_KEYS, ATLANTIS_TOP_LEVEL_KEYS, [], issues);

  const projects: { project: ProjectConfig; index: number }[] = [];
  const rawProjects = root.projects;
  if (Array.isArray(rawProjects)) {
    rawProjects.forEach((raw, i) => {
      const project = readProject(raw, i, issues, index);
      if (project) projects.push({ project, index: i });
    });
    checkUniqueness(projects, issues);
  } else if (rawProjects !== null && rawProjects !== undefined) {
    issues.error(["projects"], `must be a list of projects, got ${describe(rawProjects)}`);
  }

  // A missing-key issue in an empty file has no node to point at: line 1.
  for (const e of issues.errors) if (e.line === undefined) e.line = 1;

  if (issues.errors.length > 0 || version === undefined) return { ok: false, errors: issues.errors };
  return { ok: true, config: { version, projects: projects.map((p) => p.project) }, warnings: issues.warnings };
}
