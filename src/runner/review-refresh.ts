/** A review was submitted: re-render the plan check runs of the head commit with the new apply readiness. */
import { CheckReporter } from "./check-reporter.js";
import type { ProjectResult } from "./project-result.js";
import { readinessFromReviews } from "./review-readiness.js";
import type { CommandContext } from "./runner-deps.js";

export async function runReviewRefresh(ctx: CommandContext): Promise<void> {
  const pull = await ctx.github.getPull(ctx.pullNumber);
  const states = (await ctx.deps.store.listProjects(ctx.repo, pull.number)).filter(
    (s) => s.headSha === pull.headSha && s.plan === "success" && s.hasChanges && s.apply !== "success",
  );
  if (states.length === 0) return;
  const readiness = readinessFromReviews(await ctx.github.listReviews(pull.number), pull.author);
  const checks = new CheckReporter(ctx, pull.headSha);
  for (const s of states) {
    const result: ProjectResult = {
      project: s.project,
      command: "plan",
      outcome: "success",
      headline: s.headline,
      output: s.output,
      hasChanges: s.hasChanges,
      ...(s.summary ? { plan: s.summary } : {}),
    };
    await checks.projectFinished("plan", result, readiness);
  }
}
