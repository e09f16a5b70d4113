/**
 * The repo config file (`atoll.yaml` / `atlantis.yaml`, Atlantis's v3 schema): parse, validate,
 * normalise. Whether the server lets the repo use what it sets is decided afterwards, in
 * `apply-policy.ts`; `load-repo-config.ts` runs both.
 *
 * Compatibility goal: every file Atlantis accepts is accepted with the same meaning, and every
 * problem is reported with a key path and a line, all at once (Atlantis stops at the first).
 * Like Atlantis's strict decoder, unknown keys are errors at every level (with a "did you mean"
 * for typos).
 *
 * Choices where Atlantis gives no single answer (documented in the tests too):
 * - An empty file (or only comments, or a bare `---`) is like Atlantis: `version` is required.
 * - Only the first YAML document is used (as Atlantis's decoder does); more give a warning.
 * - `dir: ""` means the repo root, like `dir: .`.
 * - Name uniqueness is checked among projects that can exist together: without a known base
 *   branch, projects with different `branch` regexes may share a name (Atlantis checks after
 *   dropping projects for other branches; `load-repo-config.ts` does that when it knows the branch).
 * - `depends_on` must name projects of the file, not the project itself, without cycles
 *   (Atlantis only finds out when applying).
 * - Keys Atoll accepts for compatibility but does not act on (`policy_check`,
 *   `custom_policy_check`, `parallel_policy_check`, `policies`, `emoji_reaction`) are warnings.
 */
import { posix } from "node:path";
import { workspaceProblem } from "../commands/parse-comment.js";
import { DEFAULT_WORKSPACE } from "../projects/project.js";
import type {
  AutodiscoverConfig,
  AutoplanConfig,
  ConfigIssue,
  ProjectConfig,
  RepoConfig,
  RepoLocksMode,
  Requirement,
  SilenceableCommand,
  TerraformDistribution,
  Workflow,
} from "./config-types.js";
import { readWorkflows } from "./workflow-config.js";
import { formatYamlPath, type YamlPath } from "./yaml-lines.js";
import { describe, goRegExp, isMapping, openDocument, type ConfigReader, type Obj, type Read } from "./yaml-reader.js";

export type { AutoplanConfig, ConfigIssue, ProjectConfig, RepoConfig } from "./config-types.js";
export { formatConfigIssue } from "./yaml-reader.js";

export type ParseRepoConfigResult =
  | { ok: true; config: RepoConfig; warnings: ConfigIssue[] }
  /** `partial`: what could be read (projects with errors left out), so policy problems can be reported too. */
  | { ok: false; errors: ConfigIssue[]; partial?: RepoConfig };

/** Atlantis's default `when_modified`: any Terraform/OpenTofu file, Terragrunt file or lock file under the project dir. */
export const DEFAULT_WHEN_MODIFIED: readonly string[] = Object.freeze([
  "**/*.tf*",
  "**/*.tofu",
  "**/*.tofu.json",
  "**/terragrunt.hcl",
  "**/.terraform.lock.hcl",
]);

const SUPPORTED_VERSIONS = [2, 3];

export const TOP_LEVEL_KEYS = [
  "version",
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
  "projects",
  "workflows",
  "allowed_regexp_prefixes",
  "policies",
] as const;

export const PROJECT_KEYS = [
  "name",
  "branch",
  "dir",
  "workspace",
  "execution_order_group",
  "depends_on",
  "delete_source_branch_on_merge",
  "repo_locking",
  "repo_locks",
  "custom_policy_check",
  "policy_check",
  "autoplan",
  "plan_requirements",
  "apply_requirements",
  "import_requirements",
  "terraform_version",
  "terraform_distribution",
  "workflow",
  "silence_pr_comments",
] as const;

