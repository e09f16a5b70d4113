/**
 * Repo config × server policy: what a repo may set, and the settings each project ends up with.
 *
 * A repo config comes from the pull request itself, so anyone who can open a PR writes it. The
 * server policy (the operator's file) decides which keys a repo may override, as Atlantis's
 * repos.yaml does, with the same error texts:
 *
 * - restricted project keys (`workflow`, `plan_requirements`, `apply_requirements`,
 *   `import_requirements`, `delete_source_branch_on_merge`, `repo_locking`, `repo_locks`,
 *   `custom_policy_check`, `silence_pr_comments`) need `allowed_overrides: [<key>]`;
 * - the same keys at the top level need it too (Atlantis silently ignores them there; Atoll says so);
 * - `workflows:` (custom workflows run arbitrary commands on the server) needs
 *   `allow_custom_workflows: true`;
 * - a project's workflow must exist (repo workflows when allowed, then server workflows) and, with
 *   `allowed_workflows`, be one of them (repo-defined workflows pass when custom workflows are allowed);
 * - `policy_check` without the override is ignored with a warning (Atlantis ignores it silently).
 *
 * Then {@link projectSettings} gives any project — configured or discovered — its effective
 * workflow, requirements and lock mode: the project's own value when it set one (and was allowed
 * to), otherwise the server's.
 */
import { goRegExp } from "./yaml-reader.js";
import { minimatch } from "minimatch";
import { sameProject, type Project } from "../projects/project.js";
import type {
  AutodiscoverConfig,
  ConfigIssue,
  OverridableKey,
  ProjectConfig,
  RepoConfig,
  RepoLocksMode,
  RepoPolicy,
  Requirement,
  SilenceableCommand,
  TerraformDistribution,
  Workflow,
} from "./config-types.js";
import { DEFAULT_WHEN_MODIFIED } from "./repo-config.js";

/** Project keys a repo may only set when the server allows the override. */
const RESTRICTED_PROJECT_KEYS: readonly OverridableKey[] = [
  "workflow",
  "plan_requirements",
  "apply_requirements",
  "import_requirements",
  "delete_source_branch_on_merge",
  "repo_locking",
  "repo_locks",
  "custom_policy_check",
  "silence_pr_comments",
];
/** Top-level keys with the same restriction. */
const RESTRICTED_TOP_LEVEL_KEYS: readonly OverridableKey[] = ["delete_source_branch_on_merge", "repo_locks", "silence_pr_comments"];

/** A repo config combined with the server policy for one repo and base branch. */
export interface ResolvedRepoConfig {
  /** The config file it came from; undefined when the repo has none. */
  file?: string;
  /** The repo config as written; undefined when the repo has none. */
  repo?: RepoConfig;
  policy: RepoPolicy;
  automerge: boolean;
  /** The repo's `parallel_plan`, else the server's default (ATOLL_PARALLEL_PLAN; false for library callers). */
  parallelPlan: boolean;
  parallelApply: boolean;
  abortOnExecutionOrderFail: boolean;
  /** The server's autodiscover replaces the repo's entirely (Atlantis). */
  autodiscover: AutodiscoverConfig;
  deleteSourceBranchOnMerge: boolean;
  /** Configured projects for this base branch (glob dirs not yet expanded). */
  projects: ProjectConfig[];
  /** Workflows projects may use: the repo's (when allowed) over the server's. */
  workflows: Record<string, Workflow>;
}

/** What one project runs with. */
export interface ProjectSettings {
  workflow: Workflow;
  planRequirements: Requirement[];
  applyRequirements: Requirement[];
  importRequirements: Requirement[];
  terraformVersion?: string;
  terraformDistribution?: TerraformDistribution;
  repoLocks: RepoLocksMode;
  silencePrComments: SilenceableCommand[];
  executionOrderGroup: number;
  dependsOn: string[];
  deleteSourceBranchOnMerge: boolean;
  /** The configured project this came from; undefined for discovered or ad-hoc (`-d`) projects. */
  configured?: ProjectConfig;
}

