/**
 * JobService on both real stores (SQLite file, PostgreSQL server): dedupe, status bookkeeping,
 * per-pull-request order, several services (replicas) sharing one database, recovery after a
 * restart, a dead replica's jobs reported after its lease, a worker that lost its lease stopping
 * its job, wake-ups through LISTEN/NOTIFY, and draining.
 */
import type { JobSpec } from "../../src/jobs/job-spec.js";
import { JobService, type JobRun, type JobServiceOptions } from "../../src/jobs/job-service.js";
import type { JobProcess, JobRecord, Store } from "../../src/ports/store.js";
import { STORE_BACKENDS, useStoreBackend } from "../helpers/store-backends.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const spec = (pullNumber: number, repo = "infra"): JobSpec => ({
  kind: "review",
  installationId: 1,
  owner: "acme",
  repo,
  pullNumber,
  user: "alice",
  name: "atoll",
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A promise with its resolve, to hold a job until the test releases it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe.each(STORE_BACKENDS)("JobService on %s", (backendName) => {
  const backend = useStoreBackend(backendName);
  const services: JobService[] = [];
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
  });

  interface Harness {
    jobs: JobService;
    reported: { id: number; reason: string }[];
    killed: JobProcess[][];
  }

  function service(
    store: Store,
    execute: (job: JobRecord, run: JobRun) => Promise<void>,
    extra: Partial<JobServiceOptions> = {},
  ): Harness {
    const reported: { id: number; reason: string }[] = [];
    const killed: JobProcess[][] = [];
    const jobs = new JobService({
      store,
      log: silent,
      execute,
      reportInterrupted: async (job, reason) => void reported.push({ id: job.id, reason }),
      killProcesses: async (processes) => {
        killed.push(processes);
        return processes.length;
      },
      work: true,
      concurrency: 2,
      replica: "replica-a",
      leaseMs: 30_000,
      pollMs: 50,
      host: "host-a",
      ...extra,
    });
    services.push(jobs);
    return { jobs, reported, killed };
  }

  test("runs submitted jobs, records success and failure, and ignores a duplicate key", async () => {
    const store = await backend.open();
    const ran: number[] = [];
    const { jobs } = service(store, async (job) => {
      ran.push(job.spec.pullNumber);
      if (job.spec.pullNumber === 2) throw new Error("boom");
    });
    await jobs.start();
    const a = await jobs.submit(spec(1), "k1");
    expect(await jobs.submit(spec(1), "k1")).toBeUndefined();
    const b = await jobs.submit(spec(2));
    await jobs.onIdle();
    expect(ran.sort()).toEqual([1, 2]);
    const done = (await store.getJob(a!.id))!;
    expect(done).toMatchObject({ status: "succeeded", replica: "replica-a", worker: jobs.worker });
    expect(done.finishedAt).toBeDefined();
    const failed = (await store.getJob(b!.id))!;
    expect(failed.status).toBe("failed");
    expect(failed.error).toBe("boom");
  });

  test("a pull request's jobs run one at a time, in order; other pull requests run alongside", async () => {
    const store = await backend.open();
    const order: string[] = [];
    let running = 0;
    let peak = 0;
    const perPull = new Map<number, number>();
    const { jobs } = service(
      store,
      async (job) => {
        const n = job.spec.pullNumber;
        perPull.set(n, (perPull.get(n) ?? 0) + 1);
        expect(perPull.get(n)).toBe(1);
        running++;
        peak = Math.max(peak, running);
        order.push(`${n}:${job.id}`);
        await sleep(15);
        running--;
        perPull.set(n, perPull.get(n)! - 1);
      },
      { concurrency: 3 },
    );
    await jobs.start();
    const ids: Record<number, number[]> = { 1: [], 2: [], 3: [] };
    // In bursts per pull request, so that oldest-first claiming alone would overlap them.
    for (const n of [1, 2, 3]) for (let i = 0; i < 4; i++) ids[n].push((await jobs.submit(spec(n)))!.id);
    await jobs.onIdle();
    for (const n of [1, 2, 3]) {
      expect(order.filter((o) => o.startsWith(`${n}:`)).map((o) => Number(o.split(":")[1]))).toEqual(ids[n]);
    }
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
  });

  test("two replicas on one database: every job runs exactly once, and a pull request's jobs never overlap", async () => {
    const storeA = await backend.open();
    const storeB = await backend.open();
    const runs = new Map<number, string[]>();
    const busy = new Set<number>();
    const overlaps: number[] = [];
    const execute = (replica: string) => async (job: JobRecord) => {
      const n = job.spec.pullNumber;
      if (busy.has(n)) overlaps.push(n);
      busy.add(n);
      runs.set(job.id, [...(runs.get(job.id) ?? []), replica]);
      await sleep(5 + (job.id % 3) * 5);
      busy.delete(n);
    };
    const a = service(storeA, execute("a"), { replica: "replica-a" });
    const b = service(storeB, execute("b"), { replica: "replica-b" });
    await Promise.all([a.jobs.start(), b.jobs.start()]);
    const submitted: number[] = [];
    // Submitted through both replicas, interleaved, as webhooks spread over them would be.
    // In bursts per pull request, so that oldest-first claiming alone would overlap them.
    for (let i = 0; i < 24; i++) submitted.push((await (i % 2 ? a : b).jobs.submit(spec(1 + Math.floor(i / 6))))!.id);
    await until("all jobs done", async () => (await storeA.countJobs(["queued", "running"])) === 0);
    await Promise.all([a.jobs.onIdle(), b.jobs.onIdle()]);
    expect([...runs.keys()].sort((x, y) => x - y)).toEqual(submitted);
    for (const [, by] of runs) expect(by).toHaveLength(1);
    expect(overlaps).toEqual([]);
    const replicas = new Set([...runs.values()].flat());
    expect(replicas).toEqual(new Set(["a", "b"]));
    expect((await storeA.listJobs(["succeeded"])).map((j) => j.id)).toEqual(submitted);
  });

  test("start: jobs a previous run of this replica left running are taken over, their processes here killed, reported and finished interrupted; queued jobs run", async () => {
    const store = await backend.open();
    // A previous run of replica-a claimed two jobs and died.
    const leftA = (await store.createJob(spec(1)))!;
    const queued = (await store.createJob(spec(1)))!; // same PR: must wait for the report
    const other = (await store.createJob(spec(2)))!;
    const old = { replica: "replica-a", worker: "replica-a/111.dead" };
    const lease = { startedAt: new Date().toISOString(), leaseUntil: new Date(Date.now() + 600_000).toISOString() };
    expect((await store.claimJob(old, lease))!.id).toBe(leftA.id);
    expect((await store.claimJob(old, lease))!.id).toBe(other.id);
    await store.updateJob(leftA.id, { processes: [{ pid: 1234, startTime: "42", host: "host-a" }, { pid: 99, startTime: "7", host: "elsewhere" }] });
    await store.updateJob(other.id, { processes: [{ pid: 555, startTime: "1" }] }); // recorded before hosts were
    // Another replica's job with a live lease is not touched.
    const foreign = (await store.createJob(spec(3)))!;
    expect((await store.claimJob({ replica: "replica-b", worker: "replica-b/1.x" }, lease))!.id).toBe(foreign.id);

    const ran: number[] = [];
    let reportDone = false;
    const reporting = gate();
    const reported: { id: number; reason: string }[] = [];
    const { jobs, killed } = service(
      store,
      async (job) => {
        ran.push(job.id);
        // The PR's next job runs only after its interrupted one was reported.
        if (job.id === queued.id) expect(reportDone).toBe(true);
      },
      {
        reportInterrupted: async (job, reason) => {
          if (job.id === leftA.id) await reporting.promise;
          reported.push({ id: job.id, reason });
          if (job.id === leftA.id) reportDone = true;
        },
      },
    );
    const started = jobs.start();
    await sleep(100);
    expect(ran).not.toContain(queued.id);
    expect((await store.getJob(leftA.id))!.status).toBe("running"); // held while reported
    reporting.open();
    expect(await started).toEqual({ interrupted: 2, resumed: 1 });
    await jobs.onIdle();
    expect(reported.map((r) => r.id).sort((x, y) => x - y)).toEqual([leftA.id, other.id]);
    expect(reported[0].reason).toContain("restarted");
    // Only processes recorded on this machine (or before hosts were recorded, for its own jobs).
    expect(killed.flat().map((p) => p.pid).sort((x, y) => x - y)).toEqual([555, 1234]);
    for (const id of [leftA.id, other.id]) expect((await store.getJob(id))!.status).toBe("interrupted");
    expect(ran).toEqual([queued.id]);
    expect((await store.getJob(foreign.id))!.status).toBe("running");
  });

  test("a replica that stops renewing: another replica reports its job after the lease, and the late result is not recorded", async () => {
    const storeA = await backend.open();
    const storeB = await backend.open();
    const held = gate();
    const a = service(storeA, () => held.promise, { replica: "replica-a", leaseMs: 400, pollMs: 50 });
    await a.jobs.start();
    const job = (await a.jobs.submit(spec(1)))!;
    const next = (await storeA.createJob(spec(1)))!;
    await until("the job running on a", async () => (await storeA.getJob(job.id))!.status === "running");
    // Replica A freezes: its timers stop (no renewals, no claims); its job is still "running" there.
    await a.jobs.stop();
    const ran: number[] = [];
    const b = service(storeB, async (j) => void ran.push(j.id), { replica: "replica-b", leaseMs: 400, pollMs: 50, host: "host-b" });
    const t0 = Date.now();
    await b.jobs.start();
    await until("the job reported by b", () => b.reported.find((r) => r.id === job.id));
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(b.reported[0].reason).toContain("stopped responding");
    expect(b.killed).toEqual([]); // its processes were on host-a
    await until("interrupted", async () => (await storeB.getJob(job.id))!.status === "interrupted");
    // The PR's next job runs on b afterwards.
    await until("the next job ran", () => ran.includes(next.id));
    // A wakes up and finishes: too late, nothing changes.
    held.open();
    await sleep(100);
    expect((await storeB.getJob(job.id))!.status).toBe("interrupted");
  });

  test("a worker whose job was taken over stops it at once: aborted, its processes killed, nothing recorded", async () => {
    const storeA = await backend.open();
    const storeB = await backend.open();
    let aborted = false;
    const a = service(
      storeA,
      (_job, run) =>
        new Promise<void>((_resolve, reject) => {
          run.onSpawn({ pid: 4242, startTime: "9" });
          run.signal.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("stopped"));
          });
        }),
      { replica: "replica-a", leaseMs: 300, pollMs: 10_000 },
    );
    await a.jobs.start();
    const job = (await a.jobs.submit(spec(1)))!;
    await until("processes recorded", async () => (await storeA.getJob(job.id))!.processes.length === 1);
    // Replica B's clock is far ahead: it sees A's lease as run out and adopts the job.
    const b = service(storeB, async () => undefined, { replica: "replica-b", pollMs: 10_000, host: "host-b", now: () => new Date(Date.now() + 3_600_000) });
    await b.jobs.start();
    expect(b.reported.map((r) => r.id)).toEqual([job.id]);
    await until("a stopped the job", () => aborted);
    await until("a killed its processes", () => a.killed.length > 0);
    expect(a.killed[0]).toEqual([{ pid: 4242, startTime: "9", host: "host-a" }]);
    expect((await storeA.getJob(job.id))!.status).toBe("interrupted");
    expect(a.jobs.activeJobs).toBe(0);
  });

  test("a web-only service stores jobs and runs nothing; a worker on the same database picks them up", async () => {
    const webStore = await backend.open();
    const workerStore = await backend.open();
    const web = service(webStore, async () => {
      throw new Error("the web role must not run jobs");
    }, { work: false });
    expect(await web.jobs.start()).toEqual({ interrupted: 0, resumed: 0 });
    const ran: number[] = [];
    // Polling would take a minute: on PostgreSQL the notification wakes the worker, on SQLite
    // (one process per file in production) it polls quickly here.
    const worker = service(workerStore, async (j) => void ran.push(j.id), { pollMs: backendName === "postgres" ? 60_000 : 50, replica: "worker" });
    await worker.jobs.start();
    await sleep(200); // let the listener settle
    const t0 = Date.now();
    const job = (await web.jobs.submit(spec(7)))!;
    expect(job.status).toBe("queued");
    await until("the worker ran it", () => ran.includes(job.id), 5_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(web.jobs.working).toBe(false);
  });

  test("drain: running jobs may finish within the grace period; new jobs stay queued for any replica", async () => {
    const store = await backend.open();
    const release = gate();
    const { jobs } = service(store, () => release.promise);
    await jobs.start();
    const first = (await jobs.submit(spec(1)))!;
    await until("running", () => jobs.activeJobs === 1);
    const draining = jobs.drain(10_000, async () => {
      throw new Error("must not stop processes: the job finishes in time");
    });
    const late = (await jobs.submit(spec(2)))!;
    release.open();
    expect(await draining).toEqual({ finished: true, interrupted: 0 });
    expect((await store.getJob(first.id))!.status).toBe("succeeded");
    await sleep(100);
    expect((await store.getJob(late.id))!.status).toBe("queued");
  });

  test("drain: past the grace period the job is aborted, its processes stopped, and it is reported interrupted", async () => {
    const store = await backend.open();
    let stopped = 0;
    let sawAbort = false;
    const { jobs, reported } = service(
      store,
      (_job, run) =>
        new Promise<void>((_resolve, reject) => {
          run.signal.addEventListener("abort", () => {
            sawAbort = true;
            reject(new Error("interrupted"));
          });
        }),
    );
    await jobs.start();
    const job = (await jobs.submit(spec(1)))!;
    await until("running", () => jobs.activeJobs === 1);
    const result = await jobs.drain(50, async () => void stopped++);
    expect(result).toEqual({ finished: false, interrupted: 1 });
    expect(sawAbort).toBe(true);
    expect(stopped).toBe(1);
    expect(reported).toEqual([{ id: job.id, reason: expect.stringContaining("shutdown grace period") }]);
    expect((await store.getJob(job.id))!).toMatchObject({ status: "interrupted", error: expect.stringContaining("shutdown") });
  });
});
