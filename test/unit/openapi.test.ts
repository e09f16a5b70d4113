import { GITHUB_LIMITS, getOperation, matchRoute, matchTemplates, normalizeApiPath, validateRestRequest } from "../helpers/openapi.js";

const CREATE_CHECK = "/repos/{owner}/{repo}/check-runs";
const UPDATE_CHECK = "/repos/{owner}/{repo}/check-runs/{check_run_id}";
const CREATE_COMMENT = "/repos/{owner}/{repo}/issues/{issue_number}/comments";

const action = (label: string, identifier = "apply") => ({ label, description: "Apply this plan", identifier });

describe("matchRoute", () => {
  test("maps a concrete check-run path to its template and extracts params", () => {
    expect(matchRoute("PATCH", "/repos/acme/infra/check-runs/5")).toEqual({
      template: UPDATE_CHECK,
      params: { owner: "acme", repo: "infra", check_run_id: "5" },
    });
  });

  test("prefers literal segments over parameters, whatever the template order", () => {
    const generic = "/repos/{owner}/{repo}/{resource}/{id}";
    for (const templates of [[generic, UPDATE_CHECK], [UPDATE_CHECK, generic]]) {
      expect(matchTemplates(templates, "/repos/o/r/check-runs/5")).toEqual({
        template: UPDATE_CHECK,
        params: { owner: "o", repo: "r", check_run_id: "5" },
      });
      // The generic template still serves paths the literal one cannot.
      expect(matchTemplates(templates, "/repos/o/r/statuses/5")?.template).toBe(generic);
    }
    // The earliest differing segment decides: a literal in position 3 beats one in position 4.
    const early = "/repos/{owner}/{repo}/pulls/comments/{comment_id}";
    const late = "/repos/{owner}/{repo}/pulls/{pull_number}/files";
    for (const templates of [[early, late], [late, early]]) {
      expect(matchTemplates(templates, "/repos/o/r/pulls/comments/files")?.template).toBe(early);
      expect(matchTemplates(templates, "/repos/o/r/pulls/7/files")?.template).toBe(late);
    }
  });

  test("resolves the real ambiguities of the REST description to the literal templates", () => {
    expect(matchRoute("GET", "/repos/o/r/pulls/comments")?.template).toBe("/repos/{owner}/{repo}/pulls/comments");
    expect(matchRoute("GET", "/repos/o/r/pulls/12")?.template).toBe("/repos/{owner}/{repo}/pulls/{pull_number}");
    expect(matchRoute("GET", "/repos/o/r/pages/builds/latest")?.template).toBe("/repos/{owner}/{repo}/pages/builds/latest");
    expect(matchRoute("POST", "/repos/acme/infra/check-runs/5/rerequest")?.template).toBe(
      "/repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest",
    );
    expect(matchRoute("GET", "/repos/acme/infra/issues/comments/42")).toEqual({
      template: "/repos/{owner}/{repo}/issues/comments/{comment_id}",
      params: { owner: "acme", repo: "infra", comment_id: "42" },
    });
    expect(matchRoute("GET", "/repos/acme/infra/issues/7/comments")).toEqual({
      template: CREATE_COMMENT,
      params: { owner: "acme", repo: "infra", issue_number: "7" },
    });
  });

  test("strips the GHES /api/v3 prefix, query strings, absolute URLs and trailing slashes", () => {
    const expected = { template: UPDATE_CHECK, params: { owner: "o", repo: "r", check_run_id: "9" } };
    expect(matchRoute("PATCH", "/api/v3/repos/o/r/check-runs/9")).toEqual(expected);
    expect(matchRoute("PATCH", "/repos/o/r/check-runs/9?per_page=100#x")).toEqual(expected);
    expect(matchRoute("PATCH", "https://ghe.example.com/api/v3/repos/o/r/check-runs/9/")).toEqual(expected);
    expect(normalizeApiPath("/api/v3")).toBe("/");
    expect(normalizeApiPath("/api/v3x/repos")).toBe("/api/v3x/repos");
  });

  test("decodes percent-encoded params and lets path-like params span segments", () => {
    expect(matchRoute("GET", "/repos/o/r/contents/env%2Fprod%2Fmain.tf")?.params.path).toBe("env/prod/main.tf");
    expect(matchRoute("GET", "/repos/o/r/contents/env/prod/main.tf")).toEqual({
      template: "/repos/{owner}/{repo}/contents/{path}",
      params: { owner: "o", repo: "r", path: "env/prod/main.tf" },
    });
  });

  test("resolves /repositories/{id} pagination aliases", () => {
    expect(matchRoute("GET", "https://api.github.com/repositories/1296269/pulls/3/files?page=2")).toEqual({
      template: "/repos/{owner}/{repo}/pulls/{pull_number}/files",
      params: { repository_id: "1296269", pull_number: "3" },
    });
  });

  test("returns null for unknown paths and for a known path with the wrong method", () => {
    expect(matchRoute("GET", "/repos/o/r/check-run/5")).toBeNull();
    expect(matchRoute("DELETE", "/repos/o/r/check-runs/5")).toBeNull();
  });
});

