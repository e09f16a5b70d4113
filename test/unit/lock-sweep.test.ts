/**
 * The lock sweep on a real SQLite store: a lock held by a closed pull request gets one cleanup job
 * however many replicas sweep, and a new one only when the lock was taken again since.
 */
import { sweepLocks } from "../../src/jobs/lock-sweep.js";
import type { GitHubPort } from "../../src/ports/github.js";
import type { LockRecord, Store } from "../../src/ports/store.js";
import { useStoreBackend } from "../helpers/store-backends.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const backend = useStoreBackend("sqlite");
let store: Store;
beforeEach(async () => {
  store = await backend.open();
});

const lock = (pullNumber: number, dirName: string, lockedAt: string): LockRecord => ({
  repo: { owner: "acme", repo: "infra" },
  project: { name: "", dir: dirName, workspace: "default" },
  pullNumber,
  installationId: 7,
  user: "alice",
  lockedAt,
});

function sweep(state: Record<number, "open" | "closed">) {
  const github = {
    getPull: async (n: number) => ({ number: n, state: state[n], merged: state[n] === "closed" }),
  } as unknown as GitHubPort;
  return sweepLocks({ store, jobs: { submit: (spec, key) => store.createJob(spec, key) }, githubFor: async () => github, name: "atoll", log: silent });
}

test("replicas sweeping the same closed holder create one cleanup job; an open holder gets none", async () => {
  await store.tryLock(lock(1, "net", "2026-12-01T00:00:00.000Z"));
  await store.tryLock(lock(1, "app", "2026-12-01T00:00:05.000Z"));
  await store.tryLock(lock(2, "dns", "2026-12-01T00:00:00.000Z"));
  const state = { 1: "closed", 2: "open" } as const;
  const results = await Promise.all([sweep(state), sweep(state), sweep(state)]);
  expect(results.reduce((a, b) => a + b, 0)).toBe(1);
  const jobs = await store.listJobs(["queued"]);
  expect(jobs.map((j) => [j.spec.kind, j.spec.pullNumber, j.dedupeKey])).toEqual([["cleanup", 1, "sweep:acme/infra#1:2026-12-01T00:00:05.000Z"]]);
  expect(jobs[0].spec).toMatchObject({ kind: "cleanup", merged: true, healed: true, installationId: 7 });

  // The cleanup ran (locks released); the PR was reopened and planned again, then closed again.
  await store.updateJob(jobs[0].id, { status: "succeeded" });
  await store.releasePullLocks({ owner: "acme", repo: "infra" }, 1);
  await store.tryLock(lock(1, "net", "2026-12-02T00:00:00.000Z"));
  expect(await sweep(state)).toBe(1);
  expect(await sweep(state)).toBe(0);
});
