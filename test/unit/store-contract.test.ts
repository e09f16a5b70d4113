/**
 * The Store contract, run against both implementations on real databases — an SQLite file and a
 * PostgreSQL server (`test/helpers/store-backends.ts`): every method, field round-trips,
 * durability across a reopen ("restart"), job claiming with leases, the blob store, the
 * readiness check, and races between stores on one database. On SQLite two stores are two
 * connections to one file (calls interleave at `await`s, writes are serialised by the file's
 * lock); on PostgreSQL they are two connection pools, so the races are real races.
 *
 * SQLite-only behaviour (opening the file, WAL, migrations, several processes) is in
 * `sqlite-store.test.ts`; PostgreSQL-only behaviour (notifications, 64-bit ids, row locks) in
 * `postgres-store.test.ts`.
 */
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import type { JobSpec, JobTarget } from "../../src/jobs/job-spec.js";
import type { Project } from "../../src/projects/project.js";
import type { JobRecord, LockRecord, ProjectState, RepoRef, Store, WaiterRecord, WorkerRef } from "../../src/ports/store.js";
import type { PlanSummary } from "../../src/terraform/plan-summary-types.js";
import { rng } from "../helpers/rng.js";
import { STORE_BACKENDS, useStoreBackend, type StoreBackend } from "../helpers/store-backends.js";
import { REPO, OTHER_REPO, PROD, STAGING, NAMED, summary, fullState, bareState, lock, waiter, TARGET, TARGET_KEY, COMMAND_SPEC, AUTOPLAN_SPEC, REVIEW_SPEC, pullJob, STARTED, LEASE, CLAIM_TIMES, FINISHED_AT, worker, byId } from "../helpers/store-fixtures.js";

/** Run SQL on the backend's current database behind the store's back (sqlite: a second connection). */
async function rawSql(backend: StoreBackend, statement: string): Promise<void> {
  if (backend.name === "sqlite") {
    const db = new Database(backend.location);
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
  } else {
    await backend.pg!.psql(statement, decodeURIComponent(new URL(backend.location).pathname.slice(1)));
  }
}

