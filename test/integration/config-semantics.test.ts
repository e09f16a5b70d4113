/**
 * What repo config keys and the server policy *do* at run time, through webhooks into the real
 * app (Probot, SQLite store, job runner, real terraform on `terraform_data` resources) with
 * strictly mocked, OpenAPI-validated GitHub: silenced comments, plan requirements, lock modes,
 * autodiscover next to configured projects, glob dirs, the policy's repo allowlist, and
 * `abort_on_execution_order_fail`. The parsing and policy checks themselves are unit-tested
 * (repo-config, server-policy, load-repo-config); here each key must change what happens.
 */
import { availableParallelism } from "node:os";
import path from "node:path";
import { createExecaTerraform } from "../../src/adapters/execa-terraform.js";
import type { ServerPolicy } from "../../src/config/config-types.js";
import { parseServerPolicy } from "../../src/config/server-policy.js";
import { NOT_ALLOWLISTED } from "../../src/handlers/issue-comment.js";
import type { TerraformPort } from "../../src/ports/terraform.js";
import { issueCommentEvent, pullRequestEvent } from "../helpers/events.js";
import { GitHubNock } from "../helpers/github-nock.js";
import { startAppHarness, type AppHarness } from "../helpers/app-harness.js";
import { useStrictNock } from "../helpers/strict-nock.js";

const SHA1 = "1".repeat(40);
const SHA2 = "2".repeat(40);
const REPO = { owner: "Codertocat", repo: "Hello-World" };
const WITH_CHANGES = `resource "terraform_data" "web" {\n  input = "v1"\n}\n`;
/** terraform init already rejects it. */
const BROKEN = `resource "terraform_data" "oops" {\n  input = \n}\n`;
/** Headline of a project skipped by `abort_on_execution_order_fail` (see plan-command.ts). */
const SKIPPED =
  "Not planned: a project in an earlier execution order group failed, and the repo config sets `abort_on_execution_order_fail: true`.";

function policy(...lines: string[]): ServerPolicy {
  const parsed = parseServerPolicy(lines.join("\n") + "\n", "policy.yaml");
  if (!parsed.ok) throw new Error(`bad test policy: ${JSON.stringify(parsed.errors)}`);
  return parsed.policy;
}

/** A policy letting every repo set the given restricted keys. */
const allowing = (...keys: string[]) => policy("repos:", "  - id: /.*/", `    allowed_overrides: [${keys.join(", ")}]`);

const yaml = (...lines: string[]) => lines.join("\n") + "\n";

/**
 * The real terraform, recording the project dir (relative to the checkout) of every init and
 * plan, and the GOMAXPROCS and GOGC each plan was given.
 */
function recordingTerraform(): { terraform: TerraformPort; inits: string[]; plans: string[]; planCores: Array<string | undefined>; planGogc: Array<string | undefined> } {
  const real = createExecaTerraform();
  const inits: string[] = [];
  const plans: string[] = [];
  const planCores: Array<string | undefined> = [];
  const planGogc: Array<string | undefined> = [];
  const rel = (cwd: string) => cwd.split(`${path.sep}repo${path.sep}`).pop()!.split(path.sep).join("/");
  const terraform: TerraformPort = {
    ...real,
    init: (o) => (inits.push(rel(o.cwd)), real.init(o)),
    plan: (o) => (plans.push(rel(o.cwd)), planCores.push(o.env?.GOMAXPROCS), planGogc.push(o.env?.GOGC), real.plan(o)),
  };
  return { terraform, inits, plans, planCores, planGogc };
}

type Updated = { id: number; body: Record<string, unknown> }[];
const bodyOf = (updated: Updated, id: number) => {
  const last = updated.filter((u) => u.id === id).pop();
  if (!last) throw new Error(`check run ${id} was never updated`);
  return last.body;
};
const outputOf = (body: Record<string, unknown>) => body.output as { title: string; summary: string; text?: string };

type Created = Record<string, unknown>[];
/** The one check run created with this name (its body). */
const createdNamed = (created: Created, name: string) => {
  const runs = created.filter((c) => c.name === name);
  if (runs.length !== 1) throw new Error(`${runs.length} check runs named ${name} were created`);
  return runs[0];
};
/**
 * The check runs of one plan: the plan aggregate "in progress" first (the plan's only progress
 * write), then the project runs, created completed in the order the projects finished (parallel
 * plans finish in any order), then the apply aggregate.
 */
