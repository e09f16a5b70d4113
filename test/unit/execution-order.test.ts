import { goRuntimeEnv } from "../../src/runner/workflow/go-runtime-env.js";
import { executionGroups, keyedSerializer, peakConcurrency, runInExecutionOrder, runPool } from "../../src/runner/execution-order.js";

/** A task that records when it starts and ends, and finishes when released. */
function gate() {
  const events: string[] = [];
  const waiting = new Map<string, () => void>();
  let running = 0;
  let maxRunning = 0;
  const task = (name: string) =>
    new Promise<string>((resolve) => {
      events.push(`start ${name}`);
      running++;
      maxRunning = Math.max(maxRunning, running);
      waiting.set(name, () => {
        running--;
        events.push(`end ${name}`);
        resolve(name);
      });
    });
  const release = async (name: string) => {
    for (let i = 0; i < 50 && !waiting.has(name); i++) await new Promise((r) => setImmediate(r));
    const done = waiting.get(name);
    if (!done) throw new Error(`${name} never started; events: ${events.join(", ")}`);
    waiting.delete(name);
    done();
    await new Promise((r) => setImmediate(r));
  };
  return { events, task, release, started: (name: string) => events.includes(`start ${name}`), max: () => maxRunning };
}

describe("executionGroups", () => {
  test.each<[string, [string, number][], string[][]]>([
    ["empty", [], []],
    ["one group keeps input order", [["b", 0], ["a", 0]], [["b", "a"]]],
    ["ascending groups", [["c", 2], ["a", 0], ["b", 1], ["d", 0]], [["a", "d"], ["b"], ["c"]]],
    ["negative groups come first", [["x", 0], ["y", -1]], [["y"], ["x"]]],
  ])("%s", (_name, items, expected) => {
    expect(executionGroups(items, ([, g]) => g).map((g) => g.map(([n]) => n))).toEqual(expected);
  });
});

