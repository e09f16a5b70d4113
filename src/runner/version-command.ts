/** `version`: `terraform version` in each targeted (or modified) project of the PR. */
import { selectProjects } from "../projects/select-projects.js";
import { renderPrComment } from "../render/pr-comment.js";
import { postComment, postParts } from "./comments.js";
import { pullCheckout } from "./pull-checkout.js";
import { pullGate } from "./pull-gate.js";
import type { ProjectResult } from "./project-result.js";
import { versionProject } from "./project-steps.js";
import type { CommandContext } from "./runner-deps.js";

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
  if (req.dir || req.workspace || req.project) {
    const sel = selectProjects(req, { modified: projects });
    if (!sel.ok) return postComment(ctx, `**Cannot run version:** ${sel.error}`);
    projects = sel.projects;
  } else if (projects.length === 0) {
    return postComment(ctx, `No projects have been planned at this commit yet. Comment \`${ctx.name} version -d <dir>\` to choose one.`);
  }
  const checkout = await pullCheckout(ctx, pull);
  const results: ProjectResult[] = [];
  for (const project of projects) results.push(await versionProject(ctx.deps, checkout, project));
  await postParts(ctx, renderPrComment({ command: "version", name: ctx.name, results, headSha: pull.headSha }));
}
