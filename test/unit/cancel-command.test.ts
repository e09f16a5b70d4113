import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openSqliteStore } from "../../src/adapters/sqlite-store.js";
import type { JobSpec } from "../../src/jobs/job-spec.js";
import type { GitHubPort } from "../../src/ports/github.js";
import type { Store } from "../../src/ports/store.js";
import { runCancel } from "../../src/runner/commands/cancel-command.js";
import type { CommandContext, RunnerDeps } from "../../src/runner/runner-deps.js";
import { AUTOPLAN_SPEC, CLAIM_TIMES, COMMAND_SPEC, TARGET, pullJob, worker } from "../helpers/store-fixtures.js";

let dir: string;
let store: Store;
let comments: string[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "atoll-cancel-"));
  store = await openSqliteStore(path.join(dir, "atoll.db"));
  comments = [];
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function ctx(): CommandContext {
  const github = { createComment: async (_n: number, body: string) => (comments.push(body), { id: comments.length }) } as unknown as GitHubPort;
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  return { deps: { store } as unknown as RunnerDeps, github, repo: { owner: TARGET.owner, repo: TARGET.repo }, installationId: 77, pullNumber: TARGET.pullNumber, user: "bob", name: "atlantis", log: silent };
}

const versionSpec: JobSpec = {
  ...TARGET,
  user: "carol",
  kind: "command",
  commentId: 5,
  command: { kind: "command", command: "version", dir: "", workspace: "", project: "", extraArgs: [], verbose: false, name: "atoll" },
};

describe("runCancel", () => {
  test("drops this PR's queued terraform jobs, asks its running one to stop, leaves the rest alone", async () => {
    const running = (await store.createJob(AUTOPLAN_SPEC))!;
    await store.claimJob(worker("r1"), CLAIM_TIMES);
    const queuedPlan = (await store.createJob(COMMAND_SPEC))!;
    const queuedVersion = (await store.createJob(versionSpec))!;
    const review = (await store.createJob({ ...TARGET, kind: "review" }))!; // not terraform: kept
    const otherPull = (await store.createJob(pullJob(13)))!;

    await runCancel(ctx());
    expect((await store.getJob(queuedPlan.id))!.status).toBe("cancelled");
    expect((await store.getJob(queuedVersion.id))!).toMatchObject({ status: "cancelled", error: "Cancelled by @bob" });
    expect((await store.getJob(review.id))!.status).toBe("queued");
    expect((await store.getJob(otherPull.id))!.status).toBe("queued");
    expect((await store.getJob(running.id))!).toMatchObject({ status: "running", cancelRequestedBy: "bob" });

    expect(comments).toHaveLength(1);
    const [reply] = comments;
    expect(reply).toContain("**Cancelled** by @bob:");
    expect(reply).toContain("- `plan` (comment by @alice)");
    expect(reply).toContain("- `version` (comment by @carol)");
    expect(reply).toMatch(/The running `autoplan` \(push by @alice\) finishes the terraform it has started, then stops before its next execution-order group/);
    expect(reply).toContain("`atlantis plan`");
  });

  test("nothing queued or running: says so", async () => {
    await store.createJob({ ...TARGET, kind: "review" });
    await runCancel(ctx());
    expect(comments).toEqual(["**Nothing to cancel:** no command of this pull request is queued or running."]);
  });
});
