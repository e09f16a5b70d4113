/**
 * Automerge decisions (src/runner/automerge.ts) against a recording fake GitHubPort: when it
 * merges, with which method and sha, what it comments, and when it deletes the branch.
 */
import { loadRepoConfig } from "../../src/config/load-repo-config.js";
import { parseServerPolicy } from "../../src/config/server-policy.js";
import type { ResolvedRepoConfig } from "../../src/config/apply-policy.js";
import type { GitHubPort, MergeMethod, MergeResult } from "../../src/ports/github.js";
import type { ProjectState } from "../../src/ports/store.js";
import { automergeAfterApply, type AutomergeContext } from "../../src/runner/commands/automerge.js";

const HEAD = "a".repeat(40);
const OLD = "0".repeat(40);
const PULL = { number: 7, headSha: HEAD, headRef: "feature/net", isFork: false };

type Call = { op: "merge"; method: MergeMethod; sha: string } | { op: "delete"; ref: string } | { op: "comment"; body: string };

function fakeGitHub(answer: MergeResult | Error = { merged: true, message: "Pull Request successfully merged" }, deleteError?: Error) {
  const calls: Call[] = [];
  const github = {
    async mergePull(n: number, opts: { method: MergeMethod; sha: string }) {
      expect(n).toBe(PULL.number);
      calls.push({ op: "merge", ...opts });
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async deleteBranch(ref: string) {
      calls.push({ op: "delete", ref });
      if (deleteError) throw deleteError;
    },
    async createComment(n: number, body: string) {
      expect(n).toBe(PULL.number);
      calls.push({ op: "comment", body });
      return { id: calls.length };
    },
  } as unknown as GitHubPort;
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const ctx = (method: MergeMethod = "merge"): AutomergeContext => ({ github, pullNumber: PULL.number, log: silent, deps: { settings: { automergeMethod: method } } });
  return { calls, ctx };
}

function state(dir: string, overrides: Partial<ProjectState> = {}): ProjectState {
  return {
    project: { name: "", dir, workspace: "default" },
    headSha: HEAD,
    plan: "success",
    hasChanges: true,
    apply: "success",
    extraArgs: [],
    headline: "",
    output: "",
    updatedAt: "2026-01-01T00:00:00Z",
    ...overrides,
  };
}

/** A repo config resolved under a policy, as runApply gets it. */
function config(yaml: string, policyYaml = "repos: []\n"): ResolvedRepoConfig {
  const policy = parseServerPolicy(policyYaml, "policy.yaml");
  if (!policy.ok) throw new Error(JSON.stringify(policy.errors));
  const loaded = loadRepoConfig(yaml, { policy: policy.policy, repo: { owner: "acme", name: "infra" }, baseBranch: "main" });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.config;
}

const AUTOMERGE = config("version: 3\nautomerge: true\n");
const ALLOW_DELETE = "repos:\n  - id: /.*/\n    allowed_overrides: [delete_source_branch_on_merge]\n";
const MERGED = "Automatically merged because all plans were successfully applied.";

describe("automergeAfterApply", () => {
  test("every project applied: merges with the configured method at the head sha and says so", async () => {
    const { calls, ctx } = fakeGitHub();
    const outcome = await automergeAfterApply(ctx("squash"), PULL, AUTOMERGE, [state("net"), state("app")]);
    expect(outcome).toBe("merged");
    expect(calls).toEqual([
      { op: "merge", method: "squash", sha: HEAD },
      { op: "comment", body: MERGED },
    ]);
  });

  test("apply --auto-merge-method overrides the setting; --auto-merge-disabled skips the merge", async () => {
    const a = fakeGitHub();
    expect(await automergeAfterApply(a.ctx("merge"), PULL, AUTOMERGE, [state("net")], { method: "rebase" })).toBe("merged");
    expect(a.calls[0]).toEqual({ op: "merge", method: "rebase", sha: HEAD });
    const b = fakeGitHub();
    expect(await automergeAfterApply(b.ctx("merge"), PULL, AUTOMERGE, [state("net")], { disabled: true })).toBe("skipped");
    expect(b.calls).toEqual([]);
    // Without automerge in the repo config the flags change nothing.
    const c = fakeGitHub();
    expect(await automergeAfterApply(c.ctx(), PULL, config("version: 3\n"), [state("net")], { method: "squash" })).toBe("skipped");
    expect(c.calls).toEqual([]);
  });

  test("a project whose plan had no changes counts without an apply; one that was applied counts too", async () => {
    const { calls, ctx } = fakeGitHub();
    const states = [state("net"), state("noop", { hasChanges: false, apply: "none" }), state("noop2", { hasChanges: false, apply: "success" })];
    expect(await automergeAfterApply(ctx(), PULL, AUTOMERGE, states)).toBe("merged");
    expect(calls.map((c) => c.op)).toEqual(["merge", "comment"]);
  });

  test.each([
    ["one project not applied yet", state("app", { apply: "none" })],
    ["one apply failed", state("app", { apply: "failed" })],
    ["one apply still running", state("app", { apply: "pending" })],
    ["one plan failed", state("app", { plan: "failed", hasChanges: false, apply: "none" })],
    ["one plan waiting for a lock", state("app", { plan: "queued", hasChanges: false, apply: "none" })],
    ["one plan from an older commit", state("app", { headSha: OLD })],
    ["a no-changes plan from an older commit", state("app", { headSha: OLD, hasChanges: false, apply: "none" })],
  ])("%s: no merge and no comment", async (_what, other) => {
    const { calls, ctx } = fakeGitHub();
    expect(await automergeAfterApply(ctx(), PULL, AUTOMERGE, [state("net"), other])).toBe("skipped");
    expect(calls).toEqual([]);
  });

  test("no projects at all, or automerge off: nothing happens", async () => {
    const { calls, ctx } = fakeGitHub();
    expect(await automergeAfterApply(ctx(), PULL, AUTOMERGE, [])).toBe("skipped");
    expect(await automergeAfterApply(ctx(), PULL, config("version: 3\n"), [state("net")])).toBe("skipped");
    expect(await automergeAfterApply(ctx(), PULL, config("version: 3\nautomerge: false\n"), [state("net")])).toBe("skipped");
    expect(calls).toEqual([]);
  });

  test("GitHub refuses (405/409 as a result): 'Automerging failed' with its message, and no branch deletion", async () => {
    const cfg = config("version: 3\nautomerge: true\ndelete_source_branch_on_merge: true\n", ALLOW_DELETE);
    const { calls, ctx } = fakeGitHub({ merged: false, message: "Head branch was modified. Review and try the merge again." });
    expect(await automergeAfterApply(ctx(), PULL, cfg, [state("net")])).toBe("failed");
    expect(calls).toEqual([
      { op: "merge", method: "merge", sha: HEAD },
      { op: "comment", body: "Automerging failed: Head branch was modified. Review and try the merge again." },
    ]);
  });

  test("any other error (e.g. 403 without contents: write) is reported the same way instead of failing the apply job", async () => {
    const { calls, ctx } = fakeGitHub(new Error("Resource not accessible by integration"));
    expect(await automergeAfterApply(ctx(), PULL, AUTOMERGE, [state("net")])).toBe("failed");
    expect(calls.at(-1)).toEqual({ op: "comment", body: "Automerging failed: Resource not accessible by integration" });
  });

  test("delete_source_branch_on_merge (allowed by the policy): the head branch is deleted after the merge", async () => {
    const cfg = config("version: 3\nautomerge: true\ndelete_source_branch_on_merge: true\n", ALLOW_DELETE);
    const { calls, ctx } = fakeGitHub();
    expect(await automergeAfterApply(ctx(), PULL, cfg, [state("net"), state("app")])).toBe("merged");
    expect(calls).toEqual([
      { op: "merge", method: "merge", sha: HEAD },
      { op: "delete", ref: "feature/net" },
      { op: "comment", body: `${MERGED}\n\nDeleted the source branch \`feature/net\`.` },
    ]);
  });

  test("the server policy's own delete_source_branch_on_merge counts too", async () => {
    const cfg = config("version: 3\nautomerge: true\n", "repos:\n  - id: /.*/\n    delete_source_branch_on_merge: true\n");
    const { calls, ctx } = fakeGitHub();
    await automergeAfterApply(ctx(), PULL, cfg, [state("net")]);
    expect(calls.map((c) => c.op)).toEqual(["merge", "delete", "comment"]);
  });

  test("a fork's branch is never deleted (it is not in this repository)", async () => {
    const cfg = config("version: 3\nautomerge: true\ndelete_source_branch_on_merge: true\n", ALLOW_DELETE);
    const { calls, ctx } = fakeGitHub();
    expect(await automergeAfterApply(ctx(), { ...PULL, isFork: true }, cfg, [state("net")])).toBe("merged");
    expect(calls).toEqual([
      { op: "merge", method: "merge", sha: HEAD },
      { op: "comment", body: MERGED },
    ]);
  });

  test("a project that opts out keeps the branch; every project must want it deleted", async () => {
    const cfg = config(
      "version: 3\nautomerge: true\ndelete_source_branch_on_merge: true\nprojects:\n  - dir: net\n  - dir: app\n    delete_source_branch_on_merge: false\n",
      ALLOW_DELETE,
    );
    const { calls, ctx } = fakeGitHub();
    await automergeAfterApply(ctx(), PULL, cfg, [state("net"), state("app")]);
    expect(calls.map((c) => c.op)).toEqual(["merge", "comment"]);
  });

  test("not allowed by the policy: the repo's delete_source_branch_on_merge is refused at load, so the default (keep) applies", async () => {
    expect(() => config("version: 3\nautomerge: true\ndelete_source_branch_on_merge: true\n")).toThrow(/delete_source_branch_on_merge/);
  });

  test("a failed branch deletion is mentioned; the merge stands", async () => {
    const cfg = config("version: 3\nautomerge: true\ndelete_source_branch_on_merge: true\n", ALLOW_DELETE);
    const { calls, ctx } = fakeGitHub(undefined, new Error("Resource not accessible by integration"));
    expect(await automergeAfterApply(ctx(), PULL, cfg, [state("net")])).toBe("merged");
    expect(calls.at(-1)).toEqual({
      op: "comment",
      body: `${MERGED}\n\nThe source branch \`feature/net\` could not be deleted: Resource not accessible by integration`,
    });
  });
});
