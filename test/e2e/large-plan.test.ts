/**
 * A 3000-resource plan through the real server: every comment and check run stays within
 * GitHub's limits (the fake answers 422 and records a violation otherwise), the output is split
 * over several comments with markdown balanced in each, and nothing is lost from the end.
 * Also: a PR that touches no Terraform gets both aggregate checks green with "0 projects", and a
 * broken config is answered without running terraform.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import type { CommentRecord } from "../fake-github/state.js";
import { OWNER, REPO, completedRun, expectCleanGitHub, latestRun, startE2eEnv, type E2eEnv } from "./e2e-env.js";

const BIG_TF = `terraform {
  backend "pg" {
    schema_name = "big"
  }
}

resource "terraform_data" "r" {
  count = 3000
  input = "value-\${count.index}"
}
`;


/** Fences (``` / ~~~ of any length) and <details> are balanced within one comment. */
function balanced(body: string): boolean {
  let fence: string | null = null;
  let details = 0;
  for (const line of body.split("\n")) {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === null) fence = m[1];
      else if (m[1][0] === fence[0] && m[1].length >= fence.length && line.trim() === m[1]) fence = null;
      continue;
    }
    if (fence !== null) continue;
    details += (line.match(/<details>/g) ?? []).length - (line.match(/<\/details>/g) ?? []).length;
    if (details < 0) return false;
  }
  return fence === null && details === 0;
}

describe("large plans and PRs without Terraform (real server)", () => {
  let env: E2eEnv;
  beforeAll(async () => {
    env = await startE2eEnv();
    await env.repo.commit("main", { "README.md": "# infra\n" }, "initial");
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("a PR that touches no Terraform: atoll/plan and atoll/apply succeed with 0 projects, no comment", async () => {
    const gitBefore = env.github.gitRequests.length;
    await env.repo.commit("docs", { "README.md": "# infra\n\nMore docs.\n" }, "docs", { from: "main" });
    const pull = await env.github.createPull(OWNER, REPO, { number: 2, head: "docs", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pull, "opened"));
    const [plan, apply] = await env.github.waitFor(() => {
      const p = latestRun(env, pull.headSha, "atoll/plan");
      const a = latestRun(env, pull.headSha, "atoll/apply");
      return p && a ? [p, a] : undefined;
    }, { what: "aggregate check runs" });
    expect([plan.status, plan.conclusion, plan.output.title]).toEqual(["completed", "success", "0 projects"]);
    expect([apply.status, apply.conclusion, apply.output.title]).toEqual(["completed", "success", "0 projects"]);
    expect(env.github.comments(OWNER, REPO, 2).filter((c) => c.byApp)).toEqual([]);
    // No checkout was needed to find that out, and a repository never checked out before is not
    // downloaded ahead of time either (an installation may cover many repositories without Terraform).
    expect(env.github.gitRequests.length).toBe(gitBefore);
    expect(existsSync(path.join(env.dataDir, "checkouts", OWNER, REPO))).toBe(false);
  }, 60_000);

  test("a 3000-resource plan: every comment and check run within GitHub's limits", async () => {
    await env.repo.commit("big", { "big/main.tf": BIG_TF }, "3000 resources", { from: "main" });
    const pull = await env.github.createPull(OWNER, REPO, { number: 1, head: "big", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pull, "opened"));

    const run = await completedRun(env, pull.headSha, "atoll/plan: big", 240_000);
    expect(run.conclusion).toBe("success");
    expect(run.output.title).toContain("Plan: 3000 to add, 0 to change, 0 to destroy.");
    expect(Buffer.byteLength(run.output.summary ?? "", "utf8")).toBeLessThanOrEqual(65535);
    expect(Buffer.byteLength(run.output.text ?? "", "utf8")).toBeLessThanOrEqual(65535);
    // The output did not fit: the check run says so, and keeps the end (terraform's summary line).
    expect(run.output.text).toMatch(/omitted/);
    expect(run.output.text).toContain("Plan: 3000 to add, 0 to change, 0 to destroy.");

    // Comments are posted one by one; wait until the last part (with the next steps) arrived.
    const comments = await env.github.waitFor(() => {
      const c: CommentRecord[] = env.github.comments(OWNER, REPO, 1).filter((x) => x.byApp);
      return c.some((x) => x.body.includes("atoll apply -d big")) ? c : undefined;
    }, { what: "all comment parts", timeoutMs: 240_000 });
    expect(comments.length).toBeGreaterThan(1);
    for (const c of comments) {
      expect(c.body.length).toBeLessThanOrEqual(65536);
      expect(balanced(c.body)).toBe(true);
    }
    const all = comments.map((c) => c.body).join("\n");
    // Every resource is listed somewhere across the parts (nothing silently dropped).
    for (const i of [0, 1499, 2999]) expect(all).toContain(`terraform_data.r[${i}]`);
    expect(comments[0].body).toContain("Plan: 3000 to add, 0 to change, 0 to destroy.");
    expect(comments.slice(1).every((c) => c.body.startsWith("Continued from previous comment."))).toBe(true);
  }, 300_000);

  test("a broken atoll.yaml: one comment naming the file, line and problem; failed check; no terraform", async () => {
    const gitBefore = env.github.gitRequests.length;
    await env.repo.commit("broken", { "atoll.yaml": "version: 3\nprojects:\n  - dir: big\n    workspace: a/b\n", "big/extra.tf": "" }, "broken config", { from: "main" });
    const pull = await env.github.createPull(OWNER, REPO, { number: 3, head: "broken", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pull, "opened"));
    const comment = await env.github.waitFor(() => env.github.comments(OWNER, REPO, 3).find((c) => c.byApp), { what: "config error comment" });
    expect(comment.body).toContain("atoll.yaml");
    expect(comment.body).toContain("line 4");
    expect(comment.body).toContain("workspace");
    const plan = await completedRun(env, pull.headSha, "atoll/plan");
    expect(plan.conclusion).toBe("failure");
    // The repository has a local cache by now (PR 1), so the config was read from a checkout of the
    // head (fetched into the cache); terraform never ran in it.
    expect(env.github.gitRequests.length).toBeGreaterThan(gitBefore);
    const shaDir = path.join(env.dataDir, "checkouts", OWNER, REPO, "pr-3", pull.headSha);
    expect(existsSync(path.join(shaDir, "repo", "atoll.yaml"))).toBe(true);
    expect(existsSync(path.join(shaDir, "repo", "big", ".terraform"))).toBe(false);
    expect(readdirSync(path.join(shaDir, "artifacts"))).toEqual([]);
  }, 60_000);
});
