/**
 * The local cache sweep on a real SQLite store: a replica deletes its checkouts of pull requests
 * Atoll no longer tracks (closed on another replica), and keeps every other one.
 */
import { sweepLocalCheckouts } from "../../src/jobs/checkout-sweep.js";
import type { Store } from "../../src/ports/store.js";
import type { LocalPull, WorkspacePort } from "../../src/ports/workspace.js";
import { useStoreBackend } from "../helpers/store-backends.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const NOW = new Date("2026-12-03T12:00:00Z");
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000);

const backend = useStoreBackend("sqlite");
let store: Store;
beforeEach(async () => {
  store = await backend.open();
});

function workspaces(pulls: LocalPull[]): WorkspacePort & { removed: string[] } {
  const removed: string[] = [];
  return {
    removed,
    listPulls: async () => pulls,
    removePull: async (owner, repo, n) => void removed.push(`${owner}/${repo}#${n}`),
    checkout: async () => {
      throw new Error("not used");
    },
    find: async () => null,
    hasRepository: async () => false,
  };
}

test("deletes only checkouts of pull requests with no state and no pending job, untouched for long enough", async () => {
  await store.upsertProject({ owner: "acme", repo: "infra" }, 2, {
    project: { name: "", dir: "net", workspace: "default" },
    headSha: "a".repeat(40),
    plan: "success",
    hasChanges: true,
    apply: "none",
    extraArgs: [],
    headline: "Plan: 1 to add",
    output: "",
    updatedAt: NOW.toISOString(),
  });
  await store.createJob({ kind: "review", installationId: 1, owner: "acme", repo: "infra", pullNumber: 3, user: "alice", name: "atoll" });
  const finished = (await store.createJob({ kind: "review", installationId: 1, owner: "acme", repo: "infra", pullNumber: 5, user: "alice", name: "atoll" }))!;
  await store.updateJob(finished.id, { status: "succeeded" });
  const ws = workspaces([
    { owner: "acme", repo: "infra", pullNumber: 1, modifiedAt: hoursAgo(3) }, // closed elsewhere: gone
    { owner: "Acme", repo: "Infra", pullNumber: 2, modifiedAt: hoursAgo(3) }, // still planned (names match case-insensitively)
    { owner: "acme", repo: "infra", pullNumber: 3, modifiedAt: hoursAgo(3) }, // a job is queued for it
    { owner: "acme", repo: "infra", pullNumber: 4, modifiedAt: hoursAgo(0.5) }, // touched recently
    { owner: "acme", repo: "infra", pullNumber: 5, modifiedAt: hoursAgo(3) }, // only finished jobs: gone
  ]);
  expect(await sweepLocalCheckouts({ store, workspaces: ws, log: silent, minAgeMs: 3600_000, now: () => NOW })).toBe(2);
  expect(ws.removed).toEqual(["acme/infra#1", "acme/infra#5"]);
});

test("nothing local: no store reads, nothing removed", async () => {
  const ws = workspaces([]);
  await backend.close(store);
  // A closed store would throw if it were read.
  expect(await sweepLocalCheckouts({ store, workspaces: ws, log: silent, minAgeMs: 0, now: () => NOW })).toBe(0);
});
