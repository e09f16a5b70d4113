/**
 * The operator's server policy (`ATOLL_POLICY_FILE`): Atlantis's `repos.yaml`, read with the same
 * keys and merge rules so an Atlantis operator can point Atoll at the file they already have.
 *
 * ```yaml
 * repo_allowlist: ["github.com/acme/*", "!github.com/acme/sandbox"]
 * repos:
 * - id: /.*\/
 *   apply_requirements: [approved, mergeable]
 * - id: github.com/acme/infra
 *   branch: /^main$/
 *   workflow: custom
 *   allowed_overrides: [apply_requirements, workflow]
 *   allow_custom_workflows: true
 *   pre_workflow_hooks:
 *   - run: ./generate-atlantis-yaml.sh
 *     commands: plan
 * workflows:
 *   custom:
 *     plan: {steps: [init, plan]}
 * ```
 *
 * Top-level keys: `repos`, `workflows`, `repo_allowlist` (Atoll's addition: the file form of
 * Atlantis's `--repo-allowlist`), and Atlantis's `policies`, `metrics`, `team_authz`,
 * `external_stores`, which Atoll accepts and ignores (with a warning). Unknown keys are errors.
 *
 * Merging ({@link repoPolicyFor}) is Atlantis's: an implicit first entry holds the defaults, then
 * every `repos[]` entry whose `id` (and `branch`, if set) matches is applied in file order, each
 * overriding only the keys it sets — "last match wins per key". An explicit `[]` is a value: it
 * overrides an earlier entry's list (for hooks too — Atlantis ignores empty hook lists).
 *
 * `repo_allowlist` follows `--repo-allowlist`: patterns compared case-insensitively with
 * `host/owner/repo` (or `owner/repo`); `*` matches any run of characters (slashes included, so
 * `github.com/*` admits every repo on github.com); a `!pattern` excludes, and an exclusion wins
 * over any inclusion wherever it appears in the list (as in Atlantis). Only `!` patterns = no repo
 * is admitted.
 */
import { readFile } from "node:fs/promises";
import type {
  AutodiscoverConfig,
  AutodiscoverMode,
  ConfigIssue,
  OverridableKey,
  RepoLocksMode,
  RepoPolicy,
  RepoPolicyEntry,
  ServerPolicy,
  SilenceableCommand,
  Workflow,
  WorkflowHook,
} from "./config-types.js";
import { defaultWorkflow } from "./default-workflow.js";
import { readRequirements } from "./repo-config.js";
import { readShell, readWorkflows } from "./workflow-config.js";
import type { YamlPath } from "./yaml-lines.js";
import { describe, goRegExp, isMapping, openDocument, type ConfigReader, type Obj, type Read } from "./yaml-reader.js";
import type { Requirement } from "../runner/gates/apply-requirements.js";

export type ParseServerPolicyResult =
  | { ok: true; policy: ServerPolicy; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[] };

export const OVERRIDABLE_KEYS: readonly OverridableKey[] = [
  "plan_requirements",
  "apply_requirements",
  "import_requirements",
  "workflow",
  "delete_source_branch_on_merge",
  "repo_locking",
  "repo_locks",
  "policy_check",
  "custom_policy_check",
  "silence_pr_comments",
];

/** Commands a workflow hook can be limited to. */
export const HOOK_COMMANDS = ["plan", "apply", "unlock", "version"] as const;

/** Atlantis keys Atoll accepts in the file and ignores, with what they are for. */
const IGNORED_TOP_LEVEL: Record<string, string> = {
  policies: "Atlantis policy checks (conftest)",
  metrics: "Atlantis metrics (statsd/prometheus)",
  team_authz: "Atlantis external team authorization",
  external_stores: "Atlantis external plan stores",
};

const TOP_LEVEL_KEYS = ["repos", "workflows", "repo_allowlist", ...Object.keys(IGNORED_TOP_LEVEL)];

const REPO_KEYS = [
  "id",
  "branch",
  "repo_config_file",
  "plan_requirements",
  "apply_requirements",
  "import_requirements",
  "workflow",
  "allowed_overrides",
  "allowed_workflows",
  "allow_custom_workflows",
  "delete_source_branch_on_merge",
  "repo_locking",
  "repo_locks",
  "policy_check",
  "custom_policy_check",
  "autodiscover",
  "silence_pr_comments",
  "pre_workflow_hooks",
  "post_workflow_hooks",
] as const;

