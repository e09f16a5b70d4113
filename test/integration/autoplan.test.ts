/**
 * Autoplan through Probot: pull_request events → plan with real terraform → check runs and a
 * comment on (mocked, strictly) GitHub, every request body validated against GitHub's OpenAPI.
 */
import { deliveryId, pullRequestEvent } from "../helpers/events.js";
import { GitHubNock } from "../helpers/github-nock.js";
import { startAppHarness, type AppHarness } from "../helpers/app-harness.js";
import { useStrictNock } from "../helpers/strict-nock.js";

const SHA1 = "1".repeat(40);
const MAIN_TF = `resource "terraform_data" "web" {\n  input = "v1"\n}\n`;

describe("autoplan", () => {
  useStrictNock();
  let h: AppHarness;
  afterEach(async () => {
    await h.dispose();
    expect(h.jobErrors).toEqual([]);
  });

  test("a PR touching one Terraform dir is planned: check runs, comment, saved plan", async () => {
    h = await startAppHarness({ files: { [SHA1]: { "week2/main.tf": MAIN_TF, "README.md": "hi" } } });
    const gh = new GitHubNock().tokens(1).rootListing(SHA1, ["week2", "README.md"]);
    gh.changedFiles(1, [{ filename: "week2/main.tf", status: "added" }, { filename: "README.md" }]).reviews(1);
    const created = gh.createCheckRuns(3);
    const updated = gh.updateCheckRuns(1);
    const comments = gh.comments(1);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    // One "in progress" write while terraform runs (the plan aggregate); then the comment; then the
    // project's run, created completed, and the aggregates (plan completed, apply pending).
    expect(gh.writes).toEqual([
      "create 1000 atoll/plan in_progress",
      "comment",
      "create 1001 atoll/plan: week2 completed",
      "update 1000 atoll/plan completed",
      "create 1002 atoll/apply queued",
    ]);
    expect(created.map((c) => [c.name, c.status, c.head_sha])).toEqual([
      ["atoll/plan", "in_progress", SHA1],
      ["atoll/plan: week2", "completed", SHA1],
      ["atoll/apply", "queued", SHA1],
    ]);
    expect(JSON.parse(String(created[1].external_id))).toMatchObject({ pr: 1, k: "plan", d: "week2", w: "default" });

    const project = created[1];
    expect(project).toMatchObject({ status: "completed", conclusion: "success" });
    const output = project.output as { title: string; summary: string; text: string };
    expect(output.title).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    expect(output.text).toContain("terraform_data.web");
    expect((project.actions as { identifier: string }[]).map((a) => a.identifier)).toEqual(["apply", "plan", "unlock"]);

    const planAggregate = updated.find((u) => u.id === 1000)!.body;
    expect(planAggregate).toMatchObject({ status: "completed", conclusion: "success" });
    const applyAggregate = created[2];
    expect(applyAggregate.status).toBe("queued");
    expect(applyAggregate.conclusion).toBeUndefined();

    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    expect(comments[0].body).toContain("atoll apply -d week2");
    expect(comments[0].body).toMatch(/<details>[\s\S]*```diff[\s\S]*terraform_data\.web[\s\S]*```[\s\S]*<\/details>/);

    // The clone used a freshly minted installation token.
    expect(h.workspaces.requests).toHaveLength(1);
    expect(h.workspaces.requests[0]).toMatchObject({ sha: SHA1, pullNumber: 1, cloneUrl: "https://github.com/Codertocat/Hello-World.git" });
    expect(h.workspaces.requests[0].token).toMatch(/^ghs_/);

    const [state] = await h.store.listProjects({ owner: "Codertocat", repo: "Hello-World" }, 1);
    expect(state).toMatchObject({ plan: "success", hasChanges: true, apply: "none", headSha: SHA1, planCheckRunId: 1001 });
    expect(state.planBlob).toBeDefined();
  });

  test("a PR touching no Terraform gets both aggregate checks green with 0 projects, and no checkout", async () => {
    h = await startAppHarness({ files: {} });
    const gh = new GitHubNock().tokens(1).rootListing(SHA1, ["docs"]);
    gh.changedFiles(3, [{ filename: "docs/index.md" }]);
    const created = gh.createCheckRuns(2);

    await h.deliver(pullRequestEvent("opened", { number: 3, headSha: SHA1 }));

    expect(created.map((c) => [c.name, c.status, c.conclusion])).toEqual([
      ["atoll/plan", "completed", "success"],
      ["atoll/apply", "completed", "success"],
    ]);
    expect((created[0].output as { title: string }).title).toMatch(/0 projects/);
    expect(h.workspaces.requests).toHaveLength(0);
  });

  test("a draft PR is not autoplanned (no GitHub call at all)", async () => {
    h = await startAppHarness({ files: {} });
    await h.deliver(pullRequestEvent("opened", { number: 4, headSha: SHA1, draft: true }));
    expect(h.workspaces.requests).toHaveLength(0);
  });

  test("a draft PR is autoplanned when ATOLL_AUTOPLAN_DRAFTS=true", async () => {
    h = await startAppHarness({ files: {}, env: { ATOLL_AUTOPLAN_DRAFTS: "true" } });
    const gh = new GitHubNock().tokens(1).rootListing(SHA1, []);
    gh.changedFiles(4, [{ filename: "x.md" }]);
    gh.createCheckRuns(2);
    await h.deliver(pullRequestEvent("opened", { number: 4, headSha: SHA1, draft: true }));
  });

  test("a fork PR is not planned by default; it is told why once, and pushes stay quiet", async () => {
    h = await startAppHarness({ files: {} });
    const gh = new GitHubNock().tokens(1);
    const comments = gh.comments(5);
    await h.deliver(pullRequestEvent("opened", { number: 5, headSha: SHA1, fork: true }));
    expect(comments[0].body).toContain("ATOLL_ALLOW_FORK_PRS=true");
    await h.deliver(pullRequestEvent("synchronize", { number: 5, headSha: "2".repeat(40), fork: true }));
    expect(comments).toHaveLength(1);
  });

  test("an invalid atoll.yaml gets one comment naming file, line and problem, failed checks, and no terraform", async () => {
    h = await startAppHarness({ files: {} });
    const yaml = "version: 3\nprojects:\n  - name: a\n    workspace: staging\n";
    const gh = new GitHubNock().tokens(1).rootListing(SHA1, ["atoll.yaml", "main.tf"]).fileContent("atoll.yaml", SHA1, yaml);
    // The changed files are read while the config is (a full plan needs both).
    gh.changedFiles(6, [{ filename: "main.tf" }]);
    const comments = gh.comments(6);
    const created = gh.createCheckRuns(2);

    await h.deliver(pullRequestEvent("opened", { number: 6, headSha: SHA1 }));

    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain("atoll.yaml");
    expect(comments[0].body).toMatch(/line 3/);
    expect(comments[0].body).toMatch(/dir/);
    expect(created.map((c) => [c.name, c.conclusion])).toEqual([
      ["atoll/plan", "failure"],
      ["atoll/apply", "failure"],
    ]);
    expect(h.workspaces.requests).toHaveLength(0);
  });

  test("with atoll.yaml, projects come from when_modified and autoplan.enabled", async () => {
    const config = [
      "version: 3",
      "projects:",
      "  - name: net",
      "    dir: network",
      "    workspace: staging",
      "  - name: off",
      "    dir: network",
      "    workspace: prod",
      "    autoplan:",
      "      enabled: false",
      "  - dir: apps",
      "",
    ].join("\n");
    h = await startAppHarness({ files: { [SHA1]: { "atoll.yaml": config, "network/main.tf": MAIN_TF, "apps/main.tf": MAIN_TF } } });
    const gh = new GitHubNock().tokens(1).rootListing(SHA1, ["atoll.yaml", "network", "apps"]).fileContent("atoll.yaml", SHA1, config);
    gh.changedFiles(7, [{ filename: "network/main.tf" }]).reviews(7);
    const created = gh.createCheckRuns(3);
    gh.updateCheckRuns(1);
    const comments = gh.comments(7);

    await h.deliver(pullRequestEvent("opened", { number: 7, headSha: SHA1 }));

    expect(created.map((c) => c.name)).toEqual(["atoll/plan", "atoll/plan: net", "atoll/apply"]);
    expect(comments[0].body).toContain("atoll apply -p net");
    // The project ran in its own workspace.
    const [state] = await h.store.listProjects({ owner: "Codertocat", repo: "Hello-World" }, 7);
    expect(state.project).toEqual({ name: "net", dir: "network", workspace: "staging" });
  });
});
