import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigIssue, RepoPolicyEntry, ServerPolicy, WorkflowHook } from "../../src/config/config-types.js";
import { defaultWorkflow } from "../../src/config/default-workflow.js";
import {
  allowlistAdmits,
  loadServerPolicyFile,
  parseServerPolicy,
  repoPolicyFor,
  type ParseServerPolicyResult,
} from "../../src/config/server-policy.js";

/** Join lines so tests can count them: line N of the file is element N-1. */
const yaml = (...lines: string[]) => lines.join("\n") + "\n";
const FILE = "/etc/atoll/repos.yaml";

function ok(result: ParseServerPolicyResult): { policy: ServerPolicy; warnings: ConfigIssue[] } {
  if (!result.ok) throw new Error(`expected ok, got errors: ${JSON.stringify(result.errors, null, 2)}`);
  return result;
}
function errors(result: ParseServerPolicyResult): ConfigIssue[] {
  if (result.ok) throw new Error(`expected errors, got policy: ${JSON.stringify(result.policy)}`);
  return result.errors;
}
const parse = (text: string) => parseServerPolicy(text, FILE);
/** The only repos[] entry of a valid file. */
function onlyEntry(text: string): RepoPolicyEntry {
  const { policy } = ok(parse(text));
  expect(policy.repos).toHaveLength(1);
  return policy.repos[0];
}

const hook = (run: string, extra: Partial<WorkflowHook> = {}): WorkflowHook => ({ run, shell: "sh", shellArgs: ["-c"], commands: [], ...extra });

// ---------------------------------------------------------------------------------------------
// Valid repos[] entries: each key, as stored (unset keys absent)
// ---------------------------------------------------------------------------------------------

const CUSTOM_WORKFLOWS = ["workflows:", "  custom:", "    plan:", "      steps: [init, plan]", "  other: ~"];

