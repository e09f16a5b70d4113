import {
  checkRunEvent,
  deliveryId,
  issueCommentEvent,
  pullRequestEvent,
  pullRequestReviewEvent,
  validateWebhookPayload,
  type PullRequestAction,
} from "../helpers/events.js";

// Payloads are inspected as plain JSON.
type Json = any;

/** Every string anywhere in the payload (except under keys named `skipKey`). */
function allStrings(node: unknown, out: string[] = [], skipKey?: string): string[] {
  if (typeof node === "string") out.push(node);
  else if (Array.isArray(node)) node.forEach((v) => allStrings(v, out, skipKey));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) if (k !== skipKey) allStrings(v, out, skipKey);
  }
  return out;
}

function expectValid(name: string, payload: Json): void {
  expect(validateWebhookPayload(name, payload.action, payload)).toEqual([]);
}

const SHA_A = "a".repeat(40);
const SHA_B = "b".repeat(40);

describe("repository fields", () => {
  const builders: Array<[string, (o: { owner: string; repo: string; htmlBase?: string; installationId?: number }) => Json]> = [
    ["pull_request", (o) => pullRequestEvent("opened", o)],
    ["issue_comment", (o) => issueCommentEvent({ ...o, body: "atlantis plan" })],
    ["pull_request_review", (o) => pullRequestReviewEvent({ ...o, state: "approved" })],
    ["check_run", (o) => checkRunEvent("requested_action", { ...o, name: "atoll/plan", headSha: SHA_A, pullRequests: [3] })],
  ];

  test.each(builders)("%s: identity fields are consistent and nothing points at the example repo", (name, build) => {
    const event = build({ owner: "acme", repo: "infra", installationId: 77 });
    expect(event.name).toBe(name);
    const r = event.payload.repository;
    expect(r).toMatchObject({
      name: "infra",
      full_name: "acme/infra",
      owner: { login: "acme" },
      html_url: "https://github.com/acme/infra",
      clone_url: "https://github.com/acme/infra.git",
      url: "https://api.github.com/repos/acme/infra",
    });
    expect(event.payload.installation.id).toBe(77);
    const strings = allStrings(event.payload);
    expect(strings.filter((s) => /Hello-World|electron\/electron|Codertocat/.test(s))).toEqual([]);
    expectValid(name, event.payload);
  });

  test.each(builders)("%s: a GHES htmlBase moves every github.com URL and derives /api/v3", (name, build) => {
    const event = build({ owner: "acme", repo: "infra", htmlBase: "https://ghe.example.com" });
    const r = event.payload.repository;
    expect(r.html_url).toBe("https://ghe.example.com/acme/infra");
    expect(r.clone_url).toBe("https://ghe.example.com/acme/infra.git");
    expect(r.url).toBe("https://ghe.example.com/api/v3/repos/acme/infra");
    // Only avatars (their own CDN hosts) may still mention GitHub's public hosts.
    expect(allStrings(event.payload, [], "avatar_url").filter((s) => /(^|[/@.])github\.com/.test(s))).toEqual([]);
    expect(event.payload.installation.id).toBe(1);
    expectValid(name, event.payload);
  });

  test("cloneUrl overrides only the clone URL", () => {
    const { payload } = pullRequestEvent("opened", { owner: "o", repo: "r", cloneUrl: "http://127.0.0.1:9/o/r.git" });
    expect(payload.repository.clone_url).toBe("http://127.0.0.1:9/o/r.git");
    expect(payload.pull_request.base.repo.clone_url).toBe("http://127.0.0.1:9/o/r.git");
    expect(payload.repository.html_url).toBe("https://github.com/o/r");
  });
});

