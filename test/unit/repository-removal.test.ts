/**
 * Jobs of a repository the App can no longer reach (src/jobs/repository-removal.ts): once the
 * store marks a running job REPOSITORY_REMOVED, its next GitHub call ends it instead of being
 * sent, executeJob reports nothing to the pull request, and the job service records it
 * cancelled — not failed, and without an error line.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openSqliteStore } from "../../src/adapters/sqlite-store.js";
import { executeJob } from "../../src/jobs/execute-job.js";
import { JobService } from "../../src/jobs/job-service.js";
import type { JobSpec } from "../../src/jobs/job-spec.js";
import { REPOSITORY_REMOVED, RepositoryRemoved, cachedCheck, stopWhenRemoved } from "../../src/jobs/repository-removal.js";
import type { GitHubPort } from "../../src/ports/github.js";
import type { Store } from "../../src/ports/store.js";
import type { RunnerDeps } from "../../src/runner/runner-deps.js";
import { readSettings } from "../../src/settings.js";

const reply: JobSpec = { kind: "reply", installationId: 1, owner: "acme", repo: "infra", pullNumber: 3, user: "alice", name: "atoll", commentId: 9, body: "hello" };

/** A GitHubPort that records the calls made to it (only createComment is needed here). */
function recordingGitHub(calls: string[]): GitHubPort {
  return new Proxy({} as GitHubPort, {
    // Not a thenable (`await` must not take it for a promise), and no write queue of its own.
    get: (_t, prop) => (prop === "then" || prop === "writeQueue" ? undefined : async (...args: unknown[]) => {
      calls.push(`${String(prop)} ${JSON.stringify(args).slice(0, 80)}`);
      return { id: 1, htmlUrl: "https://example.test/c/1" };
    }),
  });
}

function capturingLog() {
  const lines: { level: string; obj: unknown; msg?: string }[] = [];
  const log = Object.fromEntries((["debug", "info", "warn", "error"] as const).map((level) => [level, (obj: unknown, msg?: string) => void lines.push({ level, obj, msg })]));
  return { lines, log: { ...log, child: () => log } as unknown as Parameters<typeof executeJob>[0]["log"] };
}

describe("stopWhenRemoved and cachedCheck", () => {
  test("calls go through until the repository is removed; then every call throws RepositoryRemoved and nothing is sent", async () => {
    const calls: string[] = [];
    let removed = false;
    const github = stopWhenRemoved(recordingGitHub(calls), async () => removed);
    await github.createComment(1, "first");
    removed = true;
    await expect(github.createComment(1, "second")).rejects.toBeInstanceOf(RepositoryRemoved);
    await expect(github.getPull(1)).rejects.toThrow(/removed from the App/);
    expect(calls).toEqual([`createComment [1,"first"]`]);
  });

  test("cachedCheck asks at most once per interval, and a true answer sticks", async () => {
    let asked = 0;
    let answer = false;
    const check = cachedCheck(async () => {
      asked++;
      return answer;
    }, 60_000);
    expect(await check()).toBe(false);
    answer = true;
    expect(await check()).toBe(false); // within the interval: the cached answer
    expect(asked).toBe(1);
    const fast = cachedCheck(async () => {
      asked++;
      return answer;
    }, 0);
    expect(await fast()).toBe(true);
    answer = false;
    expect(await fast()).toBe(true);
    // A failing check counts as "not removed".
    expect(await cachedCheck(async () => Promise.reject(new Error("db down")), 0)()).toBe(false);
  });
});

describe("executeJob and JobService for a removed repository", () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-removal-"));
    store = await openSqliteStore(path.join(dir, "atoll.db"));
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const deps = () => ({ settings: readSettings({ ATOLL_DATA_DIR: dir }), store }) as unknown as RunnerDeps;

  async function runningJob(spec: JobSpec) {
    const job = (await store.createJob(spec))!;
    return (await store.claimJob({ replica: "r", worker: "w" }, { startedAt: new Date().toISOString(), leaseUntil: new Date(Date.now() + 60_000).toISOString() }))!.id === job.id ? job.id : -1;
  }

  test("a job marked REPOSITORY_REMOVED writes nothing (not even a failure comment) and ends with RepositoryRemoved", async () => {
    const id = await runningJob(reply);
    expect(await store.requestJobCancel(id, REPOSITORY_REMOVED)).toBe(true);
    const calls: string[] = [];
    const { lines, log } = capturingLog();
    const job = (await store.getJob(id))!;
    await expect(executeJob({ deps: deps(), githubFor: async () => recordingGitHub(calls), log }, job)).rejects.toBeInstanceOf(RepositoryRemoved);
    expect(calls).toEqual([]);
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
  });

  test("without the mark the same job writes its reply; an uninstalled App's token failure is the removal only when marked", async () => {
    const id = await runningJob(reply);
    const calls: string[] = [];
    const { log } = capturingLog();
    await executeJob({ deps: deps(), githubFor: async () => recordingGitHub(calls), log }, (await store.getJob(id))!);
    expect(calls).toEqual([`createComment [3,"hello"]`]);

    const noToken = async (): Promise<GitHubPort> => {
      throw Object.assign(new Error("Not Found"), { status: 404 });
    };
    await expect(executeJob({ deps: deps(), githubFor: noToken, log }, (await store.getJob(id))!)).rejects.toThrow("Not Found");
    await store.requestJobCancel(id, REPOSITORY_REMOVED);
    await expect(executeJob({ deps: deps(), githubFor: noToken, log }, (await store.getJob(id))!)).rejects.toBeInstanceOf(RepositoryRemoved);
  });

  test("the job service records such a job cancelled with the reason, logged at info, not as a failure", async () => {
    const { lines, log } = capturingLog();
    const jobs = new JobService({
      store,
      log,
      execute: async () => {
        throw new RepositoryRemoved();
      },
      reportInterrupted: async () => undefined,
      killProcesses: async () => 0,
      work: true,
      concurrency: 1,
      replica: "r",
      leaseMs: 30_000,
      pollMs: 50,
    });
    await jobs.start();
    const job = (await jobs.submit(reply))!;
    await jobs.onIdle();
    await jobs.stop();
    expect(await store.getJob(job.id)).toMatchObject({ status: "cancelled", error: expect.stringMatching(/removed from the App/) });
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
    expect(lines.some((l) => l.level === "info" && /removed from the App/.test(l.msg ?? ""))).toBe(true);
  });
});