describe("parseServerPolicy: valid repos[] entries", () => {
  test.each<[string, string[], RepoPolicyEntry]>([
    ["exact owner/repo id; every other key unset", ["- id: acme/infra"], { id: "acme/infra" }],
    ["exact host/owner/repo id", ["- id: github.com/acme/infra"], { id: "github.com/acme/infra" }],
    ["regex id", ["- id: /.*/"], { id: "/.*/", idRegex: ".*" }],
    ["regex id with escaped slashes", ["- id: /github\\.com\\/acme\\/.*/"], { id: "/github\\.com\\/acme\\/.*/", idRegex: "github\\.com\\/acme\\/.*" }],
    ["quoted id keeps its case", ['- id: "GitHub.com/Acme/Infra"'], { id: "GitHub.com/Acme/Infra" }],
    ["branch regex", ["- id: acme/infra", "  branch: /^main$/"], { id: "acme/infra", branch: "^main$" }],
    ["repo_config_file in a subdirectory", ["- id: acme/infra", "  repo_config_file: config/atlantis.yaml"], { id: "acme/infra", repoConfigFile: "config/atlantis.yaml" }],
    ["repo_config_file with .yml and a ./ prefix", ["- id: acme/infra", "  repo_config_file: ./.atoll.yml"], { id: "acme/infra", repoConfigFile: ".atoll.yml" }],
    ["apply_requirements", ["- id: acme/infra", "  apply_requirements: [approved, mergeable]"], { id: "acme/infra", applyRequirements: ["approved", "mergeable"] }],
    ["explicit empty apply_requirements is a value", ["- id: acme/infra", "  apply_requirements: []"], { id: "acme/infra", applyRequirements: [] }],
    [
      "plan and import requirements",
      ["- id: acme/infra", "  plan_requirements: [undiverged]", "  import_requirements:", "  - approved"],
      { id: "acme/infra", planRequirements: ["undiverged"], importRequirements: ["approved"] },
    ],
    ["duplicate requirements are dropped", ["- id: acme/infra", "  apply_requirements: [mergeable, approved, mergeable]"], { id: "acme/infra", applyRequirements: ["mergeable", "approved"] }],
    ["workflow: default exists without being defined", ["- id: acme/infra", "  workflow: default"], { id: "acme/infra", workflow: "default" }],
    ["workflow defined in the file", ["- id: acme/infra", "  workflow: custom", ...CUSTOM_WORKFLOWS], { id: "acme/infra", workflow: "custom" }],
    ["workflow defined as `name: ~`", ["- id: acme/infra", "  workflow: other", ...CUSTOM_WORKFLOWS], { id: "acme/infra", workflow: "other" }],
    [
      "allowed_overrides",
      ["- id: acme/infra", "  allowed_overrides: [workflow, apply_requirements, repo_locks, silence_pr_comments]"],
      { id: "acme/infra", allowedOverrides: ["workflow", "apply_requirements", "repo_locks", "silence_pr_comments"] },
    ],
    ["allowed_workflows", ["- id: acme/infra", "  allowed_workflows: [default, custom, custom]", ...CUSTOM_WORKFLOWS], { id: "acme/infra", allowedWorkflows: ["default", "custom"] }],
    ["explicit empty allowed_workflows", ["- id: acme/infra", "  allowed_workflows: []"], { id: "acme/infra", allowedWorkflows: [] }],
    [
      "bools, including yaml 1.1 spellings",
      ["- id: acme/infra", "  allow_custom_workflows: true", "  delete_source_branch_on_merge: yes"],
      { id: "acme/infra", allowCustomWorkflows: true, deleteSourceBranchOnMerge: true },
    ],
    ["explicit false is a value", ["- id: acme/infra", "  allow_custom_workflows: false"], { id: "acme/infra", allowCustomWorkflows: false }],
    ["repo_locks mode", ["- id: acme/infra", "  repo_locks: {mode: on_apply}"], { id: "acme/infra", repoLocks: { mode: "on_apply" } }],
    ["deprecated repo_locking: false → disabled", ["- id: acme/infra", "  repo_locking: false"], { id: "acme/infra", repoLocks: { mode: "disabled" } }],
    ["deprecated repo_locking: true → on_plan", ["- id: acme/infra", "  repo_locking: true"], { id: "acme/infra", repoLocks: { mode: "on_plan" } }],
    ["repo_locks wins over repo_locking", ["- id: acme/infra", "  repo_locking: false", "  repo_locks:", "    mode: on_apply"], { id: "acme/infra", repoLocks: { mode: "on_apply" } }],
    [
      "policy_check and custom_policy_check are accepted",
      ["- id: acme/infra", "  policy_check: false", "  custom_policy_check: false"],
      { id: "acme/infra", policyCheck: false, customPolicyCheck: false },
    ],
    [
      "autodiscover with mode and ignore_paths",
      ["- id: acme/infra", "  autodiscover:", "    mode: enabled", "    ignore_paths: [modules/**, '!keep']"],
      { id: "acme/infra", autodiscover: { mode: "enabled", ignorePaths: ["modules/**", "!keep"] } },
    ],
    ["autodiscover mode defaults to auto", ["- id: acme/infra", "  autodiscover: {ignore_paths: [tmp/*]}"], { id: "acme/infra", autodiscover: { mode: "auto", ignorePaths: ["tmp/*"] } }],
    ["autodiscover disabled", ["- id: acme/infra", "  autodiscover: {mode: disabled}"], { id: "acme/infra", autodiscover: { mode: "disabled", ignorePaths: [] } }],
    ["silence_pr_comments", ["- id: acme/infra", "  silence_pr_comments: [apply]"], { id: "acme/infra", silencePrComments: ["apply"] }],
    ["hook with only run gets sh -c and every command", ["- id: acme/infra", "  pre_workflow_hooks:", "  - run: ./gen.sh"], { id: "acme/infra", preWorkflowHooks: [hook("./gen.sh")] }],
    [
      "hook with description, shell, string shellArgs and comma-separated commands",
      ["- id: acme/infra", "  pre_workflow_hooks:", "  - run: terragrunt-atlantis-config generate", "    description: Generate", "    shell: bash", "    shellArgs: -e  -c", "    commands: plan, apply"],
      {
        id: "acme/infra",
        preWorkflowHooks: [hook("terragrunt-atlantis-config generate", { description: "Generate", shell: "bash", shellArgs: ["-e", "-c"], commands: ["plan", "apply"] })],
      },
    ],
    [
      "hook with list shellArgs and list commands",
      ["- id: acme/infra", "  post_workflow_hooks:", "  - run: ./report.sh", "    shell: bash", "    shellArgs: [-eu, -c]", "    commands: [unlock, version, unlock]"],
      { id: "acme/infra", postWorkflowHooks: [hook("./report.sh", { shell: "bash", shellArgs: ["-eu", "-c"], commands: ["unlock", "version"] })] },
    ],
    ["hook with an empty commands string runs for every command", ["- id: acme/infra", "  pre_workflow_hooks: [{run: a, commands: ''}]"], { id: "acme/infra", preWorkflowHooks: [hook("a")] }],
    ["explicit empty hooks list", ["- id: acme/infra", "  pre_workflow_hooks: []"], { id: "acme/infra", preWorkflowHooks: [] }],
  ])("%s", (_name, lines, expected) => {
    expect(onlyEntry(yaml("repos:", ...lines))).toStrictEqual(expected);
  });
});

