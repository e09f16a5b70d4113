/**
 * What only the SQLite Store does, against real database files in temp dirs: opening the file
 * (parent directories, WAL, `:memory:`), migration bookkeeping and failures, migration 0002 on a
 * database of an earlier version, and several processes on one file (the stronger proof of the
 * single-statement design, since in-process calls only interleave at `await`s). The behaviour both
 * stores share — every method, durability, races between stores on one database — is in
 * `store-contract.test.ts`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import ts from "typescript";
import { BUSY_TIMEOUT_MS, keepingStatements, openSqliteStore } from "../../src/adapters/sqlite-store.js";
import { MIGRATION_NAMES, migrationProvider } from "../../src/adapters/store-migrations.js";
import type { JobSpec } from "../../src/jobs/job-spec.js";
import type { Project } from "../../src/projects/project.js";
import type { Store } from "../../src/ports/store.js";
import { REPO, PROD, STAGING, NAMED, bareState, COMMAND_SPEC } from "../helpers/store-fixtures.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

let dir: string;
const opened: Store[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "atoll-sqlite-store-"));
});

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

/** Open a store on `file` (default: the test's database) and close it after the test. */
async function open(file = join(dir, "atoll.db"), now?: () => Date): Promise<Store> {
  const store = await openSqliteStore(file, now ? { now } : {});
  opened.push(store);
  return store;
}

/** Close a store opened with `open` before the test ends (restart simulation). */
async function closeStore(store: Store): Promise<void> {
  opened.splice(opened.indexOf(store), 1);
  await store.close();
}

/** Read-only look at the file with a separate connection (what is really on disk). */
function inspect<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

// --- fixtures ---

// --- opening and migrations ---

