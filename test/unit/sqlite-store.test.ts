/**
 * The SQLite Store against real database files in temp dirs: every method, field round-trips,
 * durability across a reopen ("restart"), migrations, and races between connections — two Store
 * instances in this process, and several child processes on one file (the stronger proof, since
 * in-process calls only interleave at `await`s).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import ts from "typescript";
import { BUSY_TIMEOUT_MS, openSqliteStore } from "../../src/adapters/sqlite-store.js";
import { MIGRATION_NAMES } from "../../src/adapters/sqlite-migrations.js";
import type { JobSpec } from "../../src/jobs/job-spec.js";
import type { Project } from "../../src/projects/project.js";
import type { LockRecord, ProjectState, RepoRef, Store, WaiterRecord } from "../../src/ports/store.js";
import type { PlanSummary } from "../../src/terraform/plan-summary-types.js";

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

const REPO: RepoRef = { owner: "Acme", repo: "Infra" };
const OTHER_REPO: RepoRef = { owner: "acme", repo: "network" };
const PROD: Project = { name: "", dir: "envs/prod", workspace: "default" };
const STAGING: Project = { name: "", dir: "envs/staging", workspace: "default" };
const NAMED: Project = { name: "core", dir: "core", workspace: "blue" };

function summary(): PlanSummary {
  return {
    add: 2,
    change: 1,
    destroy: 1,
    replace: 1,
    import: 1,
    move: 2,
    forget: 1,
    destroyed: ["aws_s3_bucket.old"],
    replaced: [{ address: "aws_instance.web", reason: "cannot update in place" }, { address: "null_resource.x" }],
    outputChanges: true,
    hasChanges: true,
  };
}

/** A state with every optional field set. */
function fullState(project: Project, overrides: Partial<ProjectState> = {}): ProjectState {
  return {
    project: { ...project },
    headSha: "a".repeat(40),
    baseSha: "b".repeat(40),
    plan: "success",
    hasChanges: true,
    apply: "none",
    planFile: "/data/plans/12/prod.tfplan",
    planDigest: "c".repeat(64),
    extraArgs: ["-var", "x=1", "-target=module.a[\"k\"]"],
    summary: summary(),
    headline: "Plan: 2 to add, 1 to change, 1 to destroy.",
    output: "Terraform will perform the following actions:\n  ✓ ünïcødé\n",
    planCheckRunId: 9_007_199_254_740,
    updatedAt: "2025-01-02T03:04:05.006Z",
    ...overrides,
  };
}

/** A state with no optional field. */
function bareState(project: Project, overrides: Partial<ProjectState> = {}): ProjectState {
  return {
    project: { ...project },
    headSha: "d".repeat(40),
    plan: "pending",
    hasChanges: false,
    apply: "none",
    extraArgs: [],
    headline: "",
    output: "",
    updatedAt: "2025-01-02T03:04:05.006Z",
    ...overrides,
  };
}

function lock(pullNumber: number, overrides: Partial<LockRecord> = {}): LockRecord {
  return {
    repo: REPO,
    project: PROD,
    pullNumber,
    installationId: 77,
    user: `user${pullNumber}`,
    lockedAt: `2025-01-01T00:00:${String(pullNumber % 60).padStart(2, "0")}.000Z`,
    ...overrides,
  };
}

function waiter(pullNumber: number, queuedAt: string, overrides: Partial<WaiterRecord> = {}): WaiterRecord {
  return { repo: REPO, project: PROD, pullNumber, installationId: 77, user: `user${pullNumber}`, queuedAt, ...overrides };
}

const TARGET = { installationId: 77, owner: "Acme", repo: "Infra", pullNumber: 12, user: "alice", name: "atoll" };

const COMMAND_SPEC: JobSpec = {
  ...TARGET,
  kind: "command",
  commentId: 4242,
  command: {
    kind: "command",
    command: "plan",
    dir: "envs/prod",
    workspace: "",
    project: "",
    extraArgs: ["-var", "a=b"],
    verbose: true,
    name: "atoll",
  },
};

const AUTOPLAN_SPEC: JobSpec = {
  ...TARGET,
  kind: "autoplan",
  quietRefusal: true,
  pull: {
    number: 12,
    state: "open",
    merged: false,
    draft: false,
    title: "Add bucket",
    htmlUrl: "https://github.com/Acme/Infra/pull/12",
    author: "alice",
    headSha: "a".repeat(40),
    headRef: "feature",
    headRepoFullName: "Acme/Infra",
    baseSha: "b".repeat(40),
    baseRef: "main",
    isFork: false,
    cloneUrl: "https://github.com/Acme/Infra.git",
    mergeable: null,
  },
};

