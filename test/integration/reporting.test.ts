/**
 * What users read: several projects in one comment (with a failure and an unchanged project),
 * --verbose, a step timeout, help, the `@slug` lookup, and re-runs of check runs.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import nock from "nock";
import { fileURLToPath } from "node:url";
import { createExecaTerraform } from "../../src/adapters/execa-terraform.js";
import type { TerraformPort } from "../../src/ports/terraform.js";
import { checkRunEvent, issueCommentEvent, pullRequestEvent } from "../helpers/events.js";
import { GitHubNock } from "../helpers/github-nock.js";
import { alive } from "../helpers/process-alive.js";
import { startAppHarness, type AppHarness } from "../helpers/app-harness.js";
import { useStrictNock } from "../helpers/strict-nock.js";

const SHA1 = "1".repeat(40);
const FAKE_TERRAFORM = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "fake-terraform.sh");
const WITH_CHANGES = `resource "terraform_data" "web" {\n  input = "v1"\n}\n`;
const NO_CHANGES = `terraform {}\n`;
const BROKEN = `resource "terraform_data" "oops" {\n  input = \n}\n`;

describe("reporting", () => {
  useStrictNock();
  let h: AppHarness;
  afterEach(async () => {
    await h.dispose();
    expect(h.jobErrors).toEqual([]);
  });

  test("three projects: one with changes, one unchanged, one failing — one comment with a summary", async () => {
    h = await startAppHarness({ files: { [SHA1]: { "a/main.tf": WITH_CHANGES, "b/main.tf": NO_CHANGES, "c/main.tf": BROKEN } } });
    const gh = new GitHubNock().tokens(1).rootListing(SHA1, ["a", "b", "c"]);
    gh.changedFiles(1, ["a/main.tf", "b/main.tf", "c/main.tf"].map((filename) => ({ filename }))).reviews(1);
    const created = gh.createCheckRuns(5);
    const updated = gh.updateCheckRuns(1);
    const comments = gh.comments(1);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    // One plan aggregate "in progress" for the three projects; then the comment; then the project
    // runs, created completed (in the order the projects finished), and the aggregates.
    expect(gh.writes.slice(0, 2)).toEqual(["create 1000 atoll/plan in_progress", "comment"]);
    expect(created.map((c) => c.name)[0]).toBe("atoll/plan");
    expect(created.slice(1, 4).map((c) => c.name).sort()).toEqual(["atoll/plan: a", "atoll/plan: b", "atoll/plan: c"]);
    expect(created.map((c) => c.name)[4]).toBe("atoll/apply");
    const run = (name: string) => created.find((c) => c.name === `atoll/plan: ${name}`)!;
    expect(run("a")).toMatchObject({ status: "completed", conclusion: "success" });
    expect((run("b").output as { title: string }).title).toContain("No changes.");
    expect((run("b").actions as { identifier: string }[]).map((a) => a.identifier)).toEqual(["plan", "unlock"]);
    expect(run("c")).toMatchObject({ status: "completed", conclusion: "failure" });
    expect((run("c").output as { text: string }).text).toContain("Error:");
    expect(updated).toHaveLength(1);
    expect(updated[0]).toMatchObject({ id: 1000, body: { status: "completed", conclusion: "failure" } });

    const body = comments[0].body;
    expect(body).toContain("Ran Plan for 3 projects:");
    expect(body).toContain("3 projects, 1 with changes, 1 unchanged, 1 failed");
    expect(body).toContain("**Plan Error**");
    // terraform init already rejects the syntax error.
    expect(body).toContain("terraform init failed (exit code 1).");
    // The failure shows terraform's own output.
    expect(body).toMatch(/Error: .*\n/);
  });

  test("--verbose adds the steps Atoll ran", async () => {
    h = await startAppHarness({ files: { [SHA1]: { "a/main.tf": WITH_CHANGES } } });
    const gh = new GitHubNock().tokens(1);
    gh.reaction(1);
    gh.pull({ number: 1, headSha: SHA1 }).rootListing(SHA1, ["a"]).reviews(1);
    gh.createCheckRuns(3);
    gh.updateCheckRuns(1);
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d a --verbose", number: 1, commentId: 1 }));
    expect(comments[0].body).toContain("$ terraform init -input=false");
    expect(comments[0].body).toMatch(/\$ terraform plan -input=false .*-detailed-exitcode/);
  });

  test("a step that exceeds ATOLL_STEP_TIMEOUT is stopped and reported as timed out", async () => {
    const pidFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), "atoll-timeout-")), "pid");
    const real = createExecaTerraform();
    const hanging = createExecaTerraform({ binary: FAKE_TERRAFORM, baseEnv: { ...process.env, FAKE_MODE: "tree", FAKE_PID_FILE: pidFile } });
    // Real init; a plan that never ends.
    const terraform: TerraformPort = { ...real, plan: (o) => hanging.plan(o) };
    h = await startAppHarness({ files: { [SHA1]: { "a/main.tf": WITH_CHANGES } }, env: { ATOLL_STEP_TIMEOUT: "2s" }, terraform });
    const gh = new GitHubNock().tokens(1);
    gh.reaction(2);
    gh.pull({ number: 1, headSha: SHA1 }).rootListing(SHA1, ["a"]).reviews(1);
    const created = gh.createCheckRuns(3);
    const updated = gh.updateCheckRuns(1);
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d a", number: 1, commentId: 2 }));
    const run = created.find((c) => c.name === "atoll/plan: a")!;
    expect(run).toMatchObject({ status: "completed", conclusion: "timed_out" });
    expect(updated[0]).toMatchObject({ id: 1000, body: { status: "completed", conclusion: "failure" } });
    expect(comments[0].body).toContain("Timed out after 2s during terraform plan");
    // The whole process tree is gone.
    const child = Number(await fs.readFile(pidFile, "utf8"));
    expect(await alive(child)).toBe(false);
    await fs.rm(path.dirname(pidFile), { recursive: true, force: true });
  });

  test("`atoll help` answers with the commands", async () => {
    h = await startAppHarness({ files: {} });
    const gh = new GitHubNock().tokens(1);
    gh.reaction(3);
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll help", number: 1, commentId: 3 }));
    for (const c of ["plan", "apply", "unlock", "version"]) expect(comments[0].body).toContain(`atoll ${c}`);
  });

  test("without ATOLL_APP_SLUG, `@slug plan` looks the slug up once with GET /app", async () => {
    h = await startAppHarness({ files: { [SHA1]: { "a/main.tf": WITH_CHANGES } }, env: { ATOLL_APP_SLUG: "" } });
    const app = nock("https://api.github.com")
      .get("/app")
      .matchHeader("authorization", /^bearer /i)
      .reply(200, { id: 123, slug: "atoll-test", name: "Atoll test", owner: { login: "acme" } });
    const gh = new GitHubNock().tokens(1);
    gh.reaction(4);
    gh.pull({ number: 1, headSha: SHA1 }).rootListing(SHA1, ["a"]).reviews(1);
    gh.createCheckRuns(3);
    gh.updateCheckRuns(1);
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "@atoll-test plan -d a", number: 1, commentId: 4 }));
    // Atoll's own comment (a bot) is recognised with the cached slug: no second lookup, no reply.
    await h.deliver(issueCommentEvent({ body: "atoll plan", number: 1, user: "atoll-test[bot]", userType: "Bot" }));
    expect(comments).toHaveLength(1);
    expect(app.isDone()).toBe(true);
  });

  test("re-running a project's plan check run plans it again with the same extra args", async () => {
    h = await startAppHarness({ files: { [SHA1]: { "a/main.tf": `variable "v" {}\nresource "terraform_data" "x" {\n  input = var.v\n}\n` } } });
    const gh = new GitHubNock().tokens(1);
    gh.reaction(5);
    gh.pull({ number: 1, headSha: SHA1 }).rootListing(SHA1, ["a"]).reviews(1);
    gh.createCheckRuns(3);
    gh.updateCheckRuns(1);
    gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d a -- -var v=hello", number: 1, commentId: 5 }));

    // Same commit: the checkout is reused (no fetch, no token), and the repo config is looked for
    // in it rather than through the API.
    gh.pull({ number: 1, headSha: SHA1 }).reviews(1);
    // Completed runs are not reopened: the plan aggregate's "in progress" is a fresh run (1003), and
    // the project's new result is a fresh run too (1004), created completed — the first plan's run
    // (1001) keeps showing the first plan, so its Apply button no longer applies anything.
    const created = gh.createCheckRuns(2);
    const updated = gh.updateCheckRuns(2);
    const comments = gh.comments(1);
    const externalId = JSON.stringify({ atoll: 1, pr: 1, k: "plan", n: "", d: "a", w: "default" });
    await h.deliver(checkRunEvent("rerequested", { checkRunId: 1001, name: "atoll/plan: a", headSha: SHA1, externalId, sender: "carol" }));
    expect(created.map((c) => [c.name, c.status])).toEqual([["atoll/plan", "in_progress"], ["atoll/plan: a", "completed"]]);
    expect(created[1].conclusion).toBe("success");
    expect(updated.some((u) => u.id === 1003 && u.body.status === "completed" && u.body.conclusion === "success")).toBe(true);
    expect((await h.store.listProjects({ owner: "Codertocat", repo: "Hello-World" }, 1))[0].planCheckRunId).toBe(1004);
    expect(comments[0].body).toContain('"hello"');
    expect(comments[0].body).toContain("@carol");
  });
});
