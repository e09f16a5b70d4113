/**
 * When a plan's one "in progress" write (the `atoll/plan` aggregate) goes out.
 *
 * GitHub paces writes a second apart (`write-queue.ts`). A progress write sent shortly before the
 * comment is ready holds the comment back by up to that second; sent at once, it costs the comment
 * nothing when the plans take longer than the pacing anyway — and the reviewer sees at once what
 * is being planned. So:
 *
 *  - plans expected to take longer than 1.5 × the pacing: write progress at once;
 *  - otherwise only after `ATOLL_PROGRESS_DELAY` (a quick plan's first write is its comment).
 *
 * The expectation is learned per repository: the time of one "round" of projects (as many as run
 * at once) from its last plans, or `DEFAULT_ROUND_MS` for a repository not planned yet.
 */
import { GITHUB_WRITE_PACING_MS } from "./write-queue.js";

/** Assumed time of one round of projects (init + plan of small projects) before one was measured. */
export const DEFAULT_ROUND_MS = 400;
/** Plans expected to last longer than this write their progress at once. */
export const EARLY_PROGRESS_AFTER_MS = 1.5 * GITHUB_WRITE_PACING_MS;
/** Repositories remembered (oldest forgotten first). */
const MAX_REPOS = 1000;

export class PlanTimings {
  private readonly roundMs = new Map<string, number>();

  /** Expected wall time of planning `projects` projects, `concurrent` at a time. */
  expectedMs(repo: string, projects: number, concurrent: number): number {
    return rounds(projects, concurrent) * (this.roundMs.get(repo) ?? DEFAULT_ROUND_MS);
  }

  /** Learn from a plan that took `ms` for `projects` projects, `concurrent` at a time. */
  record(repo: string, projects: number, concurrent: number, ms: number): void {
    if (projects <= 0 || !(ms >= 0)) return;
    const sample = ms / rounds(projects, concurrent);
    const before = this.roundMs.get(repo);
    this.roundMs.delete(repo);
    // Half the weight on the newest sample: follows a repository that grows, forgets one outlier.
    this.roundMs.set(repo, before === undefined ? sample : (before + sample) / 2);
    if (this.roundMs.size > MAX_REPOS) this.roundMs.delete(this.roundMs.keys().next().value!);
  }
}

function rounds(projects: number, concurrent: number): number {
  return Math.ceil(projects / Math.max(1, concurrent));
}

/** Milliseconds to wait before the progress write (see the module comment). */
export function progressDelay(expectedMs: number, configuredDelayMs: number): number {
  return expectedMs > EARLY_PROGRESS_AFTER_MS ? 0 : configuredDelayMs;
}
