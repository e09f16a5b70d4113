/**
 * `cancel`: stop what this pull request has waiting, as Atlantis's `cancel` does. Its queued
 * commands (plans, applies, imports, buttons, autoplans…) are dropped; a command that is running
 * finishes the terraform it has started and starts no further execution-order group — the
 * projects it has not started are reported cancelled by that command itself. `cancel` waits in a
 * queue of its own (`queueKey`), so it runs while the command it cancels is still running.
 */
import { describeJob, isCancellable, jobKey } from "../../jobs/job-spec.js";
import type { JobRecord } from "../../ports/store.js";
import { postComment } from "../reporting/comments.js";
import type { CommandContext } from "../runner-deps.js";

/** "`plan` (comment by @bob)", "`autoplan` (push by @alice)". */
function describe(job: JobRecord): string {
  const how = job.spec.kind === "autoplan" ? "push" : job.spec.kind === "command" ? "comment" : job.spec.kind === "check-run" ? "button" : "Atoll";
  return `\`${describeJob(job.spec)}\` (${how} by @${job.spec.user})`;
}

export async function runCancel(ctx: CommandContext): Promise<void> {
  const { store } = ctx.deps;
  const key = jobKey({ owner: ctx.repo.owner, repo: ctx.repo.repo, pullNumber: ctx.pullNumber });
  const jobs = (await store.listJobs(["queued", "running"])).filter((j) => j.key === key && isCancellable(j.spec));
  const dropped: JobRecord[] = [];
  const stopping: JobRecord[] = [];
  const finishedAt = new Date().toISOString();
  for (const job of jobs) {
    if (job.status === "queued" && (await store.cancelQueuedJob(job.id, { finishedAt, error: `Cancelled by @${ctx.user}` }))) {
      dropped.push(job);
    } else if (await store.requestJobCancel(job.id, ctx.user)) {
      // Running (or claimed since it was listed): it stops before its next group.
      stopping.push(job);
    }
  }
  ctx.log.info({ pull: ctx.pullNumber, dropped: dropped.map((j) => j.id), stopping: stopping.map((j) => j.id), by: ctx.user }, "cancel");
  if (dropped.length === 0 && stopping.length === 0) {
    return postComment(ctx, `**Nothing to cancel:** no command of this pull request is queued or running.`);
  }
  const lines = [`**Cancelled** by @${ctx.user}:`];
  if (dropped.length) lines.push("", "Queued, dropped (they will not run):", ...dropped.map((j) => `- ${describe(j)}`));
  for (const job of stopping) {
    lines.push(
      "",
      `The running ${describe(job)} finishes the terraform it has started, then stops before its next execution-order group; ` +
        `projects it has not started are reported cancelled in its comment and check runs.`,
    );
  }
  lines.push("", `Comment \`${ctx.name} plan\` to plan again.`);
  await postComment(ctx, lines.join("\n"));
}
