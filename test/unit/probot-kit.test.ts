import { createVerify } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import type { ApplicationFunction } from "probot";
import { checkRunEvent, issueCommentEvent } from "../helpers/events.js";
import {
  checkOctokitRequest,
  expectNoOpenapiViolations,
  octokitRequestBody,
  takeOpenapiViolations,
} from "../helpers/openapi-validator-plugin.js";
import { makeProbot, TEST_APP_ID, TEST_PUBLIC_KEY, TestOctokit } from "../helpers/probot.js";
import { assertNoNockProblems, collectNockProblems, mockInstallationToken, useStrictNock } from "../helpers/strict-nock.js";

const API = "https://api.github.com";

/** Tiny app: answers every new comment with one or more comments of its own. */
function replyApp(replies: string[]): ApplicationFunction {
  return (app) => {
    app.on("issue_comment.created", async (context) => {
      for (const body of replies) {
        await context.octokit.rest.issues.createComment(context.issue({ body }));
      }
    });
  };
}

/** Verifies an RS256 JWT against the test App's public key; returns its claims. */
function verifyAppJwt(authorization: string): Record<string, unknown> {
  const jwt = authorization.replace(/^bearer\s+/i, "");
  const [header, claims, signature] = jwt.split(".");
  const ok = createVerify("RSA-SHA256").update(`${header}.${claims}`).verify(TEST_PUBLIC_KEY, Buffer.from(signature, "base64url"));
  if (!ok) throw new Error("JWT signature does not verify with TEST_PUBLIC_KEY");
  return JSON.parse(Buffer.from(claims, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("makeProbot + strict nock", () => {
  useStrictNock();

  test("an app that comments on issue_comment.created passes against exact mocks", async () => {
    const probot = await makeProbot();
    await probot.load(replyApp(["pong"]));
    let jwtClaims: Record<string, unknown> = {};
    const scope = nock(API);
    mockInstallationToken(scope, 42);
    scope.on("request", (req: { path: string; headers: Record<string, string> }) => {
      if (req.path.endsWith("/access_tokens")) jwtClaims = verifyAppJwt(req.headers.authorization);
    });
    scope
      .post("/repos/acme/infra/issues/7/comments", { body: "pong" })
      .matchHeader("authorization", "token ghs_test_installation_42")
      .reply(201, { id: 1, body: "pong" });

    await probot.receive(issueCommentEvent({ owner: "acme", repo: "infra", number: 7, body: "ping", installationId: 42 }));

    expect(jwtClaims.iss).toBe(TEST_APP_ID);
    expect(collectNockProblems()).toEqual([]);
  });

  test("retries and throttling are off: consecutive writes are not spaced out", async () => {
    const probot = await makeProbot();
    await probot.load(replyApp(["one", "two", "three"]));
    const scope = nock(API);
    mockInstallationToken(scope, 1);
    scope.post("/repos/Codertocat/Hello-World/issues/1/comments").times(3).reply(201, { id: 2 });
    const started = Date.now();
    await probot.receive(issueCommentEvent({ body: "go" }));
    // When active, plugin-throttling spaces writes >= 1 s apart: three writes take >= 2 s (measured
    // ~9 s with the object-form defaults). Unthrottled they take a few ms; 1.5 s leaves CI headroom.
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test("an API error is not retried and reaches probot.receive", async () => {
    const probot = await makeProbot();
    await probot.load(replyApp(["pong"]));
    const scope = nock(API);
    mockInstallationToken(scope, 1);
    scope.post("/repos/Codertocat/Hello-World/issues/1/comments").once().reply(500, { message: "boom" });
    await expect(probot.receive(issueCommentEvent({ body: "ping" }))).rejects.toThrow(/boom/);
  });

  test("an invalid body sent by the app is recorded as an OpenAPI violation, without breaking the app", async () => {
    const probot = await makeProbot();
    const sent: string[] = [];
    await probot.load((app) => {
      app.on("check_run.rerequested", async (context) => {
        await context.octokit.rest.checks.create(
          context.repo({
            name: "atoll/plan",
            head_sha: context.payload.check_run.head_sha,
            status: "completed" as const,
            conclusion: "success" as const,
            output: { title: "Plan", summary: "ok" },
            actions: [{ label: "Apply this plan right now", description: "Apply", identifier: "apply" }],
          }),
        );
        sent.push("check run");
      });
    });
    const scope = nock(API);
    mockInstallationToken(scope, 1);
    scope.post("/repos/acme/infra/check-runs").reply(201, { id: 5 });

    await probot.receive(checkRunEvent("rerequested", { owner: "acme", repo: "infra", name: "atoll/plan", headSha: "c".repeat(40) }));

    expect(sent).toEqual(["check run"]);
    expect(takeOpenapiViolations()).toEqual([
      "POST /repos/{owner}/{repo}/check-runs: data/actions/0/label must NOT have more than 20 characters",
    ]);
    // Taken: nothing left for the strict afterEach.
    expect(() => expectNoOpenapiViolations()).not.toThrow();
  });

  test("collectNockProblems reports unused mocks, unmatched requests and violations, then resets", async () => {
    nock(API).get("/repos/o/r/never-called").reply(200, {});
    nock(API).get("/repos/o/r/pulls/1").reply(200, {});
    // Same host, no matching interceptor:
    await expect(fetch(`${API}/repos/o/r/pulls/2`)).rejects.toThrow();
    // Host without any interceptor (net connect disabled):
    await expect(fetch("https://unmocked.example.com/x?y=1", { method: "POST", body: "{}" })).rejects.toThrow();

    // A contract violation from any Octokit built on TestOctokit (the mock itself accepts it):
    nock(API).post("/repos/o/r/issues/1/comments").reply(201, {});
    await new TestOctokit({ auth: "t" }).rest.issues.createComment({ owner: "o", repo: "r", issue_number: 1, body: "x".repeat(65537) });

    const problems = collectNockProblems();
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^unused mock: GET https:\/\/api\.github\.com:443\/repos\/o\/r\/never-called$/),
        expect.stringMatching(/^unused mock: GET https:\/\/api\.github\.com:443\/repos\/o\/r\/pulls\/1$/),
        expect.stringMatching(/^unmatched request: GET https:\/\/api\.github\.com(:443)?\/repos\/o\/r\/pulls\/2/),
        expect.stringMatching(/^unmatched request: POST https:\/\/unmocked\.example\.com(:443)?\/x\?y=1/),
        "OpenAPI: POST /repos/{owner}/{repo}/issues/{issue_number}/comments: data/body must NOT have more than 65536 characters (is 65537)",
      ]),
    );
    expect(problems).toHaveLength(5);
    expect(collectNockProblems()).toEqual([]);
  });

  test("assertNoNockProblems throws with the list (this is what the afterEach runs)", async () => {
    nock(API).get("/unused").reply(200);
    expect(() => assertNoNockProblems()).toThrow(/strict nock: 1 problem\(s\)\n {2}- unused mock: GET https:\/\/api\.github\.com:443\/unused/);

    const probot = await makeProbot();
    // The app swallows the failure; the unmatched request must still fail the test.
    await probot.load((app) => {
      app.on("issue_comment.created", async (context) => {
        await context.octokit.rest.reactions.createForIssueComment(
          context.repo({ comment_id: context.payload.comment.id, content: "eyes" as const }),
        ).catch(() => undefined);
      });
    });
    mockInstallationToken(nock(API), 1);
    await probot.receive(issueCommentEvent({ body: "x", commentId: 31 }));
    expect(() => assertNoNockProblems()).toThrow(
      /unmatched request: POST https:\/\/api\.github\.com(:443)?\/repos\/Codertocat\/Hello-World\/issues\/comments\/31\/reactions/,
    );
  });

  test("check runs built by events.ts belong to the test app by default", () => {
    expect(checkRunEvent("rerequested", { name: "x", headSha: "d".repeat(40) }).payload.check_run.app?.id).toBe(TEST_APP_ID);
  });
});

describe("strict nock with allowLocalhost", () => {
  useStrictNock({ allowLocalhost: true });

  test("requests to a local server pass through and are not reported", async () => {
    const server = createServer((_req, res) => res.end("local"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      expect(await (await fetch(`http://127.0.0.1:${port}/x`)).text()).toBe("local");
      // Other hosts stay blocked and reported.
      await expect(fetch("https://api.github.com/zen")).rejects.toThrow();
      expect(collectNockProblems()).toEqual([expect.stringMatching(/^unmatched request: GET https:\/\/api\.github\.com(:443)?\/zen$/)]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("strict nock without allowLocalhost", () => {
  useStrictNock();

  test("local requests are blocked and reported too", async () => {
    await expect(fetch("http://127.0.0.1:9/x")).rejects.toThrow();
    expect(collectNockProblems()).toEqual([expect.stringMatching(/^unmatched request: GET http:\/\/127\.0\.0\.1:9\/x$/)]);
  });
});

describe("openapiValidatorPlugin body reconstruction", () => {
  test("body = options minus request meta and URL placeholders; none for GET or when empty", () => {
    const meta = { baseUrl: API, headers: { accept: "application/vnd.github+json" }, request: {}, mediaType: { format: "" } };
    expect(
      octokitRequestBody({ ...meta, method: "POST", url: "/repos/{owner}/{repo}/issues/{issue_number}/comments", owner: "o", repo: "r", issue_number: 1, body: "hi" }),
    ).toEqual({ body: "hi" });
    expect(octokitRequestBody({ ...meta, method: "GET", url: "/repos/{owner}/{repo}/pulls", owner: "o", repo: "r", per_page: 100 })).toBeUndefined();
    expect(octokitRequestBody({ ...meta, method: "POST", url: "/repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest", owner: "o", repo: "r", check_run_id: 1 })).toBeUndefined();
    expect(octokitRequestBody({ ...meta, method: "POST", url: "/markdown/raw", data: "# hi" })).toBe("# hi");
  });

  test("checkOctokitRequest validates templates, absolute pagination URLs and GraphQL", () => {
    expect(checkOctokitRequest({ method: "POST", url: "/repos/{owner}/{repo}/issues/{issue_number}/comments", owner: "o", repo: "r", issue_number: 1 })).toEqual([
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments: request body is required",
    ]);
    expect(checkOctokitRequest({ method: "GET", baseUrl: "http://127.0.0.1:3000/gh", url: "http://127.0.0.1:3000/gh/repos/o/r/pulls/1/files?page=2" })).toEqual([]);
    expect(checkOctokitRequest({ method: "POST", url: "/graphql", query: "{ viewer { login } }" })).toEqual([]);
    expect(checkOctokitRequest({ method: "GET", url: "/repos/{owner}/{repo}/pull/{pull_number}", owner: "o", repo: "r", pull_number: 1 })).toEqual([
      "no such operation: GET /repos/{owner}/{repo}/pull/{pull_number}",
    ]);
  });
});
