/**
 * `unlock` (comment or button): release every lock of the PR and discard its saved plans, so
 * nothing from it can be applied until it is planned again; the PRs waiting for those locks are
 * planned automatically.
 */
import { projectLabel } from "../../projects/project.js";
import { CheckReporter } from "../reporting/check-reporter.js";
import { postComment } from "../reporting/comments.js";
import { wakeWaiters } from "../gates/project-locks.js";
import { discardPlans } from "../saved-plans.js";
import type { CommandContext } from "../runner-deps.js";

export async function runUnlock(ctx: CommandContext): Promise<void> {
  const { store } = ctx.deps;
  const removed = await store.removeProjects(ctx.repo, ctx.pullNumber);
  await discardPlans(ctx.deps, removed);
  await store.removePullWaits(ctx.repo, ctx.pullNumber);
  const locks = await store.releasePullLocks(ctx.repo, ctx.pullNumber);
  const woken = await wakeWaiters(ctx, locks, ctx.pullNumber);
  if (removed.length === 0 && locks.length === 0) {
    return postComment(ctx, `There were no locks or plans to discard in this pull request.`);
  }
  // Take the Apply button off every discarded plan's check run, per commit it was made for.
  for (const headSha of new Set(removed.filter((s) => s.plan !== "queued").map((s) => s.headSha))) {
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
  const projects = new Map([...removed, ...locks].map((s) => [projectLabel(s.project), s.project]));
  const list = [...projects.values()].map((p) => `- ${projectLabel(p)} (dir \`${p.dir}\`, workspace \`${p.workspace}\`)`);
  const next = woken.length ? ["", `Waiting pull requests are being planned now: ${woken.map((n) => `#${n}`).join(", ")}.`] : [];
  await postComment(
    ctx,
    [`All Atoll locks for this pull request have been released and its plans discarded:`, "", ...list, ...next, "", `Comment \`${ctx.name} plan\` to plan again.`].join("\n"),
  );
}
