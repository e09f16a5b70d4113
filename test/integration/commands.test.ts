/**
 * Comment commands, buttons, reviews and close, through Probot with real terraform and strictly
 * mocked GitHub (OpenAPI-validated request bodies).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { checkRunEvent, issueCommentEvent, pullRequestEvent, pullRequestReviewEvent } from "../helpers/events.js";
import { GitHubNock } from "../helpers/github-nock.js";
import { startAppHarness, type AppHarness } from "../helpers/app-harness.js";
import { useStrictNock } from "../helpers/strict-nock.js";

const SHA1 = "1".repeat(40);
const SHA2 = "2".repeat(40);
const MAIN_TF = `resource "terraform_data" "web" {\n  input = "v1"\n}\n`;
const REPO = { owner: "Codertocat", repo: "Hello-World" };

/** Mocks for planning `week2` at SHA1 for PR 1 through a comment; returns the captured bodies. */
function mockCommentPlan(gh: GitHubNock, commentId: number) {
  const reaction = gh.reaction(commentId);
  gh.pull({ number: 1, headSha: SHA1 }).rootListing(SHA1, ["week2"]).reviews(1);
  // The plan aggregate "in progress" (1000), then the project's run created completed (1001), the
  // plan aggregate completed and the apply aggregate (1002).
  const created = gh.createCheckRuns(3);
  const updated = gh.updateCheckRuns(1);
  const comments = gh.comments(1);
  return { reaction, created, updated, comments };
}

