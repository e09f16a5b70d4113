/**
 * reportInterrupted after a crash: the check runs it completes are the ones GitHub shows, even a
 * run created just before the crash whose id Atoll never saved.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "@jest/globals";
import { openSqliteStore } from "../../src/adapters/sqlite-store.js";
import { reportInterrupted, type ExecutorEnv } from "../../src/jobs/execute-job.js";
import type { JobSpec } from "../../src/jobs/job-spec.js";
import type { CheckRunInput, GitHubPort, ListedCheckRun } from "../../src/ports/github.js";
import type { JobRecord, Store } from "../../src/ports/store.js";
import { encodeExternalId } from "../../src/runner/reporting/check-names.js";
import type { RunnerDeps } from "../../src/runner/runner-deps.js";

const REPO = { owner: "acme", repo: "infra" };
const SHA = "a".repeat(40);
const NET = { name: "", dir: "net", workspace: "default" };
const REASON = "Atoll restarted while this was running";

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "atoll-report-interrupted-"));
  store = await openSqliteStore(join(dir, "atoll.db"));
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A GitHub with the given runs on SHA; records the writes. Any other call fails the test. */
function fakeGitHub(listed: ListedCheckRun[] | Error) {
  const writes: string[] = [];
  const github = {
    owner: REPO.owner,
    repo: REPO.repo,
    async listCheckRuns(sha: string) {
      expect(sha).toBe(SHA);
      if (listed instanceof Error) throw listed;
      return listed;
    },
    async updateCheckRun(id: number, input: Partial<CheckRunInput>) {
      writes.push(`PATCH ${id} ${input.status}/${input.conclusion ?? "-"}`);
    },
    async createCheckRun(input: CheckRunInput) {
      writes.push(`POST ${input.name} ${input.status}`);
      return { id: 900 + writes.length };
    },
    async createComment(_n: number, body: string) {
      writes.push(`comment ${body.split("\n")[0]}`);
      return { id: 1 };
    },
  };
  const port = new Proxy(github, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof target];
      if (key === "then") return undefined; // not a promise
      if (key === "writeQueue") return undefined; // no own write queue: one per port object
      throw new Error(`unexpected GitHub call: ${String(key)}`);
    },
  }) as unknown as GitHubPort;
  return { port, writes };
}

function envWith(github: GitHubPort): { env: ExecutorEnv; warnings: unknown[] } {
  const warnings: unknown[] = [];
  const log = { debug() {}, info() {}, warn: (o: unknown) => void warnings.push(o), error() {} };
  const deps = { store } as unknown as RunnerDeps;
  return { env: { deps, githubFor: async () => github, log }, warnings };
}

const job: JobRecord = {
  id: 7,
  status: "interrupted",
  createdAt: "2026-11-25T00:00:00Z",
  processes: [],
  key: "acme/infra#1",
  spec: {
    kind: "command",
    installationId: 1,
    ...REPO,
    pullNumber: 1,
    user: "alice",
    name: "atoll",
    commentId: 5,
    command: { kind: "command", command: "plan", dir: "net", workspace: "", project: "", extraArgs: [], verbose: false, name: "atoll" },
  } satisfies JobSpec,
};

async function seedPendingPlan(): Promise<void> {
  await store.upsertProject(REPO, 1, {
    project: NET,
    headSha: SHA,
    plan: "pending",
    hasChanges: false,
    apply: "none",
    extraArgs: [],
    headline: "Planning…",
    output: "",
    updatedAt: "2026-11-25T00:00:00Z",
  });
  // The run of an earlier plan at this commit is what the store knows.
  await store.setCheckRun(REPO, SHA, "atoll/plan: net", { id: 101, status: "completed" });
  await store.setCheckRun(REPO, SHA, "atoll/plan", { id: 102, status: "completed" });
}

const run = (id: number, name: string, status: ListedCheckRun["status"], externalId: string | null): ListedCheckRun => ({ id, name, status, externalId });

test("the in-progress run created just before the crash (id never saved) is the one cancelled", async () => {
  await seedPendingPlan();
  const { port, writes } = fakeGitHub([
    run(201, "atoll/plan: net", "in_progress", encodeExternalId({ pullNumber: 1, kind: "plan", project: NET })),
    run(202, "atoll/plan", "in_progress", encodeExternalId({ pullNumber: 1, kind: "plan" })),
    // Not Atoll's, or not this PR's: left alone.
    run(301, "ci/build", "in_progress", null),
    run(302, "atoll/plan: other", "in_progress", encodeExternalId({ pullNumber: 2, kind: "plan", project: { ...NET, dir: "other" } })),
    run(303, "look-alike", "in_progress", encodeExternalId({ pullNumber: 1, kind: "plan", project: { ...NET, dir: "app" } })),
  ]);
  await reportInterrupted(envWith(port).env, job, REASON);

  expect(writes).toEqual([
    "PATCH 201 completed/cancelled",
    "PATCH 202 completed/failure",
    "POST atoll/apply queued",
    `comment **Interrupted:** ${REASON} \`plan\` (requested by @alice). Locks and saved plans are intact.`,
  ]);
  expect(await store.getCheckRun(REPO, SHA, "atoll/plan: net")).toEqual({ id: 201, status: "completed" });
  expect(await store.getCheckRun(REPO, SHA, "atoll/plan: other")).toBeUndefined();
  expect(await store.getCheckRun(REPO, SHA, "look-alike")).toBeUndefined();
  expect((await store.listProjects(REPO, 1))[0]).toMatchObject({ plan: "failed", headline: `Interrupted: ${REASON}.` });
});

test("when GitHub's runs cannot be listed, the stored runs are used and the PR is still told", async () => {
  await seedPendingPlan();
  await store.setCheckRun(REPO, SHA, "atoll/plan: net", { id: 101, status: "in_progress" });
  const { port, writes } = fakeGitHub(new Error("502 Bad Gateway"));
  const { env, warnings } = envWith(port);
  await reportInterrupted(env, job, REASON);

  expect(writes[0]).toBe("PATCH 101 completed/cancelled");
  expect(writes.at(-1)).toMatch(/^comment \*\*Interrupted:\*\*/);
  expect(warnings).toHaveLength(1);
});