const HOOK_KEYS = ["run", "description", "shell", "shellArgs", "commands"] as const;
const REPO_LOCKS_MODES: readonly RepoLocksMode[] = ["disabled", "on_plan", "on_apply"];
const AUTODISCOVER_MODES: readonly AutodiscoverMode[] = ["auto", "enabled", "disabled"];
const SILENCEABLE: readonly SilenceableCommand[] = ["plan", "apply"];

const quoteList = (items: readonly string[]): string => {
  const q = items.map((i) => `"${i}"`);
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} and ${q[q.length - 1]}`;
};

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** `owner/repo` or `host/owner/repo`: two or three non-empty segments without blanks or wildcards. */
function exactIdProblem(id: string): string | undefined {
  const segments = id.split("/");
  if (segments.length < 2 || segments.length > 3 || segments.some((s) => s === "" || /[\s*]/.test(s))) {
    return `must be "owner/repo", "host/owner/repo" or a regular expression between slashes like "/.*/", got ${JSON.stringify(id)}`;
  }
  return undefined;
}

function readId(raw: Obj, path: YamlPath, r: ConfigReader): Read<{ id: string; idRegex?: string }> {
  const idPath = [...path, "id"];
  const s = r.nonEmptyString(raw.id, idPath, 'use "owner/repo", "host/owner/repo" or a /regex/');
  if (s.kind === "absent") {
    r.error(idPath, 'is required: "owner/repo", "host/owner/repo" or a /regex/ such as "/.*/"');
    return { kind: "bad" };
  }
  if (s.kind !== "ok") return s;
  const id = s.value.trim();
  if (id.startsWith("/")) {
    const re = r.slashRegex(id, idPath);
    return re.kind === "ok" ? { kind: "ok", value: { id, idRegex: re.value } } : { kind: "bad" };
  }
  const problem = exactIdProblem(id);
  if (problem) {
    r.error(idPath, problem);
    return { kind: "bad" };
  }
  return { kind: "ok", value: { id } };
}

function readRepoConfigFile(value: unknown, path: YamlPath, r: ConfigReader): Read<string> {
  const s = r.nonEmptyString(value, path);
  if (s.kind !== "ok") return s;
  const file = s.value;
  let ok = true;
  if (file.startsWith("/")) {
    r.error(path, `must be a path relative to the repo root; it must not start with a slash '/', got ${JSON.stringify(file)}`);
    ok = false;
  }
  if (file.split(/[/\\]/).includes("..")) {
    r.error(path, `must not contain parent directory segments '..', got ${JSON.stringify(file)}`);
    ok = false;
  }
  if (!/\.ya?ml$/.test(file)) {
    r.error(path, `must be a YAML file ending in .yaml or .yml, got ${JSON.stringify(file)}`);
    ok = false;
  }
  return ok ? { kind: "ok", value: file.replace(/^(\.\/)+/, "") } : { kind: "bad" };
}

function readRepoLocks(value: unknown, path: YamlPath, r: ConfigReader): Read<{ mode: RepoLocksMode }> {
  const m = r.mapping(value, path, `a mapping like {mode: on_plan} (modes: ${REPO_LOCKS_MODES.join(", ")})`);
  if (m.kind !== "ok") return m;
  if (!r.checkKeys(m.value, ["mode"], path, "repo_locks")) return { kind: "bad" };
  const mode = r.oneOf(m.value.mode, [...path, "mode"], REPO_LOCKS_MODES);
  if (mode.kind === "absent") {
    r.error([...path, "mode"], `is required: one of ${REPO_LOCKS_MODES.join(", ")}`);
    return { kind: "bad" };
  }
  return mode.kind === "ok" ? { kind: "ok", value: { mode: mode.value } } : mode;
}

function readAutodiscover(value: unknown, path: YamlPath, r: ConfigReader): Read<AutodiscoverConfig> {
  const m = r.mapping(value, path, "a mapping with 'mode' and 'ignore_paths'");
  if (m.kind !== "ok") return m;
  let ok = r.checkKeys(m.value, ["mode", "ignore_paths"], path, "autodiscover");
  const mode = r.oneOf(m.value.mode, [...path, "mode"], AUTODISCOVER_MODES);
  if (mode.kind === "bad") ok = false;
  const ignorePath = [...path, "ignore_paths"];
  const ignore = r.globList(m.value.ignore_paths, ignorePath, "directory patterns");
  if (ignore.kind === "bad") ok = false;
  if (ignore.kind === "ok") {
    ignore.value.forEach((pattern, i) => {
      if (pattern.startsWith("/")) {
        r.error([...ignorePath, i], `must be relative to the repo root; it must not start with a slash '/', got ${JSON.stringify(pattern)}`);
        ok = false;
      }
    });
  }
  if (!ok) return { kind: "bad" };
  return {
    kind: "ok",
    value: { mode: mode.kind === "ok" ? mode.value : "auto", ignorePaths: ignore.kind === "ok" ? ignore.value : [] },
  };
}

/** `commands: "plan, apply"` or `commands: [plan, apply]`; [] (or "") = every command. */
function readHookCommands(value: unknown, path: YamlPath, r: ConfigReader): Read<string[]> {
  if (value === null || value === undefined) return { kind: "ok", value: [] };
  const message = (item: string) => `"${item}" is not a valid hook command, only ${quoteList(HOOK_COMMANDS)} are supported`;
  if (typeof value === "string") {
    const items = value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const out: string[] = [];
    let ok = true;
    for (const item of items) {
      if (!(HOOK_COMMANDS as readonly string[]).includes(item)) {
        r.error(path, message(item));
        ok = false;
      } else if (!out.includes(item)) out.push(item);
    }
    return ok ? { kind: "ok", value: out } : { kind: "bad" };
  }
  if (!Array.isArray(value)) {
    r.error(path, `must be a comma-separated string like "plan, apply" or a list of commands, got ${describe(value)}`);
    return { kind: "bad" };
  }
  return r.listOf(value, path, HOOK_COMMANDS, message);
}

function readHook(raw: unknown, path: YamlPath, r: ConfigReader): Read<WorkflowHook> {
  if (!isMapping(raw)) {
    r.error(path, `must be a mapping with 'run' (and optionally description, shell, shellArgs, commands), got ${describe(raw)}`);
    return { kind: "bad" };
  }
  let ok = r.checkKeys(raw, HOOK_KEYS, path, "a workflow hook");
  const run = r.nonEmptyString(raw.run, [...path, "run"]);
  if (run.kind === "absent") r.error([...path, "run"], "is required: the shell command the hook runs");
  if (run.kind !== "ok") ok = false;
  const description = r.string(raw.description, [...path, "description"]);
  if (description.kind === "bad") ok = false;
  const shell = readShell(raw, path, r);
  if (!shell) ok = false;
  const commands = readHookCommands(raw.commands, [...path, "commands"], r);
  if (commands.kind !== "ok") ok = false;
  if (!ok || !shell || run.kind !== "ok" || commands.kind !== "ok") return { kind: "bad" };
  const hook: WorkflowHook = { run: run.value, ...shell, commands: commands.value };
  if (description.kind === "ok") hook.description = description.value;
  return { kind: "ok", value: hook };
}

function readHooks(value: unknown, path: YamlPath, r: ConfigReader): Read<WorkflowHook[]> {
  if (value === null || value === undefined) return { kind: "absent" };
  if (!Array.isArray(value)) {
    r.error(path, `must be a list of hooks ({run: <command>, …}), got ${describe(value)}`);
    return { kind: "bad" };
  }
  const out: WorkflowHook[] = [];
  let ok = true;
  value.forEach((item, i) => {
    const hook = readHook(item, [...path, i], r);
    if (hook.kind === "ok") out.push(hook.value);
    else ok = false;
  });
  return ok ? { kind: "ok", value: out } : { kind: "bad" };
}

function checkWorkflowName(name: string, path: YamlPath, defined: ReadonlySet<string>, r: ConfigReader): boolean {
  if (defined.has(name)) return true;
  const names = [...defined].map((n) => JSON.stringify(n)).join(", ");
  r.error(path, `workflow ${JSON.stringify(name)} is not defined; the workflows defined in this file are ${names}`);
  return false;
}

function readRepoEntry(raw: unknown, path: YamlPath, workflowNames: ReadonlySet<string>, r: ConfigReader): Read<RepoPolicyEntry> {
  if (!isMapping(raw)) {
    r.error(path, `must be a mapping with at least 'id', got ${describe(raw)}`);
    return { kind: "bad" };
  }
  const p = (key: string): YamlPath => [...path, key];
  let ok = r.checkKeys(raw, REPO_KEYS, path, "a repos entry");
  const track = <T>(read: Read<T>, set: (v: T) => void): void => {
    if (read.kind === "ok") set(read.value);
    else if (read.kind === "bad") ok = false;
  };

  const id = readId(raw, path, r);
  if (id.kind !== "ok") ok = false;
  const entry: RepoPolicyEntry = { id: id.kind === "ok" ? id.value.id : "" };
  if (id.kind === "ok" && id.value.idRegex !== undefined) entry.idRegex = id.value.idRegex;

  track(r.slashRegex(raw.branch, p("branch")), (v) => (entry.branch = v));
  track(readRepoConfigFile(raw.repo_config_file, p("repo_config_file"), r), (v) => (entry.repoConfigFile = v));
  track(readRequirements(raw.plan_requirements, p("plan_requirements"), "plan_requirements", r), (v) => (entry.planRequirements = v));
  track(readRequirements(raw.apply_requirements, p("apply_requirements"), "apply_requirements", r), (v) => (entry.applyRequirements = v));
  track(readRequirements(raw.import_requirements, p("import_requirements"), "import_requirements", r), (v) => (entry.importRequirements = v));

  const workflow = r.nonEmptyString(raw.workflow, p("workflow"));
  if (workflow.kind === "ok") {
    if (checkWorkflowName(workflow.value, p("workflow"), workflowNames, r)) entry.workflow = workflow.value;
    else ok = false;
  } else if (workflow.kind === "bad") ok = false;

  track(
    r.listOf(raw.allowed_overrides, p("allowed_overrides"), OVERRIDABLE_KEYS, (item) => `"${item}" is not a valid override, only ${quoteList(OVERRIDABLE_KEYS)} are supported`),
    (v) => (entry.allowedOverrides = v),
  );

  const allowedWorkflows = r.stringList(raw.allowed_workflows, p("allowed_workflows"), "workflow names");
  if (allowedWorkflows.kind === "ok") {
    const names: string[] = [];
    allowedWorkflows.value.forEach((name, i) => {
      if (!checkWorkflowName(name, [...p("allowed_workflows"), i], workflowNames, r)) ok = false;
      else if (!names.includes(name)) names.push(name);
    });
    entry.allowedWorkflows = names;
  } else if (allowedWorkflows.kind === "bad") ok = false;

  track(r.bool(raw.allow_custom_workflows, p("allow_custom_workflows")), (v) => (entry.allowCustomWorkflows = v));
  track(r.bool(raw.delete_source_branch_on_merge, p("delete_source_branch_on_merge")), (v) => (entry.deleteSourceBranchOnMerge = v));

  const repoLocks = readRepoLocks(raw.repo_locks, p("repo_locks"), r);
  track(repoLocks, (v) => (entry.repoLocks = v));
  const locking = r.bool(raw.repo_locking, p("repo_locking"));
  if (locking.kind === "bad") ok = false;
  if (locking.kind === "ok") {
    if (repoLocks.kind === "absent") {
      r.warn(p("repo_locking"), "is deprecated; use 'repo_locks: {mode: disabled}' (or on_plan / on_apply) instead");
      entry.repoLocks = { mode: locking.value ? "on_plan" : "disabled" };
    } else {
      r.warn(p("repo_locking"), "is deprecated and ignored here because 'repo_locks' is also set; remove it");
    }
  }

  for (const [key, field] of [
    ["policy_check", "policyCheck"],
    ["custom_policy_check", "customPolicyCheck"],
  ] as const) {
    const b = r.bool(raw[key], p(key));
    track(b, (v) => (entry[field] = v));
    if (b.kind === "ok" && b.value) r.warn(p(key), "is accepted for Atlantis compatibility, but Atoll has no policy checks; the key has no effect");
  }

  track(readAutodiscover(raw.autodiscover, p("autodiscover"), r), (v) => (entry.autodiscover = v));
  track(
    r.listOf(raw.silence_pr_comments, p("silence_pr_comments"), SILENCEABLE, (item) => `"${item}" is not a valid value for silence_pr_comments, only ${quoteList(SILENCEABLE)} are supported`),
    (v) => (entry.silencePrComments = v),
  );
  track(readHooks(raw.pre_workflow_hooks, p("pre_workflow_hooks"), r), (v) => (entry.preWorkflowHooks = v));
  track(readHooks(raw.post_workflow_hooks, p("post_workflow_hooks"), r), (v) => (entry.postWorkflowHooks = v));

  return ok ? { kind: "ok", value: entry } : { kind: "bad" };
}

function readAllowlist(value: unknown, path: YamlPath, r: ConfigReader): Read<string[]> {
  const list = r.stringList(value, path, "repo patterns");
  if (list.kind !== "ok") return list;
  let ok = true;
  const out: string[] = [];
  list.value.forEach((raw, i) => {
    const pattern = raw.trim();
    const body = pattern.startsWith("!") ? pattern.slice(1) : pattern;
    if (body === "") {
      r.error([...path, i], `cannot be empty; use patterns like "github.com/acme/*", "acme/infra" or "!github.com/acme/sandbox"`);
      ok = false;
    } else if (pattern.includes("://")) {
      r.error([...path, i], `cannot contain "://": use hostnames only, like "github.com/acme/*", got ${JSON.stringify(raw)}`);
      ok = false;
    } else out.push(pattern);
  });
  if (ok && out.length > 0 && out.every((pattern) => pattern.startsWith("!"))) {
    r.warn(path, 'contains only exclusions ("!…"), so it admits no repo; add the repos to allow, e.g. "github.com/acme/*"');
  }
  return ok ? { kind: "ok", value: out } : { kind: "bad" };
}

/** Parse and validate a server policy file. Never throws; reports every problem at once. */
export function parseServerPolicy(text: string, file: string): ParseServerPolicyResult {
  const opened = openDocument(text, file);
  if (!opened.ok) return { ok: false, errors: opened.errors };
  const { root, reader: r } = opened;
  if (!isMapping(root)) {
    r.error([], `the policy file must be a mapping with 'repos' and 'workflows', got ${describe(root)}`);
    return { ok: false, errors: r.errors };
  }
  r.checkKeys(root, TOP_LEVEL_KEYS, [], "the server policy");
  for (const [key, what] of Object.entries(IGNORED_TOP_LEVEL)) {
    if (key in root) r.warn([key], `is ignored: Atoll does not support ${what}`);
  }

  const workflows = readWorkflows(root.workflows, ["workflows"], r);
  // Names come from the raw mapping, so a workflow with a broken step does not also make every
  // reference to it an error.
  const workflowNames = new Set<string>(["default"]);
  if (isMapping(root.workflows)) for (const name of Object.keys(root.workflows)) workflowNames.add(name);

  let repoAllowlist: string[] | undefined;
  const allowlist = readAllowlist(root.repo_allowlist, ["repo_allowlist"], r);
  if (allowlist.kind === "ok") repoAllowlist = allowlist.value;

  const repos: RepoPolicyEntry[] = [];
  const rawRepos = root.repos;
  if (rawRepos !== null && rawRepos !== undefined) {
    if (!Array.isArray(rawRepos)) r.error(["repos"], `must be a list of repo entries (each with an 'id'), got ${describe(rawRepos)}`);
    else {
      rawRepos.forEach((item, i) => {
        const entry = readRepoEntry(item, ["repos", i], workflowNames, r);
        if (entry.kind === "ok") repos.push(entry.value);
      });
    }
  }

  if (r.errors.length > 0) return { ok: false, errors: r.errors };
  const policy: ServerPolicy = {
    repos,
    workflows: workflows.kind === "ok" ? workflows.value : (Object.create(null) as Record<string, Workflow>),
  };
  if (repoAllowlist !== undefined) policy.repoAllowlist = repoAllowlist;
  return { ok: true, policy, warnings: r.warnings };
}

/** Read and parse the policy file at `path`; an unreadable file is an error naming the path. */
export async function loadServerPolicyFile(path: string): Promise<ParseServerPolicyResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "the file does not exist" : code === "EISDIR" ? "it is a directory" : (e as Error).message;
    return { ok: false, errors: [{ file: path, message: `cannot read the server policy file ${path}: ${reason}` }] };
  }
  return parseServerPolicy(text, path);
}

// ---------------------------------------------------------------------------------------------
// Matching and merging
// ---------------------------------------------------------------------------------------------

export interface PolicyRepo {
  /** e.g. "github.com" (or a GHES hostname). */
  host: string;
  owner: string;
  name: string;
  /** The pull request's base branch; unknown → entries with `branch` do not match. */
  baseBranch?: string;
}

/** `--repo-allowlist` pattern: case-insensitive, `*` = any characters (slashes included). */
function allowlistPatternMatches(pattern: string, candidate: string): boolean {
  const source = pattern
    .toLowerCase()
    .split("*")
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`).test(candidate.toLowerCase());
}

