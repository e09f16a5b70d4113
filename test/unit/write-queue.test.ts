import { WritePriority, WriteQueue, writeQueueOf } from "../../src/runner/reporting/write-queue.js";
import { DEFAULT_ROUND_MS, EARLY_PROGRESS_AFTER_MS, PlanTimings, progressDelay } from "../../src/runner/reporting/progress-timing.js";

/** A queue whose first write is held until released, so later writes pile up behind it. */
function heldQueue() {
  const q = new WriteQueue();
  const sent: string[] = [];
  let release!: () => void;
  const first = q.run(WritePriority.progress, () => new Promise<string>((r) => (release = () => r("held"))).then((v) => (sent.push("held"), v)));
  const write = (priority: WritePriority, name: string, key?: string) =>
    q.run(
      priority,
      async () => {
        sent.push(name);
        return name;
      },
      key,
    );
  return { q, sent, write, first, release: () => release() };
}

describe("WriteQueue", () => {
  test("sends one write at a time: comments, then results, then progress, then cleanup; equals keep their order", async () => {
    const { q, sent, write, release } = heldQueue();
    const all = [
      write(WritePriority.cleanup, "superseded"),
      write(WritePriority.progress, "in progress A"),
      write(WritePriority.result, "result A"),
      write(WritePriority.comment, "comment part 1"),
      write(WritePriority.result, "result B"),
      write(WritePriority.comment, "comment part 2"),
    ];
    expect(q.size).toBe(6);
    release();
    await Promise.all(all);
    expect(sent).toEqual(["held", "comment part 1", "comment part 2", "result A", "result B", "in progress A", "superseded"]);
    expect(q.stats).toEqual({ sent: 7, dropped: 0 });
  });

  test("a write replaces a queued one with the same key; both callers get the answer of the one sent", async () => {
    const { q, sent, write, release } = heldQueue();
    const progress = write(WritePriority.progress, "A in progress", "run A");
    const other = write(WritePriority.progress, "B in progress", "run B");
    const result = write(WritePriority.result, "A completed", "run A");
    release();
    await expect(progress).resolves.toBe("A completed");
    await expect(result).resolves.toBe("A completed");
    await other;
    expect(sent).toEqual(["held", "A completed", "B in progress"]);
    expect(q.stats.dropped).toBe(1);
  });

  test("a write being sent is not replaced: the newer one is sent after it", async () => {
    const q = new WriteQueue();
    const sent: string[] = [];
    let release!: () => void;
    const first = q.run(WritePriority.progress, () => new Promise<void>((r) => (release = r)).then(() => sent.push("first")), "k");
    await new Promise((r) => setImmediate(r));
    const second = q.run(WritePriority.result, async () => sent.push("second"), "k");
    release();
    await Promise.all([first, second]);
    expect(sent).toEqual(["first", "second"]);
  });

  test("a failed write rejects its callers and the queue goes on", async () => {
    const { write, q, release } = heldQueue();
    const failing = q.run(WritePriority.result, () => Promise.reject(new Error("422 from GitHub")), "k");
    const unrelated = q.run(WritePriority.progress, async () => "unrelated", "other");
    const next = write(WritePriority.result, "next");
    release();
    await expect(failing).rejects.toThrow("422 from GitHub");
    await expect(next).resolves.toBe("next");
    await expect(unrelated).resolves.toBe("unrelated");
    await q.idle();
    expect(q.size).toBe(0);
  });

  test("idle() waits for the writes queued and being sent", async () => {
    const { q, sent, write, release } = heldQueue();
    void write(WritePriority.result, "after");
    let idle = false;
    const waiting = q.idle().then(() => (idle = true));
    await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false);
    release();
    await waiting;
    expect(sent).toEqual(["held", "after"]);
  });

  test("a port's own queue is used; ports without one get one each", () => {
    const own = new WriteQueue();
    expect(writeQueueOf({ writeQueue: own })).toBe(own);
    const port = {};
    expect(writeQueueOf(port)).toBe(writeQueueOf(port));
    expect(writeQueueOf(port)).not.toBe(writeQueueOf({}));
  });
});

describe("when a plan writes its progress", () => {
  test("a repository not planned yet: rounds × the default round time", () => {
    const t = new PlanTimings();
    expect(t.expectedMs("o/r", 1, 1)).toBe(DEFAULT_ROUND_MS);
    expect(t.expectedMs("o/r", 20, 4)).toBe(5 * DEFAULT_ROUND_MS);
    expect(t.expectedMs("o/r", 3, 0)).toBe(3 * DEFAULT_ROUND_MS);
  });

  test("learns the round time of each repository, half from the newest plan", () => {
    const t = new PlanTimings();
    t.record("o/r", 20, 4, 5000); // 1000 ms a round
    expect(t.expectedMs("o/r", 8, 4)).toBe(2000);
    t.record("o/r", 4, 4, 200); // 200 ms a round → (1000 + 200) / 2
    expect(t.expectedMs("o/r", 4, 4)).toBe(600);
    expect(t.expectedMs("o/other", 4, 4)).toBe(DEFAULT_ROUND_MS);
    t.record("o/r", 0, 4, 100);
    expect(t.expectedMs("o/r", 4, 4)).toBe(600);
  });

  test("at once when the plans will outlast GitHub's pacing, else after the configured delay", () => {
    expect(progressDelay(EARLY_PROGRESS_AFTER_MS + 1, 2000)).toBe(0);
    expect(progressDelay(EARLY_PROGRESS_AFTER_MS, 2000)).toBe(2000);
    expect(progressDelay(300, 0)).toBe(0);
  });
});