describe("validateRestRequest", () => {
  const validCreate = {
    name: "atoll/plan: infra",
    head_sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
    status: "completed",
    conclusion: "success",
    output: { title: "Plan: 1 to add", summary: "```\n+ resource\n```" },
    actions: [action("Apply")],
  };

  test("accepts valid bodies, addressed by template or by concrete path", () => {
    expect(validateRestRequest("POST", CREATE_CHECK, validCreate)).toEqual([]);
    expect(validateRestRequest("post", "/repos/acme/infra/check-runs", validCreate)).toEqual([]);
    expect(validateRestRequest("PATCH", "/api/v3/repos/acme/infra/check-runs/3", { status: "in_progress" })).toEqual([]);
    expect(validateRestRequest("POST", CREATE_COMMENT, { body: "x".repeat(GITHUB_LIMITS.issueCommentBodyChars) })).toEqual([]);
    expect(validateRestRequest("GET", "/repos/o/r/pulls/1/files?per_page=100", undefined)).toEqual([]);
  });

  test("catches a 25-character action label with a readable message", () => {
    const errors = validateRestRequest("POST", CREATE_CHECK, { ...validCreate, actions: [action("x".repeat(25))] });
    expect(errors).toEqual([
      "POST /repos/{owner}/{repo}/check-runs: data/actions/0/label must NOT have more than 20 characters",
    ]);
  });

  test("catches more than 3 actions", () => {
    const actions = [action("A", "a"), action("B", "b"), action("C", "c"), action("D", "d")];
    expect(validateRestRequest("PATCH", UPDATE_CHECK, { ...validCreate, actions })).toEqual([
      "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}: data/actions must NOT have more than 3 items",
    ]);
  });

  test("catches status completed without conclusion, on PATCH (schema) and POST (GitHub rule)", () => {
    const patch = validateRestRequest("PATCH", "/repos/o/r/check-runs/1", { status: "completed" });
    expect(patch.some((e) => e.includes("must have required property 'conclusion'"))).toBe(true);
    expect(patch.every((e) => e.startsWith("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}: "))).toBe(true);

    const { conclusion: _c, ...noConclusion } = validCreate;
    const post = validateRestRequest("POST", CREATE_CHECK, noConclusion);
    expect(post).toEqual([
      `POST /repos/{owner}/{repo}/check-runs: data must have required property 'conclusion' when status is "completed" or completed_at is set`,
    ]);
    expect(validateRestRequest("POST", CREATE_CHECK, { ...noConclusion, status: "in_progress" })).toEqual([]);
  });

  test("counts check-run summary and text in UTF-8 bytes, not characters", () => {
    // 35 000 two-byte characters: 35 000 characters (fine for the schema), 70 000 bytes.
    const summary = "é".repeat(35_000);
    expect(summary.length).toBeLessThan(GITHUB_LIMITS.checkRunOutputSummaryBytes);
    const errors = validateRestRequest("POST", CREATE_CHECK, { ...validCreate, output: { title: "t", summary } });
    expect(errors).toEqual([
      "POST /repos/{owner}/{repo}/check-runs: data/output/summary must NOT be longer than 65535 UTF-8 bytes (is 70000)",
    ]);
    const text = "€".repeat(30_000); // 3 bytes each
    expect(validateRestRequest("PATCH", UPDATE_CHECK, { output: { title: "t", summary: "s", text } })).toEqual([
      "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}: data/output/text must NOT be longer than 65535 UTF-8 bytes (is 90000)",
    ]);
    // Exactly at the limit is accepted.
    const atLimit = "a".repeat(GITHUB_LIMITS.checkRunOutputSummaryBytes);
    expect(validateRestRequest("POST", CREATE_CHECK, { ...validCreate, output: { title: "t", summary: atLimit } })).toEqual([]);
  });

  test("a 70 000-character ASCII summary fails both the schema and the byte rule", () => {
    const errors = validateRestRequest("POST", CREATE_CHECK, {
      ...validCreate,
      output: { title: "t", summary: "a".repeat(70_000) },
    });
    expect(errors).toContain("POST /repos/{owner}/{repo}/check-runs: data/output/summary must NOT have more than 65535 characters");
    expect(errors).toContain(
      "POST /repos/{owner}/{repo}/check-runs: data/output/summary must NOT be longer than 65535 UTF-8 bytes (is 70000)",
    );
  });

  test("catches an issue comment body over 65536 characters, on create and update", () => {
    const body = "x".repeat(GITHUB_LIMITS.issueCommentBodyChars + 1);
    expect(validateRestRequest("POST", "/repos/o/r/issues/2/comments", { body })).toEqual([
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments: data/body must NOT have more than 65536 characters (is 65537)",
    ]);
    expect(validateRestRequest("PATCH", "/repos/o/r/issues/comments/77", { body })).toHaveLength(1);
    // Characters are code points: 65536 emoji (131072 UTF-16 units) are still within the limit.
    expect(validateRestRequest("POST", CREATE_COMMENT, { body: "😀".repeat(65536) })).toEqual([]);
  });

  test("reports missing required fields and wrong types", () => {
    expect(validateRestRequest("POST", CREATE_COMMENT, {})).toEqual([
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments: data must have required property 'body'",
    ]);
    expect(validateRestRequest("POST", CREATE_CHECK, { name: "x", head_sha: "y", status: "done" })).toEqual([
      `POST /repos/{owner}/{repo}/check-runs: data/status must be equal to one of the allowed values: ["queued","in_progress","completed"]`,
    ]);
  });

  test("an operation that requires a body and gets none is an error; an optional one is not", () => {
    expect(getOperation("POST", CREATE_COMMENT)?.bodyRequired).toBe(true);
    expect(validateRestRequest("POST", "/repos/o/r/issues/1/comments", undefined)).toEqual([
      "POST /repos/{owner}/{repo}/issues/{issue_number}/comments: request body is required",
    ]);
    expect(validateRestRequest("POST", "/repos/o/r/issues/1/comments", "")).toHaveLength(1);
    expect(getOperation("POST", "/app/installations/{installation_id}/access_tokens")?.bodyRequired).toBe(false);
    expect(validateRestRequest("POST", "/app/installations/1/access_tokens", undefined)).toEqual([]);
  });

  test("unknown routes produce a single 'no such operation' error", () => {
    expect(validateRestRequest("POST", "/repos/o/r/check-run", { name: "x" })).toEqual([
      "no such operation: POST /repos/o/r/check-run",
    ]);
    expect(validateRestRequest("PUT", CREATE_CHECK, {})).toEqual([`no such operation: PUT ${CREATE_CHECK}`]);
  });

  test("POST /graphql needs a string query", () => {
    expect(validateRestRequest("POST", "/graphql", { query: "{ viewer { login } }" })).toEqual([]);
    expect(validateRestRequest("POST", "https://ghe.example.com/api/graphql", { query: "{ viewer { login } }" })).toEqual([]);
    expect(validateRestRequest("GET", "/graphql", undefined)).toEqual(["no such operation: GET /graphql"]);
    expect(validateRestRequest("POST", "/graphql", { variables: {} })).toHaveLength(1);
  });
});
