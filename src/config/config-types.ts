/**
 * The shapes of Atoll's configuration after parsing and validation: the repo config
 * (`atoll.yaml` / `atlantis.yaml`, Atlantis v3 schema), workflows and their steps, and the
 * operator's server policy (Atlantis's `repos.yaml`). Parsers live next to this file
 * (`repo-config.ts`, `workflow-config.ts`, `server-policy.ts`); the rules that combine a repo
 * config with the server policy live in `apply-policy.ts`.
 *
 * Convention: an optional field that is `undefined` was not set in the file. The difference
 * matters — a repo that writes `apply_requirements: []` has *set* the key (that is how it opts
 * out of a server default, if the server allows the override), a repo that leaves it out has not.
 */
import type { Requirement } from "../runner/gates/apply-requirements.js";

export type { Requirement };

/** Where a problem is, and what it is. */
export interface ConfigIssue {
  file: string;
  message: string;
  /** Key path, e.g. "projects[1].dir"; absent for problems of the whole file. */
  path?: string;
  /** 1-based line. */
  line?: number;
}

// ---------------------------------------------------------------------------------------------
// Workflows
// ---------------------------------------------------------------------------------------------

/** Built-in steps: run terraform (or, for `show`, write the plan as JSON to `$SHOWFILE`). */
export type BuiltinStepName = "init" | "plan" | "apply" | "show" | "import" | "state_rm" | "policy_check";

export interface BuiltinStep {
  kind: "builtin";
  name: BuiltinStepName;
  /** Appended to terraform's argv, one element per argument; `$VAR`/`${VAR}` expanded from the step env. */
  extraArgs: string[];
}

/** What a `run` step's output does in the PR comment. */
export type RunOutputMode =
  | { mode: "show" }
  | { mode: "hide" }
  /** Drop terraform's "Refreshing state…" lines. */
  | { mode: "strip_refreshing" }
  /** Replace every match with `<redacted>` (in comments/check runs only). */
  | { mode: "filter_regex"; regex: string };

export interface RunStep {
  kind: "run";
  /** Shell command, run as `<shell> <...shellArgs> <command>`. */
  command: string;
  /** Default `[{ mode: "show" }]`. */
  output: RunOutputMode[];
  /** Default "sh". */
  shell: string;
  /** Default ["-c"]. */
  shellArgs: string[];
}

export interface EnvStep {
  kind: "env";
  name: string;
  /** Exactly one of value and command is set. */
  value?: string;
  command?: string;
  shell: string;
  shellArgs: string[];
}

export interface MultienvStep {
  kind: "multienv";
  /** Prints `A=1,B=2`; each pair becomes a variable for later steps. */
  command: string;
  output: "show" | "hide";
  shell: string;
  shellArgs: string[];
}

export type WorkflowStep = BuiltinStep | RunStep | EnvStep | MultienvStep;

export type StageName = "plan" | "apply" | "import" | "state_rm" | "policy_check";

/** A workflow with every stage resolved (defaults filled in): what runs for each command. */
export interface Workflow {
  name: string;
  plan: WorkflowStep[];
  apply: WorkflowStep[];
  import: WorkflowStep[];
  state_rm: WorkflowStep[];
  policy_check: WorkflowStep[];
}

// ---------------------------------------------------------------------------------------------
// Repo config
// ---------------------------------------------------------------------------------------------

export interface AutoplanConfig {
  enabled: boolean;
  /** .dockerignore-style patterns relative to the project dir; `[]` = never autoplan. */
  whenModified: string[];
}

export type RepoLocksMode = "disabled" | "on_plan" | "on_apply";
export type AutodiscoverMode = "auto" | "enabled" | "disabled";
export type SilenceableCommand = "plan" | "apply";
export type TerraformDistribution = "terraform" | "opentofu";

export interface AutodiscoverConfig {
  mode: AutodiscoverMode;
  /** Globs (repo-relative) of dirs never discovered. */
  ignorePaths: string[];
}

