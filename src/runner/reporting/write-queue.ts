/**
 * WriteQueue: the order Atoll's writes to GitHub go out in.
 *
 * GitHub asks integrations to leave a second between writes, and Octokit's throttling does so per
 * installation: a write that waits behind twenty others waits twenty seconds. So the writes of an
 * installation pass through one queue, one at a time, ordered by what a reviewer is waiting for
 * rather than by when they were made:
 *
 *   1. comments — the plan/apply comment is what the reviewer reads first;
 *   2. results  — check runs that end (completed), project and aggregate;
 *   3. progress — "in progress" and "queued" check runs;
 *   4. cleanup  — marking check runs of older commits superseded.
 *
 * Writes of the same priority keep their order. A write with a `key` (one check run) replaces a
 * queued, not yet sent write with that key: the newest body is the truth, so a progress write
 * overtaken by its result is dropped, never sent. Whoever waited for the dropped write gets the
 * answer of the one that replaced it.
 */

export const WritePriority = { comment: 0, result: 1, progress: 2, cleanup: 3 } as const;
export type WritePriority = (typeof WritePriority)[keyof typeof WritePriority];

/** GitHub's pacing of writes (Octokit's throttling: one write a second per installation). */
export const GITHUB_WRITE_PACING_MS = 1000;

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Entry {
  priority: WritePriority;
  seq: number;
  key?: string;
  fn: () => Promise<unknown>;
  waiters: Waiter[];
}

export interface WriteQueueStats {
  /** Writes sent (their function ran). */
  sent: number;
  /** Writes dropped because a newer write with the same key replaced them before they were sent. */
  dropped: number;
}

export class WriteQueue {
  private readonly pending: Entry[] = [];
  private running = false;
  private seq = 0;
  private readonly idleWaiters: (() => void)[] = [];
  readonly stats: WriteQueueStats = { sent: 0, dropped: 0 };

  /** Queue `fn`; it runs after every queued write of a higher priority (lower number). */
  run<T>(priority: WritePriority, fn: () => Promise<T>, key?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { resolve: resolve as (v: unknown) => void, reject };
      const waiters = [waiter];
      if (key !== undefined) {
        const i = this.pending.findIndex((e) => e.key === key);
        if (i >= 0) {
          waiters.unshift(...this.pending[i]!.waiters);
          this.pending.splice(i, 1);
          this.stats.dropped++;
        }
      }
      this.insert({ priority, seq: this.seq++, ...(key !== undefined ? { key } : {}), fn, waiters });
      void this.pump();
    });
  }

  /** Number of writes queued and not yet sent. */
  get size(): number {
    return this.pending.length;
  }

  /** Resolves once nothing is queued or being sent. */
  idle(): Promise<void> {
    if (!this.running && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private insert(entry: Entry): void {
    // Sorted by (priority, seq); a new entry has the highest seq, so it goes after its equals.
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.priority > entry.priority) i--;
    this.pending.splice(i, 0, entry);
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        this.stats.sent++;
        try {
          const value = await next.fn();
          for (const w of next.waiters) w.resolve(value);
        } catch (error) {
          for (const w of next.waiters) w.reject(error);
        }
      }
    } finally {
      this.running = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}

/** Queues of ports that do not bring their own (fakes in tests): one per port object. */
const perPort = new WeakMap<object, WriteQueue>();

/**
 * The queue the writes through `github` go into: the port's own (`writeQueue`, shared by every
 * job of an installation in production), else one per port object.
 */
export function writeQueueOf(github: { writeQueue?: WriteQueue }): WriteQueue {
  if (github.writeQueue) return github.writeQueue;
  let q = perPort.get(github);
  if (!q) perPort.set(github, (q = new WriteQueue()));
  return q;
}