function notAllowed(key: string): string {
  return `repo config not allowed to set '${key}' key: server-side config needs 'allowed_overrides: [${key}]'`;
}

/** Keys a project sets (from the parser's key lines), e.g. "projects[2].workflow" → "workflow". */
function setKeys(config: RepoConfig): { index?: number; key: string; path: string; line?: number }[] {
  return Object.entries(config.keyLines).map(([path, line]) => {
    const m = /^projects\[(\d+)\]\.(.+)$/.exec(path);
    return m ? { index: Number(m[1]), key: m[2], path, line } : { key: path, path, line };
  });
}

/** Problems with what the repo config sets under this policy (empty = allowed). */
export function policyErrors(config: RepoConfig, policy: RepoPolicy, file: string): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const issue = (path: string, line: number | undefined, message: string): ConfigIssue => ({
    file,
    message,
    path,
    ...(line !== undefined ? { line } : {}),
  });
  const allowed = new Set(policy.allowedOverrides);
  for (const { index, key, path, line } of setKeys(config)) {
    const restricted = index === undefined ? RESTRICTED_TOP_LEVEL_KEYS : RESTRICTED_PROJECT_KEYS;
    if ((restricted as readonly string[]).includes(key) && !allowed.has(key as OverridableKey)) {
      errors.push(issue(path, line, notAllowed(key)));
    }
  }
  const customWorkflows = Object.keys(config.workflows);
  // Like Atlantis, only a non-empty `workflows:` needs the permission (`workflows: {}` is fine).
  if (customWorkflows.length > 0 && !policy.allowCustomWorkflows) {
    errors.push(
      issue("workflows", config.keyLines.workflows, "repo config not allowed to define custom workflows: server-side config needs 'allow_custom_workflows: true'"),
    );
  }
  config.projects.forEach((project) => {
    const name = project.workflow;
    if (name === undefined || !allowed.has("workflow")) return;
    const path = `projects[${project.sourceIndex}].workflow`;
    const line = config.keyLines[path];
    const repoDefined = customWorkflows.includes(name);
    // A repo workflow without the permission: the custom-workflows error above says it all.
    if (repoDefined && !policy.allowCustomWorkflows) return;
    if (!repoDefined && !Object.hasOwn(policy.workflows, name)) {
      errors.push(issue(path, line, `workflow "${name}" is not defined anywhere`));
    } else if (!repoDefined && policy.allowedWorkflows.length > 0 && !policy.allowedWorkflows.includes(name)) {
      errors.push(issue(path, line, `workflow '${name}' is not allowed for this repo (allowed: ${policy.allowedWorkflows.join(", ")})`));
    }
  });
  return errors;
}

/** The policy-level warnings (ignored keys); kept apart so errors stay the only blocking list. */
export function policyWarnings(config: RepoConfig, policy: RepoPolicy, file: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const { index, key, path, line } of setKeys(config)) {
    if (index !== undefined && key === "policy_check" && !policy.allowedOverrides.includes("policy_check")) {
      out.push({ file, path, message: "is ignored: the server does not allow overriding 'policy_check'", ...(line !== undefined ? { line } : {}) });
    }
  }
  return out;
}

/** Whether a project exists for this base branch (its `branch` regex matches; unknown branch → kept). */
export function projectOnBranch(project: ProjectConfig, baseBranch: string | undefined): boolean {
  if (project.branch === undefined || baseBranch === undefined) return true;
  return goRegExp(project.branch).test(baseBranch);
}