describe("pullRequestEvent", () => {
  const actions: PullRequestAction[] = ["opened", "reopened", "synchronize", "ready_for_review", "closed"];

  test.each(actions)("%s validates, with defaults and with every option", (action) => {
    expectValid("pull_request", pullRequestEvent(action).payload);
    const { payload } = pullRequestEvent(action, {
      owner: "acme",
      repo: "infra",
      number: 42,
      headSha: SHA_A,
      baseSha: SHA_B,
      headRef: "feature/x",
      baseRef: "release",
      draft: action === "opened",
      merged: action === "closed",
      author: "dev",
      sender: "bot-user",
      title: "Add VPC",
      body: null,
    });
    expectValid("pull_request", payload);
    expect(payload.action).toBe(action);
    expect(payload.number).toBe(42);
    const pr = payload.pull_request;
    expect(pr).toMatchObject({
      number: 42,
      html_url: "https://github.com/acme/infra/pull/42",
      url: "https://api.github.com/repos/acme/infra/pulls/42",
      draft: action === "opened",
      title: "Add VPC",
      body: null,
      user: { login: "dev" },
      head: { sha: SHA_A, ref: "feature/x", label: "acme:feature/x", repo: { full_name: "acme/infra", fork: false } },
      base: { sha: SHA_B, ref: "release", label: "acme:release", repo: { full_name: "acme/infra" } },
    });
    expect(pr.statuses_url).toBe(`https://api.github.com/repos/acme/infra/statuses/${SHA_A}`);
    expect(allStrings(pr).filter((s) => /\/(pulls|pull|issues)\/\d+/.test(s) && !/\/(pulls|pull|issues)\/42/.test(s))).toEqual([]);
    expect(payload.sender.login).toBe("bot-user");
  });

  test("closed reflects merged / not merged; other actions are open", () => {
    const merged = pullRequestEvent("closed", { merged: true, mergeCommitSha: SHA_B }).payload.pull_request;
    expect(merged).toMatchObject({ state: "closed", merged: true, merge_commit_sha: SHA_B });
    expect(merged.merged_at).not.toBeNull();
    const unmerged = pullRequestEvent("closed", { merged: false }).payload.pull_request;
    expect(unmerged).toMatchObject({ state: "closed", merged: false, merged_at: null, merged_by: null });
    expect(pullRequestEvent("reopened").payload.pull_request).toMatchObject({ state: "open", closed_at: null });
  });

  test("synchronize carries before/after", () => {
    const { payload } = pullRequestEvent("synchronize", { headSha: SHA_A, beforeSha: SHA_B });
    expect(payload).toMatchObject({ before: SHA_B, after: SHA_A });
  });

  test("fork: head.repo is the contributor's repository", () => {
    const { payload } = pullRequestEvent("opened", { owner: "acme", repo: "infra", author: "outsider", fork: true });
    expectValid("pull_request", payload);
    const { head, base } = payload.pull_request;
    expect(head.repo).toMatchObject({
      full_name: "outsider/infra",
      owner: { login: "outsider" },
      fork: true,
      clone_url: "https://github.com/outsider/infra.git",
      html_url: "https://github.com/outsider/infra",
    });
    expect(head.repo.id).not.toBe(base.repo.id);
    expect(head.label).toBe("outsider:changes");
    expect(base.repo.full_name).toBe("acme/infra");
    expect(allStrings(head.repo).filter((s) => s.includes("acme/infra"))).toEqual([]);
  });
});

describe("issueCommentEvent", () => {
  test("on a pull request (default) sets issue.pull_request and PR URLs", () => {
    const { payload } = issueCommentEvent({ body: "atlantis plan -d infra", number: 9, owner: "o", repo: "r", commentId: 555 });
    expectValid("issue_comment", payload);
    expect(payload.action).toBe("created");
    expect(payload.issue.number).toBe(9);
    expect(payload.issue.pull_request).toEqual({
      url: "https://api.github.com/repos/o/r/pulls/9",
      html_url: "https://github.com/o/r/pull/9",
      diff_url: "https://github.com/o/r/pull/9.diff",
      patch_url: "https://github.com/o/r/pull/9.patch",
      merged_at: null,
    });
    expect(payload.comment).toMatchObject({
      id: 555,
      body: "atlantis plan -d infra",
      url: "https://api.github.com/repos/o/r/issues/comments/555",
      html_url: "https://github.com/o/r/pull/9#issuecomment-555",
      issue_url: "https://api.github.com/repos/o/r/issues/9",
      performed_via_github_app: null,
    });
  });

  test("on a plain issue there is no pull_request", () => {
    const { payload } = issueCommentEvent({ body: "hello", onPullRequest: false, number: 4 });
    expectValid("issue_comment", payload);
    expect(payload.issue.pull_request).toBeUndefined();
    expect(payload.issue.html_url).toBe("https://github.com/Codertocat/Hello-World/issues/4");
  });

  test("user, bot type and performed_via_github_app", () => {
    const { payload } = issueCommentEvent({
      body: "Ran Plan",
      user: "atoll[bot]",
      userType: "Bot",
      performedViaAppId: 123,
      authorAssociation: "NONE",
    });
    expectValid("issue_comment", payload);
    expect(payload.comment.user).toMatchObject({
      login: "atoll[bot]",
      type: "Bot",
      url: "https://api.github.com/users/atoll%5Bbot%5D",
      html_url: "https://github.com/apps/atoll",
    });
    expect(payload.sender).toMatchObject({ login: "atoll[bot]", type: "Bot" });
    expect(payload.comment.performed_via_github_app).toMatchObject({ id: 123 });
    expect(payload.comment.author_association).toBe("NONE");
  });

  test("distinct comment ids by default", () => {
    const a = issueCommentEvent({ body: "a" }).payload.comment.id;
    const b = issueCommentEvent({ body: "b" }).payload.comment.id;
    expect(a).not.toBe(b);
  });
});