describe("comment commands", () => {
  useStrictNock();
  let h: AppHarness;
  beforeEach(async () => {
    h = await startAppHarness({ files: { [SHA1]: { "week2/main.tf": MAIN_TF } } });
  });
  afterEach(async () => {
    await h.dispose();
    expect(h.jobErrors).toEqual([]);
  });

  test("`atlantis plan -d week2` plans that dir, with an eyes reaction", async () => {
    const gh = new GitHubNock().tokens(1);
    const m = mockCommentPlan(gh, 77);
    await h.deliver(issueCommentEvent({ body: "atlantis plan -d week2", number: 1, user: "alice", commentId: 77 }));
    expect(m.reaction).toEqual([{ content: "eyes" }]);
    expect(m.created.map((c) => c.name)).toEqual(["atoll/plan", "atoll/plan: week2", "atoll/apply"]);
    expect(m.comments[0].body).toContain("Plan: 1 to add");
    // Suggestions use the name the user typed.
    expect(m.comments[0].body).toContain("atlantis apply -d week2");
  });

  test("plan, then apply by a writer applies exactly the saved plan", async () => {
    const gh = new GitHubNock().tokens(1);
    mockCommentPlan(gh, 1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d week2", number: 1, user: "alice", commentId: 1 }));
    const [planned] = await h.store.listProjects(REPO, 1);

    gh.reaction(2);
    // Apply reads the config at the head (requirements) and the reviews (readiness).
    gh.pull({ number: 1, headSha: SHA1 }).permission("bob", "write").rootListing(SHA1, ["week2"]).reviews(1);
    const created = gh.createCheckRuns(1);
    const updated = gh.updateCheckRuns(3);
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll apply -d week2", number: 1, user: "bob", commentId: 2 }));

    expect(created.map((c) => [c.name, c.status])).toEqual([["atoll/apply: week2", "in_progress"]]);
    const applyRun = updated.find((u) => u.id === created.length + 1002)!;
    expect(applyRun.body).toMatchObject({ status: "completed", conclusion: "success" });
    expect(comments[0].body).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    // The apply aggregate turns green: every project with changes is applied.
    const aggregates = updated.filter((u) => u.id === 1000 || u.id === 1002);
    expect(aggregates).toHaveLength(2);
    expect(aggregates.find((u) => u.id === 1002)!.body).toMatchObject({ status: "completed", conclusion: "success" });
    // The state shows the resource, in the checkout's local state (integration uses no backend).
    const state = JSON.parse(await fs.readFile(path.join((await h.workspaces.find("Codertocat", "Hello-World", 1, SHA1))!.dir, "week2", "terraform.tfstate"), "utf8"));
    expect(state.resources.map((r: { type: string; name: string }) => `${r.type}.${r.name}`)).toEqual(["terraform_data.web"]);
    // The plan file is single-use and gone.
    expect(await h.store.blobs.get(planned.planBlob!)).toBeUndefined();
    const [after] = await h.store.listProjects(REPO, 1);
    expect(after).toMatchObject({ apply: "success" });
  });

  test("apply by a read-only user is refused and nothing runs", async () => {
    const gh = new GitHubNock().tokens(1);
    mockCommentPlan(gh, 1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d week2", number: 1, user: "alice", commentId: 1 }));
    gh.reaction(3);
    gh.pull({ number: 1, headSha: SHA1 }).permission("mallory", "read");
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll apply", number: 1, user: "mallory", commentId: 3 }));
    expect(comments[0].body).toMatch(/Apply refused.*@mallory.*write/s);
    const [state] = await h.store.listProjects(REPO, 1);
    expect(state.apply).toBe("none");
    expect((await h.store.blobs.get(state.planBlob!))?.length).toBeGreaterThan(0);
  });

  test("a maintainer (role maintain) may apply", async () => {
    const gh = new GitHubNock().tokens(1);
    mockCommentPlan(gh, 1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d week2", number: 1, user: "alice", commentId: 1 }));
    gh.reaction(4);
    gh.pull({ number: 1, headSha: SHA1 }).permission("maya", "write", "maintain").rootListing(SHA1, ["week2"]).reviews(1);
    gh.createCheckRuns(1);
    gh.updateCheckRuns(3);
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll apply", number: 1, user: "maya", commentId: 4 }));
    expect(comments[0].body).toContain("Apply complete!");
  });

  test("apply after a new push is refused: the plan is from an older commit", async () => {
    const gh = new GitHubNock().tokens(1);
    mockCommentPlan(gh, 1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d week2", number: 1, user: "alice", commentId: 1 }));
    gh.reaction(5);
    gh.pull({ number: 1, headSha: SHA2 }).permission("bob", "admin");
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll apply -d week2", number: 1, user: "bob", commentId: 5 }));
    expect(comments[0].body).toContain(`was made for commit ${SHA1.slice(0, 7)}`);
    expect(comments[0].body).toContain(`now ${SHA2.slice(0, 7)}`);
    // Nothing was planned at the new head, so no aggregate check is claimed for it (strict nock:
    // any check-run request here would fail the test).
  });

  test("apply with nothing planned is refused with the command to run", async () => {
    const gh = new GitHubNock().tokens(1);
    gh.reaction(6);
    gh.pull({ number: 1, headSha: SHA1 }).permission("bob", "write");
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll apply", number: 1, user: "bob", commentId: 6 }));
    expect(comments[0].body).toContain("no plans to apply");
    expect(comments[0].body).toContain("`atoll plan`");
  });

  test("unknown command → usage reply; near-miss → did you mean", async () => {
    const gh = new GitHubNock().tokens(1);
    gh.reaction(7);
    gh.reaction(8);
    const comments = gh.comments(1, 2);
    await h.deliver(issueCommentEvent({ body: "atoll teardown -d week2", number: 1, commentId: 7 }));
    await h.deliver(issueCommentEvent({ body: "atlants plan", number: 1, commentId: 8 }));
    expect(comments[0].body).toContain('unknown command "teardown"');
    expect(comments[1].body).toMatch(/Did you mean to use `atlantis` instead of `atlants`\?/);
  });

  test("cancel is queued even when the queue is full; other commands are told Atoll is busy", async () => {
    const full = await startAppHarness({ files: {}, env: { ATOLL_MAX_QUEUED_JOBS: "1" } });
    try {
      // Another PR's job runs (as far as the store knows) and one waits behind it: the queue is full.
      const target = { installationId: 1, owner: REPO.owner, repo: REPO.repo, pullNumber: 9, user: "x", name: "atoll" };
      const running = (await full.store.createJob({ ...target, kind: "review" }))!;
      await full.store.updateJob(running.id, { status: "running" });
      const waiting = (await full.store.createJob({ ...target, kind: "review" }))!;
      const gh = new GitHubNock().tokens(1);
      gh.reaction(20);
      gh.reaction(21);
      const comments = gh.comments(1, 2);
      await full.probot.receive(issueCommentEvent({ body: "atoll plan", number: 1, commentId: 20 }) as Parameters<typeof full.probot.receive>[0]);
      await full.probot.receive(issueCommentEvent({ body: "atlantis cancel", number: 1, commentId: 21 }) as Parameters<typeof full.probot.receive>[0]);
      for (let i = 0; i < 200 && comments.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(comments.map((c) => c.body).sort()).toEqual([
        "**Atoll is busy** (1 jobs waiting), so `plan` was not queued. Please try again in a few minutes.",
        "**Nothing to cancel:** no command of this pull request is queued or running.",
      ]);
      await full.store.updateJob(running.id, { status: "succeeded" });
      await full.store.updateJob(waiting.id, { status: "succeeded" });
    } finally {
      await full.dispose();
    }
    expect(full.jobErrors).toEqual([]);
  });

  test("ordinary comments, plain-issue comments and Atoll's own comments are ignored without a single request", async () => {
    await h.deliver(issueCommentEvent({ body: "LGTM, let's apply after lunch", number: 1 }));
    await h.deliver(issueCommentEvent({ body: "atoll plan", number: 9, onPullRequest: false }));
    await h.deliver(issueCommentEvent({ body: "atoll plan", number: 1, user: "atoll-test[bot]", userType: "Bot" }));
    await h.deliver(issueCommentEvent({ body: "atoll plan\nplease", number: 1 }));
    expect(h.workspaces.requests).toHaveLength(0);
  });

  test("`@atoll-test plan -d week2` works, and `@someone-else plan` is ignored", async () => {
    const gh = new GitHubNock().tokens(1);
    const m = mockCommentPlan(gh, 10);
    await h.deliver(issueCommentEvent({ body: "@atoll-test[bot] plan -d week2", number: 1, commentId: 10 }));
    await h.deliver(issueCommentEvent({ body: "@someone-else plan -d week2", number: 1, commentId: 11 }));
    expect(m.comments).toHaveLength(1);
  });

  test("unlock discards the plans and takes the Apply button away", async () => {
    const gh = new GitHubNock().tokens(1);
    mockCommentPlan(gh, 1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d week2", number: 1, user: "alice", commentId: 1 }));
    const [planned] = await h.store.listProjects(REPO, 1);
    gh.reaction(12);
    const updated = gh.updateCheckRuns(2);
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll unlock", number: 1, commentId: 12 }));
    expect(comments[0].body).toContain("have been released and its plans discarded");
    const projectRun = updated.find((u) => u.id === 1001)!.body;
    expect(projectRun).toMatchObject({ status: "completed", conclusion: "neutral" });
    expect((projectRun.actions as { identifier: string }[]).map((a) => a.identifier)).toEqual(["plan"]);
    expect(await h.store.listProjects(REPO, 1)).toEqual([]);
    expect(await h.store.blobs.get(planned.planBlob!)).toBeUndefined();
  });

  test("the Apply button applies the plan its check run shows; a stale run's button is refused", async () => {
    const gh = new GitHubNock().tokens(1);
    mockCommentPlan(gh, 1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d week2", number: 1, user: "alice", commentId: 1 }));
    const [planned] = await h.store.listProjects(REPO, 1);
    const externalId = JSON.stringify({ atoll: 1, pr: 1, k: "plan", n: "", d: "week2", w: "default" });

    // A click on an older check run of the same project is refused.
    gh.pull({ number: 1, headSha: SHA1 }).permission("bob", "write");
    const refusal = gh.comments(1);
    await h.deliver(checkRunEvent("requested_action", { checkRunId: 999, name: "atoll/plan: week2", headSha: SHA1, externalId, identifier: "apply", sender: "bob" }));
    expect(refusal[0].body).toContain("older plan");

    gh.pull({ number: 1, headSha: SHA1 }).permission("bob", "write").rootListing(SHA1, ["week2"]).reviews(1);
    gh.createCheckRuns(1);
    gh.updateCheckRuns(3);
    const comments = gh.comments(1);
    await h.deliver(
      checkRunEvent("requested_action", { checkRunId: planned.planCheckRunId!, name: "atoll/plan: week2", headSha: SHA1, externalId, identifier: "apply", sender: "bob" }),
    );
    expect(comments[0].body).toContain("Apply complete!");
    expect(comments[0].body).toContain("@bob");
  });

  test("the Apply button checks the clicker's permission", async () => {
    const gh = new GitHubNock().tokens(1);
    mockCommentPlan(gh, 1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d week2", number: 1, user: "alice", commentId: 1 }));
    const [planned] = await h.store.listProjects(REPO, 1);
    gh.pull({ number: 1, headSha: SHA1 }).permission("eve", "none");
    const comments = gh.comments(1);
    const externalId = JSON.stringify({ atoll: 1, pr: 1, k: "plan", n: "", d: "week2", w: "default" });
    await h.deliver(
      checkRunEvent("requested_action", { checkRunId: planned.planCheckRunId!, name: "atoll/plan: week2", headSha: SHA1, externalId, identifier: "apply", sender: "eve" }),
    );
    expect(comments[0].body).toContain("Apply refused");
  });

  test("check runs of other apps are ignored", async () => {
    await h.deliver(checkRunEvent("rerequested", { name: "ci/build", headSha: SHA1, externalId: "build-42" }));
  });

  test("a review refreshes the plan check run's readiness", async () => {
    const gh = new GitHubNock().tokens(1);
    mockCommentPlan(gh, 1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d week2", number: 1, user: "alice", commentId: 1 }));
    gh.pull({ number: 1, headSha: SHA1, author: "octocat" }).rootListing(SHA1, ["week2"]).reviews(1, [{ user: "carol", state: "APPROVED" }]);
    const updated = gh.updateCheckRuns(1);
    await h.deliver(pullRequestReviewEvent({ state: "approved", number: 1, headSha: SHA1, reviewer: "carol" }));
    expect(updated[0].id).toBe(1001);
    expect((updated[0].body.output as { summary: string }).summary).toContain("@carol");
  });

  test("closing the PR deletes its checkout and plans", async () => {
    const gh = new GitHubNock().tokens(1);
    mockCommentPlan(gh, 1);
    await h.deliver(issueCommentEvent({ body: "atoll plan -d week2", number: 1, user: "alice", commentId: 1 }));
    const checkout = await h.workspaces.find("Codertocat", "Hello-World", 1, SHA1);
    expect(checkout).not.toBeNull();
    const [planned] = await h.store.listProjects(REPO, 1);
    expect((await h.store.blobs.get(planned.planBlob!))?.length).toBeGreaterThan(0);
    await h.deliver(pullRequestEvent("closed", { number: 1, headSha: SHA1, merged: true }));
    expect(await h.workspaces.find("Codertocat", "Hello-World", 1, SHA1)).toBeNull();
    expect(await h.store.listProjects(REPO, 1)).toEqual([]);
    expect(await h.store.blobs.get(planned.planBlob!)).toBeUndefined();
  });

  test("commands on a closed PR are refused", async () => {
    const gh = new GitHubNock().tokens(1);
    gh.reaction(13);
    gh.pull({ number: 1, headSha: SHA1, state: "closed" });
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atoll plan", number: 1, commentId: 13 }));
    expect(comments[0].body).toContain("closed pull requests");
  });

  test("the webhook is acknowledged before the job runs", async () => {
    const gh = new GitHubNock().tokens(1);
    gh.reaction(14);
    gh.pull({ number: 1, headSha: SHA1, state: "closed" });
    gh.comments(1);
    await h.probot.receive(issueCommentEvent({ body: "atoll plan", number: 1, commentId: 14 }) as never);
    // receive() returned — the handler is done — while the work is still queued.
    expect(await h.store.countJobs(["queued", "running"])).toBeGreaterThan(0);
    await h.jobs.onIdle();
  });
});