/**
 * Whether an Atlantis-style allowlist admits the repo. Patterns are tried against
 * `host/owner/repo` and `owner/repo`; any matching `!` pattern excludes; otherwise the repo must
 * match an inclusion. Undefined = everything is admitted.
 */
export function allowlistAdmits(allowlist: readonly string[] | undefined, repo: Pick<PolicyRepo, "host" | "owner" | "name">): boolean {
  if (allowlist === undefined) return true;
  const candidates = [`${repo.host}/${repo.owner}/${repo.name}`, `${repo.owner}/${repo.name}`];
  const matches = (pattern: string) => candidates.some((c) => allowlistPatternMatches(pattern, c));
  const excludes = allowlist.filter((p) => p.startsWith("!")).map((p) => p.slice(1));
  const includes = allowlist.filter((p) => !p.startsWith("!"));
  return includes.some(matches) && !excludes.some(matches);
}

/** Whether a `repos[]` entry applies to the repo and base branch. */
export function entryMatches(entry: RepoPolicyEntry, repo: PolicyRepo): boolean {
  const full = `${repo.host}/${repo.owner}/${repo.name}`;
  if (entry.idRegex !== undefined) {
    if (!goRegExp(entry.idRegex).test(full)) return false;
  } else {
    const id = entry.id.toLowerCase();
    if (id !== full.toLowerCase() && id !== `${repo.owner}/${repo.name}`.toLowerCase()) return false;
  }
  if (entry.branch !== undefined) {
    if (repo.baseBranch === undefined) return false;
    if (!goRegExp(entry.branch).test(repo.baseBranch)) return false;
  }
  return true;
}

