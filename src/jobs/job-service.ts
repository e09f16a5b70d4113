/**
 * JobService: durable jobs on top of the in-process runner. A job is written to the store before
 * the webhook is answered, runs in the background (jobs of one PR in order), and its status is
 * kept up to date — so a restart knows what was queued (and runs it) and what was running (and
 * reports it interrupted; an interrupted apply is never retried automatically).
 */
import type { JobRunner } from "../ports/jobs.js";
import type { JobRecord, Store } from "../ports/store.js";
import type { Logger } from "../runner/runner-deps.js";
import { describeJob, jobKey, type JobSpec } from "./job-spec.js";

export interface JobSubmitter {
  /** Persist and schedule a job; undefined when `dedupeKey` was seen before. */
  submit(spec: JobSpec, dedupeKey?: string): Promise<JobRecord | undefined>;
}

export interface JobServiceOptions {
  store: Store;
  runner: JobRunner;
  log: Logger;
  /**
   * Run one job. Throwing marks it failed (the executor reports failures to the PR itself).
   * `signal` is aborted when the job is interrupted (shutdown): the job must then stop reporting.
   */
  execute: (job: JobRecord, signal: AbortSignal) => Promise<void>;
  /** Tell the PR that a job was interrupted (restart, crash or shutdown). */
  reportInterrupted: (job: JobRecord, reason: string) => Promise<void>;
  /** Kill process groups an interrupted job left running (after a crash). */
  killOrphans: (job: JobRecord) => Promise<void>;
  now?: () => Date;
}

export class JobService implements JobSubmitter {
  private accepting = true;
  /** Jobs being executed right now by this process. */
  private readonly active = new Map<number, JobRecord>();
  private readonly controllers = new Map<number, AbortController>();
  private interruptedIds = new Set<number>();

  constructor(private readonly opts: JobServiceOptions) {}

  private now(): string {
    return (this.opts.now?.() ?? new Date()).toISOString();
  }

  async submit(spec: JobSpec, dedupeKey?: string): Promise<JobRecord | undefined> {
    const job = await this.opts.store.createJob(spec, dedupeKey);
    if (!job) {
      this.opts.log.info({ dedupeKey }, "duplicate job ignored");
      return undefined;
    }
    if (this.accepting) this.schedule(job);
    else this.opts.log.info({ job: job.id }, "shutting down: job stays queued for the next start");
    return job;
  }

  private schedule(job: JobRecord): void {
    const accepted = this.opts.runner.enqueue({
      key: jobKey(job.spec),
      name: describeJob(job.spec),
      run: () => this.run(job),
    });
    if (!accepted) {
      // The in-memory queue is full; the job stays queued in the store and runs after a restart.
      this.opts.log.warn({ job: job.id, queued: this.opts.runner.queued }, "job queue full; job left queued");
    }
  }

  private async run(job: JobRecord): Promise<void> {
    const { store, log } = this.opts;
    if (!this.accepting) return; // draining: leave it queued for the next start
    const startedAt = this.now();
    await store.updateJob(job.id, { status: "running", startedAt });
    const running: JobRecord = { ...job, status: "running", startedAt };
    this.active.set(job.id, running);
    const controller = new AbortController();
    this.controllers.set(job.id, controller);
    try {
      await this.opts.execute(running, controller.signal);
      if (controller.signal.aborted) throw new Error("interrupted");
      await store.updateJob(job.id, { status: "succeeded", finishedAt: this.now() });
    } catch (error) {
      const interrupted = this.interruptedIds.has(job.id);
      await store.updateJob(job.id, {
        status: interrupted ? "interrupted" : "failed",
        finishedAt: this.now(),
        error: (error as Error).message,
      });
      if (!interrupted) log.error({ err: error, job: job.id }, "job failed");
    } finally {
      this.active.delete(job.id);
      this.controllers.delete(job.id);
    }
  }

  /**
   * At start-up: jobs a previous process left running are marked interrupted (their process
   * groups killed) and reported; queued jobs are scheduled again.
   */
  async recover(): Promise<{ interrupted: number; resumed: number }> {
    const { store, log } = this.opts;
    const stale = await store.listJobs(["running"]);
    for (const job of stale) {
      await this.opts.killOrphans(job).catch((e: unknown) => log.warn({ err: e, job: job.id }, "could not kill orphaned processes"));
      await store.updateJob(job.id, { status: "interrupted", finishedAt: this.now(), error: "Atoll stopped while this job was running" });
      await this.opts
        .reportInterrupted(job, "Atoll restarted while this was running")
        .catch((e: unknown) => log.warn({ err: e, job: job.id }, "could not report an interrupted job"));
    }
    const queued = await store.listJobs(["queued"]);
    for (const job of queued) this.schedule(job);
    if (stale.length || queued.length) log.info({ interrupted: stale.length, resumed: queued.length }, "recovered jobs");
    return { interrupted: stale.length, resumed: queued.length };
  }

  /**
   * Graceful stop: take no new jobs (they stay queued in the store for the next start), let the
   * running ones finish for up to `graceMs`, then stop what is left (`stopProcesses`) and report
   * those jobs interrupted.
   */
  async drain(graceMs: number, stopProcesses: () => Promise<void>): Promise<{ finished: boolean; interrupted: number }> {
    this.accepting = false;
    this.opts.runner.pause?.();
    const deadline = Date.now() + graceMs;
    while (this.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (this.active.size === 0) return { finished: true, interrupted: 0 };
    const left = [...this.active.values()];
    for (const job of left) {
      this.interruptedIds.add(job.id);
      this.controllers.get(job.id)?.abort();
    }
    await stopProcesses();
    // Let the killed jobs unwind (their terraform steps return), but not forever.
    const unwindUntil = Date.now() + 15_000;
    while (this.active.size > 0 && Date.now() < unwindUntil) await new Promise((r) => setTimeout(r, 100));
    for (const job of left) {
      await this.opts.store.updateJob(job.id, { status: "interrupted", finishedAt: this.now(), error: "Atoll was stopped while this job was running" });
      await this.opts
        .reportInterrupted(job, "Atoll was stopped (shutdown grace period over) while this was running")
        .catch((e: unknown) => this.opts.log.warn({ err: e, job: job.id }, "could not report an interrupted job"));
    }
    return { finished: false, interrupted: left.length };
  }

  get activeJobs(): number {
    return this.active.size;
  }
}
