/**
 * The plan's one "in progress" write: the `atoll/plan` aggregate names every project being
 * planned (project runs are created when their results are known). It goes out when a timer
 * fires — at once for plans expected to be slow, later for quick ones (`progress-timing.ts`).
 */
import type { PlanScope } from "./plan-scope.js";

export class PlanProgress {
  private started: Promise<void> | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly scope: PlanScope,
    delayMs: number,
  ) {
    this.timer = setTimeout(() => void this.start().catch(() => undefined), delayMs);
  }

  private start(): Promise<void> {
    const { ctx, pull, checks } = this.scope;
    return (this.started ??= (async () => {
      // An interrupted job starts no more writes (the interruption report owns the check runs).
      if (!ctx.signal?.aborted) await checks.refreshAggregates(await ctx.deps.store.listProjects(ctx.repo, pull.number), { kinds: ["plan"] });
    })());
  }

  /** Planning is over: no "in progress" write starts after this. */
  stop(): void {
    clearTimeout(this.timer);
  }

  /** The write, when it started (awaited with the plan's other writes). */
  get write(): Promise<void> | undefined {
    return this.started;
  }
}
