/**
 * Which projects a plan covers: those the request names (`-d`, `-w`, `-p`), or every project the
 * pull request modifies — configured ones (glob dirs expanded in the checkout) or, when the repo
 * config lists none, discovered ones.
 */
import type { ResolvedRepoConfig } from "../../../config/apply-policy.js";
import type { ProjectConfig } from "../../../config/config-types.js";
import { candidateDirs, expandGlobDirs, modifiedProjects, shouldDiscover, whyModified } from "../../../projects/find-projects.js";
import { projectKey, type Project } from "../../../projects/project.js";
import { selectProjects } from "../../../projects/select-projects.js";
import { GLOB_CHARS } from "../../../commands/parse-comment.js";
import { listTerraformDirs } from "../../../projects/terraform-dirs.js";
import { postComment } from "../../reporting/comments.js";
import type { PlanConfig } from "./plan-config.js";
import { CheckoutFailed, reportCheckoutFailure, type PlanScope } from "./plan-scope.js";

/** The projects to plan; `null` after replying (a bad selection, a failed checkout). */
export async function choosePlanProjects(scope: PlanScope, planConfig: PlanConfig): Promise<Project[] | null> {
  const { ctx, pull } = scope;
  const { config, configStart, checkoutMs } = planConfig;
  let projects: Project[] | null;
  const chooseStart = Date.now();
  try {
    projects = await chooseProjects(scope, config);
  } catch (error) {
    if (!(error instanceof CheckoutFailed)) throw error;
    await reportCheckoutFailure(scope, error.message);
    return null;
  }
  if (projects === null) return null;
  // Where a monorepo's time goes (README "Performance"): the checkout the config is read from
  // (when the repository was checked out before), reading the config, then choosing.
  ctx.log.info(
    {
      repo: scope.repoName,
      pull: pull.number,
      projects: projects.length,
      configured: config.projects.length,
      checkoutMs,
      configMs: chooseStart - configStart - checkoutMs,
      chooseMs: Date.now() - chooseStart,
    },
    "projects chosen",
  );
  return projects;
}

/** Which projects this plan covers; `null` after replying with an error. */
async function chooseProjects(scope: PlanScope, config: ResolvedRepoConfig): Promise<Project[] | null> {
  const { ctx, req } = scope;
  let configured: ProjectConfig[] = config.projects;
  if (configured.some((p) => p.dirIsGlob)) configured = expandGlobDirs(configured, await listTerraformDirs((await scope.checkout()).dir));
  if (req.dir || req.workspace || req.project) {
    // A `-d` glob also matches Terraform directories when projects are discovered.
    const discoverable = GLOB_CHARS.test(req.dir) && (!config.repo || shouldDiscover(config.projects, config.autodiscover));
    const discovered = discoverable ? [...(await listTerraformDirs((await scope.checkout()).dir))] : undefined;
    const sel = selectProjects(
      { dir: req.dir, workspace: req.workspace, project: req.project },
      { ...(config.repo ? { config: { projects: configured } } : {}), modified: [], ...(discovered ? { discovered } : {}) },
    );
    if (!sel.ok) {
      await postComment(ctx, `**Cannot plan:** ${sel.error}`);
      return null;
    }
    const flags = [req.project ? `-p ${req.project}` : "", req.dir ? `-d ${req.dir}` : "", req.workspace ? `-w ${req.workspace}` : ""].filter(Boolean).join(" ");
    for (const p of sel.projects) scope.why.set(projectKey(p), `requested by @${ctx.user} (\`${ctx.name} plan ${flags}\`)`);
    return sel.projects;
  }
  const files = await scope.changedFiles();
  // A bare `plan` comment plans every modified project, even those with autoplan disabled.
  const options = { includeAutoplanDisabled: req.trigger === "comment" };
  // `auto` discovers only when the repo config lists no project: a glob entry counts as listed
  // even when it matches no directory (so judge by the entries as written, not their expansion).
  const discover = shouldDiscover(config.projects, config.autodiscover) && candidateDirs(files).length > 0;
  const dirs = discover ? await listTerraformDirs((await scope.checkout()).dir) : undefined;
  const projects = modifiedProjects(files, configured, config.autodiscover, dirs, options);
  // Trigger provenance: which changed file (and pattern) put each project in the plan.
  const by = req.trigger === "autoplan" ? "planned automatically" : `\`${ctx.name} plan\` by @${ctx.user}`;
  for (const p of projects) {
    const why = whyModified(p, files, configured);
    scope.why.set(projectKey(p), why ? `${why}; ${by}` : by);
  }
  return projects;
}
