/**
 * `unlock` (comment or button): discard every saved plan of the PR, so nothing from it can be
 * applied until it is planned again. (Locks arrive with durable state; today there are none to release.)
 */
import { projectLabel } from "../projects/project.js";
import { CheckReporter } from "./check-reporter.js";
import { postComment } from "./comments.js";
import { deletePlanFiles } from "./plan-command.js";
import type { CommandContext } from "./runner-deps.js";

export async function runUnlock(ctx: CommandContext): Promise<void> {
  const { store } = ctx.deps;
  const removed = await store.removeProjects(ctx.repo, ctx.pullNumber);
  await deletePlanFiles(removed);
  if (removed.length === 0) {
    return postComment(ctx, `There were no plans to discard in this pull request.`);
  }
  // Take the Apply button off every discarded plan's check run, per commit it was made for.
  for (const headSha of new Set(removed.map((s) => s.headSha))) {
    const checks = new CheckReporter(ctx, headSha);
    for (const state of removed.filter((s) => s.headSha === headSha && s.plan !== "pending")) {
      await checks.projectReplaced("plan", state.project, {
        status: "completed",
        conclusion: "neutral",
        output: {
          title: "Plan discarded",
          summary: `@${ctx.user} discarded this plan with \`${ctx.name} unlock\`. Comment \`${ctx.name} plan\` to plan again.`,
        },
        actions: [{ label: "Re-plan", description: "Plan this project again", identifier: "plan" }],
      });
    }
    await checks.setAggregate("apply", {
      status: "queued",
      output: {
        title: "Plans discarded",
        summary: `All plans of this pull request were discarded by @${ctx.user}. Comment \`${ctx.name} plan\` to plan again.`,
      },
    });
  }
  const list = removed.map((s) => `- ${projectLabel(s.project)} (dir \`${s.project.dir}\`, workspace \`${s.project.workspace}\`)`);
  await postComment(
    ctx,
    [`All Atoll plans for this pull request have been discarded:`, "", ...list, "", `Comment \`${ctx.name} plan\` to plan again.`].join("\n"),
  );
}