const REVIEW_SPEC: JobSpec = { ...TARGET, kind: "review" };

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
      "check_runs",
      "deliveries",
      "jobs",
      "kysely_migration",
      "kysely_migration_lock",
      "locks",
      "project_states",
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

// --- project states ---

describe("project states", () => {
  test("round-trip every field, and absent optional fields stay absent", async () => {
    const store = await open();
    const full = fullState(PROD);
    const bare = bareState(NAMED);
    await store.upsertProject(REPO, 12, full);
    await store.upsertProject(REPO, 12, bare);
    const [gotFull, gotBare] = await store.listProjects(REPO, 12);
    expect(gotFull).toStrictEqual(full);
    expect(gotBare).toStrictEqual(bare);
    for (const key of ["baseSha", "planFile", "planDigest", "summary", "planCheckRunId"]) {
      expect(Object.prototype.hasOwnProperty.call(gotBare, key)).toBe(false);
    }
    // A replaced address without a reason stays without one.
    expect(Object.keys(gotFull.summary!.replaced[1])).toEqual(["address"]);
  });

  test("upsert replaces one project's state, keeps first-insertion order and can clear optional fields", async () => {
    const store = await open();
    await store.upsertProject(REPO, 12, fullState(STAGING));
    await store.upsertProject(REPO, 12, fullState(PROD));
    const replaced = bareState(STAGING, { plan: "failed", headline: "Error" });
    await store.upsertProject(REPO, 12, replaced);
    const states = await store.listProjects(REPO, 12);
    expect(states.map((s) => s.project)).toEqual([STAGING, PROD]);
    expect(states[0]).toStrictEqual(replaced);
    expect(states[1]).toStrictEqual(fullState(PROD));
  });

  test("states are per repo and per pull request; repo names match case-insensitively", async () => {
    const store = await open();
    await store.upsertProject(REPO, 12, fullState(PROD));
    await store.upsertProject(REPO, 13, bareState(PROD));
    await store.upsertProject(OTHER_REPO, 12, bareState(STAGING));
    expect((await store.listProjects({ owner: "ACME", repo: "infra" }, 12)).map((s) => s.headSha)).toEqual([
      "a".repeat(40),
    ]);
    expect((await store.listProjects(REPO, 13)).map((s) => s.plan)).toEqual(["pending"]);
    expect((await store.listProjects(OTHER_REPO, 12)).map((s) => s.project)).toEqual([STAGING]);
    expect(await store.listProjects(REPO, 14)).toEqual([]);
    // Writing with another spelling updates the same row, not a second one.
    await store.upsertProject({ owner: "acme", repo: "INFRA" }, 12, fullState(PROD, { plan: "failed" }));
    expect((await store.listProjects(REPO, 12)).map((s) => s.plan)).toEqual(["failed"]);
  });

  test("project identity is name, dir and workspace together", async () => {
    const store = await open();
    const variants: Project[] = [
      { name: "", dir: "core", workspace: "default" },
      { name: "", dir: "core", workspace: "blue" },
      { name: "core", dir: "core", workspace: "blue" },
      { name: "x|y", dir: "z", workspace: "default" },
      { name: "x", dir: "y|z", workspace: "default" },
    ];
    for (const p of variants) await store.upsertProject(REPO, 1, bareState(p));
    expect((await store.listProjects(REPO, 1)).map((s) => s.project)).toEqual(variants);
  });

  test("returns copies: mutating results or inputs does not change the store", async () => {
    const store = await open();
    const input = fullState(PROD);
    await store.upsertProject(REPO, 12, input);
    input.extraArgs.push("-mutated");
    input.summary!.destroyed.push("mutated");
    const [got] = await store.listProjects(REPO, 12);
    got.extraArgs.push("-also-mutated");
    got.summary!.add = 999;
    got.project.dir = "elsewhere";
    expect(await store.listProjects(REPO, 12)).toStrictEqual([fullState(PROD)]);
  });

  test("removeProjects removes the given projects, or all, and returns what it removed", async () => {
    const store = await open();
    for (const p of [PROD, STAGING, NAMED]) await store.upsertProject(REPO, 12, fullState(p));
    await store.upsertProject(REPO, 13, fullState(PROD));
    expect(await store.removeProjects(REPO, 12, [])).toEqual([]);
    expect(await store.removeProjects(REPO, 12, [{ ...PROD, workspace: "other" }])).toEqual([]);
    const removed = await store.removeProjects({ owner: "acme", repo: "infra" }, 12, [NAMED, PROD]);
    expect(removed).toStrictEqual([fullState(PROD), fullState(NAMED)]);
    expect((await store.listProjects(REPO, 12)).map((s) => s.project)).toEqual([STAGING]);
    expect(await store.removeProjects(REPO, 12, [PROD])).toEqual([]);
    expect((await store.removeProjects(REPO, 12)).map((s) => s.project)).toEqual([STAGING]);
    expect(await store.listProjects(REPO, 12)).toEqual([]);
    expect(await store.listProjects(REPO, 13)).toHaveLength(1);
  });

  test("listPendingProjects finds every project with a pending plan or apply, in every repo", async () => {
    const store = await open();
    await store.upsertProject(REPO, 1, bareState(PROD, { plan: "pending" }));
    await store.upsertProject(REPO, 1, bareState(STAGING, { plan: "success" }));
    await store.upsertProject(REPO, 2, fullState(PROD, { apply: "pending" }));
    await store.upsertProject(REPO, 2, fullState(STAGING, { apply: "success" }));
    await store.upsertProject(REPO, 3, fullState(PROD, { plan: "failed", apply: "failed" }));
    await store.upsertProject(OTHER_REPO, 9, bareState(NAMED, { plan: "pending", apply: "pending" }));
    const pending = await store.listPendingProjects();
    expect(pending).toStrictEqual([
      { repo: REPO, pullNumber: 1, state: bareState(PROD, { plan: "pending" }) },
      { repo: REPO, pullNumber: 2, state: fullState(PROD, { apply: "pending" }) },
      { repo: OTHER_REPO, pullNumber: 9, state: bareState(NAMED, { plan: "pending", apply: "pending" }) },
    ]);
  });

  test("deletePull removes the PR's project states only", async () => {
    const store = await open();
    await store.upsertProject(REPO, 12, fullState(PROD));
    await store.upsertProject(REPO, 12, fullState(STAGING));
    await store.upsertProject(REPO, 13, fullState(PROD));
    await store.setCheckRun(REPO, "a".repeat(40), "atoll/plan: envs/prod", { id: 5, status: "completed" });
    await store.tryLock(lock(12));
    await store.addWaiter(waiter(12, "2025-01-01T00:00:00.000Z", { project: STAGING }));
    await store.deletePull({ owner: "ACME", repo: "INFRA" }, 12);
    expect(await store.listProjects(REPO, 12)).toEqual([]);
    expect(await store.listProjects(REPO, 13)).toHaveLength(1);
    expect(await store.getCheckRun(REPO, "a".repeat(40), "atoll/plan: envs/prod")).toEqual({ id: 5, status: "completed" });
    expect((await store.getLock(REPO, PROD))?.pullNumber).toBe(12);
    expect((await store.listWaiters(REPO, STAGING)).map((w) => w.pullNumber)).toEqual([12]);
  });
});