function expectPlanRuns(created: Created, projectRuns: string[]) {
  const names = created.map((c) => String(c.name));
  expect([names[0], names[names.length - 1]]).toEqual(["atoll/plan", "atoll/apply"]);
  expect(created[0].status).toBe("in_progress");
  expect(names.slice(1, -1).sort()).toEqual([...projectRuns].sort());
  for (const run of created.slice(1, -1)) expect(run.status).toBe("completed");
}

describe("repo config and server policy semantics", () => {
  useStrictNock();
  let h: AppHarness;
  afterEach(async () => {
    await h.dispose();
    expect(h.jobErrors).toEqual([]);
  });

  /** Mocks for an autoplan of PR `n` at `sha` that reads `config` as atoll.yaml and checks out. */
  function autoplanMocks(gh: GitHubNock, n: number, sha: string, config: string, root: string[], changed: string[]) {
    gh.rootListing(sha, ["atoll.yaml", ...root]).fileContent("atoll.yaml", sha, config);
    gh.changedFiles(n, changed.map((filename) => ({ filename })));
  }

  test("a plan done within ATOLL_PROGRESS_DELAY shows no in-progress check runs: only final results, and the state knows the run", async () => {
    const config = yaml("version: 3", "projects:", "  - name: app", "    dir: app");
    h = await startAppHarness({ files: { [SHA1]: { "atoll.yaml": config, "app/main.tf": WITH_CHANGES } }, env: { ATOLL_PROGRESS_DELAY: "1h" } });
    const gh = new GitHubNock().tokens(1);
    autoplanMocks(gh, 1, SHA1, config, ["app"], ["app/main.tf"]);
    gh.reviews(1);
    const created = gh.createCheckRuns(3);
    // No gh.updateCheckRuns(): strict nock fails the test on any update.
    const comments = gh.comments(1);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    expect(created.map((c) => [c.name, c.status, c.conclusion])).toEqual([
      ["atoll/plan: app", "completed", "success"],
      ["atoll/plan", "completed", "success"],
      ["atoll/apply", "queued", undefined],
    ]);
    expect(comments[0].body).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    const [state] = await h.store.listProjects(REPO, 1);
    expect(state.planCheckRunId).toBe(1000);
  });

  test.each([
    [true, process.env.GOMAXPROCS ? undefined : String(Math.max(1, Math.floor(availableParallelism() / 3)))],
    [false, undefined],
  ])("parallel_plan: %s — terraform processes running together share the cores (GOMAXPROCS %s); GOGC 400", async (parallel, cores) => {
    const config = yaml("version: 3", `parallel_plan: ${parallel}`, "projects:", "  - dir: a", "  - dir: b", "  - dir: c");
    const tf = recordingTerraform();
    h = await startAppHarness({
      files: { [SHA1]: { "atoll.yaml": config, "a/main.tf": WITH_CHANGES, "b/main.tf": WITH_CHANGES, "c/main.tf": WITH_CHANGES } },
      env: { ATOLL_PROGRESS_DELAY: "1h" },
      terraform: tf.terraform,
    });
    const gh = new GitHubNock().tokens(1);
    autoplanMocks(gh, 1, SHA1, config, ["a", "b", "c"], ["a/main.tf", "b/main.tf", "c/main.tf"]);
    gh.reviews(1);
    gh.createCheckRuns(5);
    const comments = gh.comments(1);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    expect(tf.plans.sort()).toEqual(["a", "b", "c"]);
    expect(tf.planCores).toEqual([cores, cores, cores]);
    const gogc = process.env.GOGC?.trim() || process.env.GOMEMLIMIT?.trim() ? undefined : "400";
    expect(tf.planGogc).toEqual([gogc, gogc, gogc]);
    expect(comments[0].body).toContain("Ran Plan for 3 projects");
  });

  test("`silence_pr_comments: [plan]` (allowed by the policy): check runs are posted, no plan comment", async () => {
    const config = yaml("version: 3", "projects:", "  - name: app", "    dir: app", "    silence_pr_comments: [plan]");
    h = await startAppHarness({ files: { [SHA1]: { "atoll.yaml": config, "app/main.tf": WITH_CHANGES } }, policy: allowing("silence_pr_comments") });
    const gh = new GitHubNock().tokens(1);
    autoplanMocks(gh, 1, SHA1, config, ["app"], ["app/main.tf"]);
    gh.reviews(1);
    const created = gh.createCheckRuns(3);
    const updated = gh.updateCheckRuns(1);
    // No gh.comments(): strict nock fails the test on any comment.

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    expect(created.map((c) => [c.name, c.status])).toEqual([
      ["atoll/plan", "in_progress"],
      ["atoll/plan: app", "completed"],
      ["atoll/apply", "queued"],
    ]);
    const project = created[1];
    expect(project).toMatchObject({ status: "completed", conclusion: "success" });
    expect(outputOf(project).title).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    expect(outputOf(project).text).toContain("terraform_data.web");
    expect(bodyOf(updated, 1000)).toMatchObject({ status: "completed", conclusion: "success" });
    const [state] = await h.store.listProjects(REPO, 1);
    expect(state).toMatchObject({ project: { name: "app", dir: "app", workspace: "default" }, plan: "success", hasChanges: true });
    expect(state.planBlob).toBeDefined();
  });

  test("a silenced project is left out of the comment that reports the others", async () => {
    const config = yaml("version: 3", "projects:", "  - {name: quiet, dir: quiet, silence_pr_comments: [plan]}", "  - {name: loud, dir: loud}");
    h = await startAppHarness({
      files: { [SHA1]: { "atoll.yaml": config, "quiet/main.tf": WITH_CHANGES, "loud/main.tf": WITH_CHANGES } },
      policy: allowing("silence_pr_comments"),
    });
    const gh = new GitHubNock().tokens(1);
    autoplanMocks(gh, 1, SHA1, config, ["quiet", "loud"], ["quiet/main.tf", "loud/main.tf"]);
    gh.reviews(1);
    const created = gh.createCheckRuns(4);
    const updated = gh.updateCheckRuns(1);
    const comments = gh.comments(1);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    // The silenced project still gets its check run.
    expectPlanRuns(created, ["atoll/plan: quiet", "atoll/plan: loud"]);
    expect(createdNamed(created, "atoll/plan: quiet")).toMatchObject({ status: "completed", conclusion: "success" });
    expect(bodyOf(updated, 1000)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toMatch(/^Ran Plan for project: `loud` dir: `loud` workspace: `default`/);
    expect(comments[0].body).toContain("atoll apply -p loud");
    expect(comments[0].body).not.toContain("quiet");
  });

  test("`plan_requirements: [approved]` (allowed) on an unapproved PR: that project is refused, terraform never runs for it", async () => {
    const config = yaml(
      "version: 3",
      "projects:",
      "  - name: gated",
      "    dir: gated",
      "    plan_requirements: [approved]",
      "  - name: free",
      "    dir: free",
    );
    const tf = recordingTerraform();
    h = await startAppHarness({
      files: { [SHA1]: { "atoll.yaml": config, "gated/main.tf": WITH_CHANGES, "free/main.tf": WITH_CHANGES } },
      policy: allowing("plan_requirements"),
      terraform: tf.terraform,
    });
    const gh = new GitHubNock().tokens(1);
    autoplanMocks(gh, 1, SHA1, config, ["gated", "free"], ["gated/main.tf", "free/main.tf"]);
    // One round of review requests serves both the apply readiness shown on the check runs and
    // the plan gate; the author's own approval does not count.
    gh.reviews(1, [{ user: "Codertocat", state: "APPROVED" }]);
    const created = gh.createCheckRuns(4);
    const updated = gh.updateCheckRuns(1);
    const comments = gh.comments(1);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1, author: "Codertocat" }));

    expect(tf.inits).toEqual(["free"]);
    expect(tf.plans).toEqual(["free"]);
    expectPlanRuns(created, ["atoll/plan: gated", "atoll/plan: free"]);
    const unmet = "Plan requirements not met for gated:\n- **approved**: no approving review from someone other than the author";
    const gated = createdNamed(created, "atoll/plan: gated");
    expect(gated).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(`${outputOf(gated).title}\n${outputOf(gated).summary}`).toContain("Plan requirements not met for gated");
    expect(createdNamed(created, "atoll/plan: free")).toMatchObject({ status: "completed", conclusion: "success" });
    expect(bodyOf(updated, 1000)).toMatchObject({ status: "completed", conclusion: "failure" });

    expect(comments[0].body).toContain("Ran Plan for 2 projects:");
    expect(comments[0].body).toContain(unmet);
    expect(comments[0].body).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");

    const states = await h.store.listProjects(REPO, 1);
    const byName = (name: string) => states.find((s) => s.project.name === name)!;
    expect(byName("gated")).toMatchObject({ plan: "failed", hasChanges: false });
    expect(byName("gated").planBlob).toBeUndefined();
    expect(byName("free")).toMatchObject({ plan: "success", hasChanges: true });
  });

  test.each(["disabled", "on_apply"])("`repo_locks: {mode: %s}` (allowed): planning takes no lock, so another PR plans the same dir without queueing", async (mode) => {
    const config = yaml("version: 3", "projects:", "  - dir: app", `    repo_locks: {mode: ${mode}}`);
    const files = { "atoll.yaml": config, "app/main.tf": WITH_CHANGES };
    h = await startAppHarness({ files: { [SHA1]: files, [SHA2]: files }, policy: allowing("repo_locks") });
    const gh = new GitHubNock().tokens(1);
    autoplanMocks(gh, 1, SHA1, config, ["app"], ["app/main.tf"]);
    // The repository has a local cache after #1: #2's config is read from its checkout, not the API.
    gh.changedFiles(2, [{ filename: "app/main.tf" }]);
    gh.reviews(1).reviews(2);
    const created = gh.createCheckRuns(6);
    const updated = gh.updateCheckRuns(2);
    const comments = gh.comments(1);
    const comments2 = gh.comments(2);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));
    expect(await h.store.listLocks(REPO)).toEqual([]);
    expect(await h.store.getLock(REPO, { name: "", dir: "app", workspace: "default" })).toBeUndefined();

    // With a lock held by #1 this would look #1 up and queue #2 (strict nock: no such mock).
    await h.deliver(pullRequestEvent("opened", { number: 2, headSha: SHA2 }));

    expect(await h.store.listLocks(REPO)).toEqual([]);
    expect(await h.store.listWaiters(REPO, { name: "", dir: "app", workspace: "default" })).toEqual([]);
    expect(created.map((c) => [c.name, c.head_sha, c.status])).toEqual([
      ["atoll/plan", SHA1, "in_progress"],
      ["atoll/plan: app", SHA1, "completed"],
      ["atoll/apply", SHA1, "queued"],
      ["atoll/plan", SHA2, "in_progress"],
      ["atoll/plan: app", SHA2, "completed"],
      ["atoll/apply", SHA2, "queued"],
    ]);
    expect(created[1]).toMatchObject({ conclusion: "success" });
    expect(created[4]).toMatchObject({ conclusion: "success" });
    expect(bodyOf(updated, 1000)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(bodyOf(updated, 1003)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(comments[0].body).toContain("Plan: 1 to add");
    expect(comments2[0].body).toContain("Plan: 1 to add");
    expect(comments2[0].body).not.toContain("locked by");
    expect((await h.store.listProjects(REPO, 1))[0]).toMatchObject({ plan: "success" });
    expect((await h.store.listProjects(REPO, 2))[0]).toMatchObject({ plan: "success" });
  });

  test("`autodiscover: {mode: enabled}`: a configured project and a changed unconfigured Terraform dir are both planned; ignore_paths hold", async () => {
    const config = yaml(
      "version: 3",
      "autodiscover:",
      "  mode: enabled",
      '  ignore_paths: ["legacy/**"]',
      "projects:",
      "  - name: app",
      "    dir: app",
    );
    const tf = recordingTerraform();
    h = await startAppHarness({
      files: { [SHA1]: { "atoll.yaml": config, "app/main.tf": WITH_CHANGES, "other/main.tf": WITH_CHANGES, "legacy/main.tf": WITH_CHANGES } },
      terraform: tf.terraform,
    });
    const gh = new GitHubNock().tokens(1);
    autoplanMocks(gh, 1, SHA1, config, ["app", "other", "legacy"], ["app/main.tf", "other/main.tf", "legacy/main.tf", "README.md"]);
    gh.reviews(1);
    const created = gh.createCheckRuns(4);
    const updated = gh.updateCheckRuns(1);
    const comments = gh.comments(1);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    // `app` once, as configured (named) — not also discovered; `legacy` is ignored.
    expectPlanRuns(created, ["atoll/plan: app", "atoll/plan: other"]);
    expect(tf.plans.sort()).toEqual(["app", "other"]);
    expect(createdNamed(created, "atoll/plan: app")).toMatchObject({ conclusion: "success" });
    expect(createdNamed(created, "atoll/plan: other")).toMatchObject({ conclusion: "success" });
    expect(bodyOf(updated, 1000)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(comments[0].body).toContain("Ran Plan for 2 projects:");
    expect(comments[0].body).toContain("atoll apply -p app");
    expect(comments[0].body).toContain("atoll apply -d other");
    expect((await h.store.listProjects(REPO, 1)).map((s) => s.project).sort((a, b) => a.dir.localeCompare(b.dir))).toEqual([
      { name: "app", dir: "app", workspace: "default" },
      { name: "", dir: "other", workspace: "default" },
    ]);
  });

  test("a glob `dir: stacks/*` plans each changed stack dir as its own project, with the entry's settings", async () => {
    const config = yaml("version: 3", "projects:", "  - dir: stacks/*", "    workspace: staging");
    const tf = recordingTerraform();
    h = await startAppHarness({
      files: {
        [SHA1]: {
          "atoll.yaml": config,
          "stacks/a/main.tf": WITH_CHANGES,
          "stacks/b/main.tf": WITH_CHANGES,
          "stacks/c/main.tf": WITH_CHANGES,
          "stacks/docs/README.md": "no terraform here",
          "other/main.tf": WITH_CHANGES,
        },
      },
      terraform: tf.terraform,
    });
    const gh = new GitHubNock().tokens(1);
    // `other` is not configured (auto mode: a listed glob means no discovery); stacks/c is unchanged.
    autoplanMocks(gh, 1, SHA1, config, ["stacks", "other"], ["stacks/a/main.tf", "stacks/b/main.tf", "stacks/docs/README.md", "other/main.tf"]);
    gh.reviews(1);
    const created = gh.createCheckRuns(4);
    const updated = gh.updateCheckRuns(1);
    const comments = gh.comments(1);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    expectPlanRuns(created, ["atoll/plan: stacks/a (workspace staging)", "atoll/plan: stacks/b (workspace staging)"]);
    expect([...tf.plans].sort()).toEqual(["stacks/a", "stacks/b"]);
    expect(createdNamed(created, "atoll/plan: stacks/a (workspace staging)")).toMatchObject({ conclusion: "success" });
    expect(createdNamed(created, "atoll/plan: stacks/b (workspace staging)")).toMatchObject({ conclusion: "success" });
    expect(bodyOf(updated, 1000)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(comments[0].body).toContain("atoll apply -d stacks/a -w staging");
    expect(comments[0].body).toContain("atoll apply -d stacks/b -w staging");
    expect((await h.store.listProjects(REPO, 1)).map((s) => s.project)).toEqual([
      { name: "", dir: "stacks/a", workspace: "staging" },
      { name: "", dir: "stacks/b", workspace: "staging" },
    ]);
  });

  test("a glob that matches no dir still counts as a listed project: auto mode discovers nothing", async () => {
    const config = yaml("version: 3", "projects:", "  - dir: envs/*");
    const tf = recordingTerraform();
    h = await startAppHarness({ files: { [SHA1]: { "atoll.yaml": config, "other/main.tf": WITH_CHANGES } }, terraform: tf.terraform });
    // The checkout lists the Terraform dirs for the glob.
    const gh = new GitHubNock().tokens(1);
    autoplanMocks(gh, 1, SHA1, config, ["other"], ["other/main.tf"]);
    const created = gh.createCheckRuns(2);

    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    expect(created.map((c) => [c.name, c.status, c.conclusion])).toEqual([
      ["atoll/plan", "completed", "success"],
      ["atoll/apply", "completed", "success"],
    ]);
    expect(outputOf(created[0]).title).toMatch(/0 projects/);
    expect(tf.inits).toEqual([]);
    expect(await h.store.listProjects(REPO, 1)).toEqual([]);
  });

  test("a policy `repo_allowlist` excluding the repo: a comment command gets the not-allowlisted reply and nothing else", async () => {
    const tf = recordingTerraform();
    h = await startAppHarness({
      files: { [SHA1]: { "app/main.tf": WITH_CHANGES } },
      policy: policy('repo_allowlist: ["github.com/acme/*", "!github.com/Codertocat/*"]'),
      terraform: tf.terraform,
    });
    const gh = new GitHubNock().tokens(1);
    const reaction = gh.reaction(21);
    const comments = gh.comments(1);

    await h.deliver(issueCommentEvent({ body: "atoll plan -d app", number: 1, commentId: 21 }));
    // Autoplan stays silent: not a single request (strict nock).
    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));

    expect(reaction).toEqual([{ content: "eyes" }]);
    expect(comments.map((c) => c.body)).toEqual([NOT_ALLOWLISTED]);
    expect(h.workspaces.requests).toEqual([]);
    expect(tf.inits).toEqual([]);
    expect(await h.store.listProjects(REPO, 1)).toEqual([]);
    expect(await h.store.listLocks(REPO)).toEqual([]);
  });

  describe("execution order groups", () => {
    const configWith = (abort: boolean) =>
      yaml(
        "version: 3",
        `abort_on_execution_order_fail: ${abort}`,
        "projects:",
        "  - {name: app, dir: app, execution_order_group: 2}",
        "  - {name: net, dir: net, execution_order_group: 1}",
      );

    async function planBoth(config: string) {
      const tf = recordingTerraform();
      h = await startAppHarness({ files: { [SHA1]: { "atoll.yaml": config, "net/main.tf": BROKEN, "app/main.tf": WITH_CHANGES } }, terraform: tf.terraform });
      const gh = new GitHubNock().tokens(1);
      autoplanMocks(gh, 1, SHA1, config, ["net", "app"], ["net/main.tf", "app/main.tf"]);
      gh.reviews(1);
      const created = gh.createCheckRuns(4);
      const updated = gh.updateCheckRuns(1);
      const comments = gh.comments(1);
      await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));
      // Project runs are created with their results: group 1's `net` (1001) before group 2's `app` (1002).
      expect(created.map((c) => [c.name, c.status])).toEqual([
        ["atoll/plan", "in_progress"],
        ["atoll/plan: net", "completed"],
        ["atoll/plan: app", "completed"],
        ["atoll/apply", "queued"],
      ]);
      // net failed: the plan aggregate fails.
      expect(bodyOf(updated, 1000)).toMatchObject({ status: "completed", conclusion: "failure" });
      return { tf, created, comment: comments[0].body };
    }

    test("`abort_on_execution_order_fail: true` with a failing group-1 project: the group-2 project is not planned", async () => {
      const { tf, created, comment } = await planBoth(configWith(true));

      expect(tf.inits).toEqual(["net"]);
      const net = created[1];
      expect(net).toMatchObject({ status: "completed", conclusion: "failure" });
      const app = created[2];
      expect(app).toMatchObject({ status: "completed", conclusion: "failure" });
      expect(`${outputOf(app).title}\n${outputOf(app).summary}`).toContain(SKIPPED);
      expect(comment).toContain("terraform init failed (exit code 1).");
      expect(comment).toContain(SKIPPED);
      const states = await h.store.listProjects(REPO, 1);
      expect(states.find((s) => s.project.name === "app")).toMatchObject({ plan: "failed", headline: SKIPPED });
      expect(states.find((s) => s.project.name === "app")!.planBlob).toBeUndefined();
    });

    test("without it, the later group is planned anyway (group 1 still runs first)", async () => {
      const { tf, created, comment } = await planBoth(configWith(false));

      expect(tf.inits).toEqual(["net", "app"]);
      expect(created[1]).toMatchObject({ name: "atoll/plan: net", conclusion: "failure" });
      expect(created[2]).toMatchObject({ name: "atoll/plan: app", conclusion: "success" });
      expect(comment).not.toContain("Not planned");
      expect(comment).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    });
  });
});
