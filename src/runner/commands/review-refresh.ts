/**
 * A review was submitted: re-evaluate apply readiness (reviews and requirements) and show it on
 * the plan check runs of the head commit — and on an apply check run that was refused for unmet
 * requirements, so the Checks tab says when apply is possible.
 */
import type { ProjectState } from "../../ports/store.js";
import { projectFlags, projectKey } from "../../projects/project.js";
import { renderUnmet, type UnmetRequirement } from "../gates/apply-requirements.js";
import { CheckReporter } from "../reporting/check-reporter.js";
import { projectCheckName } from "../reporting/check-names.js";
import type { ProjectResult } from "../reporting/project-result.js";
import { currentPlans, projectsReadiness } from "../gates/readiness.js";
import { fetchRepoConfig } from "../../config/repo-config-source.js";
import type { CommandContext } from "../runner-deps.js";

export async function runReviewRefresh(ctx: CommandContext): Promise<void> {
  const { store } = ctx.deps;
  const pull = await ctx.github.getPull(ctx.pullNumber);
  const states = (await store.listProjects(ctx.repo, pull.number)).filter(
    (s) => s.headSha === pull.headSha && s.plan === "success" && s.hasChanges && s.apply !== "success",
  );
  if (states.length === 0) return;
  const loaded = await fetchRepoConfig({ ...ctx, settings: ctx.deps.settings, policy: ctx.deps.policy }, pull);
  // An invalid config was reported when planning; there is nothing to refresh against.
  if (loaded.kind !== "ok") return;
  const config = loaded.config;
  const readiness = await projectsReadiness(ctx, pull, config, states.map((s) => s.project), { plans: currentPlans(states) });
  const checks = new CheckReporter(ctx, pull.headSha);
  for (const s of states) {
    const r = readiness.get(projectKey(s.project));
    const result: ProjectResult = {
      project: s.project,
      command: "plan",
      outcome: "success",
      headline: s.headline,
      output: s.output,
      hasChanges: s.hasChanges,
      ...(s.summary ? { plan: s.summary } : {}),
      ...(s.planDigest ? { planDigest: s.planDigest } : {}),
      ...(s.why ? { why: s.why } : {}),
      ...(s.sincePush ? { sincePush: s.sincePush } : {}),
      ...(s.carriedFrom ? { carriedFrom: s.carriedFrom } : {}),
    };
    await checks.projectRerendered("plan", result, r?.readiness);
    await refreshRefusedApply(ctx, checks, s, r?.unmet);
  }
}

/** An apply that was refused for requirements left a failed apply check run: update it too. */
async function refreshRefusedApply(ctx: CommandContext, checks: CheckReporter, s: ProjectState, unmet: UnmetRequirement[] | undefined): Promise<void> {
  const applyRun = await ctx.deps.store.getCheckRun(ctx.repo, checks.headSha, projectCheckName("apply", s.project));
  if (!applyRun || s.apply !== "none" || !unmet) return;
  const command = `\`${ctx.name} apply ${projectFlags(s.project)}\``;
  await checks.projectReplaced(
    "apply",
    s.project,
    unmet.length
      ? {
          status: "completed",
          conclusion: "failure",
          output: { title: "Apply requirements not met", summary: `${renderUnmet(unmet)}\n\nNothing was applied.` },
        }
      : {
          status: "completed",
          conclusion: "neutral",
          output: { title: "Apply requirements met: ready to apply", summary: `Every apply requirement is met now. Comment ${command} or use the Apply button on the plan check run.` },
        },
  );
}
