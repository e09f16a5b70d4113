/**
 * The Octokit adapter against strict nock (every declared call must happen, nothing else may) and
 * the OpenAPI contract: mergeability fields of `getPull`, `getMergeBlockers` (one GraphQL query),
 * `compareCommits`, `listCheckRuns`, and the automerge calls `mergePull` and `deleteBranch`.
 */
import nock from "nock";
import { ProbotOctokit, type Probot } from "probot";
import {
  MERGE_BLOCKERS_QUERY,
  UNINSPECTED_CHECKS,
  createOctokitGitHub,
} from "../../src/adapters/octokit-github.js";
import { createCloneTokenCache } from "../../src/adapters/clone-token-cache.js";
import type { GitHubPort } from "../../src/ports/github.js";
import { makeProbot } from "../helpers/probot.js";
import { openapiValidatorPlugin } from "../helpers/openapi-validator-plugin.js";
import { mockInstallationToken, useStrictNock } from "../helpers/strict-nock.js";

const OWNER = "Codertocat";
const REPO = "Hello-World";
const API = "https://api.github.com";
const HEAD = "a".repeat(40);

/** Rollup node builders, in the shape GitHub answers the fragments of MERGE_BLOCKERS_QUERY. */
const checkRun = (name: string, status: string, conclusion: string | null, isRequired: boolean) => ({
  __typename: "CheckRun",
  name,
  status,
  conclusion,
  isRequired,
});
const statusContext = (context: string, state: string, isRequired: boolean) => ({
  __typename: "StatusContext",
  context,
  state,
  isRequired,
});

function graphqlAnswer(reviewDecision: string | null, rollup: { totalCount?: number; nodes: unknown[] } | null) {
  return {
    data: {
      repository: {
        pullRequest: {
          reviewDecision,
          commits: {
            nodes: [{ commit: { statusCheckRollup: rollup === null ? null : { contexts: rollup } } }],
          },
        },
      },
    },
  };
}

function pullBody(extra: Record<string, unknown>) {
  const repoObj = { full_name: `${OWNER}/${REPO}`, clone_url: `https://github.com/${OWNER}/${REPO}.git` };
  return {
    number: 7,
    state: "open",
    merged: false,
    draft: false,
    title: "Change things",
    html_url: `https://github.com/${OWNER}/${REPO}/pull/7`,
    user: { login: "octocat" },
    head: { sha: HEAD, ref: "changes", repo: repoObj },
    base: { sha: "b".repeat(40), ref: "main", repo: repoObj },
    ...extra,
  };
}

describe("MERGE_BLOCKERS_QUERY", () => {
  test("asks for what the mapping reads", () => {
    // The fake GitHub server and readers rely on this shape.
    for (const fragment of [
      "pullRequest(number: $number)",
      "reviewDecision",
      "commits(last: 1)",
      "statusCheckRollup",
      "contexts(first: 100)",
      "totalCount",
      "... on CheckRun { name status conclusion isRequired(pullRequestNumber: $number) }",
      "... on StatusContext { context state isRequired(pullRequestNumber: $number) }",
    ]) {
      expect(MERGE_BLOCKERS_QUERY).toContain(fragment);
    }
    // No GraphQL parser is installed; at least the document must be balanced.
    expect(MERGE_BLOCKERS_QUERY.split("{").length).toBe(MERGE_BLOCKERS_QUERY.split("}").length);
    expect(MERGE_BLOCKERS_QUERY.split("(").length).toBe(MERGE_BLOCKERS_QUERY.split(")").length);
  });
});

