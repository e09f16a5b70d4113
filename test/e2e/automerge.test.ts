/**
 * Automerge end to end (real server, git, terraform; Terraform state in local files in a temp
 * dir): a repo with `automerge: true` and `delete_source_branch_on_merge: true` (allowed by the
 * operator's policy file) is planned, applied by a user with write access, and the fake GitHub
 * then shows the pull request merged into main in git and its branch deleted.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CommentRecord } from "../fake-github/state.js";
import { OWNER, REPO, completedRun, expectCleanGitHub, startE2eEnv, type E2eEnv } from "./e2e-env.js";

const POLICY = `repos:
  - id: /.*/
    allowed_overrides: [delete_source_branch_on_merge]
`;
const CONFIG = `version: 3
automerge: true
delete_source_branch_on_merge: true
`;
const localTf = (stateDir: string, name: string, input: string) =>
  `terraform {\n  backend "local" {\n    path = "${stateDir}/${name}.tfstate"\n  }\n}\nresource "terraform_data" "${name}" {\n  input = "${input}"\n}\n`;

function appComments(env: E2eEnv, pull: number): CommentRecord[] {
  return env.github.comments(OWNER, REPO, pull).filter((c) => c.byApp);
}

function waitComment(env: E2eEnv, pull: number, re: RegExp, what: string): Promise<CommentRecord> {
  return env.github.waitFor(() => appComments(env, pull).find((c) => re.test(c.body)), {
    what,
    timeoutMs: 90_000,
    context: () => env.atoll.logs().slice(-30).join("\n"),
  });
}

describe("automerge (real server, git, terraform)", () => {
  let env: E2eEnv;
  let work: string;
  let states: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-e2e-automerge-"));
    states = path.join(work, "states");
    await fs.mkdir(states);
    const policyFile = path.join(work, "policy.yaml");
    await fs.writeFile(policyFile, POLICY);
    env = await startE2eEnv({ env: { ATOLL_POLICY_FILE: policyFile } });
    await env.repo.commit("main", { "atoll.yaml": CONFIG, "net/main.tf": localTf(states, "net", "vpc-1"), "app/main.tf": localTf(states, "app", "svc-1") }, "initial");
    env.github.setPermission(OWNER, REPO, "bob", "write");
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  }, 60_000);

  afterEach(() => expectCleanGitHub(env));

  test("plan, apply by a writer: the PR is merged into main and its branch deleted", async () => {
    await env.repo.commit(
      "grow",
      { "net/main.tf": localTf(states, "net", "vpc-2"), "app/main.tf": localTf(states, "app", "svc-2") },
      "grow both",
      { from: "main" },
    );
    const pull = await env.github.createPull(OWNER, REPO, { number: 1, head: "grow", base: "main", author: "alice", title: "Grow" });
    await env.atoll.send(env.pullEvent(pull, "opened"));
    await waitComment(env, 1, /Ran Plan for 2 projects/, "plan comment");
    for (const name of ["net", "app"]) expect([name, (await completedRun(env, pull.headSha, `atoll/plan: ${name}`)).conclusion]).toEqual([name, "success"]);
    expect(env.github.pull(OWNER, REPO, 1)).toMatchObject({ state: "open", merged: false });

    await env.atoll.send(env.comment(pull, "bob", "atoll apply"));
    const merged = await waitComment(env, 1, /Automatically merged/, "automerge comment");
    expect(merged.body).toBe("Automatically merged because all plans were successfully applied.\n\nDeleted the source branch `grow`.");
    // The apply comment came first, and nothing failed.
    const bodies = appComments(env, 1).map((c) => c.body);
    expect(bodies.findIndex((b) => /Ran Apply for 2 projects/.test(b))).toBeLessThan(bodies.indexOf(merged.body));
    expect(bodies.some((b) => /Automerging failed/.test(b))).toBe(false);

    // GitHub's view: merged by the app, with a merge commit of the applied head on main.
    const pr = env.github.pull(OWNER, REPO, 1);
    expect(pr).toMatchObject({ state: "closed", merged: true, mergedBy: env.github.botLogin, headSha: pull.headSha });
    const main = await env.repo.sha("main");
    expect(pr.mergeCommitSha).toBe(main);
    const [mergeCommit] = await env.repo.commitInfo([main]);
    expect(mergeCommit.parents).toEqual([pull.baseSha, pull.headSha]);
    expect(mergeCommit.message).toBe("Merge pull request #1 from acme/grow\n\nGrow");
    expect(await env.repo.branches()).toEqual(["main"]);
    // The merge request named the head sha Atoll applied, with the default method.
    const mergeRequests = env.github.requests.filter((r) => r.method === "PUT" && r.template === "/repos/{owner}/{repo}/pulls/{pull_number}/merge");
    expect(mergeRequests.map((r) => [r.status, r.body])).toEqual([[200, { merge_method: "merge", sha: pull.headSha }]]);

    // And the infrastructure is what was reviewed.
    for (const [name, input] of [["net", "vpc-2"], ["app", "svc-2"]]) {
      const state = JSON.parse(await fs.readFile(path.join(states, `${name}.tfstate`), "utf8"));
      // terraform_data keeps `input` as a plain string or as {type, value}, depending on the version.
      const stored = state.resources[0].instances[0].attributes.input;
      expect([name, typeof stored === "string" ? stored : stored.value]).toEqual([name, input]);
    }
  }, 240_000);
});