const AUTOPLAN_KEYS = ["enabled", "when_modified"] as const;
const AUTODISCOVER_KEYS = ["mode", "ignore_paths"] as const;
const REQUIREMENTS: readonly Requirement[] = ["approved", "mergeable", "undiverged"];
const LOCK_MODES: readonly RepoLocksMode[] = ["disabled", "on_plan", "on_apply"];
const SILENCEABLE: readonly SilenceableCommand[] = ["plan", "apply"];
const DISTRIBUTIONS: readonly TerraformDistribution[] = ["terraform", "opentofu"];
const GLOB_CHARS = /[*?[]/;
/** Characters Atlantis accepts in project names: URL-safe, plus `/`. */
const NAME_CHARS = /^[A-Za-z0-9_.~\-/]+$/;
/** `1`, `v1.11`, `1.11.0`, `0.12.0-beta1`. */
const VERSION = /^v?\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

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

/** Records the line of every key the file sets, for the server-policy check. */
class KeyLines {
  readonly lines: Record<string, number | undefined> = {};
  constructor(private readonly r: ConfigReader) {}
  set(path: YamlPath): void {
    this.lines[formatYamlPath(path)] = this.r.lineOf(path);
  }
}

/** `plan_requirements` / `apply_requirements` / `import_requirements`, with Atlantis's message (also used by the server policy). */
export function readRequirements(value: unknown, path: YamlPath, key: string, r: ConfigReader): Read<Requirement[]> {
  const singular = key.replace(/s$/, "");
  return r.listOf(value, path, REQUIREMENTS, (item) => `"${item}" is not a valid ${singular}, only "approved", "mergeable" and "undiverged" are supported`);
}

function readVersion(root: Obj, r: ConfigReader): 2 | 3 | undefined {
  const v = root.version;
  if (v === null || v === undefined) {
    r.error(
      ["version"],
      `is required. If you've just upgraded Atlantis you need to rewrite your ${r.file} for version 3. ` +
        "See www.runatlantis.io/docs/upgrading-atlantis-yaml.html",
    );
    return undefined;
  }
  if (typeof v !== "number" || !SUPPORTED_VERSIONS.includes(v)) {
    r.error(["version"], `only versions 2 and 3 are supported (got ${JSON.stringify(v)})`);
    return undefined;
  }
  return v as 2 | 3;
}

function readAutoplan(raw: unknown, path: YamlPath, r: ConfigReader): AutoplanConfig | undefined {
  const result: AutoplanConfig = { enabled: true, whenModified: [...DEFAULT_WHEN_MODIFIED] };
  const map = r.mapping(raw, path, "a mapping with 'enabled' and/or 'when_modified'");
  if (map.kind === "absent") return result;
  if (map.kind === "bad") return undefined;
  let ok = r.checkKeys(map.value, AUTOPLAN_KEYS, path, "autoplan");
  const enabled = r.bool(map.value.enabled, [...path, "enabled"]);
  if (enabled.kind === "ok") result.enabled = enabled.value;
  if (enabled.kind === "bad") ok = false;
  const wm = r.globList(map.value.when_modified, [...path, "when_modified"]);
  if (wm.kind === "ok") result.whenModified = wm.value;
  if (wm.kind === "bad") ok = false;
  return ok ? result : undefined;
}

function readRepoLocks(raw: unknown, path: YamlPath, r: ConfigReader): Read<{ mode: RepoLocksMode }> {
  const map = r.mapping(raw, path, "a mapping with 'mode'");
  if (map.kind !== "ok") return map;
  if (!r.checkKeys(map.value, ["mode"], path, "repo_locks")) return { kind: "bad" };
  const mode = r.oneOf(map.value.mode, [...path, "mode"], LOCK_MODES);
  if (mode.kind === "absent") {
    r.error([...path, "mode"], `is required: one of ${LOCK_MODES.join(", ")}`);
    return { kind: "bad" };
  }
  return mode.kind === "ok" ? { kind: "ok", value: { mode: mode.value } } : { kind: "bad" };
}

export function readAutodiscover(raw: unknown, path: YamlPath, r: ConfigReader): Read<AutodiscoverConfig> {
  const map = r.mapping(raw, path, "a mapping with 'mode' and/or 'ignore_paths'");
  if (map.kind !== "ok") return map;
  let ok = r.checkKeys(map.value, AUTODISCOVER_KEYS, path, "autodiscover");
  const mode = r.oneOf(map.value.mode, [...path, "mode"], ["auto", "enabled", "disabled"] as const);
  if (mode.kind === "bad") ok = false;
  const ignore = r.globList(map.value.ignore_paths, [...path, "ignore_paths"], "path patterns");
  if (ignore.kind === "bad") ok = false;
  if (ignore.kind === "ok") {
    ignore.value.forEach((p, i) => {
      if (p.startsWith("/")) {
        r.error([...path, "ignore_paths", i], `must be relative to the repo root, not start with '/' (${JSON.stringify(p)})`);
        ok = false;
      }
    });
  }
  if (!ok) return { kind: "bad" };
  return { kind: "ok", value: { mode: mode.kind === "ok" ? mode.value : "auto", ignorePaths: ignore.kind === "ok" ? ignore.value : [] } };
}

/** Assign a Read into an optional field, tracking the key line; returns false for bad values. */
function assign<T>(read: Read<T>, set: (v: T) => void, keys: KeyLines, path: YamlPath): boolean {
  if (read.kind === "ok") {
    set(read.value);
    keys.set(path);
  }
  return read.kind !== "bad";
}

function readProject(raw: unknown, i: number, r: ConfigReader, keys: KeyLines): ProjectConfig | undefined {
  const path: YamlPath = ["projects", i];
  if (!isMapping(raw)) {
    r.error(path, `each project must be a mapping with at least a 'dir' key, got ${describe(raw)}`);
    return undefined;
  }
  const p = (k: string): YamlPath => [...path, k];
  let ok = r.checkKeys(raw, PROJECT_KEYS, path, "a project");
  const project: ProjectConfig = {
    sourceIndex: i,
    name: "",
    dir: ".",
    workspace: DEFAULT_WORKSPACE,
    executionOrderGroup: 0,
    dependsOn: [],
    autoplan: { enabled: true, whenModified: [...DEFAULT_WHEN_MODIFIED] },
  };

  // `name:` left empty (null) means unnamed, as in Atlantis; an explicit "" is a mistake.
  const name = r.nonEmptyString(raw.name, p("name"), "remove the key for an unnamed project");
  if (name.kind === "ok") {
    if (!NAME_CHARS.test(name.value)) {
      r.error(p("name"), `${JSON.stringify(name.value)}: project names can only contain letters, digits, '-', '_', '.', '~' and '/'`);
      ok = false;
    } else project.name = name.value;
  } else if (name.kind === "bad") ok = false;

  const dir = r.string(raw.dir, p("dir"));
  if (dir.kind === "absent") {
    r.error(p("dir"), "is required: the project's directory relative to the repo root (use '.' for the root)");
    ok = false;
  } else if (dir.kind === "bad") ok = false;
  else {
    const cleaned = cleanRepoDir(dir.value);
    if (!cleaned.ok) {
      r.error(p("dir"), cleaned.reason);
      ok = false;
    } else {
      project.dir = cleaned.dir;
      if (GLOB_CHARS.test(cleaned.dir)) {
        project.dirIsGlob = true;
        if (name.kind === "ok") {
          r.error(p("name"), `cannot be combined with a glob dir (${JSON.stringify(cleaned.dir)}): a glob stands for several projects`);
          ok = false;
        }
      }
    }
  }

  const ws = r.string(raw.workspace, p("workspace"));
  if (ws.kind === "bad") ok = false;
  else if (ws.kind === "ok") {
    const problem = workspaceProblem(ws.value);
    if (problem) {
      r.error(p("workspace"), `invalid workspace ${JSON.stringify(ws.value)}: ${problem}`);
      ok = false;
    } else project.workspace = ws.value;
  }

  ok = assign(r.slashRegex(raw.branch, p("branch")), (v) => (project.branch = v), keys, p("branch")) && ok;
  ok = assign(r.int(raw.execution_order_group, p("execution_order_group")), (v) => (project.executionOrderGroup = v), keys, p("execution_order_group")) && ok;
  ok = assign(r.stringList(raw.depends_on, p("depends_on"), "project names"), (v) => (project.dependsOn = v), keys, p("depends_on")) && ok;

  const autoplan = readAutoplan(raw.autoplan, p("autoplan"), r);
  if (autoplan) project.autoplan = autoplan;
  else ok = false;

  for (const [key, field] of [
    ["plan_requirements", "planRequirements"],
    ["apply_requirements", "applyRequirements"],
    ["import_requirements", "importRequirements"],
  ] as const) {
    ok = assign(readRequirements(raw[key], p(key), key, r), (v) => (project[field] = v), keys, p(key)) && ok;
  }

  const version = r.nonEmptyString(raw.terraform_version, p("terraform_version"), "remove the key to use the server's default");
  if (version.kind === "ok" && !VERSION.test(version.value)) {
    r.error(p("terraform_version"), `${JSON.stringify(version.value)} is not a version like "1.11.4", "v1.11" or "1"`);
    ok = false;
  } else ok = assign(version, (v) => (project.terraformVersion = v), keys, p("terraform_version")) && ok;
  ok = assign(r.oneOf(raw.terraform_distribution, p("terraform_distribution"), DISTRIBUTIONS), (v) => (project.terraformDistribution = v), keys, p("terraform_distribution")) && ok;
  ok = assign(r.nonEmptyString(raw.workflow, p("workflow")), (v) => (project.workflow = v), keys, p("workflow")) && ok;
  ok = assign(r.bool(raw.delete_source_branch_on_merge, p("delete_source_branch_on_merge")), (v) => (project.deleteSourceBranchOnMerge = v), keys, p("delete_source_branch_on_merge")) && ok;
  ok = assign(r.listOf(raw.silence_pr_comments, p("silence_pr_comments"), SILENCEABLE, (item) => `"${item}" cannot be silenced; only "plan" and "apply" can`), (v) => (project.silencePrComments = v), keys, p("silence_pr_comments")) && ok;
  ok = assign(readRepoLocks(raw.repo_locks, p("repo_locks"), r), (v) => (project.repoLocks = v), keys, p("repo_locks")) && ok;

  const locking = r.bool(raw.repo_locking, p("repo_locking"));
  if (locking.kind === "bad") ok = false;
  if (locking.kind === "ok") {
    keys.set(p("repo_locking"));
    r.warn(p("repo_locking"), "is deprecated; use 'repo_locks: {mode: disabled}' (or on_plan / on_apply) instead");
    if (project.repoLocks === undefined) project.repoLocks = { mode: locking.value ? "on_plan" : "disabled" };
  }
  for (const [key, field] of [
    ["policy_check", "policyCheck"],
    ["custom_policy_check", "customPolicyCheck"],
  ] as const) {
    const b = r.bool(raw[key], p(key));
    if (b.kind === "bad") ok = false;
    if (b.kind === "ok") {
      project[field] = b.value;
      keys.set(p(key));
      r.warn(p(key), "is accepted for Atlantis compatibility, but Atoll has no policy checks; the key has no effect");
    }
  }
  return ok ? project : undefined;
}

/**
 * Atlantis's uniqueness rules, among projects that can exist for the same base branch: names are
 * unique, and projects sharing a dir+workspace must all be named (otherwise `-d`/`-w` could not
 * tell them apart and they would share a lock). With the base branch known, the projects left
 * after branch filtering all exist together (as in Atlantis). Without it, each `branch` value is
 * checked together with the projects that have no `branch` (those exist for every base branch).
 */
export function checkUniqueness(projects: { project: ProjectConfig; index: number }[], r: ConfigReader, opts: { baseBranchKnown?: boolean } = {}): void {
  type Entry = { project: ProjectConfig; index: number };
  let together: Entry[][];
  if (opts.baseBranchKnown) together = [projects];
  else {
    const everywhere = projects.filter((e) => e.project.branch === undefined);
    const byBranch = new Map<string, Entry[]>();
    for (const entry of projects) {
      if (entry.project.branch === undefined) continue;
      byBranch.set(entry.project.branch, [...(byBranch.get(entry.project.branch) ?? []), entry]);
    }
    together =
      byBranch.size === 0 ? [everywhere] : [...byBranch.values()].map((entries) => [...everywhere, ...entries].sort((a, b) => a.index - b.index));
  }
  // Projects without `branch` are in every set: report each problem once.
  const reported = new Set<string>();
  const report = (path: YamlPath, message: string) => {
    const key = `${formatYamlPath(path)}\u0000${message}`;
    if (reported.has(key)) return;
    reported.add(key);
    r.error(path, message);
  };
  for (const entries of together) {
    const seenNames = new Set<string>();
    const reportedNames = new Set<string>();
    for (const { project, index } of entries) {
      if (!project.name) continue;
      if (seenNames.has(project.name) && !reportedNames.has(project.name)) {
        reportedNames.add(project.name);
        report(["projects", index, "name"], `found two or more projects with name ${JSON.stringify(project.name)}; project names must be unique`);
      }
      seenNames.add(project.name);
    }
    const groups = new Map<string, Entry[]>();
    for (const entry of entries) {
      if (entry.project.dirIsGlob) continue;
      const key = `${entry.project.dir}\u0000${entry.project.workspace}`;
      groups.set(key, [...(groups.get(key) ?? []), entry]);
    }
    for (const group of groups.values()) {
      if (group.length < 2 || group.every((e) => e.project.name !== "")) continue;
      const { dir, workspace } = group[0].project;
      report(
        ["projects", group[1].index],
        `there are two or more projects with dir: ${JSON.stringify(dir)} workspace: ${JSON.stringify(workspace)} ` +
          "that are not all named; they must have a 'name' key so they can be targeted for apply's separately",
      );
    }
  }
}

/** `depends_on` names existing projects, not the project itself, and has no cycles. */
function checkDependencies(projects: { project: ProjectConfig; index: number }[], r: ConfigReader): void {
  const names = new Set(projects.map((p) => p.project.name).filter(Boolean));
  for (const { project, index } of projects) {
    project.dependsOn.forEach((dep, k) => {
      const path = ["projects", index, "depends_on", k];
      if (dep === project.name) r.error(path, `a project cannot depend on itself (${JSON.stringify(dep)})`);
      else if (!names.has(dep)) {
        r.error(path, `no project is named ${JSON.stringify(dep)}` + (names.size ? `; named projects: ${[...names].join(", ")}` : ""));
      }
    });
  }
  // Cycle detection over named projects (depth-first, reporting each cycle once).
  const deps = new Map<string, string[]>();
  const indexOf = new Map<string, number>();
  for (const { project, index } of projects) {
    if (!project.name) continue;
    deps.set(project.name, [...(deps.get(project.name) ?? []), ...project.dependsOn.filter((d) => d !== project.name)]);
    if (!indexOf.has(project.name)) indexOf.set(project.name, index);
  }
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, "visiting");
    stack.push(name);
    for (const next of deps.get(name) ?? []) {
      if (!deps.has(next)) continue;
      if (state.get(next) === "visiting") {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        r.error(["projects", indexOf.get(next)!, "depends_on"], `dependency cycle: ${cycle.join(" → ")}`);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const name of deps.keys()) if (!state.has(name)) visit(name);
}

export interface ParseRepoConfigOptions {
  /**
   * The pull request's base branch: projects whose `branch` regex does not match it are dropped
   * before the name checks, as in Atlantis. Unknown → every project is kept.
   */
  baseBranch?: string;
}

/** Parse and validate a repo config file. Never throws. */
export function parseRepoConfig(text: string, fileName: string, opts: ParseRepoConfigOptions = {}): ParseRepoConfigResult {
  const doc = openDocument(text, fileName);
  if (!doc.ok) return { ok: false, errors: doc.errors };
  const { reader: r } = doc;
  const root = doc.root;
  if (!isMapping(root)) {
    r.error([], `the top level must be a mapping with 'version' and 'projects', got ${describe(root)}`, r.lineOf([]) ?? 1);
    return { ok: false, errors: r.errors };
  }
  const keys = new KeyLines(r);
  const version = readVersion(root, r);
  r.checkKeys(root, TOP_LEVEL_KEYS, [], "the repo config");

  const config: Omit<RepoConfig, "version"> = {
    abortOnExecutionOrderFail: false,
    projects: [],
    workflows: {},
    allowedRegexpPrefixes: [],
    keyLines: keys.lines,
  };
  for (const [key, field] of [
    ["automerge", "automerge"],
    ["delete_source_branch_on_merge", "deleteSourceBranchOnMerge"],
    ["parallel_plan", "parallelPlan"],
    ["parallel_apply", "parallelApply"],
  ] as const) {
    assign(r.bool(root[key], [key]), (v) => (config[field] = v), keys, [key]);
  }
  assign(r.bool(root.abort_on_execution_order_fail, ["abort_on_execution_order_fail"]), (v) => (config.abortOnExecutionOrderFail = v), keys, ["abort_on_execution_order_fail"]);
  assign(readAutodiscover(root.autodiscover, ["autodiscover"], r), (v) => (config.autodiscover = v), keys, ["autodiscover"]);
  assign(readRepoLocks(root.repo_locks, ["repo_locks"], r), (v) => (config.repoLocks = v), keys, ["repo_locks"]);
  assign(
    r.listOf(root.silence_pr_comments, ["silence_pr_comments"], SILENCEABLE, (item) => `"${item}" cannot be silenced; only "plan" and "apply" can`),
    (v) => (config.silencePrComments = v),
    keys,
    ["silence_pr_comments"],
  );
  assign(r.stringList(root.allowed_regexp_prefixes, ["allowed_regexp_prefixes"], "prefixes"), (v) => (config.allowedRegexpPrefixes = v), keys, ["allowed_regexp_prefixes"]);

  const emoji = r.string(root.emoji_reaction, ["emoji_reaction"]);
  if (emoji.kind === "ok") r.warn(["emoji_reaction"], "is accepted for Atlantis compatibility; Atoll always reacts with 👀");
  const ppc = r.bool(root.parallel_policy_check, ["parallel_policy_check"]);
  if (ppc.kind === "ok") r.warn(["parallel_policy_check"], "is accepted for Atlantis compatibility, but Atoll has no policy checks");
  if (root.policies !== undefined && root.policies !== null) {
    r.warn(["policies"], "belongs in the server's policy file, not the repo config; it is ignored here");
  }

  const workflows = readWorkflows(root.workflows, ["workflows"], r, version ?? 3);
  if (workflows.kind === "ok") {
    config.workflows = workflows.value as Record<string, Workflow>;
    keys.set(["workflows"]);
  }

  const projects: { project: ProjectConfig; index: number }[] = [];
  const rawProjects = root.projects;
  if (Array.isArray(rawProjects)) {
    rawProjects.forEach((raw, i) => {
      const project = readProject(raw, i, r, keys);
      const onBranch = !project?.branch || opts.baseBranch === undefined || goRegExp(project.branch).test(opts.baseBranch);
      if (project && onBranch) projects.push({ project, index: i });
      // A project dropped for this base branch does not exist: the server policy does not check
      // what it sets (Atlantis filters by branch before checking against the server config).
      if (project && !onBranch) {
        for (const key of Object.keys(keys.lines)) if (key.startsWith(`projects[${i}].`)) delete keys.lines[key];
      }
    });
    checkUniqueness(projects, r, { baseBranchKnown: opts.baseBranch !== undefined });
    checkDependencies(projects, r);
  } else if (rawProjects !== null && rawProjects !== undefined) {
    r.error(["projects"], `must be a list of projects, got ${describe(rawProjects)}`);
  }

  // A missing-key issue in an empty file has no node to point at: line 1.
  for (const e of r.errors) if (e.line === undefined) e.line = 1;
  config.projects = projects.map((p) => p.project);
  if (r.errors.length > 0 || version === undefined) return { ok: false, errors: r.errors, partial: { version: version ?? 3, ...config } };
  return { ok: true, config: { version, ...config }, warnings: r.warnings };
}
