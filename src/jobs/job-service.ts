/**
 * JobService: durable jobs that any replica may run. A webhook handler's `submit` writes the job
 * to the store before the webhook is answered; workers (roles `all` and `worker`) claim jobs
 * from the store and run them.
 *
 * - **Claiming.** `store.claimJob` hands each job to exactly one worker, and only when no job of
 *   the same pull request is running or queued ahead of it — so a PR's jobs run one after another,
 *   in order, whichever replicas run them. At most `concurrency` jobs run in this process.
 * - **Waking up.** A worker claims when a job is submitted here, when one of its jobs finishes,
 *   when the store announces a job (PostgreSQL LISTEN/NOTIFY: other replicas' and the Lambda
 *   receiver's jobs), and every `pollMs` in case a notification was missed.
 * - **Leases.** A claimed job holds a lease of `leaseMs`, renewed every `leaseMs / 3` while it
 *   runs. When a worker dies (crash, kill -9, lost machine) its leases run out and another worker
 *   (looking every `leaseMs / 3`) adopts the job and reports it interrupted (`reportInterrupted`: check runs completed as
 *   cancelled, a comment saying how to retry); **an apply is never retried by itself**. A worker
 *   that cannot renew a lease (another replica adopted the job, or the database has been
 *   unreachable for most of a lease) stops the job at once — its terraform is killed and it
 *   writes nothing more — because someone else now owns it.
 * - **Restarts.** On start a replica adopts the jobs a previous run of it left running (same
 *   `replica` id) without waiting for their leases, kills the process groups they left on this
 *   machine, and reports them. Queued jobs simply get claimed.
 * - **Draining** (SIGTERM): no more claims; running jobs get `graceMs` to finish, then their
 *   processes are stopped and they are reported interrupted. Jobs queued meanwhile wait in the
 *   store for any replica.
 */
import os from "node:os";
import { randomBytes } from "node:crypto";
import type { JobProcess, JobRecord, Store } from "../ports/store.js";
import type { Logger } from "../runner/runner-deps.js";
import type { JobMetrics } from "../metrics.js";
import type { JobSpec } from "./job-spec.js";
import { RepositoryRemoved } from "./repository-removal.js";

export interface JobSubmitter {
  /** Persist a job (any worker may run it); undefined when `dedupeKey` was seen before. */
  submit(spec: JobSpec, dedupeKey?: string): Promise<JobRecord | undefined>;
}

/** What a running job gets from the service. */
export interface JobRun {
  /** Aborted when the job must stop (shutdown grace over, lease lost): it must then stop reporting. */
  signal: AbortSignal;
  /** Record a process group the job started (killed if the job is stopped or its worker dies). */
  onSpawn: (process: { pid: number; startTime: string }) => void;
}

export interface JobServiceOptions {
  store: Store;
  log: Logger;
  /** Run one job. Throwing marks it failed (the executor reports failures to the PR itself). */
  execute: (job: JobRecord, run: JobRun) => Promise<void>;
  /** Tell the PR that a job was interrupted (restart, crash, dead replica or shutdown). */
  reportInterrupted: (job: JobRecord, reason: string) => Promise<void>;
  /** Kill the process groups of a job that still run on this machine; returns how many. */
  killProcesses: (processes: JobProcess[]) => Promise<number>;
  /** Claim and run jobs here (roles `all` and `worker`); false: only submit them (role `web`). */
  work: boolean;
  /** Jobs running at once in this process. */
  concurrency: number;
  /** This replica's id (ATOLL_REPLICA_ID): stable across its restarts, unique among running replicas. */
  replica: string;
  leaseMs: number;
  pollMs: number;
  /** This machine's name, recorded with the process groups (default `os.hostname()`). */
  host?: string;
  /** Jobs started and finished here (Prometheus metrics); none by default. */
  metrics?: JobMetrics;
  now?: () => Date;
}

interface Active {
  job: JobRecord;
  controller: AbortController;
  processes: JobProcess[];
  /** Why it was stopped from outside, if it was. */
  stoppedBecause?: "draining" | "lease";
}

