/**
 * What one project's plan or apply runs with: its effective settings (workflow, requirements,
 * lock mode — `apply-policy.ts`), the terraform/OpenTofu binary for its `terraform_version`, and
 * the variables Atlantis gives workflow steps. Shared by plan and apply so both run a project
 * the same way.
 */
import { projectSettings, type ProjectSettings, type ResolvedRepoConfig } from "../config/apply-policy.js";
import type { PullRequestInfo } from "../ports/github.js";
import type { Checkout } from "../ports/workspace.js";
import type { Project } from "../projects/project.js";
import { resolveTerraformBinary } from "../terraform/terraform-binary.js";
import { planFilePath, projectDirPath, showFilePath } from "./workflow/project-paths.js";
import type { StepOptions } from "./workflow/project-steps.js";
import type { CommandContext } from "./runner-deps.js";
import { workflowEnv } from "./workflow/workflow-env.js";

export type ProjectRun =
  | { ok: true; settings: ProjectSettings; options: Pick<StepOptions, "workflow" | "binary" | "env"> }
  | { ok: false; settings: ProjectSettings; error: string };

export interface ProjectRunInput {
  config: ResolvedRepoConfig;
  pull: PullRequestInfo;
  checkout: Checkout;
  project: Project;
  /** The user's `-- …` arguments (COMMENT_ARGS). */
  commentArgs: string[];
  /** Readiness facts for ATLANTIS_PR_APPROVED / ATLANTIS_PR_MERGEABLE, when known. */
  approved?: boolean;
  mergeable?: boolean;
}

export async function projectRun(ctx: CommandContext, input: ProjectRunInput): Promise<ProjectRun> {
  const { config, pull, checkout, project } = input;
  const settings = projectSettings(config, project);
  const binary = await resolveTerraformBinary({
    settings: ctx.deps.settings,
    ...(settings.terraformVersion !== undefined ? { version: settings.terraformVersion } : {}),
    ...(settings.terraformDistribution !== undefined ? { distribution: settings.terraformDistribution } : {}),
  });
  if (!binary.ok) return { ok: false, settings, error: binary.error };
  const [headOwner, headName] = pull.headRepoFullName.includes("/") ? pull.headRepoFullName.split("/", 2) : [ctx.repo.owner, ctx.repo.repo];
  const env = workflowEnv({
    projectName: project.name,
    projectDir: project.dir,
    absoluteDir: projectDirPath(checkout, project),
    workspace: project.workspace,
    repoOwner: ctx.repo.owner,
    repoName: ctx.repo.repo,
    headRepoOwner: headOwner,
    headRepoName: headName,
    headBranch: pull.headRef,
    baseBranch: pull.baseRef,
    headCommit: pull.headSha,
    pullNumber: pull.number,
    pullUrl: pull.htmlUrl,
    pullAuthor: pull.author,
    user: ctx.user,
    commentArgs: input.commentArgs,
    ...(binary.version ?? settings.terraformVersion ? { terraformVersion: binary.version ?? settings.terraformVersion } : {}),
    planFile: planFilePath(checkout, project),
    showFile: showFilePath(checkout, project),
    ...(input.approved !== undefined ? { approved: input.approved } : {}),
    ...(input.mergeable !== undefined ? { mergeable: input.mergeable } : {}),
  });
  // The default binary stays the terraform port's own (tests and operators may substitute the port).
  return { ok: true, settings, options: { workflow: settings.workflow, ...(binary.isDefault ? {} : { binary: binary.binary }), env } };
}
