/**
 * Table-driven tests of the public `loadRepoConfig(yamlText, options?)`, written from Atlantis's
 * documented behaviour (shared/reference/atlantis.md §2 repo-level atlantis.yaml, §3.1 repos.yaml).
 *
 * Every case asserts concrete values: the exact list of issues (path, line, message fragment) for
 * invalid files, or resolved values for valid ones. Where Atoll deliberately differs from Atlantis
 * (stricter, or reporting what Atlantis silently ignores) the case name says so.
 *
 * Line numbers: `yaml(...lines)` joins lines, so line N of the file is argument N.
 */
import type { ConfigIssue, RepoConfig, ServerPolicy, WorkflowStep } from "../../src/config/config-types.js";
import { projectSettings, type ProjectSettings, type ResolvedRepoConfig } from "../../src/config/apply-policy.js";
import { defaultWorkflow } from "../../src/config/default-workflow.js";
import { loadRepoConfig, type LoadRepoConfigOptions, type LoadRepoConfigResult } from "../../src/config/load-repo-config.js";
import { DEFAULT_WHEN_MODIFIED } from "../../src/config/repo-config.js";
import { parseServerPolicy } from "../../src/config/server-policy.js";

const FILE = "atlantis.yaml";
/** Join lines so tests can count them: line N of the file is argument N. */
const yaml = (...lines: string[]) => lines.join("\n") + "\n";
/** A v3 file whose `projects:` list starts on line 3. */
const projects = (...lines: string[]) => yaml("version: 3", "projects:", ...lines);
/** A v3 file with one project `dir: a` on line 3 and the given keys from line 4. */
const project = (...keyLines: string[]) => projects("- dir: a", ...keyLines.map((l) => `  ${l}`));

/** A server policy from YAML (must be valid). */
function policy(...lines: string[]): ServerPolicy {
  const parsed = parseServerPolicy(yaml(...lines), "repos.yaml");
  if (!parsed.ok) throw new Error(`bad test policy: ${JSON.stringify(parsed.errors)}`);
  return parsed.policy;
}
/** Every repo may define custom workflows and set every restricted key. */
const PERMISSIVE = policy(
  "repos:",
  "- id: /.*/",
  "  allow_custom_workflows: true",
  "  allowed_overrides: [plan_requirements, apply_requirements, import_requirements, workflow, delete_source_branch_on_merge, repo_locking, repo_locks, policy_check, custom_policy_check, silence_pr_comments]",
);

type Loaded = { config: ResolvedRepoConfig; warnings: ConfigIssue[] };

function ok(result: LoadRepoConfigResult): Loaded {
  if (!result.ok) throw new Error(`expected ok, got errors: ${JSON.stringify(result.errors, null, 2)}`);
  return result;
}
function errorsOf(result: LoadRepoConfigResult): ConfigIssue[] {
  if (!result.ok) return result.errors;
  throw new Error(`expected errors, got config: ${JSON.stringify(result.config.repo)}`);
}

/** [path (undefined = whole file), line, message fragment or pattern] */
type Issue = [string | undefined, number, string | RegExp];
const issue = ([path, line, message]: Issue) => ({
  file: FILE,
  line,
  ...(path !== undefined ? { path } : {}),
  message: typeof message === "string" ? expect.stringContaining(message) : expect.stringMatching(message),
});
const expectIssues = (actual: ConfigIssue[], expected: Issue[]) => expect(actual).toEqual(expected.map(issue));

const repoOf = (l: Loaded): RepoConfig => l.config.repo!;
const p0 = (l: Loaded) => l.config.projects[0];
/** What the first configured project runs with. */
function settings(l: Loaded, i = 0): ProjectSettings {
  const p = l.config.projects[i];
  return projectSettings(l.config, { name: p.name, dir: p.dir, workspace: p.workspace });
}
const wf = (l: Loaded, name = "w") => l.config.workflows[name];
const builtin = (name: string, extraArgs: string[] = []): WorkflowStep => ({ kind: "builtin", name, extraArgs }) as WorkflowStep;
const run = (command: string, extra: Partial<Extract<WorkflowStep, { kind: "run" }>> = {}): WorkflowStep => ({
  kind: "run",
  command,
  output: [{ mode: "show" }],
  shell: "sh",
  shellArgs: ["-c"],
  ...extra,
});

type ValidCase = [name: string, text: string, select: (l: Loaded) => unknown, expected: unknown, options?: LoadRepoConfigOptions];
type InvalidCase = [name: string, text: string, expected: Issue[], options?: LoadRepoConfigOptions];
type WarningCase = [name: string, text: string, expected: Issue[], options?: LoadRepoConfigOptions];

// Rows are padded to a fixed length: jest treats a callback with more parameters than the row
// has values as taking a `done` callback.
function runValid(cases: ValidCase[]) {
  test.each(cases.map(([n, t, s, e, o]) => [n, t, s, e, o ?? {}] as const))("%s", (_name, text, select, expected, options) => {
    expect(select(ok(loadRepoConfig(text, options)))).toEqual(expected);
  });
}
function runInvalid(cases: InvalidCase[]) {
  test.each(cases.map(([n, t, e, o]) => [n, t, e, o ?? {}] as const))("%s", (_name, text, expected, options) => {
    expectIssues(errorsOf(loadRepoConfig(text, options)), expected);
  });
}
function runWarnings(cases: WarningCase[]) {
  test.each(cases.map(([n, t, e, o]) => [n, t, e, o ?? {}] as const))("%s", (_name, text, expected, options) => {
    expectIssues(ok(loadRepoConfig(text, options)).warnings, expected);
  });
}

// =============================================================================================
// Whole file
// =============================================================================================