// --- check runs ---

describe("check runs", () => {
  test("set, get, overwrite; keyed by repo (case-insensitive), commit and name", async () => {
    const store = await open();
    const sha = "ab".repeat(20);
    expect(await store.getCheckRun(REPO, sha, "atoll/plan")).toBeUndefined();
    await store.setCheckRun(REPO, sha, "atoll/plan", { id: 1, status: "queued" });
    await store.setCheckRun(REPO, sha, "atoll/apply", { id: 2, status: "in_progress" });
    await store.setCheckRun(REPO, "cd".repeat(20), "atoll/plan", { id: 3, status: "completed" });
    await store.setCheckRun(OTHER_REPO, sha, "atoll/plan", { id: 4, status: "completed" });
    expect(await store.getCheckRun({ owner: "acme", repo: "INFRA" }, sha, "atoll/plan")).toStrictEqual({
      id: 1,
      status: "queued",
    });
    expect(await store.getCheckRun(REPO, sha.toUpperCase(), "atoll/apply")).toStrictEqual({ id: 2, status: "in_progress" });
    expect(await store.getCheckRun(REPO, "cd".repeat(20), "atoll/plan")).toStrictEqual({ id: 3, status: "completed" });
    expect(await store.getCheckRun(OTHER_REPO, sha, "atoll/plan")).toStrictEqual({ id: 4, status: "completed" });
    expect(await store.getCheckRun(REPO, sha, "ATOLL/PLAN")).toBeUndefined();
    await store.setCheckRun(REPO, sha, "atoll/plan", { id: 10, status: "completed" });
    expect(await store.getCheckRun(REPO, sha, "atoll/plan")).toStrictEqual({ id: 10, status: "completed" });
    expect(await store.getCheckRun(REPO, sha, "atoll/apply")).toStrictEqual({ id: 2, status: "in_progress" });
  });
});

// --- locks ---

