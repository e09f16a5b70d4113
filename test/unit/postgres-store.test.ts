/**
 * What only the PostgreSQL Store does, against a real server (one per file): replicas migrating
 * one fresh database at once, 64-bit GitHub ids, `claimJob` skipping rows another claimer has
 * locked, job notifications (LISTEN/NOTIFY) with reconnection, and connection errors that name
 * the database without its password. Everything both stores share is in `store-contract.test.ts`.
 */
import { createServer, connect as tcpConnect, type Server, type Socket } from "node:net";
import pg from "pg";
import { MIGRATION_NAMES } from "../../src/adapters/store-migrations.js";
import { openPostgresStore, redactDatabaseUrl } from "../../src/adapters/postgres-store.js";
import type { JobSpec } from "../../src/jobs/job-spec.js";
import type { LockRecord, ProjectState, RepoRef, Store, WaiterRecord, WorkerRef } from "../../src/ports/store.js";
import { useStoreBackend } from "../helpers/store-backends.js";

const REPO: RepoRef = { owner: "Acme", repo: "Infra" };
const PROD = { name: "", dir: "envs/prod", workspace: "default" };
const CLAIM_TIMES = { startedAt: "2025-05-01T00:00:00.000Z", leaseUntil: "2025-05-01T00:01:00.000Z" };
const ME: WorkerRef = { replica: "r1", worker: "r1/w" };

