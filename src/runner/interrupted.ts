/**
 * A job stopped from outside (shutdown grace period over): its terraform was killed, so what it
 * saw is not a result to report. The runner checks between steps and throws `Interrupted`; the
 * job service then reports the interruption instead (check runs cancelled, a comment on the PR).
 */
import type { CommandContext } from "./runner-deps.js";

export class Interrupted extends Error {
  constructor() {
    super("the job was interrupted");
    this.name = "Interrupted";
  }
}

export function throwIfInterrupted(ctx: Pick<CommandContext, "signal">): void {
  if (ctx.signal?.aborted) throw new Interrupted();
}
