import { createInProcessJobs } from "../../src/adapters/in-process-jobs.js";
import type { Job } from "../../src/ports/jobs.js";

/** A job whose run() waits until released; records start/finish order. */
function gate(log: string[], name: string, key: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  const job: Job = {
    key,
    name,
    run: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
    },
  };
  return { job, release };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("in-process job runner", () => {
  test("runs at most `concurrency` jobs at once", async () => {
    const log: string[] = [];
    const jobs = createInProcessJobs({ concurrency: 2, maxQueued: 10, onError: () => {} });
    const gates = ["a", "b", "c"].map((n) => gate(log, n, n));
    for (const g of gates) jobs.enqueue(g.job);
    await tick();
    expect(log).toEqual(["start a", "start b"]);
    expect(jobs.running).toBe(2);
    expect(jobs.queued).toBe(1);
    gates[0].release();
    await tick();
    await tick();
    expect(log).toEqual(["start a", "start b", "end a", "start c"]);
    gates[1].release();
    gates[2].release();
    await jobs.onIdle();
    expect(jobs.running + jobs.queued).toBe(0);
  });

  test("jobs with the same key never overlap and keep their order; other keys overtake", async () => {
    const log: string[] = [];
    const jobs = createInProcessJobs({ concurrency: 4, maxQueued: 10, onError: () => {} });
    const a1 = gate(log, "a1", "pr-1");
    const a2 = gate(log, "a2", "pr-1");
    const b = gate(log, "b", "pr-2");
    jobs.enqueue(a1.job);
    jobs.enqueue(a2.job);
    jobs.enqueue(b.job);
    await tick();
    expect(log).toEqual(["start a1", "start b"]);
    a1.release();
    await tick();
    await tick();
    expect(log).toEqual(["start a1", "start b", "end a1", "start a2"]);
    a2.release();
    b.release();
    await jobs.onIdle();
  });

  test("refuses jobs beyond maxQueued", () => {
    const jobs = createInProcessJobs({ concurrency: 1, maxQueued: 2, onError: () => {} });
    const mk = (n: string): Job => ({ key: n, name: n, run: async () => {} });
    expect(jobs.enqueue(mk("a"))).toBe(true);
    expect(jobs.enqueue(mk("b"))).toBe(true);
    expect(jobs.enqueue(mk("c"))).toBe(false);
  });

  test("a failing job is reported and does not stop the runner", async () => {
    const errors: unknown[] = [];
    const jobs = createInProcessJobs({ concurrency: 1, maxQueued: 10, onError: (_j, e) => errors.push(e) });
    let ran = false;
    jobs.enqueue({ key: "k", name: "boom", run: async () => { throw new Error("boom"); } });
    jobs.enqueue({ key: "k", name: "after", run: async () => { ran = true; } });
    await jobs.onIdle();
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom"]);
    expect(ran).toBe(true);
  });

  test("enqueue returns before the job starts (work never runs inside the webhook request)", async () => {
    const jobs = createInProcessJobs({ concurrency: 1, maxQueued: 10, onError: () => {} });
    let started = false;
    jobs.enqueue({ key: "k", name: "j", run: async () => { started = true; } });
    expect(started).toBe(false);
    await jobs.onIdle();
    expect(started).toBe(true);
  });
});