describe("whole file", () => {
  const REQUIRED = /^is required\. If you've just upgraded Atlantis you need to rewrite your atlantis\.yaml for version 3\./;

  describe("version and document shape: errors", () => {
    runInvalid([
      ["version missing", yaml("projects: []"), [["version", 1, REQUIRED]]],
      ["version missing after a comment", yaml("# infra", "automerge: true"), [["version", 2, REQUIRED]]],
      ["version: null (empty value)", yaml("automerge: true", "version:"), [["version", 2, REQUIRED]]],
      ["version: ~", yaml("version: ~"), [["version", 1, REQUIRED]]],
      ["version 1", yaml("version: 1"), [["version", 1, "only versions 2 and 3 are supported"]]],
      ["version 4", yaml("automerge: true", "version: 4"), [["version", 2, "only versions 2 and 3 are supported"]]],
      ['version "3" (a string, as yaml.v3 refuses for an int)', yaml('version: "3"'), [["version", 1, "only versions 2 and 3 are supported"]]],
      ["version is a list", yaml("version: [3]"), [["version", 1, "only versions 2 and 3 are supported"]]],
      ["empty file", "", [["version", 1, REQUIRED]]],
      ["only comments", yaml("# nothing", "# here"), [["version", 1, REQUIRED]]],
      ["top level is a list", yaml("- version: 3"), [[undefined, 1, "the top level must be a mapping with 'version' and 'projects', got a list"]]],
      ["top level is a string", yaml("# c", "atlantis"), [[undefined, 2, 'got string "atlantis"']]],
      ["top level is a number", yaml("3"), [[undefined, 1, "got number 3"]]],
      ["invalid YAML: the line of the syntax error", yaml("version: 3", "projects:", "- dir: a", "  name: [x"), [[undefined, 5, /^invalid YAML: /]]],
      ["invalid YAML: duplicated key", yaml("version: 3", "automerge: true", "automerge: false"), [[undefined, 3, "invalid YAML: duplicated mapping key"]]],
      ["invalid YAML: bad indentation", yaml("version: 3", "projects:", "  - dir: a", "    name: x", "   workspace: y"), [[undefined, 5, /^invalid YAML: /]]],
    ]);
  });

  describe("version and document shape: valid", () => {
    runValid([
      ["version 2", yaml("version: 2"), (l) => repoOf(l).version, 2],
      ["version 3", yaml("version: 3"), (l) => repoOf(l).version, 3],
      ["no projects key → no projects", yaml("version: 3"), (l) => l.config.projects, []],
      ["projects: [] → no projects", yaml("version: 3", "projects: []"), (l) => l.config.projects, []],
      ["defaults of every top-level key", yaml("version: 3"), (l) => ({ automerge: l.config.automerge, parallelPlan: l.config.parallelPlan, parallelApply: l.config.parallelApply, abort: l.config.abortOnExecutionOrderFail, dsb: l.config.deleteSourceBranchOnMerge, ad: l.config.autodiscover, prefixes: repoOf(l).allowedRegexpPrefixes }), { automerge: false, parallelPlan: false, parallelApply: false, abort: false, dsb: false, ad: { mode: "auto", ignorePaths: [] }, prefixes: [] }],
      ["multiple documents: only the first is used", yaml("version: 3", "automerge: true", "---", "version: 1"), (l) => [repoOf(l).version, l.config.automerge], [3, true]],
      ["a leading --- does not count as a second document", yaml("---", "version: 3"), (l) => l.warnings, []],
    ]);
  });

  describe("top-level keys: valid values", () => {
    runValid([
      ["automerge: true", yaml("version: 3", "automerge: true"), (l) => l.config.automerge, true],
      ["automerge: false", yaml("version: 3", "automerge: false"), (l) => l.config.automerge, false],
      ["automerge: yes (YAML 1.1 bool, as yaml.v3 accepts)", yaml("version: 3", "automerge: yes"), (l) => l.config.automerge, true],
      ["automerge: ~ → unset (default false)", yaml("version: 3", "automerge: ~"), (l) => [repoOf(l).automerge, l.config.automerge], [undefined, false]],
      ["autodiscover mode enabled", yaml("version: 3", "autodiscover:", "  mode: enabled"), (l) => l.config.autodiscover, { mode: "enabled", ignorePaths: [] }],
      ["autodiscover mode disabled", yaml("version: 3", "autodiscover: {mode: disabled}"), (l) => l.config.autodiscover, { mode: "disabled", ignorePaths: [] }],
      ["autodiscover with ignore_paths only → mode auto", yaml("version: 3", "autodiscover:", "  ignore_paths: [modules/**, 'test/*']"), (l) => l.config.autodiscover, { mode: "auto", ignorePaths: ["modules/**", "test/*"] }],
      ["autodiscover: {} → mode auto", yaml("version: 3", "autodiscover: {}"), (l) => l.config.autodiscover, { mode: "auto", ignorePaths: [] }],
      ["parallel_plan: true", yaml("version: 3", "parallel_plan: true"), (l) => l.config.parallelPlan, true],
      ["parallel_apply: true", yaml("version: 3", "parallel_apply: true"), (l) => l.config.parallelApply, true],
      ["parallel_apply: off (YAML 1.1)", yaml("version: 3", "parallel_apply: off"), (l) => repoOf(l).parallelApply, false],
      ["abort_on_execution_order_fail: true", yaml("version: 3", "abort_on_execution_order_fail: true"), (l) => l.config.abortOnExecutionOrderFail, true],
      ["allowed_regexp_prefixes", yaml("version: 3", "allowed_regexp_prefixes: [dev/, staging/]"), (l) => repoOf(l).allowedRegexpPrefixes, ["dev/", "staging/"]],
      ["allowed_regexp_prefixes: [] ", yaml("version: 3", "allowed_regexp_prefixes: []"), (l) => repoOf(l).allowedRegexpPrefixes, []],
    ]);
  });

  describe("top-level keys: wrong types and values", () => {
    runInvalid([
      ["automerge: a string", yaml("version: 3", "automerge: sometimes"), [["automerge", 2, 'must be true or false, got string "sometimes"']]],
      ['automerge: "true" (quoted: a string, refused as yaml.v3 does)', yaml("version: 3", 'automerge: "true"'), [["automerge", 2, "must be true or false"]]],
      ["automerge: 1", yaml("version: 3", "automerge: 1"), [["automerge", 2, "must be true or false, got number 1"]]],
      ["autodiscover is a string", yaml("version: 3", "autodiscover: enabled"), [["autodiscover", 2, "must be a mapping with 'mode' and/or 'ignore_paths'"]]],
      ["autodiscover mode unknown (validated; Atlantis does not)", yaml("version: 3", "autodiscover:", "  mode: sometimes"), [["autodiscover.mode", 3, 'must be one of "auto", "enabled", "disabled", got "sometimes"']]],
      ["autodiscover ignore_paths starting with '/'", yaml("version: 3", "autodiscover:", "  ignore_paths:", "  - ok/**", "  - /abs/**"), [["autodiscover.ignore_paths[1]", 5, "must be relative to the repo root, not start with '/'"]]],
      ["autodiscover ignore_paths with a bad glob", yaml("version: 3", "autodiscover:", "  ignore_paths: ['mod[ules']"), [["autodiscover.ignore_paths[0]", 3, "invalid pattern \"mod[ules\": unclosed '['"]]],
      ["autodiscover ignore_paths with unbalanced braces", yaml("version: 3", "autodiscover:", "  ignore_paths:", "  - '{a,b'"), [["autodiscover.ignore_paths[0]", 4, "unbalanced '{' and '}'"]]],
      ["autodiscover ignore_paths is a string", yaml("version: 3", "autodiscover:", "  ignore_paths: modules/**"), [["autodiscover.ignore_paths", 3, "must be a list of path patterns"]]],
      ["autodiscover unknown key", yaml("version: 3", "autodiscover:", "  ignore_path: [x]"), [["autodiscover.ignore_path", 3, "unknown key in autodiscover; did you mean 'ignore_paths'?"]]],
      ["delete_source_branch_on_merge: a list", yaml("version: 3", "delete_source_branch_on_merge: [true]"), [["delete_source_branch_on_merge", 2, "must be true or false, got a list"]]],
      ["parallel_plan: a string", yaml("version: 3", "parallel_plan: fast"), [["parallel_plan", 2, "must be true or false"]]],
      ["parallel_apply: a mapping", yaml("version: 3", "parallel_apply: {x: 1}"), [["parallel_apply", 2, "must be true or false, got a mapping"]]],
      ["abort_on_execution_order_fail: 0", yaml("version: 3", "abort_on_execution_order_fail: 0"), [["abort_on_execution_order_fail", 2, "must be true or false"]]],
      ["repo_locks is a string", yaml("version: 3", "repo_locks: on_plan"), [["repo_locks", 2, "must be a mapping with 'mode'"]]],
      ["repo_locks mode unknown (validated; Atlantis does not)", yaml("version: 3", "repo_locks:", "  mode: always"), [["repo_locks.mode", 3, 'must be one of "disabled", "on_plan", "on_apply", got "always"']]],
      ["repo_locks without mode", yaml("version: 3", "repo_locks: {}"), [["repo_locks.mode", 2, "is required: one of disabled, on_plan, on_apply"]]],
      ["repo_locks unknown key", yaml("version: 3", "repo_locks:", "  mod: on_plan"), [["repo_locks.mod", 3, "did you mean 'mode'?"]]],
      ["silence_pr_comments with an unknown command", yaml("version: 3", "silence_pr_comments: [plan, import]"), [["silence_pr_comments[1]", 2, '"import" cannot be silenced; only "plan" and "apply" can']]],
      ["silence_pr_comments is a string", yaml("version: 3", "silence_pr_comments: plan"), [["silence_pr_comments", 2, "must be a list of plan/apply"]]],
      ["emoji_reaction is a list", yaml("version: 3", "emoji_reaction: [eyes]"), [["emoji_reaction", 2, "must be a string, got a list"]]],
      ["parallel_policy_check is a string", yaml("version: 3", "parallel_policy_check: maybe"), [["parallel_policy_check", 2, "must be true or false"]]],
      ["allowed_regexp_prefixes is a string", yaml("version: 3", "allowed_regexp_prefixes: dev/"), [["allowed_regexp_prefixes", 2, "must be a list of prefixes"]]],
      ["allowed_regexp_prefixes with a mapping item", yaml("version: 3", "allowed_regexp_prefixes:", "- dev/", "- {a: b}"), [["allowed_regexp_prefixes[1]", 4, "must be a string, got a mapping"]]],
      ["unknown key: typo gets a did-you-mean", yaml("version: 3", "automerg: true"), [["automerg", 2, "unknown key in the repo config; did you mean 'automerge'?"]]],
      ["unknown key: 'workflow' at the top level → 'workflows'", yaml("version: 3", "workflow: custom"), [["workflow", 2, "did you mean 'workflows'?"]]],
      ["unknown key: case typo", yaml("version: 3", "Projects: []"), [["Projects", 2, "did you mean 'projects'?"]]],
      ["unknown key: far from any → the allowed keys", yaml("version: 3", "terraform: {}"), [["terraform", 2, "unknown key in the repo config; allowed keys: version, automerge, autodiscover"]]],
      ["projects is a mapping", yaml("version: 3", "projects:", "  dir: a"), [["projects", 2, "must be a list of projects, got a mapping"]]],
      ["workflows is a list", yaml("version: 3", "workflows: [a]"), [["workflows", 2, "must be a mapping of workflow names to workflows, got a list"]]],
    ]);
  });

  describe("compatibility-only keys: warnings", () => {
    runWarnings([
      ["emoji_reaction", yaml("version: 3", "emoji_reaction: eyes"), [["emoji_reaction", 2, "accepted for Atlantis compatibility"]]],
      ["parallel_policy_check", yaml("version: 3", "parallel_policy_check: true"), [["parallel_policy_check", 2, "Atoll has no policy checks"]]],
      ["policies", yaml("version: 3", "policies:", "  policy_sets: []"), [["policies", 2, "belongs in the server's policy file"]]],
      ["more than one document: warning at the second", yaml("version: 3", "---", "version: 2"), [[undefined, 2, "more than one YAML document; only the first is used"]]],
      ["no warnings for a plain file", yaml("version: 3", "automerge: true"), []],
    ]);
  });
});

