/** The PR closed or merged: delete its checkouts, plan files and state. */
import { deletePlanFiles } from "./plan-command.js";
import type { CommandContext } from "./runner-deps.js";

export async function runCloseCleanup(ctx: CommandContext): Promise<void> {
  const removed = await ctx.deps.store.removeProjects(ctx.repo, ctx.pullNumber);
  await deletePlanFiles(removed);
  await ctx.deps.workspaces.removePull(ctx.repo.owner, ctx.repo.repo, ctx.pullNumber);
  await ctx.deps.store.deletePull(ctx.repo, ctx.pullNumber);
  ctx.log.info({ pull: ctx.pullNumber, plans: removed.length }, "pull request closed: checkouts and plans deleted");
}