describe("locks", () => {
  test("acquire, re-enter (keeping the original lock), block another PR with the holder", async () => {
    const store = await open();
    const first = lock(12);
    expect(await store.tryLock(first)).toStrictEqual({ acquired: true, lock: first });
    expect(await store.getLock(REPO, PROD)).toStrictEqual(first);
    const again = await store.tryLock(lock(12, { lockedAt: "2030-01-01T00:00:00.000Z", user: "someone-else" }));
    expect(again).toStrictEqual({ acquired: true, lock: first });
    expect(await store.tryLock(lock(13))).toStrictEqual({ acquired: false, holder: first });
    expect(await store.getLock(REPO, PROD)).toStrictEqual(first);
  });

  test("locks are per project identity and per repo; repo names match case-insensitively", async () => {
    const store = await open();
    expect((await store.tryLock(lock(12))).acquired).toBe(true);
    expect((await store.tryLock(lock(13, { project: { ...PROD, workspace: "other" } }))).acquired).toBe(true);
    expect((await store.tryLock(lock(14, { project: { ...PROD, name: "prod" } }))).acquired).toBe(true);
    expect((await store.tryLock(lock(15, { project: STAGING }))).acquired).toBe(true);
    expect((await store.tryLock(lock(16, { repo: OTHER_REPO }))).acquired).toBe(true);
    const blocked = await store.tryLock(lock(17, { repo: { owner: "ACME", repo: "infra" } }));
    expect(blocked).toStrictEqual({ acquired: false, holder: lock(12) });
    // The holder's own spelling is kept.
    expect(await store.getLock({ owner: "acme", repo: "INFRA" }, PROD)).toStrictEqual(lock(12));
    expect(await store.getLock(REPO, NAMED)).toBeUndefined();
  });

  test("releaseLock releases only the holder's lock and returns it", async () => {
    const store = await open();
    await store.tryLock(lock(12));
    expect(await store.releaseLock(REPO, PROD, 13)).toBeUndefined();
    expect(await store.releaseLock(REPO, STAGING, 12)).toBeUndefined();
    expect((await store.getLock(REPO, PROD))?.pullNumber).toBe(12);
    expect(await store.releaseLock({ owner: "acme", repo: "infra" }, PROD, 12)).toStrictEqual(lock(12));
    expect(await store.getLock(REPO, PROD)).toBeUndefined();
    expect(await store.releaseLock(REPO, PROD, 12)).toBeUndefined();
    expect(await store.tryLock(lock(13))).toStrictEqual({ acquired: true, lock: lock(13) });
  });

  test("releasePullLocks releases every lock of the PR in that repo, nothing else", async () => {
    const store = await open();
    const mine = [lock(12), lock(12, { project: STAGING }), lock(12, { project: NAMED })];
    for (const l of mine) await store.tryLock(l);
    await store.tryLock(lock(12, { repo: OTHER_REPO }));
    await store.tryLock(lock(13, { project: { ...PROD, workspace: "x" } }));
    const released = await store.releasePullLocks({ owner: "ACME", repo: "INFRA" }, 12);
    expect(released).toStrictEqual([lock(12, { project: NAMED }), lock(12), lock(12, { project: STAGING })]);
    expect(await store.releasePullLocks(REPO, 12)).toEqual([]);
    expect((await store.listLocks()).map((l) => [l.repo.repo, l.pullNumber])).toEqual([
      ["Infra", 13],
      ["network", 12],
    ]);
  });

  test("listLocks lists all locks, or one repo's, in a stable order", async () => {
    const store = await open();
    await store.tryLock(lock(3, { project: STAGING }));
    await store.tryLock(lock(2, { repo: OTHER_REPO }));
    await store.tryLock(lock(1));
    expect(await store.listLocks()).toStrictEqual([lock(1), lock(3, { project: STAGING }), lock(2, { repo: OTHER_REPO })]);
    expect(await store.listLocks({ owner: "ACME", repo: "INFRA" })).toStrictEqual([lock(1), lock(3, { project: STAGING })]);
    expect(await store.listLocks({ owner: "acme", repo: "nothing" })).toEqual([]);
  });
});

// --- waiters ---