// =============================================================================================
// Project entries
// =============================================================================================

describe("project entry", () => {
  describe("valid keys", () => {
    runValid([
      [
        "minimal project: Atlantis's defaults",
        projects("- dir: ."),
        p0,
        { sourceIndex: 0, name: "", dir: ".", workspace: "default", executionOrderGroup: 0, dependsOn: [], autoplan: { enabled: true, whenModified: [...DEFAULT_WHEN_MODIFIED] } },
      ],
      ["name with a slash", project("name: team/app"), (l) => p0(l).name, "team/app"],
      ["name with every URL-safe punctuation", project("name: a.b~c_d-e"), (l) => p0(l).name, "a.b~c_d-e"],
      ["name: 1.10 stays as written", project("name: 1.10"), (l) => p0(l).name, "1.10"],
      ["name: ~ → unnamed", project("name: ~"), (l) => p0(l).name, ""],
      ["dir cleaned: ./a/b/", projects("- dir: ./a/b/"), (l) => p0(l).dir, "a/b"],
      ["dir: a//b/./c", projects("- dir: a//b/./c"), (l) => p0(l).dir, "a/b/c"],
      ['dir: "" → repo root (Atoll; Atlantis says "cannot be blank")', projects("- dir: ''"), (l) => p0(l).dir, "."],
      ["dir: 2024 (a number) as written", projects("- dir: 2024"), (l) => p0(l).dir, "2024"],
      ["dir glob stacks/* → pattern kept, expansion flag", projects("- dir: stacks/*"), (l) => [p0(l).dir, p0(l).dirIsGlob], ["stacks/*", true]],
      ["dir glob with ** and a bracket", projects("- dir: 'envs/**/[ab]'"), (l) => [p0(l).dir, p0(l).dirIsGlob], ["envs/**/[ab]", true]],
      ["plain dir has no expansion flag", projects("- dir: envs/prod"), (l) => p0(l).dirIsGlob, undefined],
      ["workspace", project("workspace: staging"), (l) => p0(l).workspace, "staging"],
      ["workspace with shell metacharacters (terraform runs with an argv)", project("workspace: 'a;b&c'"), (l) => p0(l).workspace, "a;b&c"],
      ["workspace: ~ → default", project("workspace: ~"), (l) => p0(l).workspace, "default"],
      ["branch /main/", project("branch: /main/"), (l) => p0(l).branch, "main"],
      ["branch /^release-.*$/", project("branch: /^release-.*$/"), (l) => p0(l).branch, "^release-.*$"],
      ["branch regex is unanchored (like Go's MatchString)", project("branch: /main/"), (l) => l.config.projects.length, 1, { baseBranch: "not-main-really" }],
      ["execution_order_group: 2", project("execution_order_group: 2"), (l) => p0(l).executionOrderGroup, 2],
      ["execution_order_group: -1", project("execution_order_group: -1"), (l) => p0(l).executionOrderGroup, -1],
      ["depends_on a named project", projects("- {name: net, dir: net}", "- {name: app, dir: app, depends_on: [net]}"), (l) => l.config.projects[1].dependsOn, ["net"]],
      ["autoplan enabled: false keeps default when_modified", project("autoplan:", "  enabled: false"), (l) => p0(l).autoplan, { enabled: false, whenModified: [...DEFAULT_WHEN_MODIFIED] }],
      ["autoplan when_modified replaces the defaults", project("autoplan:", "  when_modified: ['*.tf', '../modules/**', '!test/**']"), (l) => p0(l).autoplan, { enabled: true, whenModified: ["*.tf", "../modules/**", "!test/**"] }],
      ["autoplan when_modified: [] → never", project("autoplan:", "  when_modified: []"), (l) => p0(l).autoplan.whenModified, []],
      ["autoplan when_modified: ~ → defaults", project("autoplan:", "  when_modified: ~"), (l) => p0(l).autoplan.whenModified, [...DEFAULT_WHEN_MODIFIED]],
      ["autoplan: ~ → defaults", project("autoplan: ~"), (l) => p0(l).autoplan, { enabled: true, whenModified: [...DEFAULT_WHEN_MODIFIED] }],
      ["terraform_version v1", project("terraform_version: v1"), (l) => p0(l).terraformVersion, "v1"],
      ["terraform_version 1 (a number)", project("terraform_version: 1"), (l) => p0(l).terraformVersion, "1"],
      ["terraform_version 1.10 stays as written", project("terraform_version: 1.10"), (l) => p0(l).terraformVersion, "1.10"],
      ["terraform_version 0.12.0-beta1", project("terraform_version: 0.12.0-beta1"), (l) => p0(l).terraformVersion, "0.12.0-beta1"],
      ["terraform_version v1.9.8", project("terraform_version: v1.9.8"), (l) => settings(l).terraformVersion, "v1.9.8"],
      ["terraform_distribution opentofu", project("terraform_distribution: opentofu"), (l) => settings(l).terraformDistribution, "opentofu"],
      ["terraform_distribution terraform", project("terraform_distribution: terraform"), (l) => p0(l).terraformDistribution, "terraform"],
      ["repo_locks mode on_apply (allowed)", project("repo_locks: {mode: on_apply}"), (l) => settings(l).repoLocks, "on_apply", { policy: PERMISSIVE }],
      ["repo_locks mode on_plan (allowed)", project("repo_locks: {mode: on_plan}"), (l) => settings(l).repoLocks, "on_plan", { policy: PERMISSIVE }],
      ["repo_locks mode disabled (allowed)", project("repo_locks:", "  mode: disabled"), (l) => settings(l).repoLocks, "disabled", { policy: PERMISSIVE }],
      ["repo_locking: false (deprecated, allowed) → locks disabled", project("repo_locking: false"), (l) => settings(l).repoLocks, "disabled", { policy: PERMISSIVE }],
      ["repo_locking: true (deprecated, allowed) → on_plan", project("repo_locking: true"), (l) => settings(l).repoLocks, "on_plan", { policy: PERMISSIVE }],
      ["repo_locks wins over repo_locking", project("repo_locks: {mode: on_apply}", "repo_locking: false"), (l) => settings(l).repoLocks, "on_apply", { policy: PERMISSIVE }],
      ["silence_pr_comments [plan, apply] (allowed)", project("silence_pr_comments: [plan, apply]"), (l) => settings(l).silencePrComments, ["plan", "apply"], { policy: PERMISSIVE }],
      ["silence_pr_comments: [] (allowed)", project("silence_pr_comments: []"), (l) => settings(l).silencePrComments, [], { policy: PERMISSIVE }],
      ["requirements lists, duplicates dropped (allowed)", project("plan_requirements: [undiverged]", "apply_requirements: [approved, mergeable, approved]", "import_requirements: [approved]"), (l) => [settings(l).planRequirements, settings(l).applyRequirements, settings(l).importRequirements], [["undiverged"], ["approved", "mergeable"], ["approved"]], { policy: PERMISSIVE }],
      ["same dir, different workspaces: no names needed", projects("- {dir: a, workspace: x}", "- {dir: a, workspace: y}"), (l) => l.config.projects.map((p) => p.workspace), ["x", "y"]],
      ["same dir and workspace, all named", projects("- {name: a1, dir: a}", "- {name: a2, dir: a}"), (l) => l.config.projects.map((p) => p.name), ["a1", "a2"]],
      ["same name on different branch values (no base branch known)", projects("- {name: app, dir: a, branch: /main/}", "- {name: app, dir: b, branch: /prod/}"), (l) => l.config.projects.map((p) => p.dir), ["a", "b"]],
      ["base branch filtering: only the matching project is kept", projects("- {name: app, dir: a, branch: /^main$/}", "- {name: app, dir: b, branch: /^prod$/}", "- {name: other, dir: c}"), (l) => l.config.projects.map((p) => p.dir), ["a", "c"], { baseBranch: "main" }],
      ["base branch filtering: unnamed same dir on other branches", projects("- {dir: a, branch: /^main$/}", "- {dir: a, branch: /^prod$/}"), (l) => l.config.projects.map((p) => p.branch), ["^prod$"], { baseBranch: "prod" }],
      ["base branch filtering: duplicate name only on a dropped branch", projects("- {name: x, dir: a}", "- {name: x, dir: b, branch: /^prod$/}"), (l) => l.config.projects.map((p) => p.dir), ["a"], { baseBranch: "main" }],
      ["glob dirs are not checked for shared dir+workspace", projects("- dir: stacks/*", "- dir: stacks/*"), (l) => l.config.projects.length, 2],
    ]);
  });

  describe("invalid keys", () => {
    runInvalid([
      ["project entry is a string", projects("- envs/prod"), [["projects[0]", 3, "each project must be a mapping with at least a 'dir' key"]]],
      ["unknown project key with did-you-mean", project("worksapce: x"), [["projects[0].worksapce", 4, "unknown key in a project; did you mean 'workspace'?"]]],
      ["name with a space", project("name: 'my app'"), [["projects[0].name", 4, '"my app": project names can only contain letters, digits']]],
      ["name with a glob character", project("name: 'app*'"), [["projects[0].name", 4, "project names can only contain"]]],
      ["name with a non-ASCII letter", project("name: café"), [["projects[0].name", 4, "project names can only contain"]]],
      ["name with a colon", project("name: 'a:b'"), [["projects[0].name", 4, "project names can only contain"]]],
      ["name empty", project("name: ''"), [["projects[0].name", 4, "cannot be empty; remove the key for an unnamed project"]]],
      ["name is a mapping", project("name: {a: 1}"), [["projects[0].name", 4, "must be a string, got a mapping"]]],
      ["name with a glob dir", projects("- dir: stacks/*", "  name: stacks"), [["projects[0].name", 4, 'cannot be combined with a glob dir ("stacks/*")']]],
      ["dir missing", projects("- name: x"), [["projects[0].dir", 3, "is required"]]],
      ["dir: ~", projects("- dir: ~"), [["projects[0].dir", 3, "is required"]]],
      ["dir absolute", projects("- dir: /srv/infra"), [["projects[0].dir", 3, "must be a path relative to the repo root, not absolute"]]],
      ["dir '..'", projects("- dir: .."), [["projects[0].dir", 3, "cannot contain '..'"]]],
      ["dir with '..' in the middle", projects("- dir: a/../b"), [["projects[0].dir", 3, "cannot contain '..'"]]],
      ["dir glob escaping the repo", projects("- dir: ../*"), [["projects[0].dir", 3, "cannot contain '..'"]]],
      ["workspace with a backslash", project("workspace: 'a\\b'"), [["projects[0].workspace", 4, 'invalid workspace "a\\\\b": must not contain "\\"']]],
      ["workspace '..'", project("workspace: '..'"), [["projects[0].workspace", 4, 'must not contain ".."']]],
      ["workspace empty", project("workspace: ''"), [["projects[0].workspace", 4, "must not be empty"]]],
      ["workspace a list", project("workspace: [a]"), [["projects[0].workspace", 4, "must be a string, got a list"]]],
      ["branch without slashes", project("branch: main"), [["projects[0].branch", 4, 'must be a regular expression between slashes, like "/main/", got "main"']]],
      ["branch without the closing slash", project("branch: /main"), [["projects[0].branch", 4, "must be a regular expression between slashes"]]],
      ["branch '/' alone", project("branch: /"), [["projects[0].branch", 4, "must be a regular expression between slashes"]]],
      ["branch with a bad regex", project("branch: /[main/"), [["projects[0].branch", 4, "invalid regular expression /[main/"]]],
      ["branch with an unterminated group", project("branch: /(main/"), [["projects[0].branch", 4, "invalid regular expression /(main/"]]],
      ["execution_order_group: 1.5", project("execution_order_group: 1.5"), [["projects[0].execution_order_group", 4, "must be a whole number, got number 1.5"]]],
      ['execution_order_group: "1"', project('execution_order_group: "1"'), [["projects[0].execution_order_group", 4, 'must be a whole number, got string "1"']]],
      ["execution_order_group: a list", project("execution_order_group: [1]"), [["projects[0].execution_order_group", 4, "must be a whole number, got a list"]]],
      ["depends_on an unknown project", projects("- {name: app, dir: app, depends_on: [net]}"), [["projects[0].depends_on[0]", 3, 'no project is named "net"; named projects: app']]],
      ["depends_on itself", projects("- name: app", "  dir: app", "  depends_on:", "  - app"), [["projects[0].depends_on[0]", 6, 'a project cannot depend on itself ("app")']]],
      ["depends_on cycle", projects("- {name: a, dir: a, depends_on: [b]}", "- {name: b, dir: b, depends_on: [a]}"), [["projects[0].depends_on", 3, "dependency cycle: a → b → a"]]],
      ["depends_on cycle of three", projects("- {name: a, dir: a, depends_on: [c]}", "- {name: b, dir: b, depends_on: [a]}", "- {name: c, dir: c, depends_on: [b]}"), [["projects[0].depends_on", 3, "dependency cycle: a → c → b → a"]]],
      ["depends_on a string", projects("- {name: a, dir: a}", "- {name: b, dir: b, depends_on: a}"), [["projects[1].depends_on", 4, "must be a list of project names"]]],
      ["autoplan is a boolean", project("autoplan: true"), [["projects[0].autoplan", 4, "must be a mapping with 'enabled' and/or 'when_modified'"]]],
      ["autoplan enabled not a bool", project("autoplan:", "  enabled: sure"), [["projects[0].autoplan.enabled", 5, "must be true or false"]]],
      ["autoplan when_modified with a bad glob", project("autoplan:", "  when_modified: ['*.tf', 'src/[a']"), [["projects[0].autoplan.when_modified[1]", 5, "invalid pattern \"src/[a\": unclosed '['"]]],
      ["autoplan when_modified with an empty pattern", project("autoplan:", "  when_modified:", "  - ''"), [["projects[0].autoplan.when_modified[0]", 6, "empty pattern"]]],
      ["autoplan unknown key", project("autoplan:", "  when-modified: [x]"), [["projects[0].autoplan.when-modified", 5, "did you mean 'when_modified'?"]]],
      ["apply_requirements: Atlantis's error text", project("apply_requirements: [approved, reviewed]"), [["projects[0].apply_requirements[1]", 4, '"reviewed" is not a valid apply_requirement, only "approved", "mergeable" and "undiverged" are supported']]],
      ["plan_requirements: Atlantis's error text", project("plan_requirements: [policies_passed]"), [["projects[0].plan_requirements[0]", 4, '"policies_passed" is not a valid plan_requirement, only "approved", "mergeable" and "undiverged" are supported']]],
      ["import_requirements: Atlantis's error text", project("import_requirements:", "- approved", "- signed"), [["projects[0].import_requirements[1]", 6, '"signed" is not a valid import_requirement, only "approved", "mergeable" and "undiverged" are supported']]],
      ["apply_requirements is a string", project("apply_requirements: approved"), [["projects[0].apply_requirements", 4, "must be a list of approved/mergeable/undiverged"]]],
      ['terraform_version: "" is an error', project("terraform_version: ''"), [["projects[0].terraform_version", 4, "cannot be empty; remove the key to use the server's default"]]],
      ["terraform_version: latest", project("terraform_version: latest"), [["projects[0].terraform_version", 4, '"latest" is not a version']]],
      ["terraform_version: a constraint", project("terraform_version: '>= 1.5'"), [["projects[0].terraform_version", 4, '">= 1.5" is not a version']]],
      ["terraform_version: a list", project("terraform_version: [1.5.0]"), [["projects[0].terraform_version", 4, "must be a string, got a list"]]],
      ["terraform_distribution: unknown", project("terraform_distribution: pulumi"), [["projects[0].terraform_distribution", 4, 'must be one of "terraform", "opentofu", got "pulumi"']]],
      ['workflow: ""', project("workflow: ''"), [["projects[0].workflow", 4, "cannot be empty"]]],
      ["repo_locking: a string", project("repo_locking: never"), [["projects[0].repo_locking", 4, "must be true or false"]]],
      ["repo_locks mode unknown", project("repo_locks: {mode: sometimes}"), [["projects[0].repo_locks.mode", 4, 'must be one of "disabled", "on_plan", "on_apply"']]],
      ["repo_locks without mode", project("repo_locks: {}"), [["projects[0].repo_locks.mode", 4, "is required"]]],
      ["silence_pr_comments: unknown value", project("silence_pr_comments: [plan, policy_check]"), [["projects[0].silence_pr_comments[1]", 4, '"policy_check" cannot be silenced']]],
      ["silence_pr_comments: a string", project("silence_pr_comments: apply"), [["projects[0].silence_pr_comments", 4, "must be a list of plan/apply"]]],
      ["policy_check: a string", project("policy_check: yes please"), [["projects[0].policy_check", 4, "must be true or false"]]],
      ["duplicate names: Atlantis's text at the second", projects("- {name: app, dir: a}", "- {name: app, dir: b}"), [["projects[1].name", 4, 'found two or more projects with name "app"; project names must be unique']]],
      ["shared dir+workspace without names: Atlantis's text", projects("- dir: a", "- dir: a/", "  workspace: default"), [["projects[1]", 4, 'there are two or more projects with dir: "a" workspace: "default" that are not all named; they must have a \'name\' key so they can be targeted for apply\'s separately']]],
      ["shared dir+workspace, only one named", projects("- {dir: a, workspace: w, name: one}", "- {dir: a, workspace: w}"), [["projects[1]", 4, 'dir: "a" workspace: "w" that are not all named']]],
      ["same name on the same branch value", projects("- {name: app, dir: a, branch: /main/}", "- {name: app, dir: b, branch: /main/}"), [["projects[1].name", 4, 'found two or more projects with name "app"']]],
      ["same name, one project on every branch (both exist for /main/)", projects("- {name: app, dir: a}", "- {name: app, dir: b, branch: /main/}"), [["projects[1].name", 4, 'found two or more projects with name "app"']]],
      ["same name on different branches that both match the base branch", projects("- {name: app, dir: a, branch: /ma/}", "- {name: app, dir: b, branch: /in/}"), [["projects[1].name", 4, 'found two or more projects with name "app"']], { baseBranch: "main" }],
      ["unnamed shared dir, one project on every branch", projects("- {dir: a}", "- {dir: a, branch: /main/}"), [["projects[1]", 4, "that are not all named"]]],
      ["every problem of a project at once", projects("- name: 'a b'", "  workspace: 'x/y'", "  execution_order_group: x"), [["projects[0].name", 3, "project names can only contain"], ["projects[0].dir", 3, "is required"], ["projects[0].workspace", 4, "invalid workspace"], ["projects[0].execution_order_group", 5, "must be a whole number"]]],
    ]);
  });

  describe("warnings", () => {
    runWarnings([
      ["repo_locking is deprecated", project("repo_locking: false"), [["projects[0].repo_locking", 4, "is deprecated; use 'repo_locks: {mode: disabled}'"]], { policy: PERMISSIVE }],
      ["custom_policy_check has no effect", project("custom_policy_check: true"), [["projects[0].custom_policy_check", 4, "Atoll has no policy checks"]], { policy: PERMISSIVE }],
      ["policy_check allowed: has no effect", project("policy_check: true"), [["projects[0].policy_check", 4, "Atoll has no policy checks"]], { policy: PERMISSIVE }],
    ]);
  });
});