describe("cloneToken on GitHub Enterprise: minted at the configured host, kept in the cache", () => {
  useStrictNock();
  const GHE = "https://ghe.example.com/api/v3";

  test("one mint serves every job of the installation; fresh mints again; no cache, one mint per call", async () => {
    const probot = await makeProbot({ baseUrl: GHE });
    const scope = nock(GHE);
    const cache = createCloneTokenCache();
    const jobA = createOctokitGitHub(await probot.auth(1), { owner: OWNER, repo: REPO, installationId: 1 }, cache);
    const jobB = createOctokitGitHub(await probot.auth(1), { owner: OWNER, repo: "other", installationId: 1 }, cache);
    mockInstallationToken(scope, 1, { token: "ghs_first" });
    const [a, b] = await Promise.all([jobA.cloneToken(), jobB.cloneToken()]);
    expect([a, b, await jobB.cloneToken()]).toEqual(["ghs_first", "ghs_first", "ghs_first"]);

    mockInstallationToken(scope, 1, { token: "ghs_second" });
    expect(await jobA.cloneToken({ fresh: true })).toBe("ghs_second");
    expect(await jobB.cloneToken()).toBe("ghs_second");

    const uncached = createOctokitGitHub(await probot.auth(1), { owner: OWNER, repo: REPO, installationId: 1 });
    mockInstallationToken(scope, 1, { token: "ghs_third" });
    expect(await uncached.cloneToken()).toBe("ghs_third");
  });
});

