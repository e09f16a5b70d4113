/** `version`: `terraform version` in each targeted (or modified) project of the PR. */
import { selectProjects } from "../../projects/select-projects.js";
import { renderPrComment } from "../../render/pr-comment.js";
import { postComment, postParts } from "../reporting/comments.js";
import { pullCheckout } from "../pull-checkout.js";
import { pullGate } from "../gates/pull-gate.js";
import type { ProjectResult } from "../reporting/project-result.js";
import { versionProject } from "../workflow/project-steps.js";
import type { CommandContext } from "../runner-deps.js";
import { projectSettings } from "../../config/apply-policy.js";
import { fetchRepoConfig } from "../../config/repo-config-source.js";
import { renderConfigIssues } from "../../render/config-errors.js";
import { resolveTerraformBinary } from "../../terraform/terraform-binary.js";

export interface VersionRequest {
  dir: string;
  workspace: string;
  project: string;
}

export async function runVersion(ctx: CommandContext, req: VersionRequest): Promise<void> {
  const pull = await ctx.github.getPull(ctx.pullNumber);
  const refusal = pullGate(ctx.deps.settings, pull, "version");
  if (refusal) return postComment(ctx, refusal);
  // Without flags: the projects Atoll planned at this commit.
  let projects = (await ctx.deps.store.listProjects(ctx.repo, pull.number))
    .filter((s) => s.headSha === pull.headSha)
    .map((s) => s.project);
  const loaded = await fetchRepoConfig({ ...ctx, settings: ctx.deps.settings, ...(ctx.deps.policy ? { policy: ctx.deps.policy } : {}) }, pull);
  if (loaded.kind === "invalid") {
    return postComment(ctx, `**Cannot run version:** \`${loaded.file}\` is invalid.\n\n${renderConfigIssues(loaded.errors)}`);
  }
  const config = loaded.config;
  if (req.dir || req.workspace || req.project) {
    const sel = selectProjects(req, { ...(config.repo ? { config: { projects: config.projects } } : {}), modified: projects });
    if (!sel.ok) return postComment(ctx, `**Cannot run version:** ${sel.error}`);
    projects = sel.projects;
  } else if (projects.length === 0) {
    return postComment(ctx, `No projects have been planned at this commit yet. Comment \`${ctx.name} version -d <dir>\` to choose one.`);
  }
  const checkout = await pullCheckout(ctx, pull);
  const results: ProjectResult[] = [];
  for (const project of projects) {
    // The binary the project plans with (terraform_version / terraform_distribution).
    const settings = projectSettings(config, project);
    const binary = await resolveTerraformBinary({
      settings: ctx.deps.settings,
      ...(settings.terraformVersion !== undefined ? { version: settings.terraformVersion } : {}),
      ...(settings.terraformDistribution !== undefined ? { distribution: settings.terraformDistribution } : {}),
    });
    if (!binary.ok) {
      results.push({ project, command: "version", outcome: "failed", headline: binary.error, output: "" });
      continue;
    }
    results.push(await versionProject(ctx.deps, checkout, project, binary.isDefault ? {} : { binary: binary.binary }));
  }
  await postParts(ctx, renderPrComment({ command: "version", name: ctx.name, results, headSha: pull.headSha }));
}