// =============================================================================================
// Workflows and steps (custom workflows allowed by the policy)
// =============================================================================================

describe("workflow step", () => {
  const opts: LoadRepoConfigOptions = { policy: PERMISSIVE };
  /** Workflow `w` whose plan steps start on line 6 (`- <step>`). */
  const planSteps = (...stepLines: string[]) => yaml("version: 3", "workflows:", "  w:", "    plan:", "      steps:", ...stepLines.map((l) => `      ${l}`));
  const v2PlanSteps = (...stepLines: string[]) => planSteps(...stepLines).replace("version: 3", "version: 2");
  const S = "workflows.w.plan.steps";
  const plan = (l: Loaded) => wf(l).plan;

  describe("valid steps", () => {
    const valid: ValidCase[] = [
      ...(["init", "plan", "apply", "show", "import", "state_rm", "policy_check"] as const).map(
        (name): ValidCase => [`bare built-in ${name}`, planSteps(`- ${name}`), plan, [builtin(name)], opts],
      ),
      ["built-in with extra_args", planSteps("- plan:", "    extra_args: [-var, 'region=$REGION', -lock=false]"), plan, [builtin("plan", ["-var", "region=$REGION", "-lock=false"])], opts],
      ["built-in with extra_args: []", planSteps("- init: {extra_args: []}"), plan, [builtin("init")], opts],
      ["built-in with an empty value", planSteps("- init:"), plan, [builtin("init")], opts],
      ["built-in with {}", planSteps("- apply: {}"), plan, [builtin("apply")], opts],
      ["extra_args numbers as written", planSteps("- plan: {extra_args: [-parallelism, 10]}"), plan, [builtin("plan", ["-parallelism", "10"])], opts],
      ["run string", planSteps("- run: terraform fmt -check"), plan, [run("terraform fmt -check")], opts],
      ["run map with only command", planSteps("- run:", "    command: make plan"), plan, [run("make plan")], opts],
      ["run output: show", planSteps("- run: {command: x, output: show}"), plan, [run("x")], opts],
      ["run output: hide", planSteps("- run: {command: x, output: hide}"), plan, [run("x", { output: [{ mode: "hide" }] })], opts],
      ["run output: strip_refreshing", planSteps("- run: {command: x, output: strip_refreshing}"), plan, [run("x", { output: [{ mode: "strip_refreshing" }] })], opts],
      ["run output: filter_regex", planSteps("- run:", "    command: x", "    output:", "    - filter_regex: 'token=\\w+'"), plan, [run("x", { output: [{ mode: "filter_regex", regex: "token=\\w+" }] })], opts],
      ["run output: a list mixing modes and filters", planSteps("- run:", "    command: x", "    output: [strip_refreshing, {filter_regex: 'secret'}, {filter_regex: 'key-[0-9]+'}]"), plan, [run("x", { output: [{ mode: "strip_refreshing" }, { mode: "filter_regex", regex: "secret" }, { mode: "filter_regex", regex: "key-[0-9]+" }] })], opts],
      ["run shell without shellArgs → -c", planSteps("- run: {command: x, shell: bash}"), plan, [run("x", { shell: "bash" })], opts],
      ["run shellArgs string split on spaces", planSteps("- run: {command: x, shell: bash, shellArgs: '-eu  -o pipefail -c'}"), plan, [run("x", { shell: "bash", shellArgs: ["-eu", "-o", "pipefail", "-c"] })], opts],
      ["run shellArgs list", planSteps("- run: {command: x, shell: bash, shellArgs: ['-e', '-c']}"), plan, [run("x", { shell: "bash", shellArgs: ["-e", "-c"] })], opts],
      ["env with value", planSteps("- env: {name: TF_VAR_region, value: eu-west-1}"), plan, [{ kind: "env", name: "TF_VAR_region", value: "eu-west-1", shell: "sh", shellArgs: ["-c"] }], opts],
      ["env with value as written (1.10)", planSteps("- env: {name: V, value: 1.10}"), (l) => (plan(l)[0] as { value?: string }).value, "1.10", opts],
      ["env with an empty value", planSteps("- env: {name: EMPTY, value: ''}"), (l) => (plan(l)[0] as { value?: string }).value, "", opts],
      ["env with command and shell", planSteps("- env:", "    name: REGION", "    command: cat region.txt", "    shell: bash", "    shellArgs: [-c]"), plan, [{ kind: "env", name: "REGION", command: "cat region.txt", shell: "bash", shellArgs: ["-c"] }], opts],
      ["multienv string", planSteps("- multienv: ./vars.sh"), plan, [{ kind: "multienv", command: "./vars.sh", output: "show", shell: "sh", shellArgs: ["-c"] }], opts],
      ["multienv map with output hide", planSteps("- multienv: {command: ./vars.sh, output: hide}"), plan, [{ kind: "multienv", command: "./vars.sh", output: "hide", shell: "sh", shellArgs: ["-c"] }], opts],
      ["multienv map with shell", planSteps("- multienv: {command: ./vars.sh, shell: bash, shellArgs: '-c'}"), plan, [{ kind: "multienv", command: "./vars.sh", output: "show", shell: "bash", shellArgs: ["-c"] }], opts],
      ["steps are not checked for sense (apply in a plan stage)", planSteps("- apply", "- plan"), plan, [builtin("apply"), builtin("plan")], opts],
      ["missing stages get their defaults", planSteps("- run: x"), (l) => [wf(l).apply, wf(l).import, wf(l).state_rm, wf(l).policy_check], [[builtin("apply")], [builtin("init"), builtin("import")], [builtin("init"), builtin("state_rm")], [builtin("show"), builtin("policy_check")]], opts],
      ["steps: ~ → default steps", yaml("version: 3", "workflows:", "  w:", "    plan:", "      steps: ~", "    apply:", "      steps:"), (l) => [plan(l), wf(l).apply], [[builtin("init"), builtin("plan")], [builtin("apply")]], opts],
      ["a stage with no value → default steps", yaml("version: 3", "workflows:", "  w:", "    plan:", "    apply: {}"), (l) => [plan(l), wf(l).apply], [[builtin("init"), builtin("plan")], [builtin("apply")]], opts],
      ["steps: [] → nothing runs", yaml("version: 3", "workflows:", "  w:", "    plan:", "      steps: []", "    apply: {steps: []}"), (l) => [plan(l), wf(l).apply], [[], []], opts],
      ["workflow `name: ~` gets every default", yaml("version: 3", "workflows:", "  w: ~"), (l) => wf(l), defaultWorkflow("w"), opts],
      ["workflow `name: {}` gets every default", yaml("version: 3", "workflows:", "  w: {}"), (l) => wf(l), defaultWorkflow("w"), opts],
      ["v3 run is kept verbatim", planSteps(`- run: echo "a  b" 'c'`), (l) => (plan(l)[0] as { command: string }).command, `echo "a  b" 'c'`, opts],
      ["v2 run is re-tokenized (quotes stripped)", v2PlanSteps(`- run: echo "a  b" 'c'`), (l) => (plan(l)[0] as { command: string }).command, "echo a  b c", opts],
      ["v2 run map form is re-tokenized too", v2PlanSteps(`- run: {command: "terraform plan -var 'x=1'"}`), (l) => (plan(l)[0] as { command: string }).command, "terraform plan -var x=1", opts],
      ["v2 built-in extra_args are untouched", v2PlanSteps(`- plan: {extra_args: ["-var 'x=1'"]}`), plan, [builtin("plan", ["-var 'x=1'"])], opts],
    ];
    runValid(valid);
  });

  describe("invalid steps", () => {
    const invalid: InvalidCase[] = [
      ["unknown bare step", planSteps("- x"), [[`${S}[0]`, 6, `"x" is not a valid step type, maybe you omitted the 'run' key`]]],
      ["a command written without run:", planSteps("- init", "- terraform fmt"), [[`${S}[1]`, 7, `"terraform fmt" is not a valid step type, maybe you omitted the 'run' key`]]],
      ["unknown step key", planSteps("- sh: make"), [[`${S}[0].sh`, 6, `"sh" is not a valid step type, maybe you omitted the 'run' key`]]],
      ["bare env (needs arguments)", planSteps("- env"), [[`${S}[0]`, 6, 'step "env" needs arguments, e.g. "- env: {name: X, value: y}"']]],
      ["bare run", planSteps("- run"), [[`${S}[0]`, 6, 'step "run" needs arguments']]],
      ["bare multienv", planSteps("- multienv"), [[`${S}[0]`, 6, 'step "multienv" needs arguments']]],
      ["two keys in one step element", planSteps("- run: x", "  env: {name: A, value: b}"), [[`${S}[0]`, 6, "step element can only contain a single key, found 2: run,env"]]],
      ["empty step mapping", planSteps("- {}"), [[`${S}[0]`, 6, "step element is empty"]]],
      ["a step that is a number", planSteps("- 5"), [[`${S}[0]`, 6, "each step must be a step name or a single-key mapping, got number 5"]]],
      ["an empty step item", planSteps("- init", "-"), [[`${S}[1]`, 7, "each step must be a step name or a single-key mapping, got empty"]]],
      ["extra_args is a string", planSteps("- plan: {extra_args: -lock=false}"), [[`${S}[0].plan.extra_args`, 6, "must be a list of arguments"]]],
      ["extra_args item is a mapping", planSteps("- plan:", "    extra_args:", "    - {a: b}"), [[`${S}[0].plan.extra_args[0]`, 8, "must be a string, got a mapping"]]],
      ["built-in with another key: Atlantis's text", planSteps("- init:", "    extra_args: [-upgrade]", "    args: [x]"), [[`${S}[0].init.args`, 8, 'built-in steps only support a single extra_args key, found "args" in step init']]],
      ["built-in with a string value", planSteps("- plan: -lock=false"), [[`${S}[0].plan`, 6, "must be a mapping with 'extra_args', got string"]]],
      ["run: empty string", planSteps("- run: ''"), [[`${S}[0].run`, 6, "cannot be an empty command"]]],
      ["run: a list", planSteps("- run: [make, plan]"), [[`${S}[0].run`, 6, "must be a command string or a mapping with 'command', got a list"]]],
      ["run map without command", planSteps("- run: {shell: bash}"), [[`${S}[0].run.command`, 6, "is required"]]],
      ["run map unknown key (typo)", planSteps("- run: {comand: x}"), [[`${S}[0].run.comand`, 6, "unknown key in a run step; did you mean 'command'?"], [`${S}[0].run.command`, 6, "is required"]]],
      ["run map unknown key (no close match)", planSteps("- run: {command: x, timeout: 5}"), [[`${S}[0].run.timeout`, 6, "unknown key in a run step; allowed keys: command, output, shell, shellArgs"]]],
      ["run output unknown mode", planSteps("- run: {command: x, output: quiet}"), [[`${S}[0].run.output`, 6, 'must be "show", "hide", "strip_refreshing" or {filter_regex: "<regex>"}']]],
      ["run output list with an unknown mode", planSteps("- run:", "    command: x", "    output: [show, loud]"), [[`${S}[0].run.output[1]`, 8, 'got string "loud"']]],
      ["run output filter_regex that does not compile", planSteps("- run:", "    command: x", "    output:", "    - filter_regex: '(unclosed'"), [[`${S}[0].run.output[0].filter_regex`, 9, 'invalid regular expression "(unclosed"']]],
      ["run output filter_regex empty", planSteps("- run: {command: x, output: [{filter_regex: ''}]}"), [[`${S}[0].run.output[0].filter_regex`, 6, "cannot be empty"]]],
      ["run output mapping with another key", planSteps("- run: {command: x, output: [{filter_regex: a, mode: b}]}"), [[`${S}[0].run.output[0]`, 6, "got a mapping"]]],
      ["run shellArgs without shell", planSteps("- run: {command: x, shellArgs: -c}"), [[`${S}[0].run.shellArgs`, 6, "requires 'shell' to be set as well"]]],
      ["run shell empty", planSteps("- run: {command: x, shell: ''}"), [[`${S}[0].run.shell`, 6, "cannot be empty"]]],
      ["run shellArgs a mapping", planSteps("- run: {command: x, shell: bash, shellArgs: {a: b}}"), [[`${S}[0].run.shellArgs`, 6, "must be a list of shell arguments, got a mapping"]]],
      ["env without a name", planSteps("- env: {value: x}"), [[`${S}[0].env.name`, 6, "is required"]]],
      ["env with a bad name", planSteps("- env: {name: 1REGION, value: x}"), [[`${S}[0].env.name`, 6, '"1REGION" is not a valid environment variable name']]],
      ["env name with a dash", planSteps("- env: {name: TF-VAR, value: x}"), [[`${S}[0].env.name`, 6, "is not a valid environment variable name"]]],
      ["env with both value and command", planSteps("- env: {name: A, value: x, command: echo y}"), [[`${S}[0].env`, 6, "env step can set either 'value' or 'command', not both"]]],
      ["env with neither value nor command", planSteps("- env: {name: A}"), [[`${S}[0].env`, 6, "env step needs 'value' or 'command'"]]],
      ["env with value and shell", planSteps("- env: {name: A, value: x, shell: bash}"), [[`${S}[0].env.shell`, 6, "only applies with 'command'"]]],
      ["env as a string", planSteps("- env: A=b"), [[`${S}[0].env`, 6, "must be a mapping with 'name' and 'value' or 'command'"]]],
      ["env unknown key", planSteps("- env: {name: A, valeu: x, value: y}"), [[`${S}[0].env.valeu`, 6, "did you mean 'value'?"]]],
      ["multienv map without command", planSteps("- multienv: {output: hide}"), [[`${S}[0].multienv.command`, 6, "is required"]]],
      ["multienv output strip_refreshing", planSteps("- multienv: {command: x, output: strip_refreshing}"), [[`${S}[0].multienv.output`, 6, 'must be one of "show", "hide", got "strip_refreshing"']]],
      ["multienv empty string", planSteps("- multienv: ''"), [[`${S}[0].multienv`, 6, "cannot be an empty command"]]],
      ["unknown stage key", yaml("version: 3", "workflows:", "  w:", "    plann:", "      steps: [init]"), [["workflows.w.plann", 4, `unknown key in workflow "w"; did you mean 'plan'?`]]],
      ["stage is a list (steps key omitted)", yaml("version: 3", "workflows:", "  w:", "    plan: [init, plan]"), [["workflows.w.plan", 4, "must be a mapping with 'steps', got a list"]]],
      ["stage with an unknown key", yaml("version: 3", "workflows:", "  w:", "    apply:", "      step: [apply]"), [["workflows.w.apply.step", 5, "unknown key in the apply stage; did you mean 'steps'?"]]],
      ["steps is a string", yaml("version: 3", "workflows:", "  w:", "    plan:", "      steps: init"), [["workflows.w.plan.steps", 5, "must be a list of steps"]]],
      ["workflow is a string", yaml("version: 3", "workflows:", "  w: default"), [["workflows.w", 3, "must be a mapping of stages (plan, apply, …)"]]],
      ["errors in several stages at once", yaml("version: 3", "workflows:", "  w:", "    plan:", "      steps: [x]", "    apply:", "      steps: [{run: ''}]"), [["workflows.w.plan.steps[0]", 5, "is not a valid step type"], ["workflows.w.apply.steps[0].run", 7, "cannot be an empty command"]]],
    ];
    runInvalid(invalid.map(([n, t, e]): InvalidCase => [n, t, e, opts]));
  });
});

