/**
 * Optional pull request labels that say what the plan found (`ATOLL_PLAN_LABELS=true`):
 * `atoll/destroy` (a plan destroys or replaces resources), `atoll/no-changes` (every project
 * planned, none changes anything), `atoll/plan-failed` (a project's plan failed). Judged from all
 * the pull request's projects at the head commit after each plan, so a targeted plan updates them
 * too; labels that no longer apply are removed. Label writes wait behind every other write.
 */
import type { ProjectState } from "../../ports/store.js";
import type { CommandContext } from "../runner-deps.js";
import { WritePriority, writeQueueOf } from "./write-queue.js";

export const PLAN_LABELS = { destroy: "atoll/destroy", noChanges: "atoll/no-changes", planFailed: "atoll/plan-failed" } as const;
const ALL: string[] = Object.values(PLAN_LABELS);

/** The labels the pull request's project states call for (pure). */
export function planLabels(states: ProjectState[]): string[] {
  if (states.length === 0) return [];
  const out: string[] = [];
  if (states.some((s) => s.plan === "success" && (s.summary?.destroy ?? 0) > 0)) out.push(PLAN_LABELS.destroy);
  if (states.every((s) => s.plan === "success" && !s.hasChanges)) out.push(PLAN_LABELS.noChanges);
  if (states.some((s) => s.plan === "failed")) out.push(PLAN_LABELS.planFailed);
  return out;
}

/** Bring Atoll's labels on the pull request in line with its projects at `headSha`. */
export async function syncPlanLabels(ctx: CommandContext, headSha: string): Promise<void> {
  if (!ctx.deps.settings.planLabels) return;
  try {
    const states = (await ctx.deps.store.listProjects(ctx.repo, ctx.pullNumber)).filter((s) => s.headSha === headSha);
    const wanted = planLabels(states);
    const present = new Set((await ctx.github.listLabels(ctx.pullNumber)).filter((l) => ALL.includes(l)));
    const add = wanted.filter((l) => !present.has(l));
    const remove = [...present].filter((l) => !wanted.includes(l));
    const queue = writeQueueOf(ctx.github);
    if (add.length) await queue.run(WritePriority.cleanup, () => ctx.github.addLabels(ctx.pullNumber, add));
    for (const l of remove) await queue.run(WritePriority.cleanup, () => ctx.github.removeLabel(ctx.pullNumber, l));
  } catch (error) {
    ctx.log.warn({ err: error }, "could not update the pull request's plan labels");
  }
}