describe("opening", () => {
  test("creates missing parent directories and a WAL-mode database file", async () => {
    const file = join(dir, "nested", "deeper", "atoll.db");
    const store = await open(file);
    expect(await store.recordDelivery("d1", "push")).toBe(true);
    expect(inspect(file, (db) => db.pragma("journal_mode", { simple: true }))).toBe("wal");
  });

  test("records the schema version, and reopening runs nothing again", async () => {
    const file = join(dir, "atoll.db");
    const migrated = () =>
      inspect(file, (db) => db.prepare("SELECT name, timestamp FROM kysely_migration ORDER BY name").all());
    await closeStore(await open(file));
    const first = migrated();
    expect(first.map((r) => (r as { name: string }).name)).toEqual([...MIGRATION_NAMES]);
    expect(MIGRATION_NAMES[0]).toBe("0001_initial");
    await closeStore(await open(file));
    await closeStore(await open(file));
    // Same rows, same timestamps: the migrations ran once.
    expect(migrated()).toEqual(first);
    const tables = inspect(file, (db) =>
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all(),
    );
    expect(tables).toEqual([
      "blobs",
      "check_runs",
      "deliveries",
      "job_logs",
      "jobs",
      "kysely_migration",
      "kysely_migration_lock",
      "locks",
      "plan_history",
      "project_states",
      "repositories",
      "waiters",
    ]);
  });

  test("a failing migration names the file and the migration, and leaves nothing half-built", async () => {
    const file = join(dir, "conflict.db");
    const raw = new Database(file);
    raw.exec("CREATE TABLE jobs (something TEXT)"); // collides with a table migration 0001 creates
    raw.close();
    await expect(openSqliteStore(file)).rejects.toThrow(
      new RegExp(`SQLite store ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: migration 0001_initial failed: .*jobs`),
    );
    const tables = inspect(file, (db) =>
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all(),
    );
    // The whole migration rolled back: only the pre-existing table is there.
    expect(tables).toEqual(["jobs"]);
  });

  test("refuses a database migrated by a newer version, naming the file", async () => {
    const file = join(dir, "future.db");
    await closeStore(await open(file));
    const raw = new Database(file);
    raw.prepare("INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_future', ?)").run(new Date().toISOString());
    raw.close();
    await expect(openSqliteStore(file)).rejects.toThrow(`SQLite store ${file}: migrations failed`);
  });

  test("reports a file that cannot be created", async () => {
    const blocker = join(dir, "not-a-dir");
    await writeFile(blocker, "x");
    await expect(openSqliteStore(join(blocker, "atoll.db"))).rejects.toThrow(`SQLite store ${join(blocker, "atoll.db")}`);
  });

  test("accepts :memory: (private, migrated)", async () => {
    const a = await open(":memory:");
    const b = await open(":memory:");
    await a.upsertProject(REPO, 1, bareState(PROD));
    expect(await a.listProjects(REPO, 1)).toHaveLength(1);
    expect(await b.listProjects(REPO, 1)).toEqual([]);
  });

  test("close is idempotent and really closes", async () => {
    const store = await openSqliteStore(join(dir, "atoll.db"));
    await store.close();
    await store.close();
    await expect(store.recordDelivery("x", "push")).rejects.toThrow();
  });

  test("several stores opening a fresh file at once in one process all work", async () => {
    const file = join(dir, "fresh.db");
    const stores = await Promise.all([open(file), open(file), open(file)]);
    const results = await Promise.all(stores.map((s) => s.recordDelivery("same", "push")));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

// --- migration 0002 on a database of an earlier version ---

describe("migration 0002_replicas on a database migrated to 0001_initial", () => {
  /** A database as Atoll before replicas left it: migrated to 0001 only. */
  async function oldDatabase(file: string): Promise<Database.Database> {
    const raw = new Database(file);
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
    const { error, results } = await new Migrator({ db, provider: migrationProvider("sqlite") }).migrateTo("0001_initial");
    expect(error).toBeUndefined();
    expect(results?.map((r) => [r.migrationName, r.status])).toEqual([["0001_initial", "Success"]]);
    await db.destroy(); // closes `raw`
    return new Database(file);
  }

  function insertState(raw: Database.Database, pullNumber: number, project: Project, planFile: string | null): void {
    raw
      .prepare(
        `INSERT INTO project_states (owner_key, repo_key, owner, repo, pull_number, project_name, project_dir,
           project_workspace, head_sha, base_sha, plan, has_changes, apply, plan_file, plan_digest, extra_args,
           summary, headline, output, plan_check_run_id, updated_at)
         VALUES ('acme', 'infra', 'Acme', 'Infra', ?, ?, ?, ?, ?, NULL, 'success', 1, 'none', ?, ?, '["-var","x=1"]',
           NULL, 'Plan: 1 to add.', 'output', 4242, '2025-01-02T03:04:05.006Z')`,
      )
      .run(pullNumber, project.name, project.dir, project.workspace, "A".repeat(40), planFile, "c".repeat(64));
  }

  function insertJob(raw: Database.Database, spec: JobSpec, status: string): number {
    return Number(
      raw
        .prepare("INSERT INTO jobs (spec, status, dedupe_key, created_at, processes) VALUES (?, ?, NULL, '2025-01-01T00:00:00.000Z', '[]')")
        .run(JSON.stringify(spec), status).lastInsertRowid,
    );
  }

  test("imports the saved plan files still there into blobs, drops plan_file, and keys open jobs", async () => {
    const file = join(dir, "old.db");
    const raw = await oldDatabase(file);
    const planBytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(100_000)]);
    const planFile = join(dir, "plans", "12", "prod.tfplan");
    await mkdir(dirname(planFile), { recursive: true });
    await writeFile(planFile, planBytes);
    insertState(raw, 12, PROD, planFile);
    insertState(raw, 12, STAGING, join(dir, "plans", "12", "gone.tfplan")); // deleted since
    insertState(raw, 12, NAMED, null); // no saved plan
    const queued = insertJob(raw, COMMAND_SPEC, "queued");
    const running = insertJob(raw, { ...COMMAND_SPEC, owner: "ACME", repo: "Network", pullNumber: 13 }, "running");
    const done = insertJob(raw, { ...COMMAND_SPEC, pullNumber: 14 }, "succeeded");
    raw.close();

    const store = await open(file);
    const [prod, staging, named] = await store.listProjects(REPO, 12);
    expect([prod.project, staging.project, named.project]).toEqual([PROD, STAGING, NAMED]);
    expect(typeof prod.planBlob).toBe("string");
    const blob = await store.blobs.get(prod.planBlob!);
    expect(blob?.equals(planBytes)).toBe(true);
    expect(Object.prototype.hasOwnProperty.call(staging, "planBlob")).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(named, "planBlob")).toBe(false);
    // The rest of the state is as it was.
    expect(prod).toStrictEqual({
      project: PROD,
      headSha: "A".repeat(40),
      plan: "success",
      hasChanges: true,
      apply: "none",
      planBlob: prod.planBlob,
      planDigest: "c".repeat(64),
      extraArgs: ["-var", "x=1"],
      headline: "Plan: 1 to add.",
      output: "output",
      planCheckRunId: 4242,
      updatedAt: "2025-01-02T03:04:05.006Z",
    });
    const columns = inspect(file, (db) => db.prepare("SELECT name FROM pragma_table_info('project_states')").pluck().all());
    expect(columns).toContain("plan_blob");
    expect(columns).not.toContain("plan_file");
    expect(inspect(file, (db) => db.prepare("SELECT name FROM kysely_migration ORDER BY name").pluck().all())).toEqual([...MIGRATION_NAMES]);

    // Open jobs got their pull request's key, and run as before.
    expect((await store.getJob(queued))!.key).toBe("acme/infra#12");
    expect((await store.getJob(running))!.key).toBe("acme/network#13");
    expect((await store.getJob(done))!.status).toBe("succeeded");
    const times = { startedAt: "2025-05-01T00:00:00.000Z", leaseUntil: "2025-05-01T00:01:00.000Z" };
    const claimed = await store.claimJob({ replica: "r1", worker: "r1/w" }, times);
    expect(claimed).toMatchObject({ id: queued, key: "acme/infra#12", status: "running", replica: "r1", worker: "r1/w" });
    expect(await store.claimJob({ replica: "r1", worker: "r1/w" }, times)).toBeUndefined();
    // The job left running before the upgrade has no replica: the first start takes it over.
    expect((await store.adoptJobs({ replica: "r1" }, "r1/next", times.leaseUntil)).map((j) => j.id)).toEqual([queued, running]);
    await expect(store.checkReady()).resolves.toBeUndefined();
  });
});

// --- other processes ---

/** A package's ESM entry in this repo's node_modules, as a file URL. */
function packageEntryUrl(name: string): string {
  const pkgJson = join(REPO_ROOT, "node_modules", name, "package.json");
  const pkg = JSON.parse(readFileSync(pkgJson, "utf8")) as {
    main?: string;
    exports?: Record<string, { import?: string } | string>;
  };
  const dot = pkg.exports?.["."];
  const entry = (typeof dot === "object" ? dot.import : dot) ?? pkg.main ?? "index.js";
  return pathToFileURL(join(dirname(pkgJson), entry)).href;
}

/**
 * The store's modules that import values (not only types) from each other, relative to `src/`:
 * what a child process needs to run `openSqliteStore`.
 */
const STORE_MODULES = ["adapters/sqlite-store", "adapters/kysely-store", "adapters/database-blobs", "adapters/store-migrations", "jobs/job-spec", "commands/command-name"];

/**
 * Node 20 cannot run the TypeScript sources in a child process, so compile the store's modules
 * into `outDir` (same layout as `src/`), pointing their package imports at this repo's
 * node_modules. Returns the URL of the compiled `adapters/sqlite-store.js`.
 */
async function compileStoreForChildren(outDir: string): Promise<string> {
  const packages: Record<string, string> = {
    kysely: packageEntryUrl("kysely"),
    "better-sqlite3": packageEntryUrl("better-sqlite3"),
  };
  for (const name of STORE_MODULES) {
    const source = readFileSync(join(REPO_ROOT, "src", `${name}.ts`), "utf8");
    let js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    js = js.replace(/from "(kysely|better-sqlite3)"/g, (_m, pkg: string) => `from ${JSON.stringify(packages[pkg])}`);
    // Every other import is Node's own or one of the compiled modules (types are erased).
    // `from` / `import` as keywords, not inside a name or string (`carried_from"`).
    for (const [, spec] of js.matchAll(/(?<![\w.$"])(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      if (spec.startsWith("node:") || spec.startsWith("file:")) continue;
      expect({ module: name, imports: posix.join(posix.dirname(name), spec).replace(/\.js$/, "") }).toEqual({
        module: name,
        imports: expect.stringMatching(new RegExp(`^(${STORE_MODULES.join("|")})$`)),
      });
    }
    const out = join(outDir, `${name}.js`);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, js);
  }
  return pathToFileURL(join(outDir, "adapters", "sqlite-store.js")).href;
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface NodeChild {
  /** Write a line to the child's stdin (ignored once it has exited). */
  send(line: string): void;
  done: Promise<ChildResult>;
}

/** Children still running; killed after each test so a failing test cannot leave them behind. */
const running = new Set<ChildProcess>();

afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** Run `node script ...args`; `onLine` sees each stdout line as it arrives. */
function startNode(script: string, args: string[], onLine?: (line: string) => void): NodeChild {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  running.add(child);
  child.stdin.on("error", () => undefined); // EPIPE when the child is already gone
  let stdout = "";
  let stderr = "";
  let partial = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    if (onLine) for (const line of lines) onLine(line);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<ChildResult>((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      running.delete(child);
      resolvePromise({ code, stdout, stderr });
    });
  });
  return { send: (line) => child.stdin.write(`${line}\n`), done };
}

describe("several processes on one file", () => {
  test("4 processes racing on a fresh file: one lock holder, one job, one delivery per round", async () => {
    const outDir = join(dir, "compiled");
    await mkdir(outDir);
    const storeUrl = await compileStoreForChildren(outDir);
    const script = join(outDir, "racer.mjs");
    await writeFile(
      script,
      `
import { createInterface } from "node:readline";
const { openSqliteStore } = await import(${JSON.stringify(storeUrl)});
const [file, pr, rounds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
// Barriers: say where we are, go on when the parent says so (when every process got there).
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
const barrier = async (name) => {
  process.stdout.write(name + "\\n");
  await lines.next();
};
await barrier("loaded"); // then all open the fresh file at once: concurrent migrations
const store = await openSqliteStore(file);
await barrier("open"); // then all race
input.close();
process.stdin.destroy();
const repo = { owner: "Acme", repo: "Infra" };
const wins = [];
for (let i = 0; i < rounds; i++) {
  const project = { name: "", dir: "p" + i, workspace: "default" };
  const l = await store.tryLock({ repo, project, pullNumber: pr, installationId: 1, user: "u" + pr, lockedAt: new Date().toISOString() });
  const job = await store.createJob({ installationId: 1, owner: "Acme", repo: "Infra", pullNumber: pr, user: "u", name: "atoll", kind: "review" }, "key-" + i);
  const delivery = await store.recordDelivery("delivery-" + i, "push");
  const position = await store.addWaiter({ repo, project, pullNumber: pr, installationId: 1, user: "u", queuedAt: "2025-01-01T00:00:00.000Z" });
  wins.push({ lock: l.acquired, holder: l.acquired ? l.lock.pullNumber : l.holder.pullNumber, job: job !== undefined, delivery, position });
}
await store.close();
process.stdout.write("result " + JSON.stringify(wins) + "\\n");
`,
    );
    const file = join(dir, "shared", "atoll.db");
    const ROUNDS = 150;
    const prs = [101, 102, 103, 104];
    const children: NodeChild[] = [];
    const arrived = new Map<string, number>();
    let failed = false;
    const releaseAll = () => children.forEach((c) => c.send("go"));
    // Release a barrier when every child reached it — or at once after a child exited early (it
    // failed), so the others don't wait forever and the failure is reported.
    const onLine = (line: string) => {
      if (line.startsWith("result ")) return;
      arrived.set(line, (arrived.get(line) ?? 0) + 1);
      if (arrived.get(line) === prs.length) releaseAll();
      else if (failed) releaseAll();
    };
    for (const pr of prs) children.push(startNode(script, [file, String(pr), String(ROUNDS)], onLine));
    for (const c of children) {
      void c.done.then(() => {
        if (arrived.get("open") !== prs.length) {
          failed = true;
          releaseAll();
        }
      });
    }
    const results = await Promise.all(children.map((c) => c.done));
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const perChild = results.map((r) => {
      const line = r.stdout.split("\n").find((l) => l.startsWith("result "));
      return JSON.parse(line!.slice("result ".length)) as {
        lock: boolean;
        holder: number;
        job: boolean;
        delivery: boolean;
        position: number;
      }[];
    });

    const store = await open(file);
    for (let i = 0; i < ROUNDS; i++) {
      const round = perChild.map((rounds) => rounds[i]);
      expect(round.filter((r) => r.lock)).toHaveLength(1);
      expect(round.filter((r) => r.job)).toHaveLength(1);
      expect(round.filter((r) => r.delivery)).toHaveLength(1);
      const holder = (await store.getLock(REPO, { name: "", dir: `p${i}`, workspace: "default" }))!.pullNumber;
      expect(round.map((r) => r.holder)).toEqual([holder, holder, holder, holder]);
      expect(round.find((r) => r.lock)).toBe(round[prs.indexOf(holder)]);
      // Every process got its own place in the queue.
      expect(round.map((r) => r.position).sort()).toEqual([1, 2, 3, 4]);
    }
    expect(await store.listJobs(["queued"])).toHaveLength(ROUNDS);
    expect(inspect(file, (db) => db.prepare("SELECT count(*) FROM kysely_migration").pluck().get())).toBe(MIGRATION_NAMES.length);
  });

  test("a write waits for another process's write lock instead of failing", async () => {
    const file = join(dir, "busy.db");
    const store = await open(file);
    const holderScript = join(dir, "holder.cjs");
    await writeFile(
      holderScript,
      `
const Database = require(${JSON.stringify(join(REPO_ROOT, "node_modules", "better-sqlite3"))});
const db = new Database(process.argv[2]);
db.exec("BEGIN IMMEDIATE");
db.prepare("INSERT INTO deliveries (id, event, received_at) VALUES ('held', 'push', '2025-01-01T00:00:00.000Z')").run();
process.stdout.write("locked\\n");
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.argv[3]));
db.exec("COMMIT");
db.close();
`,
    );
    let sawHeldUncommitted: boolean | undefined;
    let ours: Promise<boolean> | undefined;
    // Hold the lock for well under the busy timeout, long enough that our write lands inside it.
    const holdMs = Math.floor(BUSY_TIMEOUT_MS / 4);
    const child = startNode(holderScript, [file, String(holdMs)], (line) => {
      if (line !== "locked" || ours) return;
      const held = inspect(file, (db) => db.prepare("SELECT count(*) FROM deliveries WHERE id = 'held'").pluck().get());
      sawHeldUncommitted = held === 0;
      ours = store.recordDelivery("ours", "push");
    });
    const result = await child.done;
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    expect(sawHeldUncommitted).toBe(true); // the other process still held its transaction when we wrote
    expect(await ours).toBe(true);
    expect(await store.recordDelivery("held", "push")).toBe(false);
  });
});

describe("keepingStatements", () => {
  test("prepares each SQL once, keeps the most recently used, and answers as the connection does", async () => {
    const raw = new Database(":memory:");
    const prepared: string[] = [];
    const prepare = raw.prepare.bind(raw);
    raw.prepare = ((sql: string) => (prepared.push(sql), prepare(sql))) as typeof raw.prepare;
    const db = new Kysely<{ t: { k: string; v: number } }>({ dialect: new SqliteDialect({ database: keepingStatements(raw, 2) }) });
    await db.schema.createTable("t").addColumn("k", "text", (c) => c.primaryKey()).addColumn("v", "integer").execute();
    for (let i = 0; i < 3; i++) await db.insertInto("t").values({ k: `k${i}`, v: i }).execute();
    const byKey = (k: string) => db.selectFrom("t").select("v").where("k", "=", k).executeTakeFirst();
    expect(await byKey("k1")).toEqual({ v: 1 });
    expect(await byKey("k2")).toEqual({ v: 2 });
    const count = (fragment: string) => prepared.filter((s) => s.startsWith(fragment)).length;
    expect(count("insert")).toBe(1);
    expect(count("select")).toBe(1);
    // Two statements kept: a third SQL pushes out the least recently used (the insert).
    await db.selectFrom("t").select("k").execute();
    await db.insertInto("t").values({ k: "k3", v: 3 }).execute();
    expect(count("insert")).toBe(2);
    expect(await byKey("k3")).toEqual({ v: 3 });
    await db.destroy();
    expect(raw.open).toBe(false);
  });
});