describe("octokit GitHub adapter", () => {
  useStrictNock();
  let probot: Probot;
  let scope: nock.Scope;
  let github: GitHubPort;

  beforeEach(async () => {
    probot = await makeProbot();
    scope = nock(API);
    mockInstallationToken(scope, 1);
    github = createOctokitGitHub(await probot.auth(1), { owner: OWNER, repo: REPO, installationId: 1 });
  });

  /** Declares the single GraphQL call and records what was posted. */
  function mockGraphql(answer: unknown): { query: string; variables: Record<string, unknown> }[] {
    const posted: { query: string; variables: Record<string, unknown> }[] = [];
    scope
      .post("/graphql", (b) => (posted.push(b as (typeof posted)[number]), true))
      .reply(200, answer as Record<string, unknown>);
    return posted;
  }

  describe("cloneToken on github.com: Probot's token for the installation", () => {
    test("after an API call, the token Probot holds; no further request", async () => {
      scope.get(`/repos/${OWNER}/${REPO}/pulls/7`).reply(200, pullBody({}));
      await github.getPull(7);
      expect(await github.cloneToken()).toBe("ghs_test_installation_1");
      expect(await github.cloneToken()).toBe("ghs_test_installation_1");
    });

    test("fresh: a new token", async () => {
      expect(await github.cloneToken()).toBe("ghs_test_installation_1");
      mockInstallationToken(scope, 1, { token: "ghs_second" });
      expect(await github.cloneToken({ fresh: true })).toBe("ghs_second");
    });

    test("a token with less than 10 minutes left is replaced", async () => {
      nock.cleanAll(); // the beforeEach's token lasts an hour: replace it by one about to expire
      mockInstallationToken(scope, 1, { token: "ghs_expiring", expiresInMs: 5 * 60_000 });
      mockInstallationToken(scope, 1, { token: "ghs_second" });
      expect(await github.cloneToken()).toBe("ghs_second");
    });
  });

  describe("getPull mergeability", () => {
    test.each([
      [{ mergeable: true, mergeable_state: "clean" }, { mergeable: true, mergeableState: "clean" }],
      [{ mergeable: false, mergeable_state: "dirty" }, { mergeable: false, mergeableState: "dirty" }],
      [{ mergeable: null, mergeable_state: "unknown" }, { mergeable: null, mergeableState: "unknown" }],
    ])("%j", async (fields, expected) => {
      scope.get(`/repos/${OWNER}/${REPO}/pulls/7`).reply(200, pullBody(fields));
      const pull = await github.getPull(7);
      expect(pull).toMatchObject({ number: 7, headSha: HEAD, ...expected });
    });

    test("absent fields stay absent (webhook payloads may lack them)", async () => {
      scope.get(`/repos/${OWNER}/${REPO}/pulls/7`).reply(200, pullBody({}));
      const pull = await github.getPull(7);
      expect("mergeable" in pull).toBe(false);
      expect("mergeableState" in pull).toBe(false);
    });
  });

  describe("getMergeBlockers", () => {
    test("posts the exported query once with owner, repo and number", async () => {
      const posted = mockGraphql(graphqlAnswer("APPROVED", { totalCount: 0, nodes: [] }));
      await expect(github.getMergeBlockers(7)).resolves.toEqual({ reviewDecision: "APPROVED", requiredNotPassing: [] });
      expect(posted).toHaveLength(1);
      expect(posted[0].query).toBe(MERGE_BLOCKERS_QUERY);
      expect(posted[0].variables).toEqual({ owner: OWNER, repo: REPO, number: 7 });
    });

    test("required check runs and statuses that have not passed; others ignored", async () => {
      mockGraphql(
        graphqlAnswer("REVIEW_REQUIRED", {
          totalCount: 11,
          nodes: [
            checkRun("build", "COMPLETED", "SUCCESS", true),
            checkRun("lint", "COMPLETED", "NEUTRAL", true),
            checkRun("docs", "COMPLETED", "SKIPPED", true),
            checkRun("test", "COMPLETED", "FAILURE", true),
            checkRun("atoll/apply", "IN_PROGRESS", null, true),
            checkRun("e2e", "QUEUED", null, true),
            checkRun("flaky", "COMPLETED", "FAILURE", false),
            checkRun("slow", "IN_PROGRESS", null, false),
            statusContext("ci/legacy", "SUCCESS", true),
            statusContext("ci/deploy", "PENDING", true),
            statusContext("ci/optional", "FAILURE", false),
          ],
        }),
      );
      await expect(github.getMergeBlockers(7)).resolves.toEqual({
        reviewDecision: "REVIEW_REQUIRED",
        requiredNotPassing: ["test", "atoll/apply", "e2e", "ci/deploy"],
      });
    });

    test("StatusContext: only SUCCESS passes", async () => {
      mockGraphql(
        graphqlAnswer(null, {
          totalCount: 4,
          nodes: [
            statusContext("s-error", "ERROR", true),
            statusContext("s-expected", "EXPECTED", true),
            statusContext("s-failure", "FAILURE", true),
            statusContext("s-ok", "SUCCESS", true),
          ],
        }),
      );
      await expect(github.getMergeBlockers(7)).resolves.toEqual({
        reviewDecision: null,
        requiredNotPassing: ["s-error", "s-expected", "s-failure"],
      });
    });

    test("no checks at all: a null rollup means nothing is missing", async () => {
      mockGraphql(graphqlAnswer("CHANGES_REQUESTED", null));
      await expect(github.getMergeBlockers(7)).resolves.toEqual({
        reviewDecision: "CHANGES_REQUESTED",
        requiredNotPassing: [],
      });
    });

    test("one page only: more contexts than read adds a sentinel instead of fetching more", async () => {
      // A second request would be an unmatched request (strict nock); the unread contexts must
      // not be taken as passing.
      mockGraphql(graphqlAnswer(null, { totalCount: 101, nodes: [checkRun("atoll/apply", "QUEUED", null, true)] }));
      await expect(github.getMergeBlockers(7)).resolves.toEqual({
        reviewDecision: null,
        requiredNotPassing: ["atoll/apply", UNINSPECTED_CHECKS],
      });
    });

    test("a GraphQL error (unknown pull request) rejects", async () => {
      mockGraphql({
        data: { repository: { pullRequest: null } },
        errors: [{ type: "NOT_FOUND", path: ["repository", "pullRequest"], message: "Could not resolve to a PullRequest with the number of 7." }],
      });
      await expect(github.getMergeBlockers(7)).rejects.toThrow(/Could not resolve to a PullRequest/);
    });
  });

  describe("mergePull", () => {
    const merges = () => {
      const bodies: unknown[] = [];
      const interceptor = scope.put(`/repos/${OWNER}/${REPO}/pulls/7/merge`, (b) => (bodies.push(b), true));
      return { bodies, interceptor };
    };

    test("merged: sends the method and the head sha it checked", async () => {
      const m = merges();
      m.interceptor.reply(200, { sha: "c".repeat(40), merged: true, message: "Pull Request successfully merged" });
      await expect(github.mergePull(7, { method: "squash", sha: HEAD })).resolves.toEqual({ merged: true, message: "Pull Request successfully merged" });
      expect(m.bodies).toEqual([{ merge_method: "squash", sha: HEAD }]);
    });

    test.each([
      [405, "Pull Request is not mergeable"],
      [409, "Head branch was modified. Review and try the merge again."],
    ])("%i is a refusal with GitHub's message, not an error", async (code, message) => {
      merges().interceptor.reply(code, { message, documentation_url: "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request" });
      await expect(github.mergePull(7, { method: "merge", sha: HEAD })).resolves.toEqual({ merged: false, message });
    });

    test("other failures (403 without contents: write) reject", async () => {
      merges().interceptor.reply(403, { message: "Resource not accessible by integration" });
      await expect(github.mergePull(7, { method: "merge", sha: HEAD })).rejects.toMatchObject({ status: 403 });
    });

    test("a refusal is not retried, even with the retry plugin on (as in production)", async () => {
      // Production Octokit retries 405/409 (not in the plugin's doNotRetry); a retry here would be
      // an unmatched request (strict nock) and turn the answer into an error.
      const RetryingOctokit = ProbotOctokit.plugin(openapiValidatorPlugin).defaults((options: Record<string, unknown>) => ({
        ...options,
        retry: { enabled: true },
        throttle: { enabled: false },
      }));
      // (The token exchange declared in beforeEach serves this instance: the default one is unused.)
      const retrying = await makeProbot({ Octokit: RetryingOctokit });
      const gh = createOctokitGitHub(await retrying.auth(1), { owner: OWNER, repo: REPO, installationId: 1 });
      merges().interceptor.reply(409, { message: "Head branch was modified. Review and try the merge again." });
      await expect(gh.mergePull(7, { method: "merge", sha: HEAD })).resolves.toMatchObject({ merged: false });
    });
  });

  describe("deleteBranch", () => {
    // Octokit percent-encodes the slashes of `heads/<branch>`; GitHub decodes them.
    const path = `/repos/${OWNER}/${REPO}/git/refs/heads%2Ffeature%2Fnet`;

    test("deletes refs/heads/<branch>", async () => {
      scope.delete(path).reply(204);
      await expect(github.deleteBranch("feature/net")).resolves.toBeUndefined();
    });

    test("already gone (422 Reference does not exist) is fine", async () => {
      scope.delete(path).reply(422, { message: "Reference does not exist" });
      await expect(github.deleteBranch("feature/net")).resolves.toBeUndefined();
    });

    test("other failures reject", async () => {
      scope.delete(path).reply(403, { message: "Resource not accessible by integration" });
      await expect(github.deleteBranch("feature/net")).rejects.toMatchObject({ status: 403 });
    });
  });

  describe("compareCommits", () => {
    test.each(["ahead", "behind", "diverged", "identical"] as const)("%s", async (status) => {
      scope
        .get(`/repos/${OWNER}/${REPO}/compare/main...${HEAD}`)
        .query({ per_page: 1 })
        .reply(200, { status, ahead_by: 1, behind_by: 0, total_commits: 1, commits: [], files: [] });
      await expect(github.compareCommits("main", HEAD)).resolves.toBe(status);
    });

    test("a missing ref rejects (404)", async () => {
      scope
        .get(`/repos/${OWNER}/${REPO}/compare/main...${HEAD}`)
        .query({ per_page: 1 })
        .reply(404, { message: "Not Found" });
      await expect(github.compareCommits("main", HEAD)).rejects.toMatchObject({ status: 404 });
    });
  });

  describe("listCheckRuns", () => {
    const path = `/repos/${OWNER}/${REPO}/commits/${HEAD}/check-runs`;
    const listed = (id: number, name: string, status: string, externalId: string | null) => ({ id, name, status, external_id: externalId, head_sha: HEAD });

    test("every page of the latest runs on the commit", async () => {
      scope
        .get(path)
        .query({ filter: "latest", per_page: 100 })
        .reply(200, { total_count: 2, check_runs: [listed(1, "atoll/plan", "completed", "{}")] }, {
          link: `<${API}${path}?filter=latest&per_page=100&page=2>; rel="next", <${API}${path}?filter=latest&per_page=100&page=2>; rel="last"`,
        })
        .get(path)
        .query({ filter: "latest", per_page: 100, page: 2 })
        .reply(200, { total_count: 2, check_runs: [listed(2, "ci/build", "in_progress", null)] });
      await expect(github.listCheckRuns(HEAD)).resolves.toEqual([
        { id: 1, name: "atoll/plan", status: "completed", externalId: "{}" },
        { id: 2, name: "ci/build", status: "in_progress", externalId: null },
      ]);
    });
  });
});