describe("waiters", () => {
  test("FIFO by queue time then insertion, 1-based positions, idempotent re-adding", async () => {
    const store = await open();
    expect(await store.addWaiter(waiter(20, "2025-01-01T00:00:02.000Z"))).toBe(1);
    expect(await store.addWaiter(waiter(21, "2025-01-01T00:00:01.000Z"))).toBe(1); // queued earlier
    expect(await store.addWaiter(waiter(22, "2025-01-01T00:00:02.000Z"))).toBe(3); // same time, added later
    expect(await store.addWaiter(waiter(23, "2025-01-01T00:00:03.000Z"))).toBe(4);
    // Re-adding keeps the place (and the original record), whatever the new queue time.
    expect(await store.addWaiter(waiter(20, "2025-01-01T00:00:09.000Z", { user: "changed" }))).toBe(2);
    expect(await store.addWaiter(waiter(23, "2024-01-01T00:00:00.000Z"))).toBe(4);
    const listed = await store.listWaiters({ owner: "acme", repo: "infra" }, PROD);
    expect(listed).toStrictEqual([
      waiter(21, "2025-01-01T00:00:01.000Z"),
      waiter(20, "2025-01-01T00:00:02.000Z"),
      waiter(22, "2025-01-01T00:00:02.000Z"),
      waiter(23, "2025-01-01T00:00:03.000Z"),
    ]);
  });

  test("queues are per project and per repo", async () => {
    const store = await open();
    const t = "2025-01-01T00:00:00.000Z";
    expect(await store.addWaiter(waiter(1, t))).toBe(1);
    expect(await store.addWaiter(waiter(2, t, { project: STAGING }))).toBe(1);
    expect(await store.addWaiter(waiter(3, t, { repo: OTHER_REPO }))).toBe(1);
    expect(await store.addWaiter(waiter(4, t, { repo: { owner: "ACME", repo: "infra" } }))).toBe(2);
    expect((await store.listWaiters(REPO, PROD)).map((w) => w.pullNumber)).toEqual([1, 4]);
    expect((await store.listWaiters(REPO, STAGING)).map((w) => w.pullNumber)).toEqual([2]);
    expect((await store.listWaiters(OTHER_REPO, PROD)).map((w) => w.pullNumber)).toEqual([3]);
    expect(await store.listWaiters(REPO, NAMED)).toEqual([]);
  });

  test("removeWaiter moves the others up; removePullWaits leaves every queue of the repo", async () => {
    const store = await open();
    const t = (s: number) => `2025-01-01T00:00:0${s}.000Z`;
    await store.addWaiter(waiter(1, t(1)));
    await store.addWaiter(waiter(2, t(2)));
    await store.addWaiter(waiter(3, t(3)));
    await store.addWaiter(waiter(2, t(4), { project: STAGING }));
    await store.addWaiter(waiter(2, t(5), { repo: OTHER_REPO }));
    await store.removeWaiter({ owner: "ACME", repo: "infra" }, PROD, 1);
    await store.removeWaiter(REPO, PROD, 99); // not queued: no-op
    expect((await store.listWaiters(REPO, PROD)).map((w) => w.pullNumber)).toEqual([2, 3]);
    expect(await store.addWaiter(waiter(3, t(3)))).toBe(2);
    const removed = await store.removePullWaits(REPO, 2);
    expect(removed).toStrictEqual([waiter(2, t(2)), waiter(2, t(4), { project: STAGING })]);
    expect((await store.listWaiters(REPO, PROD)).map((w) => w.pullNumber)).toEqual([3]);
    expect(await store.listWaiters(REPO, STAGING)).toEqual([]);
    expect((await store.listWaiters(OTHER_REPO, PROD)).map((w) => w.pullNumber)).toEqual([2]);
    expect(await store.removePullWaits(REPO, 2)).toEqual([]);
  });
});

// --- jobs ---

