/**
 * A new plan replaces the pull request's earlier ones: a full plan every earlier plan, a targeted
 * one only its own. Their saved plans are discarded, the check runs of older commits lose their
 * Apply button, and a full plan gives back the locks of projects the PR no longer touches.
 */
import type { ProjectState } from "../../../ports/store.js";
import { projectKey, sameProject, type Project } from "../../../projects/project.js";
import { wakeWaiters } from "../../gates/project-locks.js";
import { WritePriority, writeQueueOf } from "../../reporting/write-queue.js";
import type { CommandContext } from "../../runner-deps.js";
import { discardPlans } from "../../saved-plans.js";
import type { PlanScope } from "./plan-scope.js";

/**
 * Replace the earlier plans of `projects` (all of them for a full plan). `superseded` is the
 * marking of older check runs: last in the write queue (cleanup), awaited with the plan's own writes.
 */
export async function replaceEarlierPlans(scope: PlanScope, projects: Project[]): Promise<{ superseded: Promise<void> }> {
  const { ctx, pull, targeted } = scope;
  const discarded = await ctx.deps.store.removeProjects(ctx.repo, pull.number, targeted ? projects : undefined);
  // A carried plan keeps its saved plan file: the new commit's state points at it.
  const carried = (s: ProjectState) => scope.carry.carried.has(projectKey(s.project));
  await discardPlans(ctx.deps, discarded.filter((s) => !carried(s)));
  const superseded = markSuperseded(ctx, discarded, pull.headSha, carried);
  if (!targeted) await releaseStaleLocks(scope, projects, discarded);
  return { superseded };
}

/** Projects this PR no longer touches give their locks back (Atlantis clears stale locks on re-plan). */
async function releaseStaleLocks(scope: PlanScope, projects: Project[], discarded: ProjectState[]): Promise<void> {
  const { ctx, pull } = scope;
  const stale = discarded.filter((d) => !projects.some((p) => sameProject(p, d.project)));
  const released = [];
  for (const d of stale) {
    const lock = await ctx.deps.store.releaseLock(ctx.repo, d.project, pull.number);
    if (lock) released.push(lock);
  }
  await wakeWaiters(ctx, released, pull.number);
}

/** Plans of older commits lose their Apply button and say what replaced them. */
async function markSuperseded(ctx: CommandContext, discarded: ProjectState[], headSha: string, carried: (s: ProjectState) => boolean): Promise<void> {
  const queue = writeQueueOf(ctx.github);
  const writes = [];
  for (const d of discarded) {
    const id = d.planCheckRunId;
    if (d.headSha === headSha || id === undefined || d.plan === "pending" || d.plan === "queued") continue;
    const write = () =>
      ctx.github.updateCheckRun(id, {
        status: "completed",
        conclusion: "neutral",
        output: carried(d)
          ? {
              title: `Carried to ${headSha.slice(0, 7)}`,
              summary: `A newer commit (${headSha.slice(0, 7)}) changed none of this project's inputs, so this plan was carried to it unchanged. Apply it from the checks of ${headSha.slice(0, 7)}.`,
            }
          : {
              title: `Superseded by ${headSha.slice(0, 7)}`,
              summary: `A newer commit (${headSha.slice(0, 7)}) was planned, so this plan was discarded and cannot be applied. See the checks of ${headSha.slice(0, 7)}.`,
            },
        actions: [],
      });
    writes.push(
      queue
        .run(WritePriority.cleanup, write, `check-run-id:${id}`)
        .catch((e: unknown) => ctx.log.warn({ err: e, checkRun: id }, "could not mark a plan check run superseded")),
    );
  }
  await Promise.all(writes);
}