describe.each(STORE_BACKENDS)("%s store", (backendName) => {
  const backend = useStoreBackend(backendName);
  const open = (now?: () => Date): Promise<Store> => backend.open(now ? { now } : {});

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
      for (const key of ["baseSha", "planBlob", "planDigest", "summary", "planCheckRunId", "why", "sincePush", "fingerprint", "carriedFrom"]) {
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

    test("countLocks counts the locks held over every repo, without listing them", async () => {
      const store = await open();
      expect(await store.countLocks()).toBe(0);
      await store.tryLock(lock(1));
      await store.tryLock(lock(1)); // re-entrant: still one lock
      await store.tryLock(lock(2)); // refused: held by #1
      await store.tryLock(lock(3, { project: STAGING }));
      await store.tryLock(lock(2, { repo: OTHER_REPO }));
      expect(await store.countLocks()).toBe(3);
      await store.releasePullLocks(REPO, 1);
      expect(await store.countLocks()).toBe(2);
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

    test("createJob persists a queued job with its key; getJob round-trips the spec", async () => {
      const store = await open(() => NOW);
      const created = await store.createJob(COMMAND_SPEC);
      expect(created).toStrictEqual({
        id: created!.id,
        spec: COMMAND_SPEC,
        status: "queued",
        createdAt: NOW.toISOString(),
        processes: [],
        key: TARGET_KEY,
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
        key: TARGET_KEY,
      });
      expect(await store.getJob(autoplan!.id + 100)).toBeUndefined();
      // The key is the pull request's, whatever the spelling of the repo.
      expect((await store.createJob(pullJob(7, { owner: "ACME", repo: "iNfRa" })))!.key).toBe("acme/infra#7");
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
      const store = await open(() => NOW);
      const job = (await store.createJob(REVIEW_SPEC, "k"))!;
      const processes = [
        { pid: 4321, startTime: "2025-03-04T05:06:08.000Z" },
        { pid: 4322, startTime: "2025-03-04T05:06:09.000Z", host: "host-a" },
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

    test("countJobs counts jobs in the given statuses", async () => {
      const store = await open();
      expect(await store.countJobs(["queued", "running"])).toBe(0);
      const ids: number[] = [];
      for (let i = 0; i < 6; i++) ids.push((await store.createJob(pullJob(i)))!.id);
      await store.updateJob(ids[1], { status: "running" });
      await store.updateJob(ids[2], { status: "succeeded" });
      await store.updateJob(ids[3], { status: "running" });
      await store.updateJob(ids[4], { status: "interrupted" });
      expect(await store.countJobs(["queued"])).toBe(2);
      expect(await store.countJobs(["running"])).toBe(2);
      expect(await store.countJobs(["queued", "running"])).toBe(4);
      expect(await store.countJobs(["succeeded", "failed", "interrupted"])).toBe(2);
      expect(await store.countJobs(["failed"])).toBe(0);
      expect(await store.countJobs([])).toBe(0);
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

  // --- claiming jobs, leases ---

  describe("claimJob", () => {
    test("claims the oldest claimable job as running, with the claimer, start time and lease", async () => {
      const store = await open();
      expect(await store.claimJob(worker("r1"), CLAIM_TIMES)).toBeUndefined(); // nothing at all
      const a = (await store.createJob(pullJob(1)))!;
      const b = (await store.createJob(pullJob(2)))!;
      const c = (await store.createJob(pullJob(3), "dedupe-c"))!;
      const claimed = await store.claimJob(worker("r1", "run-1"), CLAIM_TIMES);
      const expected: JobRecord = {
        ...a,
        status: "running",
        startedAt: STARTED,
        replica: "r1",
        worker: "r1/run-1",
        leaseExpiresAt: LEASE,
      };
      expect(claimed).toStrictEqual(expected);
      expect(await store.getJob(a.id)).toStrictEqual(expected);
      expect(await store.getJob(b.id)).toStrictEqual(b); // the others are untouched
      const second = await store.claimJob(worker("r2"), { startedAt: "2025-05-01T00:00:01.000Z", leaseUntil: "2025-05-01T00:09:00.000Z" });
      expect(second).toStrictEqual({
        ...b,
        status: "running",
        startedAt: "2025-05-01T00:00:01.000Z",
        replica: "r2",
        worker: "r2/w",
        leaseExpiresAt: "2025-05-01T00:09:00.000Z",
      });
      expect(await store.claimJob(worker("r1"), CLAIM_TIMES)).toStrictEqual({
        ...c,
        status: "running",
        startedAt: STARTED,
        replica: "r1",
        worker: "r1/w",
        leaseExpiresAt: LEASE,
      });
      expect(await store.claimJob(worker("r1"), CLAIM_TIMES)).toBeUndefined();
      expect(await store.countJobs(["running"])).toBe(3);
      expect(await store.countJobs(["queued"])).toBe(0);
    });

    test("never claims finished jobs, or running ones again", async () => {
      const store = await open();
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) ids.push((await store.createJob(pullJob(i)))!.id);
      await store.updateJob(ids[0], { status: "succeeded" });
      await store.updateJob(ids[1], { status: "failed" });
      await store.updateJob(ids[2], { status: "interrupted" });
      await store.updateJob(ids[3], { status: "running" });
      const before = await store.listJobs(["queued", "running", "succeeded", "failed", "interrupted"]);
      expect(await store.claimJob(worker("r1"), CLAIM_TIMES)).toBeUndefined();
      expect(await store.listJobs(["queued", "running", "succeeded", "failed", "interrupted"])).toStrictEqual(before);
    });

    test("job logs: appended in order, read after a sequence number, a repeated chunk kept once, pruned by age", async () => {
      let clock = new Date("2025-01-01T00:00:00.000Z");
      const store = await open(() => clock);
      await store.appendJobLog(1, 1, "one\n");
      await store.appendJobLog(1, 2, "two\n");
      await store.appendJobLog(1, 2, "again\n"); // a retried write
      await store.appendJobLog(2, 1, "other job\n");
      expect(await store.readJobLog(1)).toEqual([{ seq: 1, text: "one\n" }, { seq: 2, text: "two\n" }]);
      expect(await store.readJobLog(1, 1)).toEqual([{ seq: 2, text: "two\n" }]);
      expect(await store.readJobLog(1, 0, 1)).toEqual([{ seq: 1, text: "one\n" }]);
      clock = new Date("2025-01-03T00:00:00.000Z");
      await store.appendJobLog(1, 3, "three\n");
      await store.pruneJobLogs(new Date("2025-01-02T00:00:00.000Z"));
      expect(await store.readJobLog(1)).toEqual([{ seq: 3, text: "three\n" }]);
      expect(await store.readJobLog(2)).toEqual([]);
    });

    test("recentJobs: newest first, at most the limit", async () => {
      const store = await open();
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.createJob(pullJob(i)))!.id);
      expect((await store.recentJobs(3)).map((j) => j.id)).toEqual([ids[4], ids[3], ids[2]]);
    });

    test("cancel has a queue of its own next to its pull request's: it runs while a plan runs", async () => {
      const store = await open();
      const me = worker("r1");
      const plan = (await store.createJob(COMMAND_SPEC))!;
      const queued = (await store.createJob(AUTOPLAN_SPEC))!;
      const cancelSpec: JobSpec = { ...TARGET, kind: "command", commentId: 9, command: { kind: "command", command: "cancel", dir: "", workspace: "", project: "", extraArgs: [], verbose: false, name: "atoll" } };
      const cancel = (await store.createJob(cancelSpec))!;
      expect(cancel.key).toBe(`${TARGET_KEY} cancel`);
      expect((await store.claimJob(me, CLAIM_TIMES))!.id).toBe(plan.id);
      expect((await store.claimJob(me, CLAIM_TIMES))!.id).toBe(cancel.id); // not behind the plan
      expect(await store.claimJob(me, CLAIM_TIMES)).toBeUndefined(); // the autoplan still is
      expect((await store.getJob(queued.id))!.status).toBe("queued");
    });

    test("cancelQueuedJob cancels queued jobs only; requestJobCancel marks running jobs only", async () => {
      const store = await open();
      const me = worker("r1");
      const running = (await store.createJob(pullJob(1)))!;
      const queued = (await store.createJob(pullJob(1)))!;
      await store.claimJob(me, CLAIM_TIMES);
      expect(await store.cancelQueuedJob(running.id, { finishedAt: FINISHED_AT, error: "Cancelled by @bob" })).toBe(false);
      expect(await store.requestJobCancel(queued.id, "bob")).toBe(false);
      expect(await store.cancelQueuedJob(queued.id, { finishedAt: FINISHED_AT, error: "Cancelled by @bob" })).toBe(true);
      expect(await store.cancelQueuedJob(queued.id, { finishedAt: FINISHED_AT, error: "again" })).toBe(false);
      expect(await store.getJob(queued.id)).toStrictEqual({ ...queued, status: "cancelled", finishedAt: FINISHED_AT, error: "Cancelled by @bob" });
      expect(await store.requestJobCancel(running.id, "bob")).toBe(true);
      expect((await store.getJob(running.id))!.cancelRequestedBy).toBe("bob");
      expect((await store.getJob(running.id))!.status).toBe("running");
      // A cancelled job never runs and does not hold up its pull request's next job.
      const next = (await store.createJob(pullJob(1)))!;
      expect(await store.finishJob(running.id, me.worker, { status: "succeeded", finishedAt: FINISHED_AT })).toBe(true);
      expect((await store.claimJob(me, CLAIM_TIMES))!.id).toBe(next.id);
      expect(await store.countJobs(["cancelled"])).toBe(1);
    });

    test("a pull request's jobs are claimed one at a time, in id order; other pull requests' alongside", async () => {
      const store = await open();
      const me = worker("r1");
      const a1 = (await store.createJob(pullJob(1)))!;
      const b1 = (await store.createJob(pullJob(2)))!;
      const a2 = (await store.createJob(pullJob(1, { owner: "ACME", repo: "infra" })))!; // same pull request
      const b2 = (await store.createJob(pullJob(2)))!;
      const c1 = (await store.createJob(pullJob(1, { repo: "network" })))!; // same number, other repo
      const a3 = (await store.createJob(pullJob(1)))!;
      expect([a1.key, a2.key, a3.key]).toEqual(["acme/infra#1", "acme/infra#1", "acme/infra#1"]);
      expect(c1.key).toBe("acme/network#1");

      expect((await store.claimJob(me, CLAIM_TIMES))!.id).toBe(a1.id);
      expect((await store.claimJob(me, CLAIM_TIMES))!.id).toBe(b1.id);
      expect((await store.claimJob(me, CLAIM_TIMES))!.id).toBe(c1.id);
      // a2, b2, a3 wait for a1 and b1.
      expect(await store.claimJob(me, CLAIM_TIMES)).toBeUndefined();
      expect((await store.getJob(a2.id))!.status).toBe("queued");

      expect(await store.finishJob(b1.id, me.worker, { status: "succeeded", finishedAt: FINISHED_AT })).toBe(true);
      expect((await store.claimJob(me, CLAIM_TIMES))!.id).toBe(b2.id);
      expect(await store.claimJob(me, CLAIM_TIMES)).toBeUndefined();

      // A failed job lets the next one of its pull request run too.
      expect(await store.finishJob(a1.id, me.worker, { status: "failed", finishedAt: FINISHED_AT, error: "x" })).toBe(true);
      expect((await store.claimJob(me, CLAIM_TIMES))!.id).toBe(a2.id);
      expect(await store.claimJob(me, CLAIM_TIMES)).toBeUndefined();
      expect(await store.finishJob(a2.id, me.worker, { status: "interrupted", finishedAt: FINISHED_AT })).toBe(true);
      expect((await store.claimJob(me, CLAIM_TIMES))!.id).toBe(a3.id);
      expect(await store.claimJob(me, CLAIM_TIMES)).toBeUndefined();
    });

    test("a running job without a claimer (from before replicas) still holds back its pull request", async () => {
      const store = await open();
      const old = (await store.createJob(pullJob(4)))!;
      const next = (await store.createJob(pullJob(4)))!;
      await store.updateJob(old.id, { status: "running", startedAt: STARTED });
      expect(await store.claimJob(worker("r1"), CLAIM_TIMES)).toBeUndefined();
      await store.updateJob(old.id, { status: "interrupted", finishedAt: FINISHED_AT });
      expect((await store.claimJob(worker("r1"), CLAIM_TIMES))!.id).toBe(next.id);
    });
  });

  describe("repositories: identity by id, rename, forget", () => {
    const RENAMED: RepoRef = { owner: "NewOrg", repo: "infra-2" };

    test("noteRepository records the name per id, and returns the old name once it changes (not for a change of case only)", async () => {
      const store = await open();
      expect(await store.noteRepository(501, REPO)).toBeUndefined();
      expect(await store.noteRepository(501, REPO)).toBeUndefined();
      expect(await store.noteRepository(501, { owner: "acme", repo: "infra" })).toBeUndefined();
      expect(await store.noteRepository(501, RENAMED)).toStrictEqual({ owner: "acme", repo: "infra" });
      expect(await store.noteRepository(501, RENAMED)).toBeUndefined();
      // Another id is another repository, even with a name seen before.
      expect(await store.noteRepository(502, REPO)).toBeUndefined();
      // 64-bit ids.
      expect(await store.noteRepository(2 ** 40 + 3, OTHER_REPO)).toBeUndefined();
      expect(await store.noteRepository(2 ** 40 + 3, RENAMED)).toStrictEqual(OTHER_REPO);
    });

    test("renameRepository moves locks, waiters, plans, check runs and open jobs to the new name; other repos and finished jobs stay", async () => {
      const store = await open();
      const me = worker("r1");
      await store.upsertProject(REPO, 12, fullState(PROD));
      await store.upsertProject(OTHER_REPO, 12, fullState(PROD));
      await store.setCheckRun(REPO, "abc", "atoll/plan", { id: 9, status: "completed" });
      await store.tryLock(lock(12));
      await store.tryLock(lock(3, { repo: OTHER_REPO }));
      await store.addWaiter(waiter(13, STARTED));
      const done = (await store.createJob(pullJob(12)))!;
      await store.claimJob(me, CLAIM_TIMES);
      await store.finishJob(done.id, me.worker, { status: "succeeded", finishedAt: FINISHED_AT });
      const running = (await store.createJob(pullJob(12)))!;
      await store.claimJob(me, CLAIM_TIMES);
      const queued = (await store.createJob(pullJob(12)))!;
      const other = (await store.createJob(pullJob(1, { owner: "acme", repo: "network" })))!;

      expect(await store.renameRepository({ owner: "acme", repo: "INFRA" }, RENAMED)).toStrictEqual({ locks: 1, waiters: 1, projects: 1, jobs: 2 });
      expect(await store.listProjects(REPO, 12)).toEqual([]);
      expect((await store.listProjects(RENAMED, 12)).map((s) => s.project)).toEqual([PROD]);
      expect(await store.getCheckRun(RENAMED, "abc", "atoll/plan")).toEqual({ id: 9, status: "completed" });
      expect(await store.getLock(REPO, PROD)).toBeUndefined();
      expect(await store.getLock(RENAMED, PROD)).toMatchObject({ repo: RENAMED, pullNumber: 12 });
      expect((await store.listWaiters(RENAMED, PROD)).map((w) => w.pullNumber)).toEqual([13]);
      for (const id of [running.id, queued.id]) {
        const job = (await store.getJob(id))!;
        expect(job.spec).toMatchObject({ owner: "NewOrg", repo: "infra-2" });
        expect(job.key).toBe("neworg/infra-2#12");
      }
      // The queue order is kept: the renamed queued job still waits for the running one.
      expect(await store.claimJob(me, CLAIM_TIMES)).toMatchObject({ id: other.id });
      expect(await store.claimJob(me, CLAIM_TIMES)).toBeUndefined();
      expect((await store.getJob(done.id))!.spec).toMatchObject({ owner: "Acme", repo: "Infra" });
      expect((await store.getLock(OTHER_REPO, PROD))!.pullNumber).toBe(3);
      // Nothing left under the old name: renaming again moves nothing.
      expect(await store.renameRepository(REPO, RENAMED)).toStrictEqual({ locks: 0, waiters: 0, projects: 0, jobs: 0 });
    });

    test("forgetRepositories releases locks and queues, forgets plans and check runs, cancels queued jobs and marks running ones; other repos stay", async () => {
      const store = await open();
      const me = worker("r1");
      await store.upsertProject(REPO, 12, fullState(PROD));
      await store.upsertProject(OTHER_REPO, 4, fullState(PROD));
      await store.setCheckRun(REPO, "abc", "atoll/plan", { id: 9, status: "completed" });
      await store.tryLock(lock(12));
      await store.tryLock(lock(4, { repo: OTHER_REPO }));
      await store.addWaiter(waiter(13, STARTED));
      const running = (await store.createJob(pullJob(12)))!;
      await store.claimJob(me, CLAIM_TIMES);
      const queued = (await store.createJob(pullJob(13)))!;
      const other = (await store.createJob(pullJob(4, { owner: "acme", repo: "network" })))!;

      const result = await store.forgetRepositories({ repos: [{ owner: "acme", repo: "infra" }] }, { at: FINISHED_AT, reason: "Cancelled: gone.", stopBy: "atoll:gone" });
      expect(result.locks.map((l) => l.pullNumber)).toEqual([12]);
      expect(result.waiters.map((w) => w.pullNumber)).toEqual([13]);
      expect(result.projects.map((p) => p.project)).toEqual([PROD]);
      expect(result.cancelledJobs).toEqual([queued.id]);
      expect(result.stoppingJobs).toEqual([running.id]);
      expect(await store.listLocks(REPO)).toEqual([]);
      expect(await store.listWaiters(REPO, PROD)).toEqual([]);
      expect(await store.listProjects(REPO, 12)).toEqual([]);
      expect(await store.getCheckRun(REPO, "abc", "atoll/plan")).toBeUndefined();
      expect(await store.getJob(queued.id)).toMatchObject({ status: "cancelled", error: "Cancelled: gone.", finishedAt: FINISHED_AT });
      expect(await store.getJob(running.id)).toMatchObject({ status: "running", cancelRequestedBy: "atoll:gone" });
      expect(await store.getJob(other.id)).toMatchObject({ status: "queued" });
      expect((await store.listLocks(OTHER_REPO)).map((l) => l.pullNumber)).toEqual([4]);
      expect(await store.listProjects(OTHER_REPO, 4)).toHaveLength(1);
      // The project is free for another pull request now.
      expect(await store.tryLock(lock(14))).toMatchObject({ acquired: true });
    });

    test("forgetRepositories by installation: every lock, queue and open job of it, and the plans of those repositories", async () => {
      const store = await open();
      await store.upsertProject(REPO, 12, fullState(PROD));
      await store.upsertProject(OTHER_REPO, 4, fullState(PROD));
      await store.tryLock(lock(12, { installationId: 5 }));
      await store.tryLock(lock(4, { repo: OTHER_REPO, installationId: 6 }));
      const job = (await store.createJob(pullJob(2, { installationId: 6, owner: "acme", repo: "network" })))!;
      const result = await store.forgetRepositories({ repos: [], installationId: 6 }, { at: FINISHED_AT, reason: "uninstalled", stopBy: "atoll:gone" });
      expect(result.locks.map((l) => l.repo)).toEqual([OTHER_REPO]);
      expect(result.cancelledJobs).toEqual([job.id]);
      expect(result.projects).toHaveLength(1);
      expect(await store.listProjects(OTHER_REPO, 4)).toEqual([]);
      expect(await store.listProjects(REPO, 12)).toHaveLength(1);
      expect(await store.listLocks(REPO)).toHaveLength(1);
      // Nothing to forget is fine.
      expect(await store.forgetRepositories({ repos: [] }, { at: FINISHED_AT, reason: "x", stopBy: "y" })).toStrictEqual({ locks: [], waiters: [], projects: [], cancelledJobs: [], stoppingJobs: [] });
    });
  });

  describe("leases", () => {
    test("renewLeases extends only the leases the worker holds on running jobs, and returns those ids", async () => {
      const store = await open();
      const ids: number[] = [];
      for (let i = 1; i <= 4; i++) ids.push((await store.createJob(pullJob(i)))!.id);
      const [j1, j2, j3, j4] = ids;
      expect((await store.claimJob(worker("r1", "one"), CLAIM_TIMES))!.id).toBe(j1);
      expect((await store.claimJob(worker("r1", "one"), CLAIM_TIMES))!.id).toBe(j2);
      expect((await store.claimJob(worker("r2", "two"), CLAIM_TIMES))!.id).toBe(j3);
      const j3Before = await store.getJob(j3);
      const j4Before = await store.getJob(j4);
      const RENEWED = "2025-05-01T00:05:00.000Z";
      expect((await store.renewLeases("r1/one", [j4, j3, j2, j1, j4 + 1000], RENEWED)).sort(byId)).toEqual([j1, j2]);
      expect((await store.getJob(j1))!.leaseExpiresAt).toBe(RENEWED);
      expect((await store.getJob(j2))!.leaseExpiresAt).toBe(RENEWED);
      expect(await store.getJob(j3)).toStrictEqual(j3Before); // another worker's
      expect(await store.getJob(j4)).toStrictEqual(j4Before); // queued
      expect(await store.renewLeases("r1/one", [], RENEWED)).toEqual([]);
      // Only the ids asked for.
      const LATER = "2025-05-01T00:07:00.000Z";
      expect(await store.renewLeases("r1/one", [j2], LATER)).toEqual([j2]);
      expect((await store.getJob(j1))!.leaseExpiresAt).toBe(RENEWED);
      // A finished job is no longer held.
      expect(await store.finishJob(j1, "r1/one", { status: "succeeded", finishedAt: FINISHED_AT })).toBe(true);
      const j1Done = await store.getJob(j1);
      const LATEST = "2025-05-01T00:09:00.000Z";
      expect(await store.renewLeases("r1/one", [j1, j2], LATEST)).toEqual([j2]);
      expect(await store.getJob(j1)).toStrictEqual(j1Done);
      expect(await store.renewLeases("r2/two", [j3], LATEST)).toEqual([j3]);
      expect((await store.getJob(j3))!.leaseExpiresAt).toBe(LATEST);
    });

    test("finishJob finishes the worker's running job; false and nothing changed otherwise", async () => {
      const store = await open();
      const job = (await store.createJob(pullJob(1)))!;
      const outcome = { status: "succeeded", finishedAt: FINISHED_AT } as const;
      // Not running (queued): nothing to finish.
      expect(await store.finishJob(job.id, "r1/w", outcome)).toBe(false);
      expect(await store.getJob(job.id)).toStrictEqual(job);
      const claimed = (await store.claimJob(worker("r1"), CLAIM_TIMES))!;
      // Another worker's job.
      expect(await store.finishJob(job.id, "r2/w", outcome)).toBe(false);
      expect(await store.getJob(job.id)).toStrictEqual(claimed);
      expect(await store.finishJob(job.id + 1000, "r1/w", outcome)).toBe(false);
      // The holder finishes it.
      expect(await store.finishJob(job.id, "r1/w", { status: "failed", finishedAt: FINISHED_AT, error: "terraform exited 1" })).toBe(true);
      const done = (await store.getJob(job.id))!;
      expect(done).toMatchObject({
        id: job.id,
        key: job.key,
        status: "failed",
        startedAt: STARTED,
        finishedAt: FINISHED_AT,
        error: "terraform exited 1",
        replica: "r1",
        worker: "r1/w",
      });
      // Finished already: a second finish changes nothing.
      expect(await store.finishJob(job.id, "r1/w", { status: "succeeded", finishedAt: "2025-05-01T00:00:50.000Z" })).toBe(false);
      expect(await store.getJob(job.id)).toStrictEqual(done);

      // Without an error, none is recorded; interrupted is a finish too.
      const ok = (await store.createJob(pullJob(2)))!;
      const stopped = (await store.createJob(pullJob(3)))!;
      await store.claimJob(worker("r1"), CLAIM_TIMES);
      await store.claimJob(worker("r1"), CLAIM_TIMES);
      expect(await store.finishJob(ok.id, "r1/w", outcome)).toBe(true);
      const okDone = (await store.getJob(ok.id))!;
      expect(okDone).toMatchObject({ status: "succeeded", finishedAt: FINISHED_AT });
      expect(Object.prototype.hasOwnProperty.call(okDone, "error")).toBe(false);
      expect(await store.finishJob(stopped.id, "r1/w", { status: "interrupted", finishedAt: FINISHED_AT, error: "lost" })).toBe(true);
      expect(await store.getJob(stopped.id)).toMatchObject({ status: "interrupted", error: "lost" });

      // A running job nobody claimed (from before replicas) is no worker's to finish.
      const legacy = (await store.createJob(pullJob(4)))!;
      await store.updateJob(legacy.id, { status: "running", startedAt: STARTED });
      const legacyBefore = await store.getJob(legacy.id);
      expect(await store.finishJob(legacy.id, "r1/w", outcome)).toBe(false);
      expect(await store.getJob(legacy.id)).toStrictEqual(legacyBefore);
    });

    test("adoptJobs by replica: its running jobs and those without a replica, never the worker's own", async () => {
      const store = await open();
      const create = async (n: number) => (await store.createJob(pullJob(n)))!;
      const claimAs = async (n: number, by: WorkerRef) => {
        const created = await create(n);
        const claimed = (await store.claimJob(by, CLAIM_TIMES))!;
        expect(claimed.id).toBe(created.id);
        return claimed;
      };
      const OLD_RUN = worker("r1", "old");
      const NEW_RUN = worker("r1", "new");
      const j1 = await claimAs(1, OLD_RUN); // left by a previous run of r1
      const j2 = await claimAs(2, worker("r2")); // another replica's
      const j3 = await create(3); // running from before replicas existed: no replica, no worker
      await store.updateJob(j3.id, { status: "running", startedAt: STARTED });
      const j3Running = (await store.getJob(j3.id))!;
      const j4 = await claimAs(4, NEW_RUN); // this run's own
      const j5 = await claimAs(5, OLD_RUN); // finished
      expect(await store.finishJob(j5.id, OLD_RUN.worker, { status: "succeeded", finishedAt: FINISHED_AT })).toBe(true);
      const j6 = await create(6); // queued
      const untouched = await Promise.all([j2.id, j4.id, j5.id, j6.id].map((id) => store.getJob(id)));

      const NEW_LEASE = "2025-05-01T00:10:00.000Z";
      const adopted = await store.adoptJobs({ replica: "r1" }, NEW_RUN.worker, NEW_LEASE);
      expect(adopted).toStrictEqual([
        { ...j1, worker: NEW_RUN.worker, leaseExpiresAt: NEW_LEASE },
        { ...j3Running, worker: NEW_RUN.worker, leaseExpiresAt: NEW_LEASE },
      ]);
      expect(adopted.map((j) => j.status)).toEqual(["running", "running"]);
      expect(adopted[0].replica).toBe("r1"); // keeps naming the replica that ran it
      for (const job of adopted) expect(await store.getJob(job.id)).toStrictEqual(job);
      expect(await Promise.all([j2.id, j4.id, j5.id, j6.id].map((id) => store.getJob(id)))).toStrictEqual(untouched);

      // Held now: adopting again takes nothing.
      expect(await store.adoptJobs({ replica: "r1" }, NEW_RUN.worker, "2025-05-01T00:20:00.000Z")).toEqual([]);
      expect((await store.getJob(j1.id))!.leaseExpiresAt).toBe(NEW_LEASE);
      // The old run lost them; the new one holds them.
      expect(await store.finishJob(j1.id, OLD_RUN.worker, { status: "succeeded", finishedAt: FINISHED_AT })).toBe(false);
      expect(await store.renewLeases(OLD_RUN.worker, [j1.id, j3.id], "2025-05-01T00:30:00.000Z")).toEqual([]);
      expect((await store.renewLeases(NEW_RUN.worker, [j1.id, j3.id, j4.id], "2025-05-01T00:30:00.000Z")).sort(byId)).toEqual([
        j1.id,
        j3.id,
        j4.id,
      ]);
      expect(await store.finishJob(j1.id, NEW_RUN.worker, { status: "interrupted", finishedAt: FINISHED_AT, error: "restarted" })).toBe(true);
      // An adopted job is still running: its pull request's next job waits for it.
      const after3 = (await store.createJob(pullJob(3)))!;
      expect((await store.claimJob(NEW_RUN, CLAIM_TIMES))?.id).toBe(j6.id);
      expect(await store.claimJob(NEW_RUN, CLAIM_TIMES)).toBeUndefined();
      expect(await store.finishJob(j3.id, NEW_RUN.worker, { status: "interrupted", finishedAt: FINISHED_AT })).toBe(true);
      expect((await store.claimJob(NEW_RUN, CLAIM_TIMES))?.id).toBe(after3.id);
    });

    test("adoptJobs by lease: running jobs whose lease ran out, or that have none", async () => {
      const store = await open();
      const claimAs = async (n: number, by: WorkerRef, leaseUntil: string) => {
        const created = (await store.createJob(pullJob(n)))!;
        const claimed = (await store.claimJob(by, { startedAt: STARTED, leaseUntil }))!;
        expect(claimed.id).toBe(created.id);
        return claimed;
      };
      const CUTOFF = "2025-05-01T00:02:00.000Z";
      const j1 = await claimAs(1, worker("r1", "dead"), "2025-05-01T00:01:00.000Z"); // expired
      const j2 = await claimAs(2, worker("r2", "alive"), "2025-05-01T00:05:00.000Z"); // still valid
      const j3 = (await store.createJob(pullJob(3)))!; // running without a lease (from before replicas)
      await store.updateJob(j3.id, { status: "running", startedAt: STARTED });
      const j3Running = (await store.getJob(j3.id))!;
      const j5 = await claimAs(5, worker("r1", "dead"), "2025-05-01T00:01:00.000Z"); // finished: no lease any more
      expect(await store.finishJob(j5.id, "r1/dead", { status: "failed", finishedAt: FINISHED_AT, error: "x" })).toBe(true);
      const j6 = await claimAs(6, worker("r3", "dead"), "2025-05-01T00:01:59.999Z"); // just expired
      const j4 = (await store.createJob(pullJob(4)))!; // queued
      const untouched = await Promise.all([j2.id, j4.id, j5.id].map((id) => store.getJob(id)));

      const NEW_LEASE = "2025-05-01T00:10:00.000Z";
      const adopted = await store.adoptJobs({ leaseExpiredBefore: CUTOFF }, "r2/alive", NEW_LEASE);
      expect(adopted).toStrictEqual([
        { ...j1, worker: "r2/alive", leaseExpiresAt: NEW_LEASE },
        { ...j3Running, worker: "r2/alive", leaseExpiresAt: NEW_LEASE },
        { ...j6, worker: "r2/alive", leaseExpiresAt: NEW_LEASE },
      ]);
      expect(adopted.map((j) => [j.status, j.replica])).toEqual([
        ["running", "r1"],
        ["running", undefined],
        ["running", "r3"],
      ]);
      for (const job of adopted) expect(await store.getJob(job.id)).toStrictEqual(job);
      expect(await Promise.all([j2.id, j4.id, j5.id].map((id) => store.getJob(id)))).toStrictEqual(untouched);
      expect(await store.adoptJobs({ leaseExpiredBefore: CUTOFF }, "r9/other", NEW_LEASE)).toEqual([]);
      // The worker that lost its lease can neither renew nor finish.
      expect(await store.renewLeases("r1/dead", [j1.id], "2025-05-01T00:30:00.000Z")).toEqual([]);
      expect(await store.finishJob(j1.id, "r1/dead", { status: "succeeded", finishedAt: FINISHED_AT })).toBe(false);
      expect(await store.getJob(j1.id)).toStrictEqual(adopted[0]);
      // Once the new lease runs out too, someone else may take over.
      expect((await store.adoptJobs({ leaseExpiredBefore: "2025-05-01T00:10:00.001Z" }, "r9/other", "2025-05-01T00:20:00.000Z")).map((j) => j.id)).toEqual([
        j1.id,
        j2.id,
        j3.id,
        j6.id,
      ]);
    });
  });

  // --- blobs ---

  describe("blobs", () => {
    test("put and get round-trip binary data of any size; missing keys are undefined", async () => {
      const store = await open();
      const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const big = randomBytes(3 * 1024 * 1024 + 17);
      await store.blobs.put("plans/every", every);
      await store.blobs.put("plans/empty", Buffer.alloc(0));
      await store.blobs.put("plans/big", big);
      const gotEvery = await store.blobs.get("plans/every");
      expect(Buffer.isBuffer(gotEvery)).toBe(true);
      expect(gotEvery).toEqual(every);
      const empty = await store.blobs.get("plans/empty");
      expect(Buffer.isBuffer(empty)).toBe(true);
      expect(empty!.length).toBe(0);
      const gotBig = (await store.blobs.get("plans/big"))!;
      expect(gotBig.length).toBe(big.length);
      expect(gotBig.equals(big)).toBe(true);
      expect(await store.blobs.get("plans/missing")).toBeUndefined();
      expect(await store.blobs.get("plans/EVERY")).toBeUndefined(); // keys are case-sensitive
    });

    test("put replaces; delete removes the given keys, missing ones are fine", async () => {
      const store = await open();
      await store.blobs.put("k1", Buffer.from("first"));
      await store.blobs.put("k1", Buffer.from("second, longer"));
      expect((await store.blobs.get("k1"))!.toString()).toBe("second, longer");
      await store.blobs.put("k1", Buffer.from("3"));
      expect((await store.blobs.get("k1"))!.toString()).toBe("3");
      await store.blobs.put("k2", Buffer.from("two"));
      await store.blobs.put("k3", Buffer.from("three"));
      await store.blobs.delete([]);
      await store.blobs.delete(["k1", "missing", "k3"]);
      expect(await store.blobs.get("k1")).toBeUndefined();
      expect(await store.blobs.get("k3")).toBeUndefined();
      expect((await store.blobs.get("k2"))!.toString()).toBe("two");
      await store.blobs.delete(["k1"]);
      // A deleted key can be written again.
      await store.blobs.put("k1", Buffer.from("again"));
      expect((await store.blobs.get("k1"))!.toString()).toBe("again");
    });

    test("deletePrefix deletes exactly the keys starting with the prefix (case-sensitive, no wildcards) and counts them", async () => {
      const store = await open();
      const keys = [
        "plans/a/1",
        "plans/a/2/x.tfplan",
        "plans/a/",
        "plans/A/1",
        "plans/ab/1",
        "plans/a",
        "other/plans/a/1",
        "p%x/1",
        "pqx/1",
        "p_x/1",
        "pzx/1",
        "p\\x/1",
        "plans/ü/1",
        "plans/u/1",
        "plans/🚀/1",
        "plans/🚀x/1",
      ];
      for (const k of keys) await store.blobs.put(k, Buffer.from(k));
      const left = async () => {
        const out: string[] = [];
        for (const k of keys) if (await store.blobs.get(k)) out.push(k);
        return out;
      };
      expect(await store.blobs.deletePrefix("plans/a/")).toBe(3);
      expect(await left()).toEqual(keys.filter((k) => !["plans/a/1", "plans/a/2/x.tfplan", "plans/a/"].includes(k)));
      expect(await store.blobs.deletePrefix("plans/a/")).toBe(0);
      expect(await store.blobs.deletePrefix("p%")).toBe(1);
      expect(await store.blobs.get("p%x/1")).toBeUndefined();
      expect(await store.blobs.deletePrefix("p_")).toBe(1);
      expect(await store.blobs.get("p_x/1")).toBeUndefined();
      expect(await store.blobs.deletePrefix("p\\")).toBe(1);
      expect(await store.blobs.deletePrefix("plans/ü/")).toBe(1);
      expect(await store.blobs.deletePrefix("plans/🚀/")).toBe(1);
      expect(await left()).toEqual(["plans/A/1", "plans/ab/1", "plans/a", "other/plans/a/1", "pqx/1", "pzx/1", "plans/u/1", "plans/🚀x/1"]);
      expect(await store.blobs.deletePrefix("nothing/")).toBe(0);
      expect(await store.blobs.deletePrefix("plans/")).toBe(5);
      expect(await left()).toEqual(["other/plans/a/1", "pqx/1", "pzx/1"]);
    });

    test("blobs survive a reopen and are shared by stores on one database", async () => {
      const a = await open();
      const b = await open();
      const data = randomBytes(70_000);
      await a.blobs.put("plans/x", data);
      expect((await b.blobs.get("plans/x"))!.equals(data)).toBe(true);
      await backend.close(a);
      await backend.close(b);
      const c = await open();
      expect((await c.blobs.get("plans/x"))!.equals(data)).toBe(true);
      expect(await c.blobs.deletePrefix("plans/")).toBe(1);
    });
  });

  // --- readiness ---

  describe("checkReady", () => {
    test("resolves on a migrated store; rejects when a migration is missing or unknown", async () => {
      const store = await open();
      await expect(store.checkReady()).resolves.toBeUndefined();
      await rawSql(backend, "DELETE FROM kysely_migration WHERE name = '0002_replicas'");
      await expect(store.checkReady()).rejects.toThrow(/0002_replicas/);
      await rawSql(backend, `INSERT INTO kysely_migration (name, "timestamp") VALUES ('0002_replicas', '2025-01-01T00:00:00.000Z')`);
      await expect(store.checkReady()).resolves.toBeUndefined();
      await rawSql(backend, `INSERT INTO kysely_migration (name, "timestamp") VALUES ('9999_future', '2030-01-01T00:00:00.000Z')`);
      await expect(store.checkReady()).rejects.toThrow(/9999_future/);
      await rawSql(backend, "DELETE FROM kysely_migration WHERE name = '9999_future'");
      await expect(store.checkReady()).resolves.toBeUndefined();
    });

    test("rejects once the store is closed; close is idempotent", async () => {
      const store = await open();
      await backend.close(store);
      await store.close();
      await expect(store.checkReady()).rejects.toThrow();
      await expect(store.recordDelivery("x", "push")).rejects.toThrow();
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
      const store = await open(() => clock);
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
    test("everything survives closing and reopening the database", async () => {
      const before = await open(() => new Date("2025-06-01T00:00:00.000Z"));
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
      await before.createJob(pullJob(20));
      const claimed = (await before.claimJob(worker("r1"), CLAIM_TIMES))!;
      await before.recordDelivery("delivery-1", "issue_comment");
      await before.blobs.put("plans/kept", Buffer.from([1, 2, 3]));
      await backend.close(before);

      const after = await open();
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
          key: TARGET_KEY,
        },
        claimed,
      ]);
      expect(claimed).toMatchObject({ replica: "r1", worker: "r1/w", leaseExpiresAt: LEASE, key: "acme/infra#20" });
      expect(await after.createJob(COMMAND_SPEC, "comment:4242")).toBeUndefined();
      expect((await after.createJob(REVIEW_SPEC))!.id).toBeGreaterThan(claimed.id);
      expect(await after.recordDelivery("delivery-1", "issue_comment")).toBe(false);
      expect(await after.blobs.get("plans/kept")).toEqual(Buffer.from([1, 2, 3]));
      await expect(after.checkReady()).resolves.toBeUndefined();
    });
  });

  // --- races ---

  describe("two stores on one database", () => {
    const ROUNDS = 200;

    test("several stores opening a fresh database at once all work", async () => {
      const stores = await Promise.all([open(), open(), open()]);
      const results = await Promise.all(stores.map((s) => s.recordDelivery("same", "push")));
      expect(results.filter(Boolean)).toHaveLength(1);
      for (const s of stores) await expect(s.checkReady()).resolves.toBeUndefined();
    });

    test("tryLock: exactly one winner per round, and the loser sees the winner", async () => {
      const [a, b] = await Promise.all([open(), open()]);
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
      const [a, b] = await Promise.all([open(), open()]);
      for (let i = 0; i < ROUNDS; i++) {
        const jobs = await Promise.all([a.createJob(REVIEW_SPEC, `key-${i}`), b.createJob(REVIEW_SPEC, `key-${i}`)]);
        expect(jobs.filter((j) => j !== undefined)).toHaveLength(1);
        const seen = await Promise.all([b.recordDelivery(`d-${i}`, "push"), a.recordDelivery(`d-${i}`, "push")]);
        expect(seen.filter(Boolean)).toHaveLength(1);
      }
      expect(await a.listJobs(["queued"])).toHaveLength(ROUNDS);
    });

    test("addWaiter from both sides: distinct positions, one entry per PR", async () => {
      const [a, b] = await Promise.all([open(), open()]);
      const t = "2025-01-01T00:00:00.000Z";
      // Several rounds (one project each) so that real races get a chance to interleave.
      for (let i = 0; i < 30; i++) {
        const project = { name: "", dir: `p${i}`, workspace: "default" };
        const w = (pr: number) => waiter(pr, t, { project });
        const positions = await Promise.all([
          a.addWaiter(w(1)),
          b.addWaiter(w(2)),
          a.addWaiter(w(2)),
          b.addWaiter(w(3)),
          b.addWaiter(w(1)),
        ]);
        const queue = (await a.listWaiters(REPO, project)).map((x) => x.pullNumber);
        expect(queue).toHaveLength(3);
        expect(new Set(queue)).toEqual(new Set([1, 2, 3]));
        const place = (pr: number) => queue.indexOf(pr) + 1;
        expect(positions).toEqual([place(1), place(2), place(2), place(3), place(1)]);
      }
    });

    test("addWaiter from three stores, many pull requests at once: each is told its place in the final queue", async () => {
      const stores = await Promise.all([open(), open(), open()]);
      const t = "2025-01-01T00:00:00.000Z";
      const PRS = 9;
      for (let i = 0; i < 40; i++) {
        const project = { name: "", dir: `q${i}`, workspace: "default" };
        const prs = Array.from({ length: PRS }, (_, k) => k + 1);
        const positions = await Promise.all(prs.map((pr) => stores[pr % stores.length].addWaiter(waiter(pr, t, { project }))));
        const queue = (await stores[0].listWaiters(REPO, project)).map((x) => x.pullNumber);
        expect(queue.slice().sort(byId)).toEqual(prs);
        // Nobody is told a place another PR turns out to have: the positions are 1..n, each the PR's place.
        expect(prs.map((pr) => ({ pr, position: positions[pr - 1] }))).toEqual(prs.map((pr) => ({ pr, position: queue.indexOf(pr) + 1 })));
      }
    });

    test("removeProjects / releasePullLocks / removePullWaits hand each row to one caller only", async () => {
      const [a, b] = await Promise.all([open(), open()]);
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

    test("claimJob from three stores at once: each job claimed once, a pull request's jobs one at a time and in order", async () => {
      const stores = await Promise.all([open(), open(), open()]);
      const random = rng(20250501);
      const KEYS = 6;
      const JOBS = 30;
      const all: JobRecord[] = [];
      // Bursts per pull request as well as interleaving, so that oldest-first alone would overlap them.
      for (let i = 0; i < JOBS; i++) {
        const pr = i < 12 ? 1 + Math.floor(i / 4) : 1 + Math.floor(random() * KEYS);
        all.push((await stores[i % stores.length].createJob(pullJob(pr)))!);
      }
      const keyOf = new Map(all.map((j) => [j.id, j.key]));
      const claims = new Map<number, number>(); // id -> times claimed
      const order = new Map<string, number[]>(); // key -> ids in claim order
      const held = new Map<number, { store: Store; worker: string }>();
      const leaseTimes = () => ({ startedAt: new Date().toISOString(), leaseUntil: new Date(Date.now() + 60_000).toISOString() });

      /** Claims from every store at once (two each); returns the jobs claimed. */
      const claimRound = async (): Promise<JobRecord[]> => {
        const got = await Promise.all(
          stores.flatMap((store, s) => [0, 1].map(async (k) => ({ store, by: worker(`r${s}`, `w${k}`), job: await store.claimJob(worker(`r${s}`, `w${k}`), leaseTimes()) }))),
        );
        const claimed: JobRecord[] = [];
        for (const { store, by, job } of got) {
          if (!job) continue;
          expect(job).toMatchObject({ status: "running", replica: by.replica, worker: by.worker, key: keyOf.get(job.id) });
          claims.set(job.id, (claims.get(job.id) ?? 0) + 1);
          order.set(job.key, [...(order.get(job.key) ?? []), job.id]);
          held.set(job.id, { store, worker: by.worker });
          claimed.push(job);
        }
        return claimed;
      };

      /** No two running jobs share a key, and every claimed job's predecessors in its key are finished. */
      const checkInvariants = async (claimed: JobRecord[]) => {
        const jobs = await stores[0].listJobs(["queued", "running", "succeeded", "failed", "interrupted"]);
        const running = jobs.filter((j) => j.status === "running");
        expect(running.map((j) => j.key).sort()).toEqual([...new Set(running.map((j) => j.key))].sort());
        for (const c of claimed) {
          const earlier = jobs.filter((j) => j.key === c.key && j.id < c.id);
          expect(earlier.filter((j) => j.status !== "succeeded").map((j) => j.id)).toEqual([]);
        }
      };

      let rounds = 0;
      let parallelRounds = 0;
      while (claims.size < JOBS) {
        if (++rounds > 100) throw new Error(`only ${claims.size} of ${JOBS} jobs claimed after 100 rounds`);
        // Claims racing each other.
        const claimed = await claimRound();
        if (new Set(claimed.map((j) => j.key)).size > 1) parallelRounds++;
        await checkInvariants(claimed);
        // Then finishes racing further claims: finish about half of what runs, by its holder.
        const finishing = [...held.entries()].filter(() => random() < 0.5);
        for (const [id] of finishing) held.delete(id);
        const [finished, claimedMeanwhile] = await Promise.all([
          Promise.all(finishing.map(([id, h]) => h.store.finishJob(id, h.worker, { status: "succeeded", finishedAt: new Date().toISOString() }))),
          claimRound(),
        ]);
        expect(finished.every(Boolean)).toBe(true);
        await checkInvariants(claimedMeanwhile);
      }
      expect([...claims.keys()].sort(byId)).toEqual(all.map((j) => j.id));
      expect([...claims.values()].every((n) => n === 1)).toBe(true);
      for (const [, ids] of order) expect(ids).toEqual([...ids].sort(byId));
      expect(order.size).toBe(new Set(all.map((j) => j.key)).size);
      expect(parallelRounds).toBeGreaterThan(0); // different pull requests' jobs were claimed together
      expect(await stores[1].claimJob(worker("r1"), leaseTimes())).toBeUndefined();
      expect(await stores[2].countJobs(["queued"])).toBe(0);
    });

    test("adoptJobs from three stores at once: each expired job goes to exactly one adopter", async () => {
      const stores = await Promise.all([open(), open(), open()]);
      const CUTOFF = "2025-05-01T00:02:00.000Z";
      const EXPIRED = { startedAt: STARTED, leaseUntil: "2025-05-01T00:01:00.000Z" };
      const NEW_LEASE = "2025-05-01T00:10:00.000Z";
      let pr = 0;
      const adopters = stores.flatMap((store, s) => [0, 1].map((k) => ({ store, worker: `adopter-${s}-${k}` })));
      for (let round = 0; round < 15; round++) {
        const ids: number[] = [];
        // Half left by a dead worker with an expired lease, half running without a lease.
        for (let i = 0; i < 4; i++) {
          const job = (await stores[0].createJob(pullJob(++pr)))!;
          expect((await stores[1].claimJob(worker("dead"), EXPIRED))!.id).toBe(job.id);
          ids.push(job.id);
        }
        for (let i = 0; i < 4; i++) {
          const job = (await stores[2].createJob(pullJob(++pr)))!;
          await stores[2].updateJob(job.id, { status: "running", startedAt: STARTED });
          ids.push(job.id);
        }
        const results = await Promise.all(adopters.map((a) => a.store.adoptJobs({ leaseExpiredBefore: CUTOFF }, a.worker, NEW_LEASE)));
        const got = results.flatMap((jobs, i) => jobs.map((j) => ({ id: j.id, worker: adopters[i].worker, job: j })));
        expect(got.map((g) => g.id).sort(byId)).toEqual(ids);
        for (const g of got) {
          expect(g.job).toMatchObject({ status: "running", worker: g.worker, leaseExpiresAt: NEW_LEASE });
          expect((await stores[0].getJob(g.id))!.worker).toBe(g.worker);
        }
      }
    });
  });
});