describe("jobs", () => {
  const NOW = new Date("2025-03-04T05:06:07.890Z");

  test("createJob persists a queued job; getJob round-trips the spec", async () => {
    const store = await open(undefined, () => NOW);
    const created = await store.createJob(COMMAND_SPEC);
    expect(created).toStrictEqual({
      id: created!.id,
      spec: COMMAND_SPEC,
      status: "queued",
      createdAt: NOW.toISOString(),
      processes: [],
    });
    const autoplan = await store.createJob(AUTOPLAN_SPEC, "pr:12@aaa");
    expect(autoplan!.id).toBeGreaterThan(created!.id);
    expect(await store.getJob(created!.id)).toStrictEqual(created);
    expect(await store.getJob(autoplan!.id)).toStrictEqual({
      id: autoplan!.id,
      spec: AUTOPLAN_SPEC,
      status: "queued",
      dedupeKey: "pr:12@aaa",
      createdAt: NOW.toISOString(),
      processes: [],
    });
    expect(await store.getJob(autoplan!.id + 100)).toBeUndefined();
  });

  test("a dedupe key creates one job only; jobs without a key are never deduplicated", async () => {
    const store = await open();
    const first = await store.createJob(COMMAND_SPEC, "comment:4242");
    expect(first).toBeDefined();
    expect(await store.createJob(REVIEW_SPEC, "comment:4242")).toBeUndefined();
    expect((await store.getJob(first!.id))!.spec).toStrictEqual(COMMAND_SPEC);
    const a = await store.createJob(REVIEW_SPEC);
    const b = await store.createJob(REVIEW_SPEC);
    expect(a && b && a.id !== b.id).toBe(true);
    expect(await store.createJob(REVIEW_SPEC, "comment:4243")).toBeDefined();
    expect((await store.listJobs(["queued"])).map((j) => j.dedupeKey)).toEqual([
      "comment:4242",
      undefined,
      undefined,
      "comment:4243",
    ]);
  });

  test("updateJob sets, keeps and clears fields", async () => {
    const store = await open(undefined, () => NOW);
    const job = (await store.createJob(REVIEW_SPEC, "k"))!;
    const processes = [
      { pid: 4321, startTime: "2025-03-04T05:06:08.000Z" },
      { pid: 4322, startTime: "2025-03-04T05:06:09.000Z" },
    ];
    await store.updateJob(job.id, { status: "running", startedAt: "2025-03-04T05:06:08.000Z", processes });
    const running = { ...job, status: "running", startedAt: "2025-03-04T05:06:08.000Z", processes };
    expect(await store.getJob(job.id)).toStrictEqual(running);
    await store.updateJob(job.id, { status: "failed", finishedAt: "2025-03-04T05:07:00.000Z", error: "terraform exited 1" });
    expect(await store.getJob(job.id)).toStrictEqual({
      ...job,
      status: "failed",
      startedAt: "2025-03-04T05:06:08.000Z",
      finishedAt: "2025-03-04T05:07:00.000Z",
      error: "terraform exited 1",
      processes,
    });
    // Present-but-undefined clears an optional field; an empty patch changes nothing.
    await store.updateJob(job.id, {
      status: "queued",
      startedAt: undefined,
      finishedAt: undefined,
      error: undefined,
      processes: [],
    });
    await store.updateJob(job.id, {});
    await store.updateJob(job.id + 1000, { status: "running" }); // unknown id: ignored
    expect(await store.getJob(job.id)).toStrictEqual(job);
  });

  test("listJobs filters by status, oldest first", async () => {
    const store = await open();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await store.createJob(REVIEW_SPEC))!.id);
    await store.updateJob(ids[1], { status: "running" });
    await store.updateJob(ids[2], { status: "succeeded" });
    await store.updateJob(ids[3], { status: "interrupted" });
    expect((await store.listJobs(["queued"])).map((j) => j.id)).toEqual([ids[0], ids[4]]);
    expect((await store.listJobs(["running", "queued"])).map((j) => j.id)).toEqual([ids[0], ids[1], ids[4]]);
    expect((await store.listJobs(["succeeded", "failed", "interrupted"])).map((j) => j.id)).toEqual([ids[2], ids[3]]);
    expect(await store.listJobs(["failed"])).toEqual([]);
    expect(await store.listJobs([])).toEqual([]);
  });

  test("returned jobs are copies", async () => {
    const store = await open();
    const job = (await store.createJob(COMMAND_SPEC))!;
    (job.spec as { user: string }).user = "mallory";
    job.processes.push({ pid: 1, startTime: "x" });
    const got = (await store.getJob(job.id))!;
    expect(got.spec).toStrictEqual(COMMAND_SPEC);
    expect(got.processes).toEqual([]);
  });
});

// --- deliveries and pruning ---