/** Combine an already-validated repo config (or none) with the policy. Call {@link policyErrors} first. */
export function resolveRepoConfig(
  config: RepoConfig | undefined,
  policy: RepoPolicy,
  opts: { file?: string; baseBranch?: string; parallelPlanDefault?: boolean } = {},
): ResolvedRepoConfig {
  const workflows: Record<string, Workflow> = { ...policy.workflows };
  if (config && policy.allowCustomWorkflows) Object.assign(workflows, config.workflows);
  const allowed = new Set(policy.allowedOverrides);
  return {
    ...(opts.file !== undefined ? { file: opts.file } : {}),
    ...(config ? { repo: config } : {}),
    policy,
    automerge: config?.automerge ?? false,
    parallelPlan: config?.parallelPlan ?? opts.parallelPlanDefault ?? false,
    parallelApply: config?.parallelApply ?? false,
    abortOnExecutionOrderFail: config?.abortOnExecutionOrderFail ?? false,
    autodiscover: policy.autodiscover ?? config?.autodiscover ?? { mode: "auto", ignorePaths: [] },
    deleteSourceBranchOnMerge:
      (allowed.has("delete_source_branch_on_merge") ? config?.deleteSourceBranchOnMerge : undefined) ?? policy.deleteSourceBranchOnMerge,
    projects: (config?.projects ?? []).filter((p) => projectOnBranch(p, opts.baseBranch)),
    workflows,
  };
}

/** The configured project for a concrete project (a glob dir's expansion matches its pattern entry). */
export function configuredProject(resolved: ResolvedRepoConfig, project: Project): ProjectConfig | undefined {
  const exact = resolved.projects.find((p) => !p.dirIsGlob && sameProject({ name: p.name, dir: p.dir, workspace: p.workspace }, project));
  if (exact || project.name !== "") return exact;
  const glob = resolved.projects.find((p) => p.dirIsGlob && p.workspace === project.workspace && minimatch(project.dir, p.dir, { dot: true }));
  return glob ? expandGlobProject(glob, project.dir) : undefined;
}

/** Effective settings of a project: its own (allowed) values over the server's. */
export function projectSettings(resolved: ResolvedRepoConfig, project: Project, configured = configuredProject(resolved, project)): ProjectSettings {
  const { policy } = resolved;
  const allowed = new Set(policy.allowedOverrides);
  const own = <T>(key: OverridableKey, value: T | undefined): T | undefined => (allowed.has(key) ? value : undefined);
  const workflowName = own("workflow", configured?.workflow) ?? policy.workflow;
  // Own properties only: a workflow named "constructor" or "toString" must not find Object's.
  const lookup = (map: Record<string, Workflow>) => (Object.hasOwn(map, workflowName) ? map[workflowName] : undefined);
  const workflow = lookup(resolved.workflows) ?? lookup(policy.workflows) ?? policy.workflows.default;
  const topLocks = own("repo_locks", resolved.repo?.repoLocks?.mode);
  return {
    workflow,
    planRequirements: own("plan_requirements", configured?.planRequirements) ?? policy.planRequirements,
    applyRequirements: own("apply_requirements", configured?.applyRequirements) ?? policy.applyRequirements,
    importRequirements: own("import_requirements", configured?.importRequirements) ?? policy.importRequirements,
    ...(configured?.terraformVersion !== undefined ? { terraformVersion: configured.terraformVersion } : {}),
    ...(configured?.terraformDistribution !== undefined ? { terraformDistribution: configured.terraformDistribution } : {}),
    repoLocks:
      (own("repo_locks", configured?.repoLocks?.mode) ?? (allowed.has("repo_locking") ? configured?.repoLocks?.mode : undefined)) ??
      topLocks ??
      policy.repoLocks.mode,
    silencePrComments: own("silence_pr_comments", configured?.silencePrComments) ?? own("silence_pr_comments", resolved.repo?.silencePrComments) ?? policy.silencePrComments,
    executionOrderGroup: configured?.executionOrderGroup ?? 0,
    dependsOn: configured?.dependsOn ?? [],
    deleteSourceBranchOnMerge: own("delete_source_branch_on_merge", configured?.deleteSourceBranchOnMerge) ?? resolved.deleteSourceBranchOnMerge,
    ...(configured ? { configured } : {}),
  };
}

/** A configured project entry for a directory found by a glob `dir` (settings copied, name not). */
export function expandGlobProject(pattern: ProjectConfig, dir: string): ProjectConfig {
  const { dirIsGlob: _glob, ...rest } = pattern;
  return { ...rest, name: "", dir, autoplan: { ...pattern.autoplan, whenModified: [...(pattern.autoplan.whenModified ?? DEFAULT_WHEN_MODIFIED)] } };
}