export class JobService implements JobSubmitter {
  /** This process's identity as a lease holder. */
  readonly worker: string;
  private readonly host: string;
  private accepting: boolean;
  private started = false;
  /** Jobs this process runs right now. */
  private readonly active = new Map<number, Active>();
  /** Adopted jobs being reported interrupted (their leases are renewed too). */
  private readonly reporting = new Map<number, JobRecord>();
  private pumping = false;
  private pumpAgain = false;
  private lastRenewal = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private unwatch: (() => Promise<void>) | undefined;
  private idleWaiters: (() => void)[] = [];
  private saving = new Map<number, Promise<void>>();

  constructor(private readonly opts: JobServiceOptions) {
    this.host = opts.host ?? os.hostname();
    this.worker = `${opts.replica}/${process.pid}.${randomBytes(3).toString("hex")}`;
    this.accepting = opts.work;
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  private leaseUntil(): string {
    return new Date(this.now().getTime() + this.opts.leaseMs).toISOString();
  }

  async submit(spec: JobSpec, dedupeKey?: string): Promise<JobRecord | undefined> {
    const job = await this.opts.store.createJob(spec, dedupeKey);
    if (!job) {
      this.opts.log.info({ dedupeKey }, "duplicate job ignored");
      return undefined;
    }
    if (this.started && !this.accepting) this.opts.log.info({ job: job.id }, "draining: the job stays queued for another replica or the next start");
    this.wake();
    return job;
  }

  /**
   * Start working (no-op for role `web`): take over the jobs a previous run of this replica left
   * running and those of replicas whose leases ran out, then claim jobs as they come. Resolves
   * when the taken-over jobs are reported.
   */
  async start(): Promise<{ interrupted: number; resumed: number }> {
    if (!this.opts.work || this.started) return { interrupted: 0, resumed: 0 };
    this.started = true;
    const { store, log, pollMs, leaseMs } = this.opts;
    const mine = await store.adoptJobs({ replica: this.opts.replica }, this.worker, this.leaseUntil());
    const resumed = await store.countJobs(["queued"]);
    // Claims are polled often (a missed notification must not delay a job); leases are renewed,
    // and other replicas' run-out leases looked for, every third of a lease.
    this.timers.push(
      setInterval(() => this.wake(), pollMs).unref(),
      setInterval(() => {
        void this.renew();
        void this.reap();
      }, Math.max(Math.floor(leaseMs / 3), 100)).unref(),
    );
    if (store.watchJobs) {
      this.unwatch = await store.watchJobs(() => this.wake()).catch((error: unknown) => {
        log.warn({ err: error }, `could not listen for new jobs; polling every ${pollMs} ms`);
        return undefined;
      });
    }
    this.wake();
    const reports = mine.map((job) => this.report(job, "Atoll restarted while this was running", true));
    const expired = await this.reap();
    await Promise.all(reports);
    const interrupted = mine.length + expired;
    if (interrupted || resumed) log.info({ interrupted, resumed, replica: this.opts.replica }, "recovered jobs");
    return { interrupted, resumed };
  }

  /** Take over and report the jobs of workers whose leases ran out; returns how many. */
  private async reap(): Promise<number> {
    if (!this.accepting) return 0;
    let expired: JobRecord[];
    try {
      expired = await this.opts.store.adoptJobs({ leaseExpiredBefore: this.now().toISOString() }, this.worker, this.leaseUntil());
    } catch (error) {
      this.opts.log.warn({ err: error }, "could not look for jobs of stopped replicas");
      return 0;
    }
    for (const job of expired) {
      this.opts.log.warn({ job: job.id, replica: job.replica, leaseExpiresAt: job.leaseExpiresAt }, "a job's replica stopped renewing its lease; reporting it interrupted");
    }
    await Promise.all(expired.map((job) => this.report(job, "the Atoll replica running this stopped responding", false)));
    return expired.length;
  }

  /** Report an adopted job interrupted, then finish it (its pull request's next job may run). */
  private async report(job: JobRecord, reason: string, ownReplica: boolean): Promise<void> {
    const { store, log } = this.opts;
    this.reporting.set(job.id, job);
    try {
      // Process groups on this machine: always ours after a restart; another replica's when it ran here too.
      const here = job.processes.filter((p) => p.host === this.host || (ownReplica && p.host === undefined));
      const killed = here.length ? await this.opts.killProcesses(here).catch(() => 0) : 0;
      if (killed) log.warn({ job: job.id, processes: killed }, "killed process groups an interrupted job left running");
      await this.opts.reportInterrupted(job, reason).catch((e: unknown) => log.warn({ err: e, job: job.id }, "could not report an interrupted job"));
      await store.finishJob(job.id, this.worker, { status: "interrupted", finishedAt: this.now().toISOString(), error: `Interrupted: ${reason}` });
      this.opts.metrics?.jobFinished(job.spec, "interrupted");
    } catch (error) {
      log.warn({ err: error, job: job.id }, "could not finish an interrupted job");
    } finally {
      this.reporting.delete(job.id);
      this.wake();
      this.settleIdle();
    }
  }

  /** Claim jobs while there is room. Safe to call any time; calls overlapping a claim loop are folded into it. */
  private wake(): void {
    if (!this.accepting) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.pumpAgain = false;
          while (this.accepting && this.active.size < this.opts.concurrency) {
            const startedAt = this.now().toISOString();
            const job = await this.opts.store.claimJob({ replica: this.opts.replica, worker: this.worker }, { startedAt, leaseUntil: this.leaseUntil() });
            if (!job) break;
            this.run(job);
          }
        } while (this.pumpAgain && this.accepting && this.active.size < this.opts.concurrency);
      } catch (error) {
        this.opts.log.warn({ err: error }, "could not claim jobs; trying again shortly");
      } finally {
        this.pumping = false;
        this.settleIdle();
      }
    })();
  }

  private run(job: JobRecord): void {
    const { store, log } = this.opts;
    const entry: Active = { job, controller: new AbortController(), processes: [...job.processes] };
    this.active.set(job.id, entry);
    const timer = this.opts.metrics?.jobStarted(job.spec);
    const onSpawn = (p: { pid: number; startTime: string }) => {
      entry.processes.push({ ...p, host: this.host });
      const snapshot = [...entry.processes];
      // Serialised so the stored list only ever grows.
      const previous = this.saving.get(job.id) ?? Promise.resolve();
      this.saving.set(job.id, previous.then(() => store.updateJob(job.id, { processes: snapshot })).catch(() => undefined));
    };
    void (async () => {
      let outcome: { status: "succeeded" | "failed" | "interrupted" | "cancelled"; error?: string };
      try {
        await this.opts.execute(job, { signal: entry.controller.signal, onSpawn });
        outcome = entry.controller.signal.aborted ? { status: "interrupted", error: "interrupted" } : { status: "succeeded" };
      } catch (error) {
        if (entry.stoppedBecause) outcome = { status: "interrupted", error: (error as Error).message };
        else if (error instanceof RepositoryRemoved) {
          outcome = { status: "cancelled", error: error.message };
          log.info({ job: job.id, repo: `${job.spec.owner}/${job.spec.repo}`, pull: job.spec.pullNumber }, error.message);
        } else {
          outcome = { status: "failed", error: (error as Error).message };
          log.error({ err: error, job: job.id, repo: `${job.spec.owner}/${job.spec.repo}`, pull: job.spec.pullNumber }, "job failed");
        }
      }
      try {
        await this.saving.get(job.id);
        if (entry.stoppedBecause === "draining") return; // drain() records and reports it
        if (entry.stoppedBecause === "lease") return; // the replica that adopted it reports it
        const finished = await store.finishJob(job.id, this.worker, { ...outcome, finishedAt: this.now().toISOString() });
        if (!finished) log.warn({ job: job.id }, "job finished after another replica took it over; its result was not recorded");
      } catch (error) {
        log.error({ err: error, job: job.id }, "could not record a job's result");
      } finally {
        // Stopped from outside (shutdown, lease lost): interrupted, whoever records it.
        timer?.finish(entry.stoppedBecause ? "interrupted" : outcome.status);
        this.saving.delete(job.id);
        this.active.delete(job.id);
        this.wake();
        this.settleIdle();
      }
    })();
  }

  /** Renew the leases of everything this process holds; stop the jobs it no longer holds. */
  private async renew(): Promise<void> {
    const ids = [...this.active.keys(), ...this.reporting.keys()];
    if (ids.length === 0) {
      this.lastRenewal = Date.now();
      return;
    }
    try {
      const held = new Set(await this.opts.store.renewLeases(this.worker, ids, this.leaseUntil()));
      this.lastRenewal = Date.now();
      for (const id of ids) if (!held.has(id)) await this.lost(id, "another replica took it over");
    } catch (error) {
      const silentFor = Date.now() - this.lastRenewal;
      this.opts.log.warn({ err: error, jobs: ids.length, silentForMs: silentFor }, "could not renew job leases");
      // Past most of a lease, another replica may adopt these jobs: stop them before it can.
      if (silentFor > this.opts.leaseMs * 0.8) for (const id of ids) await this.lost(id, "its lease could not be renewed (database unreachable)");
    }
  }

  /** This process no longer owns the job: stop it at once (its processes too) and write nothing more. */
  private async lost(id: number, why: string): Promise<void> {
    const entry = this.active.get(id);
    if (!entry || entry.stoppedBecause) return;
    entry.stoppedBecause = "lease";
    entry.controller.abort();
    this.opts.log.error({ job: id, why }, "lost a job's lease; stopping it");
    await this.opts.killProcesses(entry.processes).catch(() => 0);
  }

  /**
   * Graceful stop: claim no more jobs (they stay queued in the store for any replica), let the
   * running ones finish for up to `graceMs`, then stop what is left (`stopProcesses`) and report
   * those jobs interrupted.
   */
  async drain(graceMs: number, stopProcesses: () => Promise<void>): Promise<{ finished: boolean; interrupted: number }> {
    this.accepting = false;
    const deadline = Date.now() + graceMs;
    while ((this.active.size > 0 || this.reporting.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (this.active.size === 0) return { finished: true, interrupted: 0 };
    const left = [...this.active.values()].filter((a) => !a.stoppedBecause);
    for (const a of left) {
      a.stoppedBecause = "draining";
      a.controller.abort();
    }
    await stopProcesses();
    // Let the killed jobs unwind (their terraform steps return), but not forever.
    const unwindUntil = Date.now() + 15_000;
    while (this.active.size > 0 && Date.now() < unwindUntil) await new Promise((r) => setTimeout(r, 100));
    for (const { job } of left) {
      const reason = "Atoll was stopped (shutdown grace period over) while this was running";
      await this.opts.reportInterrupted(job, reason).catch((e: unknown) => this.opts.log.warn({ err: e, job: job.id }, "could not report an interrupted job"));
      await this.opts.store
        .finishJob(job.id, this.worker, { status: "interrupted", finishedAt: this.now().toISOString(), error: `Interrupted: ${reason}` })
        .catch((e: unknown) => this.opts.log.warn({ err: e, job: job.id }, "could not record an interrupted job"));
    }
    return { finished: false, interrupted: left.length };
  }

  /** Stop timers and listening (after `drain`, or in tests). */
  async stop(): Promise<void> {
    this.accepting = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.unwatch?.().catch(() => undefined);
    this.unwatch = undefined;
  }

  /** Resolves when this process runs nothing and no job is queued (tests). */
  async onIdle(): Promise<void> {
    for (;;) {
      if (this.active.size === 0 && this.reporting.size === 0 && !this.pumping) {
        if ((await this.opts.store.countJobs(["queued"])) === 0) return;
        this.wake();
      }
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        setTimeout(resolve, 20).unref();
      });
    }
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Jobs running in this process. */
  get activeJobs(): number {
    return this.active.size;
  }

  /** Whether this process claims jobs (false for role `web`, and once draining). */
  get working(): boolean {
    return this.accepting;
  }
}