export interface ProjectConfig {
  /** Position in the file's `projects:` list (for messages: `projects[3].workflow`). */
  sourceIndex: number;
  /** "" if unset. */
  name: string;
  /** Normalised repo-relative POSIX dir ("." for the root); a glob pattern when `dirIsGlob`. */
  dir: string;
  /** `dir` is a glob: it stands for every matching directory that holds Terraform (expanded per checkout). */
  dirIsGlob?: boolean;
  workspace: string;
  /** `/regex/` source without the slashes; the project only exists for base branches it matches. */
  branch?: string;
  /** Ascending groups run one after another ("plan all" / "apply all"); default 0. */
  executionOrderGroup: number;
  /** Names of projects that must be applied before this one. */
  dependsOn: string[];
  autoplan: AutoplanConfig;
  planRequirements?: Requirement[];
  applyRequirements?: Requirement[];
  importRequirements?: Requirement[];
  terraformVersion?: string;
  terraformDistribution?: TerraformDistribution;
  /** Workflow name; must exist in the repo config or the server policy. */
  workflow?: string;
  deleteSourceBranchOnMerge?: boolean;
  repoLocks?: { mode: RepoLocksMode };
  silencePrComments?: SilenceableCommand[];
  /** Accepted for compatibility; Atoll has no policy checks. */
  policyCheck?: boolean;
  customPolicyCheck?: boolean;
}

export interface RepoConfig {
  version: 2 | 3;
  automerge?: boolean;
  autodiscover?: AutodiscoverConfig;
  deleteSourceBranchOnMerge?: boolean;
  parallelPlan?: boolean;
  parallelApply?: boolean;
  abortOnExecutionOrderFail: boolean;
  repoLocks?: { mode: RepoLocksMode };
  silencePrComments?: SilenceableCommand[];
  projects: ProjectConfig[];
  /** Workflows the repo defines (keyed by name), every stage resolved. */
  workflows: Record<string, Workflow>;
  /** Prefixes `-p` regexes must start with (only with regexp commands); [] = any. */
  allowedRegexpPrefixes: string[];
  /** Key paths the file sets, with their lines, for the server-policy check (`"projects[0].workflow" → 7`). */
  keyLines: Record<string, number | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Server policy (the operator's file, ATOLL_POLICY_FILE)
// ---------------------------------------------------------------------------------------------

/** Repo keys a server policy can let repos set (Atlantis's `allowed_overrides`). */
export type OverridableKey =
  | "plan_requirements"
  | "apply_requirements"
  | "import_requirements"
  | "workflow"
  | "delete_source_branch_on_merge"
  | "repo_locking"
  | "repo_locks"
  | "policy_check"
  | "custom_policy_check"
  | "silence_pr_comments";

export interface WorkflowHook {
  /** Shell command run in the repo root of the checkout. */
  run: string;
  description?: string;
  shell: string;
  shellArgs: string[];
  /** Commands it runs for (`plan`, `apply`, …); [] = every command, as in Atlantis. */
  commands: string[];
}

/** One `repos[]` entry as written (unset keys undefined). */
export interface RepoPolicyEntry {
  /** Exact `owner/repo` / `host/owner/repo`, or a `/regex/` source (then `idRegex` is set). */
  id: string;
  idRegex?: string;
  branch?: string;
  repoConfigFile?: string;
  planRequirements?: Requirement[];
  applyRequirements?: Requirement[];
  importRequirements?: Requirement[];
  workflow?: string;
  allowedOverrides?: OverridableKey[];
  allowedWorkflows?: string[];
  allowCustomWorkflows?: boolean;
  deleteSourceBranchOnMerge?: boolean;
  repoLocks?: { mode: RepoLocksMode };
  policyCheck?: boolean;
  customPolicyCheck?: boolean;
  autodiscover?: AutodiscoverConfig;
  silencePrComments?: SilenceableCommand[];
  preWorkflowHooks?: WorkflowHook[];
  postWorkflowHooks?: WorkflowHook[];
}

export interface ServerPolicy {
  /** Atlantis-style allowlist (`github.com/org/*`, `!` negation); undefined = not restricted by the file. */
  repoAllowlist?: string[];
  repos: RepoPolicyEntry[];
  /** Server-defined workflows; `default` here replaces the built-in default for everyone. */
  workflows: Record<string, Workflow>;
}

/** The policy that applies to one repo (and base branch): every matching entry merged, defaults filled. */
export interface RepoPolicy {
  /** Whether the repo allowlist admits the repo. */
  allowed: boolean;
  repoConfigFile?: string;
  planRequirements: Requirement[];
  applyRequirements: Requirement[];
  importRequirements: Requirement[];
  /** Default workflow name for projects that set none. */
  workflow: string;
  allowedOverrides: OverridableKey[];
  /** [] = any workflow. */
  allowedWorkflows: string[];
  allowCustomWorkflows: boolean;
  deleteSourceBranchOnMerge: boolean;
  repoLocks: { mode: RepoLocksMode };
  autodiscover?: AutodiscoverConfig;
  silencePrComments: SilenceableCommand[];
  preWorkflowHooks: WorkflowHook[];
  postWorkflowHooks: WorkflowHook[];
  /** Server workflows (built-in `default` included unless the server redefined it). */
  workflows: Record<string, Workflow>;
}
