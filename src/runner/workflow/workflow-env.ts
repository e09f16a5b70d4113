/**
 * The variables Atlantis documents for a workflow's `run`, `env` and `multienv` steps (and that
 * Atoll also passes to its built-in terraform steps), built from what the command knows about the
 * pull request and the project. Pure: the caller gathers the facts, this only names them.
 *
 * | Variable | Value |
 * |---|---|
 * | WORKSPACE | Terraform workspace of the project |
 * | ATLANTIS_TERRAFORM_VERSION | the project's terraform version (only when known) |
 * | DIR | absolute path of the project directory in the checkout |
 * | PLANFILE, SHOWFILE, POLICYCHECKFILE | where the plan, its JSON form and policy output go |
 * | BASE_REPO_NAME, BASE_REPO_OWNER | the repository the PR merges into |
 * | HEAD_REPO_NAME, HEAD_REPO_OWNER | where the PR's branch lives (a fork, or the base repo) |
 * | HEAD_BRANCH_NAME, HEAD_COMMIT, BASE_BRANCH_NAME | branches and the head SHA |
 * | PROJECT_NAME | project name, "" when unnamed |
 * | PULL_NUM, PULL_URL, PULL_AUTHOR | the pull request |
 * | REPO_REL_DIR | project dir relative to the repo root ("." for the root) |
 * | USER_NAME | who ran the command |
 * | COMMENT_ARGS | the comment's `-- …` args, Atlantis-escaped (see `escapeCommentArgs`) |
 * | ATLANTIS_PR_APPROVED, ATLANTIS_PR_MERGEABLE | "true"/"false", only when known |
 */

export interface WorkflowEnvInput {
  /** Project name from the repo config; "" for unnamed projects. */
  projectName: string;
  /** Repo-relative project dir ("." for the root). */
  projectDir: string;
  /** Absolute path of the project dir in the checkout. */
  absoluteDir: string;
  workspace: string;
  /** The base repository (where the PR merges into). */
  repoOwner: string;
  repoName: string;
  /** The repository holding the PR's head branch (the fork, or the base repo). */
  headRepoOwner: string;
  headRepoName: string;
  headBranch: string;
  baseBranch: string;
  /** Head commit SHA. */
  headCommit: string;
  pullNumber: number;
  /** Web URL of the pull request. */
  pullUrl: string;
  /** Login of the PR's author. */
  pullAuthor: string;
  /** Login of the user who ran the command (the PR author for autoplan). */
  user: string;
  /** Arguments after `--` in the comment, as given. */
  commentArgs: string[];
  /** The project's terraform version, when known (set as ATLANTIS_TERRAFORM_VERSION). */
  terraformVersion?: string;
  /** Absolute path of the plan file. */
  planFile: string;
  /** Absolute path of the plan's JSON form. */
  showFile: string;
  /** Absolute path of policy-check output; default: the plan file with `.tfplan` replaced by `-policyout.json`. */
  policyCheckFile?: string;
  /** Whether the PR is approved, when known. */
  approved?: boolean;
  /** Whether the PR is mergeable, when known. */
  mergeable?: boolean;
}

/**
 * Atlantis's COMMENT_ARGS format: every character of each argument prefixed with a backslash (so a
 * shell that word-splits the value cannot be tricked by it), the arguments joined with commas.
 * `["-target=a b", "-lock"]` → `\-\t\a\r\g\e\t\=\a\ \b,\-\l\o\c\k`. Characters are Unicode code
 * points (Atlantis escapes bytes, which splits multi-byte characters).
 */
export function escapeCommentArgs(args: readonly string[]): string {
  return args.map((arg) => [...arg].map((ch) => `\\${ch}`).join("")).join(",");
}

function defaultPolicyCheckFile(planFile: string): string {
  return planFile.endsWith(".tfplan") ? `${planFile.slice(0, -".tfplan".length)}-policyout.json` : `${planFile}-policyout.json`;
}

/** The environment variables for one project's workflow steps. */
export function workflowEnv(input: WorkflowEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    WORKSPACE: input.workspace,
    DIR: input.absoluteDir,
    PLANFILE: input.planFile,
    SHOWFILE: input.showFile,
    POLICYCHECKFILE: input.policyCheckFile ?? defaultPolicyCheckFile(input.planFile),
    BASE_REPO_NAME: input.repoName,
    BASE_REPO_OWNER: input.repoOwner,
    HEAD_REPO_NAME: input.headRepoName,
    HEAD_REPO_OWNER: input.headRepoOwner,
    HEAD_BRANCH_NAME: input.headBranch,
    HEAD_COMMIT: input.headCommit,
    BASE_BRANCH_NAME: input.baseBranch,
    PROJECT_NAME: input.projectName,
    PULL_NUM: String(input.pullNumber),
    PULL_URL: input.pullUrl,
    PULL_AUTHOR: input.pullAuthor,
    REPO_REL_DIR: input.projectDir,
    USER_NAME: input.user,
    COMMENT_ARGS: escapeCommentArgs(input.commentArgs),
  };
  if (input.terraformVersion !== undefined && input.terraformVersion !== "") {
    env.ATLANTIS_TERRAFORM_VERSION = input.terraformVersion;
  }
  if (input.approved !== undefined) env.ATLANTIS_PR_APPROVED = String(input.approved);
  if (input.mergeable !== undefined) env.ATLANTIS_PR_MERGEABLE = String(input.mergeable);
  return env;
}