function pullJob(pullNumber: number): JobSpec {
  return { installationId: 77, owner: "Acme", repo: "Infra", pullNumber, user: "alice", name: "atoll", kind: "review" };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it is truthy, failing after `timeoutMs`. */
async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** `promise`, or a rejection when it takes longer than `ms` (a claim that blocks instead of skipping). */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A TCP proxy in front of the server that can hold new connections (accepted, not yet forwarded):
 * a connection attempt that is slow to complete, on demand.
 */
async function startProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let held: (() => void)[] | undefined;
  const server: Server = createServer((client) => {
    sockets.add(client);
    const forward = () => {
      if (client.destroyed) return;
      const upstream = tcpConnect(target.port, target.host);
      sockets.add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) s.on("error", close).on("close", close);
      client.pipe(upstream);
      upstream.pipe(client);
    };
    if (held) held.push(forward);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    hold() {
      held = [];
    },
    /** Connections accepted while holding and not yet forwarded. */
    waiting: () => held?.length ?? 0,
    release() {
      const pending = held ?? [];
      held = undefined;
      for (const forward of pending) forward();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("postgres store", () => {
  const backend = useStoreBackend("postgres");
  const dbName = () => decodeURIComponent(new URL(backend.location).pathname.slice(1));
  const psql = (statement: string) => backend.pg!.psql(statement, dbName());
  /** Connections of the current database that are listening for jobs. */
  const listeners = async () =>
    Number(await psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'"));

  test("4 stores opening a fresh database at once all work, and each migration runs once", async () => {
    const stores = await Promise.all([1, 2, 3, 4].map(() => backend.open()));
    const results = await Promise.all(stores.map((s) => s.recordDelivery("same", "push")));
    expect(results.filter(Boolean)).toHaveLength(1);
    const jobs = await Promise.all(stores.map((s) => s.createJob(pullJob(1), "one")));
    expect(jobs.filter((j) => j !== undefined)).toHaveLength(1);
    for (const s of stores) await expect(s.checkReady()).resolves.toBeUndefined();
    expect(await psql("SELECT name || ':' || count(*) FROM kysely_migration GROUP BY name ORDER BY name")).toBe(
      MIGRATION_NAMES.map((n) => `${n}:1`).join("\n"),
    );
    // The notification triggers exist once each.
    expect(await psql("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'atoll_jobs_%' ORDER BY tgname")).toBe(
      "atoll_jobs_finished\natoll_jobs_queued",
    );
  });

  test("64-bit ids (check runs, installations) round-trip as numbers", async () => {
    const store = await backend.open();
    const BIG = 2 ** 32 + 123;
    const BIGGER = 2 ** 52 + 7;
    const sha = "ab".repeat(20);
    await store.setCheckRun(REPO, sha, "atoll/plan", { id: BIG, status: "queued" });
    await store.setCheckRun(REPO, sha, "atoll/apply", { id: BIGGER, status: "completed" });
    expect(await store.getCheckRun(REPO, sha, "atoll/plan")).toStrictEqual({ id: BIG, status: "queued" });
    expect(await store.getCheckRun(REPO, sha, "atoll/apply")).toStrictEqual({ id: BIGGER, status: "completed" });

    const lock: LockRecord = { repo: REPO, project: PROD, pullNumber: 12, installationId: BIGGER, user: "alice", lockedAt: "2025-01-01T00:00:00.000Z" };
    expect(await store.tryLock(lock)).toStrictEqual({ acquired: true, lock });
    expect(await store.tryLock({ ...lock, pullNumber: 13 })).toStrictEqual({ acquired: false, holder: lock });
    expect(await store.getLock(REPO, PROD)).toStrictEqual(lock);
    expect(await store.listLocks()).toStrictEqual([lock]);

    const waiter: WaiterRecord = { repo: REPO, project: PROD, pullNumber: 13, installationId: BIG, user: "bob", queuedAt: "2025-01-01T00:00:01.000Z" };
    expect(await store.addWaiter(waiter)).toBe(1);
    expect(await store.listWaiters(REPO, PROD)).toStrictEqual([waiter]);

    const state: ProjectState = {
      project: PROD,
      headSha: sha,
      plan: "success",
      hasChanges: true,
      apply: "none",
      extraArgs: [],
      headline: "",
      output: "",
      planCheckRunId: BIGGER,
      updatedAt: "2025-01-01T00:00:00.000Z",
    };
    await store.upsertProject(REPO, 12, state);
    expect(await store.listProjects(REPO, 12)).toStrictEqual([state]);
    expect(await psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'check_runs' AND column_name = 'id'")).toBe("bigint");
  });

  test("an id beyond 2^53 is refused, not rounded", async () => {
    const store = await backend.open();
    const sha = "cd".repeat(20);
    await store.setCheckRun(REPO, sha, "atoll/plan", { id: 1, status: "queued" });
    await psql("UPDATE check_runs SET id = 9007199254740993");
    await expect(store.getCheckRun(REPO, sha, "atoll/plan")).rejects.toThrow(/9007199254740993.*safe JavaScript integer/);
  });

  test("claimJob skips a job another claimer holds locked, and never takes a later job of its pull request instead", async () => {
    const store = await backend.open();
    const a1 = (await store.createJob(pullJob(1)))!;
    const a2 = (await store.createJob(pullJob(1)))!;
    const b1 = (await store.createJob(pullJob(2)))!;
    const b2 = (await store.createJob(pullJob(2)))!;
    const other = new pg.Client({ connectionString: backend.location });
    await other.connect();
    try {
      // Another replica is in the middle of claiming a1 (row locked, not committed).
      await other.query("BEGIN");
      await other.query("SELECT id FROM jobs WHERE id = $1 FOR UPDATE", [a1.id]);
      expect((await within(5_000, "claimJob", store.claimJob(ME, CLAIM_TIMES)))?.id).toBe(b1.id);
      expect(await within(5_000, "claimJob", store.claimJob(ME, CLAIM_TIMES))).toBeUndefined();
      await other.query("ROLLBACK");
      expect((await store.claimJob(ME, CLAIM_TIMES))?.id).toBe(a1.id);

      // b1 done; the other replica claims b2 in a transaction not yet committed: this store must
      // neither wait for it nor claim b2 too.
      expect(await store.finishJob(b1.id, ME.worker, { status: "succeeded", finishedAt: "2025-05-01T00:00:30.000Z" })).toBe(true);
      await other.query("BEGIN");
      await other.query("UPDATE jobs SET status = 'running', worker = 'r2/w', replica = 'r2' WHERE id = $1", [b2.id]);
      expect(await within(5_000, "claimJob", store.claimJob(ME, CLAIM_TIMES))).toBeUndefined();
      await other.query("COMMIT");
      expect(await store.claimJob(ME, CLAIM_TIMES)).toBeUndefined();
      expect((await store.getJob(b2.id))!.worker).toBe("r2/w");
      expect((await store.getJob(a2.id))!.status).toBe("queued");
    } finally {
      await other.end();
    }
  });

  test("addWaiter: a PR whose insert is slow to commit is still counted ahead of one queued after it", async () => {
    const a = await backend.open();
    const b = await backend.open();
    // PR 1's insert takes its place (id) at once but commits half a second later, as under load.
    await psql(`CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$;
      CREATE TRIGGER slow_waiter AFTER INSERT ON waiters FOR EACH ROW WHEN (NEW.pull_number = 1) EXECUTE FUNCTION slow_insert()`);
    const t = "2025-01-01T00:00:00.000Z";
    const first = a.addWaiter({ repo: REPO, project: PROD, pullNumber: 1, installationId: 1, user: "u1", queuedAt: t });
    await until("PR 1's insert to be under way", async () => Number(await psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")) === 1, 5_000);
    const second = b.addWaiter({ repo: REPO, project: PROD, pullNumber: 2, installationId: 1, user: "u2", queuedAt: "2025-01-01T00:00:01.000Z" });
    const positions = await Promise.all([first, second]);
    expect((await a.listWaiters(REPO, PROD)).map((w) => w.pullNumber)).toEqual([1, 2]);
    expect(positions).toEqual([1, 2]);
  });

  describe("watchJobs", () => {
    test("fires when another store queues a job or a job finishes; unsubscribing stops it", async () => {
      const watcher = await backend.open();
      const other = await backend.open();
      let calls = 0;
      const unsubscribe = await watcher.watchJobs!(() => void calls++);
      expect(await listeners()).toBe(1);
      const settle = async () => {
        await sleep(200);
        return calls;
      };

      let before = await settle();
      const job = (await other.createJob(pullJob(1)))!;
      await until("a notification of the queued job", () => calls > before, 1_000);

      await other.claimJob(ME, CLAIM_TIMES);
      before = await settle();
      expect(await other.finishJob(job.id, ME.worker, { status: "succeeded", finishedAt: "2025-05-01T00:00:30.000Z" })).toBe(true);
      await until("a notification of the finished job", () => calls > before, 1_000);

      await unsubscribe();
      expect(await listeners()).toBe(0);
      before = await settle();
      await other.createJob(pullJob(2));
      await other.createJob(pullJob(3));
      expect(await settle()).toBe(before);
      await sleep(300);
      expect(calls).toBe(before);
    });

    test("every subscription is told, and closing the store stops them", async () => {
      const watcher = await backend.open();
      const other = await backend.open();
      const calls = [0, 0];
      await watcher.watchJobs!(() => void calls[0]++);
      await watcher.watchJobs!(() => void calls[1]++);
      expect(await listeners()).toBe(2);
      const before = [...calls];
      await other.createJob(pullJob(1));
      await until("both listeners notified", () => calls[0] > before[0] && calls[1] > before[1], 1_000);
      await backend.close(watcher);
      expect(await listeners()).toBe(0);
      const after = [...calls];
      await other.createJob(pullJob(2));
      await sleep(400);
      expect(calls).toEqual(after);
    });

    test("reconnects after the listening connection is killed, says so, and fires again", async () => {
      const warnings: string[] = [];
      const watcher = await openPostgresStore(backend.location, { poolSize: 2, onWarning: (message) => warnings.push(message) });
      try {
        const other = await backend.open();
        let calls = 0;
        const unsubscribe = await watcher.watchJobs!(() => void calls++);
        expect(await listeners()).toBe(1);
        const before = calls;
        expect(await psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'")).toBe("t");
        // Back: it listens again, and tells the listener once (notifications meanwhile are lost).
        await until("the listener to reconnect", async () => calls > before && (await listeners()) === 1, 10_000);
        expect(warnings.some((w) => /lost the PostgreSQL connection/.test(w))).toBe(true);
        await sleep(200);
        const reconnected = calls;
        await other.createJob(pullJob(1));
        await until("a notification after reconnecting", () => calls > reconnected, 1_000);
        await unsubscribe();
        expect(await listeners()).toBe(0);
      } finally {
        await watcher.close();
      }
    });

    test("unsubscribing while the listener is reconnecting leaves no connection listening, and calls it no more", async () => {
      const proxy = await startProxy({ host: backend.pg!.host, port: backend.pg!.port });
      const viaProxy = new URL(backend.location);
      viaProxy.port = String(proxy.port);
      const watcher = await openPostgresStore(viaProxy.toString(), { poolSize: 2 });
      try {
        let calls = 0;
        const unsubscribe = await watcher.watchJobs!(() => void calls++);
        expect(await listeners()).toBe(1);
        // The listening connection dies; its replacement is slow to connect.
        proxy.hold();
        expect(await psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'")).toBe("t");
        await until("a reconnection attempt", () => proxy.waiting() === 1, 10_000);
        await unsubscribe();
        const atUnsubscribe = calls;
        proxy.release();
        await sleep(500);
        expect(await listeners()).toBe(0);
        expect(calls).toBe(atUnsubscribe);
      } finally {
        await watcher.close();
        await proxy.close();
      }
    });
  });

  describe("connection errors", () => {
    test("an unreachable server fails opening with a message naming the database, without the password", async () => {
      const error = await openPostgresStore("postgres://postgres:secret@127.0.0.1:1/x", { poolSize: 1 }).then(
        (store: Store) => {
          void store.close();
          throw new Error("opened an unreachable database");
        },
        (e: unknown) => e as Error,
      );
      expect(error.message).toMatch(/^PostgreSQL store /);
      expect(error.message).toContain("127.0.0.1:1/x");
      expect(error.message).not.toContain("secret");
      expect(String(error.stack)).not.toContain("secret");
    });

    test("redactDatabaseUrl hides the password and nothing else", () => {
      expect(redactDatabaseUrl("postgres://atoll:s3cr%40t@db.example:5432/atoll?sslmode=require")).toBe(
        "postgres://atoll:***@db.example:5432/atoll?sslmode=require",
      );
      expect(redactDatabaseUrl("postgres://atoll@db.example/atoll")).toBe("postgres://atoll@db.example/atoll");
      const unparsable = redactDatabaseUrl("not a url, secret");
      expect(unparsable).not.toContain("secret");
      expect(unparsable).toMatch(/unparsable/);
    });

    test("redactDatabaseUrl hides a password given as a query parameter", () => {
      // `pg` (pg-connection-string) takes `?password=` as the password, like libpq does.
      const redacted = redactDatabaseUrl("postgres://atoll@db.example/atoll?sslmode=require&password=secret");
      expect(redacted).not.toContain("secret");
      expect(redacted).toContain("db.example");
    });
  });
});