describe("parseServerPolicy: valid files", () => {
  test.each<[string, string]>([
    ["empty file", ""],
    ["only comments", "# nothing yet\n"],
    ["null repos and workflows", yaml("repos:", "workflows:")],
    ["empty repos list", yaml("repos: []")],
  ])("%s → no repos, no workflows, no allowlist", (_name, text) => {
    const { policy, warnings } = ok(parse(text));
    expect(policy.repos).toEqual([]);
    expect(Object.keys(policy.workflows)).toEqual([]);
    expect(policy.repoAllowlist).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  test("workflows are read with the repo-config workflow reader (defaults filled, steps parsed)", () => {
    const { policy } = ok(parse(yaml("workflows:", "  custom:", "    plan:", "      steps:", "      - run: echo hi", "      - plan: {extra_args: [-lock=false]}", "  empty: ~")));
    expect(Object.keys(policy.workflows).sort()).toEqual(["custom", "empty"]);
    expect(policy.workflows.custom.plan).toEqual([
      { kind: "run", command: "echo hi", output: [{ mode: "show" }], shell: "sh", shellArgs: ["-c"] },
      { kind: "builtin", name: "plan", extraArgs: ["-lock=false"] },
    ]);
    expect(policy.workflows.custom.apply).toEqual(defaultWorkflow().apply);
    expect(policy.workflows.empty).toEqual(defaultWorkflow("empty"));
  });

  test("entries keep file order", () => {
    const { policy } = ok(parse(yaml("repos:", "- id: /.*/", "- id: acme/a", "- id: acme/b")));
    expect(policy.repos.map((r) => r.id)).toEqual(["/.*/", "acme/a", "acme/b"]);
  });

  test("repo_allowlist with negation is stored as written (trimmed)", () => {
    const { policy, warnings } = ok(parse(yaml("repo_allowlist:", "- github.com/acme/*", "- ' !github.com/acme/sandbox'", "- other/repo")));
    expect(policy.repoAllowlist).toEqual(["github.com/acme/*", "!github.com/acme/sandbox", "other/repo"]);
    expect(warnings).toEqual([]);
  });

  test("an explicit empty repo_allowlist is a value (admits nothing)", () => {
    const { policy } = ok(parse(yaml("repo_allowlist: []")));
    expect(policy.repoAllowlist).toEqual([]);
  });

  test("Atlantis keys Atoll does not use are accepted with a warning each", () => {
    const { policy, warnings } = ok(
      parse(yaml("policies:", "  conftest_version: 0.46.0", "metrics:", "  prometheus: {endpoint: /metrics}", "team_authz: {command: x}", "external_stores: {}", "repos: [{id: acme/infra}]")),
    );
    expect(policy.repos).toEqual([{ id: "acme/infra" }]);
    expect(warnings.map((w) => [w.path, w.line])).toEqual([
      ["policies", 1],
      ["metrics", 3],
      ["team_authz", 5],
      ["external_stores", 6],
    ]);
    for (const w of warnings) expect(w.message).toContain("Atoll does not support");
    expect(warnings[0]).toMatchObject({ file: FILE });
  });

  test.each<[string, string[], [string, number, string][]]>([
    ["repo_locking is deprecated", ["repos:", "- id: a/b", "  repo_locking: false"], [["repos[0].repo_locking", 3, "is deprecated; use 'repo_locks"]]],
    ["repo_locking next to repo_locks is ignored", ["repos:", "- id: a/b", "  repo_locks: {mode: on_plan}", "  repo_locking: false"], [["repos[0].repo_locking", 4, "ignored here because 'repo_locks' is also set"]]],
    ["policy_check: true has no effect", ["repos:", "- id: a/b", "  policy_check: true"], [["repos[0].policy_check", 3, "Atoll has no policy checks"]]],
    ["an allowlist of only exclusions admits nothing", ["repo_allowlist: ['!a/b']"], [["repo_allowlist", 1, "admits no repo"]]],
    ["a second YAML document is ignored", ["repos: []", "---", "repos: [{id: a/b}]"], [[undefined as unknown as string, 2, "more than one YAML document"]]],
  ])("warning: %s", (_name, lines, expected) => {
    const { warnings } = ok(parse(yaml(...lines)));
    expect(warnings.map((w) => [w.path, w.line])).toEqual(expected.map(([p, l]) => [p, l]));
    warnings.forEach((w, i) => expect(w.message).toContain(expected[i][2]));
  });
});

// ---------------------------------------------------------------------------------------------
// Invalid files: path, line and message of every error
// ---------------------------------------------------------------------------------------------

describe("parseServerPolicy: invalid files", () => {
  // [name, lines, [[path, line, message fragment], ...]] — the full list of errors, in order.
  test.each<[string, string[], [string | undefined, number | undefined, string][]]>([
    ["root is a list", ["- id: a/b"], [[undefined, 1, "must be a mapping with 'repos' and 'workflows', got a list"]]],
    ["root is a scalar", ["just text"], [[undefined, 1, 'got string "just text"']]],
    ["unknown top-level key with did-you-mean", ["repo:", "- id: a/b"], [["repo", 1, "unknown key in the server policy; did you mean 'repos'?"]]],
    ["unknown top-level key `workflow`", ["repos: []", "workflow: {}"], [["workflow", 2, "did you mean 'workflows'?"]]],
    ["unknown top-level key far from any", ["repos: []", "frobnicate: 1"], [["frobnicate", 2, "allowed keys: repos, workflows, repo_allowlist, policies"]]],
    ["repos is a mapping", ["repos:", "  id: a/b"], [["repos", 1, "must be a list of repo entries (each with an 'id'), got a mapping"]]],
    ["repos item is a string", ["repos:", "- a/b"], [["repos[0]", 2, "must be a mapping with at least 'id', got string \"a/b\""]]],
    ["missing id points at the entry", ["repos:", "- id: a/b", "- branch: /main/", "  workflow: default"], [["repos[1].id", 3, "is required"]]],
    ["blank id", ["repos:", "- id: ''"], [["repos[0].id", 2, "cannot be empty"]]],
    ["id of one segment", ["repos:", "- id: infra"], [["repos[0].id", 2, 'must be "owner/repo", "host/owner/repo" or a regular expression']]],
    ["id with a wildcard (use a regex)", ["repos:", "- id: github.com/acme/*"], [["repos[0].id", 2, 'got "github.com/acme/*"']]],
    ["id with too many segments", ["repos:", "- id: a/b/c/d"], [["repos[0].id", 2, "must be \"owner/repo\""]]],
    ["id regex that does not compile", ["repos:", "- id: /(/"], [["repos[0].id", 2, "invalid regular expression /(/"]]],
    ["id starting with a slash but not a regex", ["repos:", "- id: /acme/infra"], [["repos[0].id", 2, "must be a regular expression between slashes"]]],
    ["id is a list", ["repos:", "- id: [a/b]"], [["repos[0].id", 2, "must be a string, got a list"]]],
    ["branch without slashes", ["repos:", "- id: a/b", "  branch: main"], [["repos[0].branch", 3, 'like "/main/", got "main"']]],
    ["branch regex that does not compile", ["repos:", "- id: a/b", "  branch: /[/"], [["repos[0].branch", 3, "invalid regular expression /[/"]]],
    ["repo_config_file absolute", ["repos:", "- id: a/b", "  repo_config_file: /etc/atlantis.yaml"], [["repos[0].repo_config_file", 3, "must not start with a slash '/'"]]],
    ["repo_config_file with ..", ["repos:", "- id: a/b", "  repo_config_file: ../other/atlantis.yaml"], [["repos[0].repo_config_file", 3, "must not contain parent directory segments '..'"]]],
    ["repo_config_file with .. in the middle", ["repos:", "- id: a/b", "  repo_config_file: a/../../x.yml"], [["repos[0].repo_config_file", 3, "'..'"]]],
    ["repo_config_file not yaml", ["repos:", "- id: a/b", "  repo_config_file: atlantis.json"], [["repos[0].repo_config_file", 3, "must be a YAML file ending in .yaml or .yml"]]],
    [
      "repo_config_file absolute and not yaml: both reported",
      ["repos:", "- id: a/b", "  repo_config_file: /x.txt"],
      [
        ["repos[0].repo_config_file", 3, "must not start with a slash"],
        ["repos[0].repo_config_file", 3, "ending in .yaml or .yml"],
      ],
    ],
    [
      "unknown apply requirement (Atlantis's message)",
      ["repos:", "- id: a/b", "  apply_requirements:", "  - approved", "  - reviewed"],
      [["repos[0].apply_requirements[1]", 5, '"reviewed" is not a valid apply_requirement, only "approved", "mergeable" and "undiverged" are supported']],
    ],
    ["unknown plan requirement", ["repos:", "- id: a/b", "  plan_requirements: [approve]"], [["repos[0].plan_requirements[0]", 3, '"approve" is not a valid plan_requirement, only']]],
    ["unknown import requirement", ["repos:", "- id: a/b", "  import_requirements: [x]"], [["repos[0].import_requirements[0]", 3, '"x" is not a valid import_requirement']]],
    ["requirements as a string", ["repos:", "- id: a/b", "  apply_requirements: approved"], [["repos[0].apply_requirements", 3, 'must be a list of approved/mergeable/undiverged, got string "approved"']]],
    ["workflow not defined", ["repos:", "- id: a/b", "  workflow: custom"], [["repos[0].workflow", 3, 'workflow "custom" is not defined; the workflows defined in this file are "default"']]],
    ["workflow is a list", ["repos:", "- id: a/b", "  workflow: [default]"], [["repos[0].workflow", 3, "must be a string, got a list"]]],
    [
      "unknown allowed override lists the valid ones",
      ["repos:", "- id: a/b", "  allowed_overrides: [workflow, automerge]"],
      [["repos[0].allowed_overrides[1]", 3, '"automerge" is not a valid override, only "plan_requirements", "apply_requirements", "import_requirements", "workflow", "delete_source_branch_on_merge", "repo_locking", "repo_locks", "policy_check", "custom_policy_check" and "silence_pr_comments" are supported']],
    ],
    ["allowed_overrides as a string", ["repos:", "- id: a/b", "  allowed_overrides: workflow"], [["repos[0].allowed_overrides", 3, "must be a list of"]]],
    [
      "allowed_workflows names a workflow that does not exist",
      ["repos:", "- id: a/b", "  allowed_workflows:", "  - default", "  - ghost", ...CUSTOM_WORKFLOWS],
      [["repos[0].allowed_workflows[1]", 5, 'workflow "ghost" is not defined; the workflows defined in this file are "default", "custom", "other"']],
    ],
    ["allow_custom_workflows not a bool", ["repos:", "- id: a/b", "  allow_custom_workflows: maybe"], [["repos[0].allow_custom_workflows", 3, 'must be true or false, got string "maybe"']]],
    ["delete_source_branch_on_merge not a bool", ["repos:", "- id: a/b", "  delete_source_branch_on_merge: 1"], [["repos[0].delete_source_branch_on_merge", 3, "must be true or false, got number 1"]]],
    ["repo_locking not a bool", ["repos:", "- id: a/b", "  repo_locking: [x]"], [["repos[0].repo_locking", 3, "must be true or false, got a list"]]],
    ["policy_check not a bool", ["repos:", "- id: a/b", "  policy_check: sometimes"], [["repos[0].policy_check", 3, "must be true or false"]]],
    ["repo_locks unknown mode", ["repos:", "- id: a/b", "  repo_locks:", "    mode: always"], [["repos[0].repo_locks.mode", 4, 'must be one of "disabled", "on_plan", "on_apply", got "always"']]],
    ["repo_locks as a string", ["repos:", "- id: a/b", "  repo_locks: disabled"], [["repos[0].repo_locks", 3, "must be a mapping like {mode: on_plan}"]]],
    ["repo_locks without mode", ["repos:", "- id: a/b", "  repo_locks: {}"], [["repos[0].repo_locks.mode", 3, "is required"]]],
    ["repo_locks unknown key", ["repos:", "- id: a/b", "  repo_locks:", "    mode: on_plan", "    mdoe: x"], [["repos[0].repo_locks.mdoe", 5, "unknown key in repo_locks; did you mean 'mode'?"]]],
    ["autodiscover unknown mode", ["repos:", "- id: a/b", "  autodiscover: {mode: sometimes}"], [["repos[0].autodiscover.mode", 3, 'must be one of "auto", "enabled", "disabled"']]],
    [
      "autodiscover ignore_paths starting with /",
      ["repos:", "- id: a/b", "  autodiscover:", "    ignore_paths:", "    - ok/*", "    - /abs/*"],
      [["repos[0].autodiscover.ignore_paths[1]", 6, "must not start with a slash '/'"]],
    ],
    ["autodiscover ignore_paths malformed glob", ["repos:", "- id: a/b", "  autodiscover: {ignore_paths: ['[abc']}"], [["repos[0].autodiscover.ignore_paths[0]", 3, "unclosed '['"]]],
    ["autodiscover not a mapping", ["repos:", "- id: a/b", "  autodiscover: enabled"], [["repos[0].autodiscover", 3, "must be a mapping with 'mode' and 'ignore_paths'"]]],
    ["silence_pr_comments unknown command", ["repos:", "- id: a/b", "  silence_pr_comments: [plan, import]"], [["repos[0].silence_pr_comments[1]", 3, '"import" is not a valid value for silence_pr_comments, only "plan" and "apply" are supported']]],
    ["hook without run", ["repos:", "- id: a/b", "  pre_workflow_hooks:", "  - description: gen"], [["repos[0].pre_workflow_hooks[0].run", 4, "is required"]]],
    ["hook with a blank run", ["repos:", "- id: a/b", "  post_workflow_hooks:", "  - run: '  '"], [["repos[0].post_workflow_hooks[0].run", 4, "cannot be empty"]]],
    [
      "hook with a bad command in a comma-separated string",
      ["repos:", "- id: a/b", "  pre_workflow_hooks:", "  - run: x", "    commands: plan, destroy"],
      [["repos[0].pre_workflow_hooks[0].commands", 5, '"destroy" is not a valid hook command, only "plan", "apply", "unlock" and "version" are supported']],
    ],
    [
      "hook with a bad command in a list",
      ["repos:", "- id: a/b", "  pre_workflow_hooks:", "  - run: x", "    commands:", "    - plan", "    - import"],
      [["repos[0].pre_workflow_hooks[0].commands[1]", 7, '"import" is not a valid hook command']],
    ],
    ["hook commands as a mapping", ["repos:", "- id: a/b", "  pre_workflow_hooks: [{run: x, commands: {plan: true}}]"], [["repos[0].pre_workflow_hooks[0].commands", 3, 'a comma-separated string like "plan, apply"']]],
    ["hook shellArgs without shell", ["repos:", "- id: a/b", "  pre_workflow_hooks:", "  - run: x", "    shellArgs: -c"], [["repos[0].pre_workflow_hooks[0].shellArgs", 5, "requires 'shell' to be set as well"]]],
    ["hook unknown key with did-you-mean", ["repos:", "- id: a/b", "  pre_workflow_hooks:", "  - run: x", "    shel: bash"], [["repos[0].pre_workflow_hooks[0].shel", 5, "unknown key in a workflow hook; did you mean 'shell'?"]]],
    ["hooks not a list", ["repos:", "- id: a/b", "  pre_workflow_hooks: {run: x}"], [["repos[0].pre_workflow_hooks", 3, "must be a list of hooks"]]],
    ["hook is a string", ["repos:", "- id: a/b", "  pre_workflow_hooks: [./gen.sh]"], [["repos[0].pre_workflow_hooks[0]", 3, "must be a mapping with 'run'"]]],
    ["unknown repo key with did-you-mean", ["repos:", "- id: a/b", "  apply_requirement: [approved]"], [["repos[0].apply_requirement", 3, "unknown key in a repos entry; did you mean 'apply_requirements'?"]]],
    ["repo_allowlist pattern with a scheme", ["repo_allowlist:", "- github.com/ok/*", "- https://github.com/acme/*"], [["repo_allowlist[1]", 3, 'cannot contain "://": use hostnames only']]],
    ["repo_allowlist is a string", ["repo_allowlist: github.com/acme/*"], [["repo_allowlist", 1, "must be a list of repo patterns"]]],
    ["repo_allowlist bare negation", ["repo_allowlist: [a/b, '!']"], [["repo_allowlist[1]", 1, "cannot be empty"]]],
    ["workflows is a list", ["workflows: [custom]"], [["workflows", 1, "must be a mapping of workflow names to workflows"]]],
    [
      "broken workflow step is reported, and references to it are not",
      ["workflows:", "  custom:", "    plan:", "      steps: [bogus]", "repos:", "- id: a/b", "  workflow: custom"],
      [["workflows.custom.plan.steps[0]", 4, '"bogus" is not a valid step type']],
    ],
  ])("%s", (_name, lines, expected) => {
    const errs = errors(parse(yaml(...lines)));
    expect(errs.map((e) => [e.path, e.line])).toEqual(expected.map(([p, l]) => [p, l]));
    errs.forEach((e, i) => {
      expect(e.file).toBe(FILE);
      expect(e.message).toContain(expected[i][2]);
    });
  });

  test("every problem is reported at once, across keys and entries, in file order", () => {
    const text = yaml(
      "repo_allowlist: ['https://x/y']", // 1
      "repos:", // 2
      "- id: ''", // 3
      "  branch: main", // 4
      "  apply_requirements: [approved, nope]", // 5
      "- id: acme/infra", // 6
      "  workflow: ghost", // 7
      "  allowed_overrides: [automerge]", // 8
      "  repo_config_file: ../x.yaml", // 9
      "  pre_workflow_hooks:", // 10
      "  - commands: plan", // 11
      "  colour: blue", // 12
      "metrcs: {}", // 13
    );
    const errs = errors(parse(text));
    expect(errs.map((e) => [e.path, e.line])).toEqual([
      ["metrcs", 13],
      ["repo_allowlist[0]", 1],
      ["repos[0].id", 3],
      ["repos[0].branch", 4],
      ["repos[0].apply_requirements[1]", 5],
      ["repos[1].colour", 12],
      ["repos[1].repo_config_file", 9],
      ["repos[1].workflow", 7],
      ["repos[1].allowed_overrides[0]", 8],
      ["repos[1].pre_workflow_hooks[0].run", 11],
    ]);
    expect(errs[0].message).toContain("did you mean 'metrics'?");
  });

  test.each<[string, string, number]>([
    ["bad indentation", yaml("repos:", "  - id: a/b", "   branch: /x/"), 3],
    ["duplicate key", yaml("repos:", "- id: a/b", "  id: c/d"), 3],
    ["unterminated flow sequence", yaml("repo_allowlist: [a/b", "repos: []"), 2],
  ])("invalid YAML (%s) is one error with its line", (_name, text, line) => {
    const errs = errors(parse(text));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ file: FILE, line });
    expect(errs[0].message).toMatch(/^invalid YAML: /);
    expect(errs[0].path).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Allowlist matching
// ---------------------------------------------------------------------------------------------

describe("allowlistAdmits", () => {
  const repo = { host: "github.com", owner: "Acme", name: "Infra" };
  test.each<[string, string[] | undefined, boolean]>([
    ["no list: everything", undefined, true],
    ["empty list: nothing", [], false],
    ["exact host/owner/repo", ["github.com/acme/infra"], true],
    ["exact owner/repo", ["acme/infra"], true],
    ["case-insensitive", ["GITHUB.COM/ACME/INFRA"], true],
    ["org wildcard", ["github.com/acme/*"], true],
    ["host wildcard spans slashes", ["github.com/*"], true],
    ["star alone", ["*"], true],
    ["infix wildcard", ["github.com/acme/inf*a"], true],
    ["other org", ["github.com/other/*"], false],
    ["other host", ["ghe.example.com/acme/*"], false],
    ["prefix is not enough without a wildcard", ["github.com/acme/inf"], false],
    ["negation after inclusion excludes", ["github.com/acme/*", "!github.com/acme/infra"], false],
    ["negation before inclusion still excludes (Atlantis)", ["!acme/infra", "github.com/acme/*"], false],
    ["negation of another repo leaves this one", ["github.com/acme/*", "!github.com/acme/sandbox"], true],
    ["negation with a wildcard", ["*", "!github.com/acme/inf*"], false],
    ["only negations admit nothing", ["!github.com/other/*"], false],
    ["dots are literal", ["github.com/acme/infr."], false],
  ])("%s", (_name, list, expected) => {
    expect(allowlistAdmits(list, repo)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// repoPolicyFor: Atlantis's merge
// ---------------------------------------------------------------------------------------------

describe("repoPolicyFor", () => {
  const repo = { host: "github.com", owner: "acme", name: "infra", baseBranch: "main" };
  const defaults = { applyRequirements: ["mergeable" as const] };
  const policyOf = (...lines: string[]) => ok(parse(yaml(...lines))).policy;

  test("no policy: the implicit first entry, with the server's apply requirements", () => {
    const result = repoPolicyFor(undefined, repo, defaults);
    expect(result).toStrictEqual({
      allowed: true,
      planRequirements: [],
      applyRequirements: ["mergeable"],
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
      workflows: { default: defaultWorkflow() },
    });
    expect(result.repoConfigFile).toBeUndefined();
    expect(result.autodiscover).toBeUndefined();
  });

  test("the result does not alias the defaults", () => {
    const result = repoPolicyFor(undefined, repo, defaults);
    result.applyRequirements.push("approved");
    expect(defaults.applyRequirements).toEqual(["mergeable"]);
  });

  test("a policy with no matching entry leaves the defaults", () => {
    const policy = policyOf("repos:", "- id: other/repo", "  apply_requirements: [approved]", "  workflow: default");
    const result = repoPolicyFor(policy, repo, defaults);
    expect(result.applyRequirements).toEqual(["mergeable"]);
    expect(result.allowedOverrides).toEqual([]);
  });

  test.each<[string, string, boolean]>([
    ["exact owner/repo", "acme/infra", true],
    ["exact host/owner/repo", "github.com/acme/infra", true],
    ["exact id is case-insensitive", "GitHub.com/ACME/Infra", true],
    ["exact id of another repo", "acme/infra2", false],
    ["exact id on another host", "ghe.acme.io/acme/infra", false],
    ["regex against host/owner/repo", "/^github\\.com\\/acme\\//", true],
    ["regex .*", "/.*/", true],
    ["unanchored regex matches a substring", "/infra/", true],
    ["regex that does not match", "/^acme\\/infra$/", false],
    ["regex is case-sensitive, as in Atlantis", "/ACME/", false],
  ])("id match: %s", (_name, id, matches) => {
    const policy = policyOf("repos:", `- id: '${id}'`, "  apply_requirements: [approved]");
    expect(repoPolicyFor(policy, repo, defaults).applyRequirements).toEqual(matches ? ["approved"] : ["mergeable"]);
  });

  test("several matching entries: each overrides only the keys it sets, last match wins per key", () => {
    const policy = policyOf(
      "repos:",
      "- id: /.*/",
      "  apply_requirements: [approved, mergeable]",
      "  allowed_overrides: [workflow]",
      "  repo_locks: {mode: on_apply}",
      "  pre_workflow_hooks: [{run: ./all.sh}]",
      "- id: github.com/acme/infra",
      "  apply_requirements: [undiverged]",
      "  allow_custom_workflows: true",
      "- id: other/repo",
      "  workflow: custom",
      "- id: /acme/",
      "  allowed_overrides: [apply_requirements, workflow]",
      "  silence_pr_comments: [plan]",
      "  repo_config_file: infra.yaml",
      "workflows:",
      "  custom: ~",
    );
    const result = repoPolicyFor(policy, repo, defaults);
    expect(result).toMatchObject({
      applyRequirements: ["undiverged"],
      planRequirements: [],
      allowedOverrides: ["apply_requirements", "workflow"],
      allowCustomWorkflows: true,
      repoLocks: { mode: "on_apply" },
      workflow: "default",
      silencePrComments: ["plan"],
      repoConfigFile: "infra.yaml",
      preWorkflowHooks: [hook("./all.sh")],
    });
  });

  test("an explicit [] in a later entry clears an earlier list", () => {
    const policy = policyOf("repos:", "- id: /.*/", "  apply_requirements: [approved]", "  pre_workflow_hooks: [{run: x}]", "- id: acme/infra", "  apply_requirements: []", "  pre_workflow_hooks: []");
    const result = repoPolicyFor(policy, repo, defaults);
    expect(result.applyRequirements).toEqual([]);
    expect(result.preWorkflowHooks).toEqual([]);
  });

  test("repo_locking: false in a later entry disables repo locks", () => {
    const policy = policyOf("repos:", "- id: /.*/", "  repo_locks: {mode: on_apply}", "- id: acme/infra", "  repo_locking: false");
    expect(repoPolicyFor(policy, repo, defaults).repoLocks).toEqual({ mode: "disabled" });
  });

  test.each<[string, string | undefined, boolean]>([
    ["branch matches", "main", true],
    ["branch does not match", "develop", false],
    ["base branch unknown: branch-restricted entries do not match", undefined, false],
  ])("branch-restricted entry: %s", (_name, baseBranch, matches) => {
    const policy = policyOf("repos:", "- id: /.*/", "  workflow: default", "- id: acme/infra", "  branch: /^main$/", "  apply_requirements: [approved]", "  workflow: strict", "workflows:", "  strict: ~");
    const result = repoPolicyFor(policy, { ...repo, baseBranch }, defaults);
    expect(result.applyRequirements).toEqual(matches ? ["approved"] : ["mergeable"]);
    expect(result.workflow).toBe(matches ? "strict" : "default");
  });

  test("entries without branch match whatever the base branch (and when it is unknown)", () => {
    const policy = policyOf("repos:", "- id: acme/infra", "  delete_source_branch_on_merge: true");
    expect(repoPolicyFor(policy, { host: "github.com", owner: "acme", name: "infra" }, defaults).deleteSourceBranchOnMerge).toBe(true);
  });

  test("workflows: the built-in default plus the server's", () => {
    const policy = policyOf("workflows:", "  custom:", "    apply: {steps: [{run: echo done}, apply]}");
    const result = repoPolicyFor(policy, repo, defaults);
    expect(Object.keys(result.workflows).sort()).toEqual(["custom", "default"]);
    expect(result.workflows.default).toEqual(defaultWorkflow());
    expect(result.workflows.custom.apply).toHaveLength(2);
  });

  test("a server-defined default workflow replaces the built-in", () => {
    const policy = policyOf("workflows:", "  default:", "    plan:", "      steps: [{run: terragrunt plan}]");
    const result = repoPolicyFor(policy, repo, defaults);
    expect(Object.keys(result.workflows)).toEqual(["default"]);
    expect(result.workflows.default.plan).toEqual([{ kind: "run", command: "terragrunt plan", output: [{ mode: "show" }], shell: "sh", shellArgs: ["-c"] }]);
    expect(result.workflows.default.apply).toEqual(defaultWorkflow().apply);
  });

  test.each<[string, string[], boolean]>([
    ["no allowlist in the file: allowed", ["repos: []"], true],
    ["allowlist admits the org", ["repo_allowlist: [github.com/acme/*]"], true],
    ["allowlist excludes the repo", ["repo_allowlist: [github.com/acme/*, '!acme/infra']"], false],
    ["allowlist of another org", ["repo_allowlist: [other/*]"], false],
  ])("allowed: %s", (_name, lines, allowed) => {
    expect(repoPolicyFor(policyOf(...lines), repo, defaults).allowed).toBe(allowed);
  });

  test("autodiscover from the last matching entry replaces earlier ones entirely", () => {
    const policy = policyOf("repos:", "- id: /.*/", "  autodiscover: {mode: enabled, ignore_paths: [a/*]}", "- id: acme/infra", "  autodiscover: {mode: disabled}");
    expect(repoPolicyFor(policy, repo, defaults).autodiscover).toEqual({ mode: "disabled", ignorePaths: [] });
  });
});

// ---------------------------------------------------------------------------------------------
// loadServerPolicyFile
// ---------------------------------------------------------------------------------------------

describe("loadServerPolicyFile", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "atoll-policy-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("reads and parses the file, issues naming the path", async () => {
    const path = join(dir, "repos.yaml");
    await writeFile(path, yaml("repos:", "- id: acme/infra", "  repo_locking: false"));
    const { policy, warnings } = ok(await loadServerPolicyFile(path));
    expect(policy.repos).toEqual([{ id: "acme/infra", repoLocks: { mode: "disabled" } }]);
    expect(warnings).toEqual([expect.objectContaining({ file: path, path: "repos[0].repo_locking", line: 3 })]);
  });

  test("validation errors name the path", async () => {
    const path = join(dir, "bad.yaml");
    await writeFile(path, yaml("repos:", "- id: acme/infra", "  workflow: nope"));
    expect(errors(await loadServerPolicyFile(path))).toEqual([expect.objectContaining({ file: path, path: "repos[0].workflow", line: 3 })]);
  });

  test("a missing file is an error naming the path", async () => {
    const path = join(dir, "missing.yaml");
    const errs = errors(await loadServerPolicyFile(path));
    expect(errs).toEqual([{ file: path, message: `cannot read the server policy file ${path}: the file does not exist` }]);
  });

  test("a directory is an error naming the path", async () => {
    const errs = errors(await loadServerPolicyFile(dir));
    expect(errs).toHaveLength(1);
    expect(errs[0].file).toBe(dir);
    expect(errs[0].message).toContain(`cannot read the server policy file ${dir}`);
  });
});
