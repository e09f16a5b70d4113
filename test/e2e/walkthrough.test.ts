/**
 * The Atlantis walkthrough, end to end: the built server as a real process, the fake GitHub (with
 * git over smart HTTP), real terraform, and a real PostgreSQL server holding the Terraform state.
 *
 *   PR opened → plan comment + completed check run
 *   `atlantis plan -d week2` → plan
 *   push → re-plan
 *   `atlantis apply -d week2` → "Apply complete!" and the resources are in the state
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { CommentRecord, PullRecord } from "../fake-github/state.js";
import { OWNER, REPO, completedRun, expectCleanGitHub, latestRun, startE2eEnv, type E2eEnv } from "./e2e-env.js";

const tf = (resources: Record<string, string>) =>
  [
    `terraform {\n  backend "pg" {\n    schema_name = "week2"\n  }\n}\n`,
    ...Object.entries(resources).map(([name, input]) => `resource "terraform_data" "${name}" {\n  input = "${input}"\n}\n`),
  ].join("\n");


function appComments(env: E2eEnv, pull: number): CommentRecord[] {
  return env.github.comments(OWNER, REPO, pull).filter((c) => c.byApp);
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe("walkthrough (real server, git, terraform, PostgreSQL)", () => {
  let env: E2eEnv;
  let pull: PullRecord;

  beforeAll(async () => {
    env = await startE2eEnv();
    await env.repo.commit("main", { "README.md": "# infra\n", "week2/main.tf": tf({ server: "web-1" }) }, "initial");
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  }, 60_000);

  afterEach(() => expectCleanGitHub(env));

  test("PR opened → plan comment and a completed check run", async () => {
    await env.repo.commit("add-db", { "week2/main.tf": tf({ server: "web-1", db: "postgres-1" }) }, "add a db", { from: "main" });
    pull = await env.github.createPull(OWNER, REPO, { number: 1, head: "add-db", base: "main", author: "alice" });

    const res = await env.atoll.send(env.pullEvent(pull, "opened"));
    expect(res.status).toBe(200);
    // The webhook was answered before the work was done: nothing has been posted yet.
    expect(appComments(env, 1)).toHaveLength(0);

    const run = await completedRun(env, pull.headSha, "atoll/plan: week2", 60_000);
    expect(run.conclusion).toBe("success");
    // Nothing is applied yet (the state in PostgreSQL is empty): both resources are to add.
    expect(run.output.title).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
    expect(run.actions.map((a) => a.identifier)).toEqual(["apply", "plan", "unlock"]);

    const comment = await env.github.waitFor(() => appComments(env, 1).find((c) => c.body.includes("Ran Plan")), { what: "plan comment" });
    expect(comment.body).toContain("terraform_data.db");
    expect(comment.body).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");

    const planAggregate = await completedRun(env, pull.headSha, "atoll/plan");
    expect(planAggregate.conclusion).toBe("success");
    // Written right after the plan aggregate (GitHub writes are paced about a second apart).
    const applyAggregate = await env.github.waitFor(() => latestRun(env, pull.headSha, "atoll/apply"), { what: "apply aggregate" });
    expect(applyAggregate.status).toBe("queued");
  }, 90_000);

  test("`atlantis plan -d week2` → plan, with an eyes reaction", async () => {
    const before = appComments(env, 1).length;
    const event = env.comment(pull, "alice", "atlantis plan -d week2");
    await env.atoll.send(event);
    const commentId = (event.payload as { comment: { id: number } }).comment.id;
    await env.github.waitFor(() => env.github.reactions(OWNER, REPO, commentId).find((r) => r.content === "eyes"), { what: "eyes reaction" });
    const comment = await env.github.waitFor(
      () => appComments(env, 1).slice(before).find((c) => c.body.includes("Ran Plan")),
      { what: "second plan comment", timeoutMs: 60_000 },
    );
    expect(comment.body).toContain("Plan: 2 to add");
    expect(comment.body).toContain("atlantis apply -d week2");
  }, 90_000);

  test("push → re-plan on the new commit", async () => {
    const oldHead = pull.headSha;
    await env.repo.commit("add-db", { "week2/main.tf": tf({ server: "web-1", db: "postgres-1", cache: "redis-1" }) }, "add a cache");
    pull = await env.github.syncPull(OWNER, REPO, 1);
    expect(pull.headSha).not.toBe(oldHead);
    await env.atoll.send(env.pullEvent(pull, "synchronize"));
    const run = await completedRun(env, pull.headSha, "atoll/plan: week2", 60_000);
    expect(run.conclusion).toBe("success");
    expect(run.output.title).toContain("Plan: 3 to add, 0 to change, 0 to destroy.");
  }, 90_000);

  test("apply by a read-only user is refused and the state is unchanged", async () => {
    env.github.setPermission(OWNER, REPO, "mallory", "read");
    const before = appComments(env, 1).length;
    await env.atoll.send(env.comment(pull, "mallory", "atlantis apply -d week2"));
    const refusal = await env.github.waitFor(() => appComments(env, 1).slice(before).find((c) => c.body.includes("Apply refused")), { what: "refusal" });
    expect(refusal.body).toContain("@mallory");
    const rows = await env.pg.psql("SELECT count(*) FROM week2.states", "tfstate").catch((e: Error) => e.message);
    expect(String(rows)).toMatch(/does not exist|^\s*0\s*$/m);
  }, 60_000);

  test("`atlantis apply -d week2` → Apply complete! and the resources are in the PostgreSQL state", async () => {
    env.github.setPermission(OWNER, REPO, "bob", "write");
    const before = appComments(env, 1).length;
    await env.atoll.send(env.comment(pull, "bob", "atlantis apply -d week2"));
    const comment = await env.github.waitFor(
      () => appComments(env, 1).slice(before).find((c) => c.body.includes("Apply")),
      { what: "apply comment", timeoutMs: 60_000, context: () => env.atoll.logs().slice(-30).join("\n") },
    );
    expect(comment.body).toContain("Apply complete! Resources: 3 added, 0 changed, 0 destroyed.");

    // The comment goes first; the check run follows within GitHub's pacing.
    const applyRun = await completedRun(env, pull.headSha, "atoll/apply: week2");
    expect(applyRun).toMatchObject({ status: "completed", conclusion: "success" });
    const aggregate = await completedRun(env, pull.headSha, "atoll/apply");
    expect(aggregate.conclusion).toBe("success");

    const data = await env.pg.psql("SELECT data FROM week2.states WHERE name = 'default'", "tfstate");
    const state = JSON.parse(data.trim());
    const addresses = state.resources.map((r: { type: string; name: string }) => `${r.type}.${r.name}`).sort();
    expect(addresses).toEqual(["terraform_data.cache", "terraform_data.db", "terraform_data.server"]);
  }, 90_000);

  test("a second apply of the same commit is refused: the plan was consumed", async () => {
    const before = appComments(env, 1).length;
    await env.atoll.send(env.comment(pull, "bob", "atlantis apply -d week2"));
    const comment = await env.github.waitFor(() => appComments(env, 1).slice(before).find((c) => /already applied/.test(c.body)), { what: "refusal" });
    expect(comment.body).toContain("atlantis plan -d week2");
  }, 60_000);

  test("installation tokens never appear in comments, check runs, logs or the checkout", async () => {
    const tokens = env.tokens();
    expect(tokens.length).toBeGreaterThan(0);
    const texts = [
      ...env.github.comments(OWNER, REPO, 1).map((c) => c.body),
      ...env.github.checkRuns(OWNER, REPO).flatMap((r) => [r.output.title ?? "", r.output.summary ?? "", r.output.text ?? "", r.externalId ?? ""]),
      env.atoll.logs().join("\n"),
    ];
    const files = await listFiles(env.atoll.dataDir);
    expect(files.some((f) => f.endsWith(path.join(".git", "config")))).toBe(true);
    for (const f of files.filter((f) => !f.endsWith(".tfplan"))) texts.push(await fs.readFile(f, "utf8"));
    for (const token of tokens) {
      const b64 = Buffer.from(`x-access-token:${token}`).toString("base64");
      for (const t of texts) {
        expect(t.includes(token)).toBe(false);
        expect(t.includes(b64)).toBe(false);
      }
    }
    // Every git request that carried no valid token was refused; Atoll's fetches all carried one.
    const fetches = env.github.gitRequests.filter((r) => r.service === "git-upload-pack");
    expect(fetches.length).toBeGreaterThan(0);
    expect(fetches.every((r) => r.authorized)).toBe(true);
  });

  test("closing the PR deletes its checkouts", async () => {
    const pullDir = path.join(env.atoll.dataDir, "checkouts", OWNER, REPO, "pr-1");
    await expect(fs.stat(pullDir)).resolves.toBeTruthy();
    env.github.updatePull(OWNER, REPO, 1, { state: "closed", merged: true });
    pull = env.github.pull(OWNER, REPO, 1);
    const ev = env.pullEvent(pull, "closed");
    (ev.payload as { pull_request: { merged: boolean; state: string } }).pull_request.state = "closed";
    await env.atoll.send(ev);
    await env.github.waitFor(async () => !(await fs.stat(pullDir).then(() => true, () => false)), { what: "checkout removal" });
  }, 60_000);
});