describe("pullRequestReviewEvent", () => {
  test.each(["approved", "changes_requested", "commented"] as const)("%s validates and carries state, reviewer, SHA", (state) => {
    const { payload } = pullRequestReviewEvent({ state, number: 5, headSha: SHA_A, reviewer: "alice", owner: "o", repo: "r" });
    expectValid("pull_request_review", payload);
    expect(payload.action).toBe("submitted");
    expect(payload.review).toMatchObject({
      state,
      commit_id: SHA_A,
      user: { login: "alice" },
      pull_request_url: "https://api.github.com/repos/o/r/pulls/5",
    });
    expect(payload.review.html_url).toMatch(/^https:\/\/github\.com\/o\/r\/pull\/5#pullrequestreview-\d+$/);
    expect(payload.pull_request).toMatchObject({ number: 5, head: { sha: SHA_A } });
    expect(payload.sender.login).toBe("alice");
  });
});

describe("checkRunEvent", () => {
  test("requested_action carries the identifier, run and suite details", () => {
    const { payload } = checkRunEvent("requested_action", {
      owner: "o",
      repo: "r",
      name: "atoll/plan: infra",
      headSha: SHA_A,
      checkRunId: 99,
      externalId: "pr=3;project=infra",
      identifier: "apply",
      sender: "alice",
      pullRequests: [3],
      conclusion: "success",
    });
    expectValid("check_run", payload);
    expect(payload.requested_action).toEqual({ identifier: "apply" });
    expect(payload.check_run).toMatchObject({
      id: 99,
      name: "atoll/plan: infra",
      head_sha: SHA_A,
      external_id: "pr=3;project=infra",
      status: "completed",
      conclusion: "success",
      url: "https://api.github.com/repos/o/r/check-runs/99",
      app: { id: 123 },
      pull_requests: [{ number: 3, head: { sha: SHA_A } }],
      check_suite: { head_sha: SHA_A, pull_requests: [{ number: 3 }] },
    });
    expect(payload.sender.login).toBe("alice");
  });

  test("rerequested has no requested_action; pull_requests default to empty (fork-safe)", () => {
    const { payload } = checkRunEvent("rerequested", { name: "atoll/plan", headSha: SHA_B, headRef: null, status: "in_progress" });
    expectValid("check_run", payload);
    expect(payload.action).toBe("rerequested");
    expect("requested_action" in payload).toBe(false);
    expect(payload.check_run).toMatchObject({ status: "in_progress", conclusion: null, completed_at: null, pull_requests: [] });
    expect(payload.check_run.check_suite.head_branch).toBeNull();
  });

  test("appId selects the owning app", () => {
    expect(checkRunEvent("rerequested", { name: "x", headSha: SHA_A, appId: 999 }).payload.check_run.app?.id).toBe(999);
  });
});

describe("validateWebhookPayload", () => {
  test("reports a missing required field", () => {
    const { payload } = pullRequestEvent("opened") as Json;
    delete payload.pull_request.head;
    expect(validateWebhookPayload("pull_request", "opened", payload)).toContain(
      "pull_request.opened: data/pull_request must have required property 'head'",
    );
  });

  test("reports a wrong type and a wrong action", () => {
    const { payload } = issueCommentEvent({ body: "x" }) as Json;
    payload.comment.id = "not-a-number";
    expect(validateWebhookPayload("issue_comment", "created", payload)).toContain(
      "issue_comment.created: data/comment/id must be integer",
    );
    const review = pullRequestReviewEvent({ state: "approved" }).payload as Json;
    review.action = "edited";
    expect(validateWebhookPayload("pull_request_review", "submitted", review)).toEqual([
      "pull_request_review.submitted: data/action must be equal to one of the allowed values",
    ]);
  });

  test("unknown webhooks are reported", () => {
    expect(validateWebhookPayload("pull_request", "exploded", {})).toEqual(["unknown webhook: pull_request.exploded"]);
  });
});

test("deliveryId and event ids are unique", () => {
  const ids = new Set([deliveryId(), deliveryId(), pullRequestEvent("opened").id, pullRequestEvent("opened").id]);
  expect(ids.size).toBe(4);
  expect(deliveryId()).toMatch(/^[0-9a-f-]{36}$/);
});
