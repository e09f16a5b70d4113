/**
 * JobService on a real SQLite store and the in-process runner: dedupe, status bookkeeping,
 * recovery after a restart (running → interrupted and reported; queued → run), and draining.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInProcessJobs } from "../../src/adapters/in-process-jobs.js";
import { openSqliteStore } from "../../src/adapters/sqlite-store.js";
import { JobService } from "../../src/jobs/job-service.js";
import type { JobSpec } from "../../src/jobs/job-spec.js";
import type { JobRecord, Store } from "../../src/ports/store.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const spec = (pullNumber: number): JobSpec => ({
  kind: "review",
  installationId: 1,
  owner: "acme",
  repo: "infra",
  pullNumber,
  user: "alice",
  name: "atoll",
});

describe("JobService", () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-jobs-"));
    store = await openSqliteStore(path.join(dir, "atoll.db"));
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  function service(execute: (job: JobRecord, signal: AbortSignal) => Promise<void>, extra: Partial<ConstructorParameters<typeof JobService>[0]> = {}) {
    const runner = createInProcessJobs({ concurrency: 2, maxQueued: 100, onError: () => {} });
    const reported: { id: number; reason: string }[] = [];
    const killed: number[] = [];
    const jobs = new JobService({
      store,
      runner,
      log: silent,
      execute,
      reportInterrupted: async (job, reason) => void reported.push({ id: job.id, reason }),
      killOrphans: async (job) => void killed.push(job.id),
      ...extra,
    });
    return { jobs, runner, reported, killed };
  }

  test("runs submitted jobs, records success and failure, and ignores a duplicate key", async () => {
    const ran: number[] = [];
    const { jobs, runner } = service(async (job) => {
      ran.push(job.spec.pullNumber);
      if (job.spec.pullNumber === 2) throw new Error("boom");
    });
    const a = await jobs.submit(spec(1), "k1");
    expect(await jobs.submit(spec(1), "k1")).toBeUndefined();
    const b = await jobs.submit(spec(2));
    await runner.onIdle();
    expect(ran.sort()).toEqual([1, 2]);
    expect((await store.getJob(a!.id))!.status).toBe("succeeded");
    const failed = (await store.getJob(b!.id))!;
    expect(failed.status).toBe("failed");
    expect(failed.error).toBe("boom");
  });

  test("recover: jobs left running are killed, marked interrupted and reported; queued jobs run", async () => {
    const running = (await store.createJob(spec(1)))!;
    await store.updateJob(running.id, { status: "running", startedAt: new Date().toISOString(), processes: [{ pid: 1234, startTime: "42" }] });
    const queued = (await store.createJob(spec(2)))!;
    const ran: number[] = [];
    const { jobs, runner, reported, killed } = service(async (job) => void ran.push(job.id));
    expect(await jobs.recover()).toEqual({ interrupted: 1, resumed: 1 });
    await runner.onIdle();
    expect(killed).toEqual([running.id]);
    expect(reported).toEqual([{ id: running.id, reason: expect.stringContaining("restarted") }]);
    expect((await store.getJob(running.id))!.status).toBe("interrupted");
    expect(ran).toEqual([queued.id]);
    expect((await store.getJob(queued.id))!.status).toBe("succeeded");
  });

  test("drain: running jobs may finish within the grace period; new jobs stay queued", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { jobs } = service(async () => gate);
    const first = (await jobs.submit(spec(1)))!;
    await new Promise((r) => setTimeout(r, 20));
    expect(jobs.activeJobs).toBe(1);
    const draining = jobs.drain(10_000, async () => {
      throw new Error("must not stop processes: the job finishes in time");
    });
    const late = (await jobs.submit(spec(2)))!;
    release();
    expect(await draining).toEqual({ finished: true, interrupted: 0 });
    expect((await store.getJob(first.id))!.status).toBe("succeeded");
    expect((await store.getJob(late.id))!.status).toBe("queued");
  });

  test("drain: past the grace period the job is aborted, its processes stopped, and it is reported interrupted", async () => {
    let stopped = 0;
    let sawAbort = false;
    const { jobs, reported } = service(
      (_job, signal) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            sawAbort = true;
            reject(new Error("interrupted"));
          });
        }),
    );
    const job = (await jobs.submit(spec(1)))!;
    await new Promise((r) => setTimeout(r, 20));
    const result = await jobs.drain(50, async () => void stopped++);
    expect(result).toEqual({ finished: false, interrupted: 1 });
    expect(sawAbort).toBe(true);
    expect(stopped).toBe(1);
    expect(reported).toEqual([{ id: job.id, reason: expect.stringContaining("shutdown grace period") }]);
    expect((await store.getJob(job.id))!.status).toBe("interrupted");
  });
});