describe("deliveries and prune", () => {
  test("recordDelivery is true the first time only", async () => {
    const store = await open();
    expect(await store.recordDelivery("1f2e-aa", "pull_request")).toBe(true);
    expect(await store.recordDelivery("1f2e-aa", "pull_request")).toBe(false);
    expect(await store.recordDelivery("1f2e-aa", "issue_comment")).toBe(false);
    expect(await store.recordDelivery("1f2e-ab", "pull_request")).toBe(true);
  });

  test("prune forgets old deliveries and old finished jobs, never queued or running jobs", async () => {
    let clock = new Date("2025-01-01T00:00:00.000Z");
    const store = await open(undefined, () => clock);
    await store.recordDelivery("old", "push");
    const oldQueued = (await store.createJob(REVIEW_SPEC, "old-queued"))!;
    const oldRunning = (await store.createJob(REVIEW_SPEC))!;
    const oldDone = (await store.createJob(REVIEW_SPEC, "old-done"))!;
    const oldFailed = (await store.createJob(REVIEW_SPEC))!;
    const oldInterrupted = (await store.createJob(REVIEW_SPEC))!;
    const finishedLate = (await store.createJob(REVIEW_SPEC))!;
    await store.updateJob(oldRunning.id, { status: "running", startedAt: "2025-01-01T00:00:01.000Z" });
    await store.updateJob(oldDone.id, { status: "succeeded", finishedAt: "2025-01-01T00:10:00.000Z" });
    await store.updateJob(oldFailed.id, { status: "failed", finishedAt: "2025-01-01T00:10:00.000Z", error: "x" });
    await store.updateJob(oldInterrupted.id, { status: "interrupted" }); // no finishedAt: aged by creation
    await store.updateJob(finishedLate.id, { status: "succeeded", finishedAt: "2025-01-03T00:00:00.000Z" });
    clock = new Date("2025-01-05T00:00:00.000Z");
    await store.recordDelivery("new", "push");
    const newDone = (await store.createJob(REVIEW_SPEC))!;
    await store.updateJob(newDone.id, { status: "succeeded", finishedAt: "2025-01-05T00:01:00.000Z" });

    await store.prune(new Date("2025-01-02T00:00:00.000Z"));

    expect(await store.recordDelivery("old", "push")).toBe(true); // forgotten
    expect(await store.recordDelivery("new", "push")).toBe(false); // kept
    const left = (await store.listJobs(["queued", "running", "succeeded", "failed", "interrupted"])).map((j) => j.id);
    expect(left).toEqual([oldQueued.id, oldRunning.id, finishedLate.id, newDone.id]);
    // A pruned job's dedupe key can be used again; ids are never reused.
    const again = await store.createJob(REVIEW_SPEC, "old-done");
    expect(again!.id).toBeGreaterThan(newDone.id);
    expect(await store.createJob(REVIEW_SPEC, "old-queued")).toBeUndefined();
  });
});

// --- durability ---

describe("durability", () => {
  test("everything survives closing and reopening the file", async () => {
    const file = join(dir, "data", "atoll.db");
    const before = await open(file, () => new Date("2025-06-01T00:00:00.000Z"));
    await before.upsertProject(REPO, 12, fullState(PROD, { apply: "pending" }));
    await before.upsertProject(REPO, 12, bareState(STAGING));
    await before.setCheckRun(REPO, "a".repeat(40), "atoll/plan", { id: 77, status: "in_progress" });
    await before.tryLock(lock(12));
    await before.addWaiter(waiter(13, "2025-06-01T00:00:01.000Z"));
    await before.addWaiter(waiter(14, "2025-06-01T00:00:02.000Z"));
    const job = (await before.createJob(COMMAND_SPEC, "comment:4242"))!;
    await before.updateJob(job.id, {
      status: "running",
      startedAt: "2025-06-01T00:00:03.000Z",
      processes: [{ pid: 99, startTime: "t" }],
    });
    await before.recordDelivery("delivery-1", "issue_comment");
    await closeStore(before);

    const after = await open(file);
    expect(await after.listProjects(REPO, 12)).toStrictEqual([fullState(PROD, { apply: "pending" }), bareState(STAGING)]);
    expect((await after.listPendingProjects()).map((p) => p.state.project)).toEqual([PROD, STAGING]);
    expect(await after.getCheckRun(REPO, "a".repeat(40), "atoll/plan")).toStrictEqual({ id: 77, status: "in_progress" });
    expect(await after.tryLock(lock(13))).toStrictEqual({ acquired: false, holder: lock(12) });
    expect(await after.listWaiters(REPO, PROD)).toStrictEqual([
      waiter(13, "2025-06-01T00:00:01.000Z"),
      waiter(14, "2025-06-01T00:00:02.000Z"),
    ]);
    expect(await after.addWaiter(waiter(15, "2025-06-01T00:00:00.500Z"))).toBe(1);
    expect(await after.listJobs(["running"])).toStrictEqual([
      {
        id: job.id,
        spec: COMMAND_SPEC,
        status: "running",
        dedupeKey: "comment:4242",
        createdAt: "2025-06-01T00:00:00.000Z",
        startedAt: "2025-06-01T00:00:03.000Z",
        processes: [{ pid: 99, startTime: "t" }],
      },
    ]);
    expect(await after.createJob(COMMAND_SPEC, "comment:4242")).toBeUndefined();
    expect((await after.createJob(REVIEW_SPEC))!.id).toBeGreaterThan(job.id);
    expect(await after.recordDelivery("delivery-1", "issue_comment")).toBe(false);
  });
});

// --- races ---

