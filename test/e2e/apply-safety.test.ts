/**
 * Apply safety end to end (real server, git, terraform, PostgreSQL state): apply requirements
 * refuse and then allow once met; concurrent applies run terraform once; redelivered webhooks are
 * processed once; fork PRs are not planned; a Terraform state lock held elsewhere is explained.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import type { PullRecord } from "../fake-github/state.js";
import { OWNER, REPO, completedRun, expectCleanGitHub, latestRun, startE2eEnv, type E2eEnv } from "./e2e-env.js";

const pgTf = (schema: string, resources: string[]) =>
  [`terraform {\n  backend "pg" {\n    schema_name = "${schema}"\n  }\n}\n`, ...resources.map((r) => `resource "terraform_data" "${r}" {\n  input = "${r}"\n}\n`)].join("\n");

const CONFIG = `version: 3
projects:
  - name: appr
    dir: appr
    apply_requirements: [approved]
  - name: merge
    dir: merge
    apply_requirements: [mergeable]
  - name: undiv
    dir: undiv
    apply_requirements: [undiverged]
  - dir: conc
  - dir: dup
  - dir: locked
`;

function appComments(env: E2eEnv, pull: number) {
  return env.github.comments(OWNER, REPO, pull).filter((c) => c.byApp);
}

function waitComment(env: E2eEnv, pull: number, re: RegExp, what: string, after = 0) {
  return env.github.waitFor(() => appComments(env, pull).slice(after).find((c) => re.test(c.body)), {
    what,
    timeoutMs: 60_000,
    context: () => env.atoll.logs().slice(-30).join("\n"),
  });
}

async function openPull(env: E2eEnv, number: number, branch: string, files: Record<string, string>, fork = false): Promise<PullRecord> {
  await env.repo.commit(branch, files, `change on ${branch}`, { from: "main" });
  const pull = await env.github.createPull(OWNER, REPO, { number, head: branch, base: "main", author: fork ? "outsider" : "alice", fork });
  await env.atoll.send(env.pullEvent(pull, "opened"));
  return pull;
}

async function stateResources(env: E2eEnv, schema: string): Promise<string[]> {
  const out = await env.pg.psql(`SELECT data FROM ${schema}.states WHERE name = 'default'`, "tfstate").catch(() => "");
  if (!out.trim()) return [];
  return (JSON.parse(out.trim()).resources as { type: string; name: string }[]).map((r) => `${r.type}.${r.name}`).sort();
}

describe("apply safety", () => {
  let env: E2eEnv;
  let sharedState: string;
  let localTf: string;
  beforeAll(async () => {
    sharedState = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-shared-state-"));
    // Per-project apply_requirements are an override the operator must allow (as in Atlantis).
    const policyFile = path.join(sharedState, "policy.yaml");
    await fs.writeFile(policyFile, "repos:\n  - id: acme/infra\n    allowed_overrides: [apply_requirements]\n");
    env = await startE2eEnv({ env: { ATOLL_POLICY_FILE: policyFile } });
    localTf = `terraform {\n  backend "local" {\n    path = "${sharedState}/terraform.tfstate"\n  }\n}\nresource "terraform_data" "x" {\n  input = "x"\n}\n`;
    await env.repo.commit(
      "main",
      {
        "atoll.yaml": CONFIG,
        "appr/main.tf": pgTf("appr", ["base"]),
        "merge/main.tf": pgTf("merge", ["base"]),
        "undiv/main.tf": pgTf("undiv", ["base"]),
        "conc/main.tf": pgTf("conc", ["base"]),
        "dup/main.tf": pgTf("dup", ["base"]),
        "locked/main.tf": localTf,
      },
      "initial",
    );
    env.github.setPermission(OWNER, REPO, "bob", "write");
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
    await fs.rm(sharedState, { recursive: true, force: true });
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("approved: refused until someone other than the author approves; the review refreshes the checks", async () => {
    const pr = await openPull(env, 1, "appr-a", { "appr/main.tf": pgTf("appr", ["base", "a"]) });
    await completedRun(env, pr.headSha, "atoll/plan: appr");

    await env.atoll.send(env.comment(pr, "bob", "atoll apply -p appr"));
    const refusal = await waitComment(env, 1, /Apply requirements not met/, "approved refusal");
    expect(refusal.body).toContain("approved");
    const applyRun = latestRun(env, pr.headSha, "atoll/apply: appr")!;
    expect(applyRun).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(await stateResources(env, "appr")).toEqual([]);

    // The author's own approval does not count; carol's does.
    await env.atoll.send(await env.review(pr, "carol", "approved"));
    await env.github.waitFor(() => {
      const r = latestRun(env, pr.headSha, "atoll/plan: appr");
      return r && /Approved by @carol/.test(r.output.summary ?? "") && /All apply requirements are met/.test(r.output.summary ?? "") ? r : undefined;
    }, { what: "plan check run readiness after approval" });
    await env.github.waitFor(() => {
      const r = latestRun(env, pr.headSha, "atoll/apply: appr");
      return r?.conclusion === "neutral" ? r : undefined;
    }, { what: "apply check run: ready to apply" });

    const before = appComments(env, 1).length;
    await env.atoll.send(env.comment(pr, "bob", "atoll apply -p appr"));
    await waitComment(env, 1, /Apply complete!/, "apply after approval", before);
    expect(await stateResources(env, "appr")).toEqual(["terraform_data.a", "terraform_data.base"]);
  }, 180_000);

  test("mergeable: refused while a required check fails; allowed once it passes, even with atoll/apply itself required", async () => {
    env.github.setRequiredChecks(OWNER, REPO, "main", ["ci/build", "atoll/apply"]);
    try {
      const pr = await openPull(env, 2, "merge-a", { "merge/main.tf": pgTf("merge", ["base", "a"]) });
      await completedRun(env, pr.headSha, "atoll/plan: merge");
      env.github.addStatus(OWNER, REPO, pr.headSha, { context: "ci/build", state: "failure" });

      await env.atoll.send(env.comment(pr, "bob", "atoll apply -p merge"));
      const refusal = await waitComment(env, 2, /Apply requirements not met/, "mergeable refusal");
      expect(refusal.body).toContain("mergeable");
      expect(await stateResources(env, "merge")).toEqual([]);

      // CI passes; the only thing still blocking the merge is Atoll's own pending apply check.
      env.github.addStatus(OWNER, REPO, pr.headSha, { context: "ci/build", state: "success" });
      const before = appComments(env, 2).length;
      await env.atoll.send(env.comment(pr, "bob", "atoll apply -p merge"));
      await waitComment(env, 2, /Apply complete!/, "apply once mergeable", before);
      expect(await stateResources(env, "merge")).toEqual(["terraform_data.a", "terraform_data.base"]);
    } finally {
      env.github.setRequiredChecks(OWNER, REPO, "main", []);
    }
  }, 180_000);

  test("undiverged: refused while the base branch has commits the PR lacks; allowed after merging them in", async () => {
    const pr = await openPull(env, 3, "undiv-a", { "undiv/main.tf": pgTf("undiv", ["base", "a"]) });
    await completedRun(env, pr.headSha, "atoll/plan: undiv");
    await env.repo.commit("main", { "README.md": "news on main\n" }, "main moves on");

    await env.atoll.send(env.comment(pr, "bob", "atoll apply -p undiv"));
    const refusal = await waitComment(env, 3, /Apply requirements not met/, "undiverged refusal");
    expect(refusal.body).toContain("undiverged");

    await env.repo.merge("undiv-a", await env.repo.sha("main"), "merge main");
    const updated = await env.github.syncPull(OWNER, REPO, 3);
    await env.atoll.send(env.pullEvent(updated, "synchronize"));
    await completedRun(env, updated.headSha, "atoll/plan: undiv");
    const before = appComments(env, 3).length;
    await env.atoll.send(env.comment(updated, "bob", "atoll apply -p undiv"));
    await waitComment(env, 3, /Apply complete!/, "apply once undiverged", before);
  }, 180_000);

  test("ten concurrent apply comments on one project: terraform apply runs exactly once", async () => {
    const pr = await openPull(env, 4, "conc-a", { "conc/main.tf": pgTf("conc", ["base", "a"]) });
    await completedRun(env, pr.headSha, "atoll/plan: conc");
    const events = Array.from({ length: 10 }, () => env.comment(pr, "bob", "atoll apply -d conc"));
    const responses = await Promise.all(events.map((e) => env.atoll.send(e)));
    expect(responses.every((r) => r.status === 200 || r.status === 202)).toBe(true);

    const replies = await env.github.waitFor(() => {
      const c = appComments(env, 4).filter((x) => /Apply complete!|already applied/.test(x.body));
      return c.length >= 10 ? c : undefined;
    }, { what: "ten apply replies", timeoutMs: 120_000 });
    expect(replies.filter((c) => /Apply complete!/.test(c.body))).toHaveLength(1);
    expect(replies.filter((c) => /already applied/.test(c.body))).toHaveLength(9);
    expect(env.github.checkRuns(OWNER, REPO, { headSha: pr.headSha, name: "atoll/apply: conc" })).toHaveLength(1);
    expect(await stateResources(env, "conc")).toEqual(["terraform_data.a", "terraform_data.base"]);
  }, 240_000);

  test("the same webhook delivered twice is processed once", async () => {
    const pr = await openPull(env, 5, "dup-a", { "dup/main.tf": pgTf("dup", ["base", "a"]) });
    // The aggregate completes after the plan comment is posted: nothing of the autoplan is still to come.
    await completedRun(env, pr.headSha, "atoll/plan");
    const before = appComments(env, 5).length;
    const event = env.comment(pr, "alice", "atoll plan -d dup");
    const first = await env.atoll.send(event);
    const second = await env.atoll.send(event); // GitHub's "Redeliver" reuses the delivery id
    const retried = await env.atoll.send({ ...event, id: `${event.id}-retry` }); // same comment, new delivery id
    expect([first.status, second.status, retried.status].every((s) => s === 200 || s === 202)).toBe(true);
    await waitComment(env, 5, /Ran Plan/, "the plan", before);
    // Give a duplicate time to show up if it were going to (the job queue is per PR and in order).
    await env.atoll.send(env.comment(pr, "alice", "atoll version -d dup"));
    await waitComment(env, 5, /Terraform v/, "a later command", before);
    expect(appComments(env, 5).slice(before).filter((c) => /Ran Plan/.test(c.body))).toHaveLength(1);
    expect(env.query("SELECT count(*) AS n FROM deliveries WHERE id = ?", event.id)).toEqual([{ n: 1 }]);
  }, 120_000);

  test("a fork PR is not planned by default: it is told why, and nothing is checked out", async () => {
    const gitBefore = env.github.gitRequests.length;
    await openPull(env, 6, "fork-a", { "conc/main.tf": pgTf("conc", ["base", "fork"]) }, true);
    const c = await waitComment(env, 6, /forks/, "fork refusal");
    expect(c.body).toContain("ATOLL_ALLOW_FORK_PRS=true");
    expect(env.github.gitRequests.length).toBe(gitBefore);
  }, 60_000);

  test("a Terraform state lock held elsewhere is reported with its holder and the safe next step", async () => {
    // Someone runs terraform apply against the same state from their own machine, and is slow.
    const holderDir = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-holder-"));
    const gate = path.join(holderDir, "gate");
    await fs.writeFile(gate, "");
    await fs.writeFile(
      path.join(holderDir, "main.tf"),
      `terraform {\n  backend "local" {\n    path = "${sharedState}/terraform.tfstate"\n  }\n}\nresource "terraform_data" "x" {\n  input = "x"\n  provisioner "local-exec" {\n    command = "while [ -e ${gate} ]; do sleep 0.1; done"\n  }\n}\n`,
    );
    const tfEnv = { ...process.env, TF_IN_AUTOMATION: "1" };
    await execa("terraform", ["init", "-input=false", "-no-color"], { cwd: holderDir, env: tfEnv });
    const holder: ResultPromise = execa("terraform", ["apply", "-auto-approve", "-input=false", "-no-color"], { cwd: holderDir, env: tfEnv, reject: false });
    try {
      await env.github.waitFor(async () => fs.stat(path.join(sharedState, ".terraform.tfstate.lock.info")).then(() => true, () => false), {
        what: "the holder's state lock",
      });
      const pr = await openPull(env, 7, "locked-a", { "locked/main.tf": `${localTf}\n# touched\n` });
      const c = await waitComment(env, 7, /holds the Terraform state lock/, "state lock explanation").catch((e: Error) => {
        throw new Error(`${e.message}\nComments on #7:\n${appComments(env, 7).map((x) => x.body).join("\n-----\n")}`);
      });
      // Who holds it (user@host, from the holder's lock info), since when, doing what, and what to do.
      expect(c.body).toMatch(/\*\*Held by:\*\* `[\w.-]+@[\w.-]+`/);
      expect(c.body).toMatch(/\*\*Since:\*\* \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
      expect(c.body).toContain("**Operation:** apply");
      expect(c.body).toContain("wait for the other run to finish");
      expect(c.body).toContain("force-unlock");
      const run = await completedRun(env, pr.headSha, "atoll/plan: locked");
      expect(run.conclusion).toBe("failure");
    } finally {
      await fs.rm(gate, { force: true });
      await holder;
      await fs.rm(holderDir, { recursive: true, force: true });
    }
  }, 120_000);
});