// =============================================================================================
// Repo config vs server policy
// =============================================================================================

describe("repo-vs-server", () => {
  const notAllowed = (key: string) => `repo config not allowed to set '${key}' key: server-side config needs 'allowed_overrides: [${key}]'`;
  const CUSTOM_WF = "repo config not allowed to define custom workflows: server-side config needs 'allow_custom_workflows: true'";
  const SRV = policy("workflows:", "  srv:", "    plan:", "      steps: [{run: srv-plan}]", "  other: ~");
  const allowing = (...overrides: string[]) =>
    policy("repos:", "- id: /.*/", `  allowed_overrides: [${overrides.join(", ")}]`, "workflows:", "  srv:", "    plan:", "      steps: [{run: srv-plan}]", "  other: ~");

  const RESTRICTED: [key: string, value: string][] = [
    ["workflow", "default"],
    ["plan_requirements", "[approved]"],
    ["apply_requirements", "[mergeable]"],
    ["import_requirements", "[undiverged]"],
    ["delete_source_branch_on_merge", "true"],
    ["repo_locking", "false"],
    ["repo_locks", "{mode: on_apply}"],
    ["custom_policy_check", "true"],
    ["silence_pr_comments", "[plan]"],
  ];

  describe("restricted project keys without allowed_overrides: Atlantis's exact text", () => {
    runInvalid(
      RESTRICTED.map(([key, value]): InvalidCase => [`${key} (default policy)`, project(`${key}: ${value}`), [[`projects[0].${key}`, 4, notAllowed(key)]]]),
    );
    test.each(RESTRICTED)("%s: the message is exactly Atlantis's", (key, value) => {
      expect(errorsOf(loadRepoConfig(project(`${key}: ${value}`)))[0].message).toBe(notAllowed(key));
    });
  });

  describe("restricted project keys allowed when listed", () => {
    const sets: [key: string, value: string, select: (s: ProjectSettings) => unknown, expected: unknown][] = [
      ["workflow", "srv", (s) => s.workflow.plan, [run("srv-plan")]],
      ["plan_requirements", "[approved]", (s) => s.planRequirements, ["approved"]],
      ["apply_requirements", "[mergeable]", (s) => s.applyRequirements, ["mergeable"]],
      ["import_requirements", "[undiverged]", (s) => s.importRequirements, ["undiverged"]],
      ["delete_source_branch_on_merge", "true", (s) => s.deleteSourceBranchOnMerge, true],
      ["repo_locking", "false", (s) => s.repoLocks, "disabled"],
      ["repo_locks", "{mode: on_apply}", (s) => s.repoLocks, "on_apply"],
      ["custom_policy_check", "true", (s) => s.configured?.customPolicyCheck, true],
      ["silence_pr_comments", "[plan]", (s) => s.silencePrComments, ["plan"]],
    ];
    runValid(sets.map(([key, value, select, expected]): ValidCase => [`${key} allowed`, project(`${key}: ${value}`), (l) => select(settings(l)), expected, { policy: allowing(key) }]));
    runInvalid([
      ["allowing apply_requirements does not allow plan_requirements", project("apply_requirements: []", "plan_requirements: []"), [["projects[0].plan_requirements", 5, notAllowed("plan_requirements")]], { policy: allowing("apply_requirements") }],
      ["allowing repo_locks does not allow the deprecated repo_locking", project("repo_locking: true"), [["projects[0].repo_locking", 4, notAllowed("repo_locking")]], { policy: allowing("repo_locks") }],
      ["every restricted key of every project is reported", projects("- {dir: a, workflow: srv}", "- {dir: b, apply_requirements: [approved], silence_pr_comments: [apply]}"), [["projects[0].workflow", 3, notAllowed("workflow")], ["projects[1].apply_requirements", 4, notAllowed("apply_requirements")], ["projects[1].silence_pr_comments", 4, notAllowed("silence_pr_comments")]]],
    ]);
  });

  describe("restricted top-level keys (Atlantis ignores them silently; Atoll reports them)", () => {
    runInvalid([
      ["delete_source_branch_on_merge", yaml("version: 3", "delete_source_branch_on_merge: true"), [["delete_source_branch_on_merge", 2, notAllowed("delete_source_branch_on_merge")]]],
      ["repo_locks", yaml("version: 3", "repo_locks:", "  mode: disabled"), [["repo_locks", 2, notAllowed("repo_locks")]]],
      ["silence_pr_comments", yaml("version: 3", "silence_pr_comments: [apply]"), [["silence_pr_comments", 2, notAllowed("silence_pr_comments")]]],
    ]);
    runValid([
      ["delete_source_branch_on_merge allowed", yaml("version: 3", "delete_source_branch_on_merge: true", "projects: [{dir: a}]"), (l) => [l.config.deleteSourceBranchOnMerge, settings(l).deleteSourceBranchOnMerge], [true, true], { policy: allowing("delete_source_branch_on_merge") }],
      ["repo_locks allowed: applies to projects that set none", yaml("version: 3", "repo_locks: {mode: on_apply}", "projects: [{dir: a}, {dir: b, repo_locks: {mode: disabled}}]"), (l) => [settings(l, 0).repoLocks, settings(l, 1).repoLocks], ["on_apply", "disabled"], { policy: allowing("repo_locks") }],
      ["silence_pr_comments allowed: applies to projects that set none", yaml("version: 3", "silence_pr_comments: [apply]", "projects: [{dir: a}]"), (l) => settings(l).silencePrComments, ["apply"], { policy: allowing("silence_pr_comments") }],
      ["server's delete_source_branch_on_merge without a repo value", yaml("version: 3", "projects: [{dir: a}]"), (l) => settings(l).deleteSourceBranchOnMerge, true, { policy: policy("repos:", "- id: /.*/", "  delete_source_branch_on_merge: true") }],
    ]);
  });

  describe("workflows", () => {
    runInvalid([
      ["workflows: without allow_custom_workflows", yaml("version: 3", "workflows:", "  mine:", "    plan: {steps: [plan]}"), [["workflows", 2, CUSTOM_WF]]],
      ["a workflow that exists nowhere", project("workflow: nope"), [["projects[0].workflow", 4, 'workflow "nope" is not defined anywhere']], { policy: allowing("workflow") }],
      ["a workflow named like an Object method is not defined either", projects("- {dir: a, workflow: constructor}", "- {dir: b, workflow: toString}"), [["projects[0].workflow", 3, 'workflow "constructor" is not defined anywhere'], ["projects[1].workflow", 4, 'workflow "toString" is not defined anywhere']], { policy: allowing("workflow") }],
      ["a repo workflow needs allow_custom_workflows (one error, not 'not defined')", yaml("version: 3", "workflows:", "  mine: ~", "projects:", "- dir: a", "  workflow: mine"), [["workflows", 2, CUSTOM_WF]], { policy: allowing("workflow") }],
      ["allowed_workflows: a server workflow not in the list", project("workflow: other"), [["projects[0].workflow", 4, "workflow 'other' is not allowed for this repo"]], { policy: policy("repos:", "- id: /.*/", "  allowed_overrides: [workflow]", "  allowed_workflows: [srv]", "workflows:", "  srv: ~", "  other: ~") }],
      ["allowed_workflows: default is not special", project("workflow: default"), [["projects[0].workflow", 4, "workflow 'default' is not allowed for this repo"]], { policy: policy("repos:", "- id: /.*/", "  allowed_overrides: [workflow]", "  allowed_workflows: [srv]", "workflows:", "  srv: ~") }],
      ["allowed_workflows: checked for every project, also after one using a repo workflow (Atlantis stops)", yaml("version: 3", "workflows: {mine: ~}", "projects:", "- {dir: a, workflow: mine}", "- {dir: b, workflow: other}"), [["projects[1].workflow", 5, "workflow 'other' is not allowed for this repo"]], { policy: policy("repos:", "- id: /.*/", "  allowed_overrides: [workflow]", "  allow_custom_workflows: true", "  allowed_workflows: [srv]", "workflows:", "  srv: ~", "  other: ~") }],
    ]);
    runValid([
      ["workflows: {} without allow_custom_workflows (Atlantis only refuses a non-empty map)", yaml("version: 3", "workflows: {}"), (l) => Object.keys(repoOf(l).workflows), []],
      ["workflows: ~ without allow_custom_workflows", yaml("version: 3", "workflows:"), (l) => Object.keys(repoOf(l).workflows), []],
      ["a server workflow used by name", project("workflow: srv"), (l) => settings(l).workflow, { ...defaultWorkflow("srv"), plan: [run("srv-plan")] }, { policy: allowing("workflow") }],
      ["the server's workflow for projects that set none", projects("- dir: a"), (l) => settings(l).workflow.name, "srv", { policy: policy("repos:", "- id: /.*/", "  workflow: srv", "workflows:", "  srv: ~") }],
      ["a repo workflow when custom workflows are allowed", yaml("version: 3", "workflows:", "  mine:", "    apply: {steps: [{run: echo done}, apply]}", "projects:", "- {dir: a, workflow: mine}"), (l) => settings(l).workflow.apply, [run("echo done"), builtin("apply")], { policy: policy("repos:", "- id: /.*/", "  allowed_overrides: [workflow]", "  allow_custom_workflows: true") }],
      ["a repo workflow shadows a server one of the same name", yaml("version: 3", "workflows: {srv: {plan: {steps: []}}}", "projects: [{dir: a, workflow: srv}]"), (l) => settings(l).workflow.plan, [], { policy: policy("repos:", "- id: /.*/", "  allowed_overrides: [workflow]", "  allow_custom_workflows: true", "workflows:", "  srv: ~") }],
      ["allowed_workflows: a listed server workflow", project("workflow: srv"), (l) => settings(l).workflow.name, "srv", { policy: policy("repos:", "- id: /.*/", "  allowed_overrides: [workflow]", "  allowed_workflows: [srv]", "workflows:", "  srv: ~") }],
      ["allowed_workflows: repo workflows pass when custom workflows are allowed", yaml("version: 3", "workflows: {mine: ~}", "projects: [{dir: a, workflow: mine}]"), (l) => settings(l).workflow.name, "mine", { policy: policy("repos:", "- id: /.*/", "  allowed_overrides: [workflow]", "  allow_custom_workflows: true", "  allowed_workflows: [srv]", "workflows:", "  srv: ~") }],
      ["repo workflows without a project using them (custom allowed)", yaml("version: 3", "workflows: {mine: ~}"), (l) => Object.keys(l.config.workflows).sort(), ["default", "mine"], { policy: policy("repos:", "- id: /.*/", "  allow_custom_workflows: true") }],
    ]);
  });

  describe("policy_check and requirements", () => {
    runWarnings([
      ["policy_check without the override is ignored with a warning", project("policy_check: true"), [["projects[0].policy_check", 4, "Atoll has no policy checks"], ["projects[0].policy_check", 4, "is ignored: the server does not allow overriding 'policy_check'"]]],
    ]);
    runValid([
      ["explicit apply_requirements: [] overrides the server default when allowed", project("apply_requirements: []"), (l) => settings(l).applyRequirements, [], { policy: policy("repos:", "- id: /.*/", "  apply_requirements: [approved]", "  allowed_overrides: [apply_requirements]") }],
      ["no apply_requirements → the server's", project("name: x"), (l) => settings(l).applyRequirements, ["approved"], { policy: policy("repos:", "- id: /.*/", "  apply_requirements: [approved]", "  allowed_overrides: [apply_requirements]") }],
      ["server-wide applyRequirements option when no entry sets any", projects("- dir: a"), (l) => settings(l).applyRequirements, ["mergeable"], { applyRequirements: ["mergeable"] }],
      ["a repos entry's list replaces the server-wide option", projects("- dir: a"), (l) => settings(l).applyRequirements, ["approved", "undiverged"], { applyRequirements: ["mergeable"], policy: policy("repos:", "- id: /.*/", "  apply_requirements: [approved, undiverged]") }],
      ["import_requirements: [] clears the server's", project("import_requirements: []"), (l) => settings(l).importRequirements, [], { policy: policy("repos:", "- id: /.*/", "  import_requirements: [approved]", "  allowed_overrides: [import_requirements]") }],
    ]);
  });

  describe("repos[] entries matched by id and branch", () => {
    const byId = (id: string) => policy("repos:", `- id: ${id}`, "  allowed_overrides: [workflow]");
    runValid([
      ["exact owner/name id", project("workflow: default"), (l) => l.config.policy.allowedOverrides, ["workflow"], { policy: byId("acme/infra"), repo: { owner: "acme", name: "infra" } }],
      ["exact host/owner/name id", project("workflow: default"), (l) => l.config.policy.allowedOverrides, ["workflow"], { policy: byId("github.com/acme/infra"), repo: { owner: "acme", name: "infra" } }],
      ["exact id on a GHES host", project("workflow: default"), (l) => l.config.policy.allowedOverrides, ["workflow"], { policy: byId("ghe.example.com/acme/infra"), repo: { host: "ghe.example.com", owner: "acme", name: "infra" } }],
      ["exact id is case-insensitive", project("workflow: default"), (l) => l.config.policy.allowedOverrides, ["workflow"], { policy: byId("Acme/Infra"), repo: { owner: "acme", name: "infra" } }],
      ["regex id", project("workflow: default"), (l) => l.config.policy.allowedOverrides, ["workflow"], { policy: byId("/^github\\.com\\/acme\\//"), repo: { owner: "acme", name: "anything" } }],
      ["branch entry matching the base branch", project("workflow: default"), (l) => l.config.policy.allowedOverrides, ["workflow"], { policy: policy("repos:", "- id: /.*/", "  branch: /^main$/", "  allowed_overrides: [workflow]"), baseBranch: "main" }],
      ["last matching entry wins per key", project("name: x"), (l) => [l.config.policy.allowedOverrides, l.config.policy.applyRequirements], [["workflow"], ["approved"]], { policy: policy("repos:", "- id: /.*/", "  apply_requirements: [approved]", "  allowed_overrides: [apply_requirements]", "- id: acme/infra", "  allowed_overrides: [workflow]"), repo: { owner: "acme", name: "infra" } }],
      ["server autodiscover replaces the repo's entirely", yaml("version: 3", "autodiscover: {mode: enabled, ignore_paths: [x/**]}"), (l) => l.config.autodiscover, { mode: "disabled", ignorePaths: [] }, { policy: policy("repos:", "- id: /.*/", "  autodiscover: {mode: disabled}") }],
      ["a repo outside the allowlist is flagged, not an error", yaml("version: 3"), (l) => l.config.policy.allowed, false, { policy: policy("repo_allowlist: [github.com/acme/*]"), repo: { owner: "other", name: "infra" } }],
      ["a project for another branch is not checked against the policy", projects("- dir: a", "- dir: b", "  branch: /^prod$/", "  workflow: srv"), (l) => l.config.projects.map((p) => p.dir), ["a"], { baseBranch: "main" }],
    ]);
    runInvalid([
      ["exact id of another repo does not match", project("workflow: default"), [["projects[0].workflow", 4, notAllowed("workflow")]], { policy: byId("acme/infra"), repo: { owner: "acme", name: "other" } }],
      ["exact id without a known repo does not match", project("workflow: default"), [["projects[0].workflow", 4, notAllowed("workflow")]], { policy: byId("acme/infra") }],
      ["regex id not matching", project("workflow: default"), [["projects[0].workflow", 4, notAllowed("workflow")]], { policy: byId("/^github\\.com\\/acme\\//"), repo: { owner: "other", name: "infra" } }],
      ["branch entry, other base branch", project("workflow: default"), [["projects[0].workflow", 4, notAllowed("workflow")]], { policy: policy("repos:", "- id: /.*/", "  branch: /^main$/", "  allowed_overrides: [workflow]"), baseBranch: "dev" }],
      ["branch entry, base branch unknown", project("workflow: default"), [["projects[0].workflow", 4, notAllowed("workflow")]], { policy: policy("repos:", "- id: /.*/", "  branch: /^main$/", "  allowed_overrides: [workflow]") }],
      ["a later matching entry can take an override away", project("workflow: default"), [["projects[0].workflow", 4, notAllowed("workflow")]], { policy: policy("repos:", "- id: /.*/", "  allowed_overrides: [workflow]", "- id: acme/infra", "  allowed_overrides: []"), repo: { owner: "acme", name: "infra" } }],
    ]);
  });

  describe("all problems together, in file order", () => {
    runInvalid([
      [
        "parse errors and policy errors sorted by line",
        yaml(
          "version: 3", //                      1
          "workflows:", //                      2
          "  mine: ~", //                       3
          "projects:", //                       4
          "- dir: /abs", //                     5
          "  workflow: mine", //                6
          "- dir: b", //                        7
          "  apply_requirements: [approved]", // 8
          "  workspace: 'x y'", //              9
        ),
        [
          ["workflows", 2, CUSTOM_WF],
          ["projects[0].dir", 5, "must be a path relative to the repo root"],
          ["projects[0].workflow", 6, notAllowed("workflow")],
          ["projects[1].apply_requirements", 8, notAllowed("apply_requirements")],
          ["projects[1].workspace", 9, "invalid workspace"],
        ],
      ],
      [
        "policy errors alone are in file order too",
        yaml(
          "version: 3", //                      1
          "projects:", //                       2
          "- dir: a", //                        3
          "  workflow: default", //             4
          "silence_pr_comments: [plan]", //     5
          "workflows:", //                      6
          "  mine: ~", //                       7
        ),
        [
          ["projects[0].workflow", 4, notAllowed("workflow")],
          ["silence_pr_comments", 5, notAllowed("silence_pr_comments")],
          ["workflows", 6, CUSTOM_WF],
        ],
      ],
      [
        "a version error and a policy error",
        yaml("version: 9", "projects:", "- dir: a", "  workflow: default"),
        [
          ["version", 1, "only versions 2 and 3 are supported"],
          ["projects[0].workflow", 4, notAllowed("workflow")],
        ],
      ],
    ]);
    test("the file name option is used in every issue", () => {
      const errs = errorsOf(loadRepoConfig(yaml("version: 3", "workflows: {a: ~}", "automerge: x"), { fileName: "atoll.yaml" }));
      expect(errs.map((e) => [e.file, e.path, e.line])).toEqual([
        ["atoll.yaml", "workflows", 2],
        ["atoll.yaml", "automerge", 3],
      ]);
    });
  });
});