describe("runPool", () => {
  test("at most `limit` at once, results in input order", async () => {
    const g = gate();
    const done = runPool(["a", "b", "c"], 2, (n) => g.task(n));
    await g.release("b");
    expect(g.started("c")).toBe(true);
    await g.release("a");
    await g.release("c");
    expect(await done).toEqual(["a", "b", "c"]);
    expect(g.max()).toBe(2);
  });

  test("limit 1 runs one after another", async () => {
    const order: string[] = [];
    await runPool(["a", "b", "c"], 1, async (n) => {
      order.push(`start ${n}`);
      await new Promise((r) => setImmediate(r));
      order.push(`end ${n}`);
    });
    expect(order).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  test("a rejection stops taking new items and rejects", async () => {
    const seen: number[] = [];
    await expect(
      runPool([1, 2, 3, 4], 1, async (n) => {
        seen.push(n);
        if (n === 2) throw new Error("boom");
        return n;
      }),
    ).rejects.toThrow("boom");
    expect(seen).toEqual([1, 2]);
  });

  test("no items: no calls", async () => {
    expect(await runPool([], 3, async () => 1)).toEqual([]);
  });
});

describe("runInExecutionOrder: cancel", () => {
  const base = { groupOf: (x: { g: number }) => x.g, poolSize: 4, parallel: false, abortOnFailure: false, failed: () => false, skipped: (x: { n: string }) => `skipped ${x.n}` };

  test("asked before each group after the first; once cancelled, no later group starts", async () => {
    const ran: string[] = [];
    let asked = 0;
    let by: string | undefined;
    const items = [{ n: "a", g: 1 }, { n: "b", g: 2 }, { n: "c", g: 3 }, { n: "a2", g: 1 }];
    const results = await runInExecutionOrder(
      items,
      { ...base, cancelledBy: async () => (asked++, by), cancelled: (x, who) => `cancelled ${x.n} by ${who}` },
      async (x) => {
        ran.push(x.n);
        if (x.n === "b") by = "bob"; // cancel arrives while group 2 runs
        return `ran ${x.n}`;
      },
    );
    expect(ran).toEqual(["a", "a2", "b"]);
    expect(results).toEqual(["ran a", "ran b", "cancelled c by bob", "ran a2"]);
    expect(asked).toBe(2); // before groups 2 and 3, never before the first
  });

  test("without the cancelled hook nothing is asked", async () => {
    let asked = 0;
    const results = await runInExecutionOrder([{ n: "a", g: 1 }, { n: "b", g: 2 }], { ...base, cancelledBy: async () => (asked++, "bob") }, async (x) => x.n);
    expect(results).toEqual(["a", "b"]);
    expect(asked).toBe(0);
  });
});

describe("runInExecutionOrder", () => {
  const base = { groupOf: (x: { g: number }) => x.g, poolSize: 4, failed: (r: string) => r.startsWith("fail"), skipped: (x: { n: string }) => `skipped ${x.n}` };

  test("a group starts only after the previous group finished; parallel inside a group", async () => {
    const g = gate();
    const items = [
      { n: "app", g: 2 },
      { n: "net", g: 1 },
      { n: "db", g: 2 },
    ];
    const done = runInExecutionOrder(items, { ...base, parallel: true, abortOnFailure: false }, (x) => g.task(x.n));
    await new Promise((r) => setImmediate(r));
    expect(g.events).toEqual(["start net"]);
    await g.release("net");
    expect(g.started("app") && g.started("db")).toBe(true);
    await g.release("db");
    await g.release("app");
    expect(await done).toEqual(["app", "net", "db"]);
    expect(g.events.indexOf("end net")).toBeLessThan(g.events.indexOf("start app"));
  });

  test("not parallel: one at a time even inside a group", async () => {
    const g = gate();
    const done = runInExecutionOrder(
      [
        { n: "a", g: 0 },
        { n: "b", g: 0 },
      ],
      { ...base, parallel: false, abortOnFailure: false },
      (x) => g.task(x.n),
    );
    await new Promise((r) => setImmediate(r));
    expect(g.started("b")).toBe(false);
    await g.release("a");
    await g.release("b");
    await done;
    expect(g.max()).toBe(1);
  });

  test.each<[string, boolean, string[]]>([
    ["abort: later groups are skipped after a failure", true, ["ok a", "fail b", "skipped c"]],
    ["no abort: later groups still run", false, ["ok a", "fail b", "ok c"]],
  ])("%s", async (_name, abortOnFailure, expected) => {
    const items = [
      { n: "a", g: 0 },
      { n: "b", g: 0 },
      { n: "c", g: 1 },
    ];
    const results = await runInExecutionOrder(items, { ...base, parallel: true, abortOnFailure }, async (x) => (x.n === "b" ? `fail ${x.n}` : `ok ${x.n}`));
    expect(results).toEqual(expected);
  });
});

describe("keyedSerializer", () => {
  test("same key waits, other keys run alongside", async () => {
    const g = gate();
    const serial = keyedSerializer();
    const a1 = serial("dir-a", () => g.task("a1"));
    const a2 = serial("dir-a", () => g.task("a2"));
    const b1 = serial("dir-b", () => g.task("b1"));
    await new Promise((r) => setImmediate(r));
    expect(g.started("a1") && g.started("b1")).toBe(true);
    expect(g.started("a2")).toBe(false);
    await g.release("a1");
    expect(g.started("a2")).toBe(true);
    await g.release("a2");
    await g.release("b1");
    expect(await Promise.all([a1, a2, b1])).toEqual(["a1", "a2", "b1"]);
  });

  test("a failure does not block the next task of the key", async () => {
    const serial = keyedSerializer();
    const first = serial("k", async () => {
      throw new Error("first failed");
    });
    await expect(first).rejects.toThrow("first failed");
    expect(await serial("k", async () => "second")).toBe("second");
  });
});

describe("peakConcurrency", () => {
  const items = [{ g: 0 }, { g: 0 }, { g: 0 }, { g: 1 }, { g: 1 }];
  const groupOf = (i: { g: number }) => i.g;
  test("the largest group, capped by the pool; 1 when not parallel; 0 for nothing", () => {
    expect(peakConcurrency(items, { groupOf, parallel: true, poolSize: 4 })).toBe(3);
    expect(peakConcurrency(items, { groupOf, parallel: true, poolSize: 2 })).toBe(2);
    expect(peakConcurrency(items, { groupOf, parallel: false, poolSize: 4 })).toBe(1);
    expect(peakConcurrency([], { groupOf, parallel: true, poolSize: 4 })).toBe(0);
  });
});

describe("goRuntimeEnv", () => {
  const GiB = 2 ** 30;
  test("divides the cores between processes running together, at least one each", () => {
    expect(goRuntimeEnv(4, { cores: 2, env: {} })).toEqual({ GOMAXPROCS: "1" });
    expect(goRuntimeEnv(4, { cores: 16, env: {} })).toEqual({ GOMAXPROCS: "4" });
    expect(goRuntimeEnv(3, { cores: 8, env: {} })).toEqual({ GOMAXPROCS: "2" });
  });
  test("no GOMAXPROCS for a single process, or when the operator set it", () => {
    expect(goRuntimeEnv(1, { cores: 2, env: {} })).toEqual({});
    expect(goRuntimeEnv(0, { cores: 2, env: {} })).toEqual({});
    expect(goRuntimeEnv(4, { cores: 2, env: { GOMAXPROCS: "2" } })).toEqual({});
  });
  test("GOGC with a soft memory limit of half the machine shared between the processes", () => {
    expect(goRuntimeEnv(1, { gogc: 200, cores: 2, totalMemBytes: 24 * GiB, env: {} })).toEqual({ GOGC: "200", GOMEMLIMIT: "12288MiB" });
    expect(goRuntimeEnv(4, { gogc: 300, cores: 2, totalMemBytes: 8 * GiB, env: {} })).toEqual({ GOMAXPROCS: "1", GOGC: "300", GOMEMLIMIT: "1024MiB" });
    // A tiny machine still gets a usable limit.
    expect(goRuntimeEnv(8, { gogc: 200, cores: 2, totalMemBytes: 512 * 2 ** 20, env: {} })).toMatchObject({ GOMEMLIMIT: "64MiB" });
  });
  test("GOGC 100 is Go's default: nothing set; the operator's GOGC or GOMEMLIMIT is left alone", () => {
    expect(goRuntimeEnv(1, { gogc: 100, env: {} })).toEqual({});
    expect(goRuntimeEnv(1, { gogc: 200, env: { GOGC: "50" } })).toEqual({});
    expect(goRuntimeEnv(1, { gogc: 200, env: { GOMEMLIMIT: "2GiB" } })).toEqual({});
  });
});