describe("two stores on one file (one process)", () => {
  const ROUNDS = 200;

  test("tryLock: exactly one winner per round, and the loser sees the winner", async () => {
    const file = join(dir, "race.db");
    const [a, b] = await Promise.all([open(file), open(file)]);
    for (let i = 0; i < ROUNDS; i++) {
      const project = { name: "", dir: `p${i}`, workspace: "default" };
      // Alternate who starts first so both sides win some rounds.
      const pair = i % 2 === 0 ? ([a, b] as const) : ([b, a] as const);
      const results = await Promise.all([
        pair[0].tryLock(lock(1, { project })),
        pair[1].tryLock(lock(2, { project })),
        pair[0].tryLock(lock(3, { project })),
      ]);
      const winners = results.filter((r) => r.acquired);
      expect(winners).toHaveLength(1);
      const holder = (await a.getLock(REPO, project))!;
      for (const r of results) expect(r.acquired ? r.lock : r.holder).toStrictEqual(holder);
    }
  });

  test("createJob with one dedupe key and recordDelivery: exactly one winner per round", async () => {
    const file = join(dir, "race.db");
    const [a, b] = await Promise.all([open(file), open(file)]);
    for (let i = 0; i < ROUNDS; i++) {
      const jobs = await Promise.all([a.createJob(REVIEW_SPEC, `key-${i}`), b.createJob(REVIEW_SPEC, `key-${i}`)]);
      expect(jobs.filter((j) => j !== undefined)).toHaveLength(1);
      const seen = await Promise.all([b.recordDelivery(`d-${i}`, "push"), a.recordDelivery(`d-${i}`, "push")]);
      expect(seen.filter(Boolean)).toHaveLength(1);
    }
    expect(await a.listJobs(["queued"])).toHaveLength(ROUNDS);
  });

  test("addWaiter from both sides: distinct positions, one entry per PR", async () => {
    const file = join(dir, "race.db");
    const [a, b] = await Promise.all([open(file), open(file)]);
    const t = "2025-01-01T00:00:00.000Z";
    const positions = await Promise.all([
      a.addWaiter(waiter(1, t)),
      b.addWaiter(waiter(2, t)),
      a.addWaiter(waiter(2, t)),
      b.addWaiter(waiter(3, t)),
      b.addWaiter(waiter(1, t)),
    ]);
    const queue = (await a.listWaiters(REPO, PROD)).map((w) => w.pullNumber);
    expect(queue).toHaveLength(3);
    expect(new Set(queue)).toEqual(new Set([1, 2, 3]));
    const place = (pr: number) => queue.indexOf(pr) + 1;
    expect(positions).toEqual([place(1), place(2), place(2), place(3), place(1)]);
  });

  test("removeProjects / releasePullLocks / removePullWaits hand each row to one caller only", async () => {
    const file = join(dir, "race.db");
    const [a, b] = await Promise.all([open(file), open(file)]);
    for (let i = 0; i < 50; i++) {
      const project = { name: "", dir: `p${i}`, workspace: "default" };
      await a.upsertProject(REPO, 1, bareState(project));
      await a.tryLock(lock(1, { project }));
      await a.addWaiter(waiter(1, "2025-01-01T00:00:00.000Z", { project }));
    }
    const [r1, r2] = await Promise.all([a.removeProjects(REPO, 1), b.removeProjects(REPO, 1)]);
    const [l1, l2] = await Promise.all([b.releasePullLocks(REPO, 1), a.releasePullLocks(REPO, 1)]);
    const [w1, w2] = await Promise.all([a.removePullWaits(REPO, 1), b.removePullWaits(REPO, 1)]);
    expect(r1.length + r2.length).toBe(50);
    expect(l1.length + l2.length).toBe(50);
    expect(w1.length + w2.length).toBe(50);
    expect(new Set([...r1, ...r2].map((s) => s.project.dir)).size).toBe(50);
    expect(new Set([...l1, ...l2].map((l) => l.project.dir)).size).toBe(50);
    expect(new Set([...w1, ...w2].map((w) => w.project.dir)).size).toBe(50);
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
 * Node 20 cannot run the TypeScript sources in a child process, so compile the store's two
 * modules (they only type-import anything else) into `outDir`, pointing their package imports at
 * this repo's node_modules. Returns the URL of the compiled `sqlite-store.js`.
 */
async function compileStoreForChildren(outDir: string): Promise<string> {
  const packages: Record<string, string> = {
    kysely: packageEntryUrl("kysely"),
    "better-sqlite3": packageEntryUrl("better-sqlite3"),
  };
  for (const name of ["sqlite-store", "sqlite-migrations"]) {
    const source = readFileSync(join(REPO_ROOT, "src", "adapters", `${name}.ts`), "utf8");
    let js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    js = js.replace(/from "(kysely|better-sqlite3)"/g, (_m, pkg: string) => `from ${JSON.stringify(packages[pkg])}`);
    expect(js).not.toMatch(/from "\.\.\//); // nothing but type imports reach outside the two files
    await writeFile(join(outDir, `${name}.js`), js);
  }
  return pathToFileURL(join(outDir, "sqlite-store.js")).href;
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
