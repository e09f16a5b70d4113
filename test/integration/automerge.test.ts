/**
 * Automerge wired into apply, through Probot with real terraform and strictly mocked GitHub
 * (OpenAPI-validated): the merge request happens after the apply comment and the aggregate
 * checks, only when every project is applied, with the configured method and the head sha.
 */
import { issueCommentEvent, pullRequestEvent } from "../helpers/events.js";
import { GitHubNock } from "../helpers/github-nock.js";
import { startAppHarness, type AppHarness } from "../helpers/app-harness.js";
import { useStrictNock } from "../helpers/strict-nock.js";
import { parseServerPolicy } from "../../src/config/server-policy.js";

const SHA1 = "1".repeat(40);
const tf = (input: string) => `resource "terraform_data" "web" {\n  input = "${input}"\n}\n`;
const REPO = { owner: "Codertocat", repo: "Hello-World" };
const CONFIG = "version: 3\nautomerge: true\ndelete_source_branch_on_merge: true\n";
const POLICY = "repos:\n  - id: /.*/\n    allowed_overrides: [delete_source_branch_on_merge]\n";
const ROOT = ["atoll.yaml", "week2", "week3"];

describe("automerge after apply", () => {
  useStrictNock();
  let h: AppHarness;
  beforeEach(async () => {
    const policy = parseServerPolicy(POLICY, "policy.yaml");
    if (!policy.ok) throw new Error(JSON.stringify(policy.errors));
    h = await startAppHarness({
      files: { [SHA1]: { "atoll.yaml": CONFIG, "week2/main.tf": tf("two"), "week3/main.tf": tf("three") } },
      env: { ATOLL_AUTOMERGE_METHOD: "squash" },
      policy: policy.policy,
    });
  });
  afterEach(async () => {
    await h.dispose();
    expect(h.jobErrors).toEqual([]);
  });

  /** Autoplan of both projects (PR opened). */
  async function planBoth(gh: GitHubNock) {
    gh.rootListing(SHA1, ROOT).fileContent("atoll.yaml", SHA1, CONFIG);
    gh.changedFiles(1, [{ filename: "week2/main.tf" }, { filename: "week3/main.tf" }]).reviews(1);
    // Plan aggregate in progress, the two project runs created completed, the apply aggregate; the
    // plan aggregate's result is the one update.
    gh.createCheckRuns(4);
    gh.updateCheckRuns(1);
    gh.comments(1);
    await h.deliver(pullRequestEvent("opened", { number: 1, headSha: SHA1 }));
    expect((await h.store.listProjects(REPO, 1)).map((s) => [s.project.dir, s.plan, s.hasChanges])).toEqual([
      ["week2", "success", true],
      ["week3", "success", true],
    ]);
  }

  /** Mocks of an apply by bob that applies `projects` projects; returns the bodies of `comments` comments. */
  function mockApply(gh: GitHubNock, commentId: number, comments: number, projects = 1) {
    gh.reaction(commentId);
    gh.pull({ number: 1, headSha: SHA1 }).permission("bob", "write").rootListing(SHA1, ROOT).fileContent("atoll.yaml", SHA1, CONFIG).reviews(1);
    gh.createCheckRuns(projects);
    gh.updateCheckRuns(projects + 2);
    return gh.comments(1, comments);
  }

  test("the last apply merges (squash, head sha) and deletes the branch; an earlier partial apply does not", async () => {
    const gh = new GitHubNock().tokens(1);
    await planBoth(gh);

    // Only week2 applied: week3 still has a plan waiting, so no merge (strict nock: no PUT allowed).
    let comments = mockApply(gh, 3, 1);
    await h.deliver(issueCommentEvent({ body: "atoll apply -d week2", number: 1, user: "bob", commentId: 3 }));
    expect(comments[0].body).toContain("Apply complete!");

    comments = mockApply(gh, 4, 2);
    const merges = gh.merge(1);
    gh.deleteBranch("changes");
    await h.deliver(issueCommentEvent({ body: "atoll apply -d week3", number: 1, user: "bob", commentId: 4 }));
    expect(comments[0].body).toContain("Apply complete!");
    expect(merges).toEqual([{ merge_method: "squash", sha: SHA1 }]);
    // The merge comes after the apply comment and the aggregates (1000 plan, 1003 apply).
    expect(gh.writes.slice(-5)).toEqual(["comment", "update 1000 atoll/plan completed", "update 1003 atoll/apply completed", "merge", "comment"]);
    expect(comments[1].body).toBe("Automatically merged because all plans were successfully applied.\n\nDeleted the source branch `changes`.");
    expect((await h.store.listProjects(REPO, 1)).map((s) => s.apply)).toEqual(["success", "success"]);
  });

  test("GitHub refuses the merge: one 'Automerging failed' comment, the branch stays", async () => {
    const gh = new GitHubNock().tokens(1);
    await planBoth(gh);
    const comments = mockApply(gh, 3, 2, 2);
    gh.merge(1, 405, "Required status check \"ci\" is expected.");
    await h.deliver(issueCommentEvent({ body: "atoll apply", number: 1, user: "bob", commentId: 3 }));
    expect(comments[0].body).toContain("Ran Apply for 2 projects");
    expect(gh.writes.slice(-5)).toEqual(["comment", "update 1000 atoll/plan completed", "update 1003 atoll/apply completed", "merge", "comment"]);
    expect(comments[1].body).toBe('Automerging failed: Required status check "ci" is expected.');
  });
});