const copyHook = (h: WorkflowHook): WorkflowHook => ({ ...h, shellArgs: [...h.shellArgs], commands: [...h.commands] });

/**
 * The policy for one repo (and base branch): the implicit defaults, then every matching entry in
 * file order, each overriding only the keys it sets. No policy = the defaults for every repo.
 */
export function repoPolicyFor(
  policy: ServerPolicy | undefined,
  repo: PolicyRepo,
  defaults: { applyRequirements: Requirement[] },
): RepoPolicy {
  const out: RepoPolicy = {
    allowed: allowlistAdmits(policy?.repoAllowlist, repo),
    planRequirements: [],
    applyRequirements: [...defaults.applyRequirements],
    importRequirements: [],
    workflow: "default",
    allowedOverrides: [],
    allowedWorkflows: [],
    allowCustomWorkflows: false,
    deleteSourceBranchOnMerge: false,
    repoLocks: { mode: "on_plan" },
    silencePrComments: [],
    preWorkflowHooks: [],
    postWorkflowHooks: [],
    workflows: { default: defaultWorkflow(), ...(policy?.workflows ?? {}) },
  };
  for (const entry of policy?.repos ?? []) {
    if (!entryMatches(entry, repo)) continue;
    if (entry.repoConfigFile !== undefined) out.repoConfigFile = entry.repoConfigFile;
    if (entry.planRequirements !== undefined) out.planRequirements = [...entry.planRequirements];
    if (entry.applyRequirements !== undefined) out.applyRequirements = [...entry.applyRequirements];
    if (entry.importRequirements !== undefined) out.importRequirements = [...entry.importRequirements];
    if (entry.workflow !== undefined) out.workflow = entry.workflow;
    if (entry.allowedOverrides !== undefined) out.allowedOverrides = [...entry.allowedOverrides];
    if (entry.allowedWorkflows !== undefined) out.allowedWorkflows = [...entry.allowedWorkflows];
    if (entry.allowCustomWorkflows !== undefined) out.allowCustomWorkflows = entry.allowCustomWorkflows;
    if (entry.deleteSourceBranchOnMerge !== undefined) out.deleteSourceBranchOnMerge = entry.deleteSourceBranchOnMerge;
    if (entry.repoLocks !== undefined) out.repoLocks = { ...entry.repoLocks };
    if (entry.autodiscover !== undefined) out.autodiscover = { ...entry.autodiscover, ignorePaths: [...entry.autodiscover.ignorePaths] };
    if (entry.silencePrComments !== undefined) out.silencePrComments = [...entry.silencePrComments];
    if (entry.preWorkflowHooks !== undefined) out.preWorkflowHooks = entry.preWorkflowHooks.map(copyHook);
    if (entry.postWorkflowHooks !== undefined) out.postWorkflowHooks = entry.postWorkflowHooks.map(copyHook);
  }
  return out;
}
