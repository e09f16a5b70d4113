/**
 * Project locks end to end (real server, git, terraform, PostgreSQL state): a second PR on a
 * locked dir is told who holds it and queued, and is planned automatically when the lock is
 * released — by a merge, by `unlock`, or because the holder turned out closed (healing at hit
 * time, and the periodic sweep).
 */
import type { PullRecord } from "../fake-github/state.js";
import { OWNER, REPO, completedRun, expectCleanGitHub, latestRun, startE2eEnv, type E2eEnv } from "./e2e-env.js";

const tf = (schema: string, resources: string[]) =>
  [`terraform {\n  backend "pg" {\n    schema_name = "${schema}"\n  }\n}\n`, ...resources.map((r) => `resource "terraform_data" "${r}" {\n  input = "${r}"\n}\n`)].join("\n");

function appComments(env: E2eEnv, pull: number) {
  return env.github.comments(OWNER, REPO, pull).filter((c) => c.byApp);
}

async function openPull(env: E2eEnv, number: number, branch: string, files: Record<string, string>): Promise<PullRecord> {
  await env.repo.commit(branch, files, `change on ${branch}`, { from: "main" });
  const pull = await env.github.createPull(OWNER, REPO, { number, head: branch, base: "main", author: "alice" });
  await env.atoll.send(env.pullEvent(pull, "opened"));
  return pull;
}

function waitComment(env: E2eEnv, pull: number, re: RegExp, what: string, timeoutMs = 60_000) {
  return env.github.waitFor(() => appComments(env, pull).find((c) => re.test(c.body)), {
    what,
    timeoutMs,
    context: () => env.atoll.logs().slice(-30).join("\n"),
  });
}

describe("project locks and the queue", () => {
  let env: E2eEnv;
  beforeAll(async () => {
    // A long sweep interval: these tests exercise healing when another PR hits the lock.
    env = await startE2eEnv({ env: { ATOLL_LOCK_SWEEP_INTERVAL: "1h" } });
    await env.repo.commit(
      "main",
      { "net/main.tf": tf("net", ["base"]), "app/main.tf": tf("app", ["base"]), "dns/main.tf": tf("dns", ["base"]) },
      "initial",
    );
    env.github.setPermission(OWNER, REPO, "bob", "write");
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("the second PR is told who holds the lock and queued; after the first merges it is planned without anyone commenting", async () => {
    const pr1 = await openPull(env, 1, "net-a", { "net/main.tf": tf("net", ["base", "a"]) });
    expect((await completedRun(env, pr1.headSha, "atoll/plan: net")).conclusion).toBe("success");

    const pr2 = await openPull(env, 2, "net-b", { "net/main.tf": tf("net", ["base", "b"]) });
    const blocked = await waitComment(env, 2, /locked by #1/, "lock comment on #2");
    expect(blocked.body).toContain("#1 in line");
    const waiting = await env.github.waitFor(() => {
      const r = latestRun(env, pr2.headSha, "atoll/plan: net");
      return r?.status === "queued" && /lock held by #1/.test(r.output.title ?? "") ? r : undefined;
    }, { what: "queued check run on #2" });
    expect(waiting.output.summary).toContain("#1 in line");
    expect(env.query("SELECT pull_number FROM waiters")).toEqual([{ pull_number: 2 }]);

    // #1 is applied and merged.
    await env.atoll.send(env.comment(pr1, "bob", "atoll apply"));
    await waitComment(env, 1, /Apply complete!/, "apply of #1");
    await env.github.mergePull(OWNER, REPO, 1);
    await env.atoll.send(env.pullEvent(env.github.pull(OWNER, REPO, 1), "closed"));

    // #2 is planned automatically and told why.
    const replanned = await waitComment(env, 2, /released by #1/, "automatic re-plan of #2");
    expect(replanned.body).toContain("Ran Plan");
    const run = await completedRun(env, pr2.headSha, "atoll/plan: net");
    expect(run.conclusion).toBe("success");
    expect(env.query("SELECT pull_number FROM locks WHERE project_dir = 'net'")).toEqual([{ pull_number: 2 }]);
    expect(env.query("SELECT * FROM waiters")).toEqual([]);
  }, 180_000);

  test("`unlock` releases the PR's locks and the next PR in line is planned", async () => {
    const pr3 = await openPull(env, 3, "app-a", { "app/main.tf": tf("app", ["base", "a"]) });
    await completedRun(env, pr3.headSha, "atoll/plan: app");
    await openPull(env, 4, "app-b", { "app/main.tf": tf("app", ["base", "b"]) });
    await waitComment(env, 4, /locked by #3/, "lock comment on #4");

    await env.atoll.send(env.comment(pr3, "alice", "atoll unlock"));
    const unlocked = await waitComment(env, 3, /locks for this pull request have been released/, "unlock reply");
    expect(unlocked.body).toContain("#4");
    await waitComment(env, 4, /released by #3/, "automatic re-plan of #4");
    expect(env.query("SELECT pull_number FROM locks WHERE project_dir = 'app'")).toEqual([{ pull_number: 4 }]);
    // #3's plan is gone: applying it is refused.
    await env.atoll.send(env.comment(pr3, "bob", "atoll apply"));
    await waitComment(env, 3, /no plans to apply/, "apply refusal on #3");
  }, 180_000);

  test("a lock whose holder PR was closed without a close event is healed when another PR hits it", async () => {
    const pr5 = await openPull(env, 5, "dns-a", { "dns/main.tf": tf("dns", ["base", "a"]) });
    await completedRun(env, pr5.headSha, "atoll/plan: dns");
    env.github.closePull(OWNER, REPO, 5); // no webhook: Atoll does not know

    const pr6 = await openPull(env, 6, "dns-b", { "dns/main.tf": tf("dns", ["base", "b"]) });
    const healed = await waitComment(env, 5, /closed, so Atoll released its locks/, "healing comment on #5");
    expect(healed.body).toContain("dns");
    const run = await completedRun(env, pr6.headSha, "atoll/plan: dns");
    expect(run.conclusion).toBe("success");
    expect(appComments(env, 6).some((c) => /locked by/.test(c.body))).toBe(false);
    expect(env.query("SELECT pull_number FROM locks WHERE project_dir = 'dns'")).toEqual([{ pull_number: 6 }]);
  }, 180_000);
});

describe("the lock sweep", () => {
  let env: E2eEnv;
  beforeAll(async () => {
    env = await startE2eEnv({ env: { ATOLL_LOCK_SWEEP_INTERVAL: "2s" } });
    await env.repo.commit("main", { "net/main.tf": tf("net", ["base"]) }, "initial");
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("a lock whose holder PR was closed without a close event is released by the periodic sweep", async () => {
    const pr = await openPull(env, 1, "net-a", { "net/main.tf": tf("net", ["base", "a"]) });
    await completedRun(env, pr.headSha, "atoll/plan: net");
    expect(env.query("SELECT pull_number FROM locks")).toEqual([{ pull_number: 1 }]);
    env.github.closePull(OWNER, REPO, 1); // no webhook
    await waitComment(env, 1, /closed, so Atoll released its locks/, "sweep comment", 30_000);
    expect(env.query("SELECT * FROM locks")).toEqual([]);
  }, 120_000);
});
