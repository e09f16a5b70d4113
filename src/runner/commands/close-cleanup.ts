/** The PR closed or merged: release its locks (waking the next PRs in line), delete its checkouts and plans. */
import { releaseClosedPull } from "../gates/project-locks.js";
import type { CommandContext } from "../runner-deps.js";

export async function runCloseCleanup(ctx: CommandContext, merged: boolean, healed = false): Promise<void> {
  await releaseClosedPull(ctx, ctx.pullNumber, { merged, healed });
}
