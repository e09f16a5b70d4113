/**
 * The fake GitHub is the oracle of the end-to-end tests, so it gets tests of its own: it must be
 * as strict as GitHub where the app could go wrong (auth, limits, schemas) and answer in shapes
 * real clients (fetch, git, Octokit) understand.
 */
import { createSign, generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { verify } from "@octokit/webhooks-methods";
import { startFakeGitHub, type FakeGitHub } from "../fake-github/server.js";
import { testAppCredentials } from "../fake-github/app-credentials.js";
import { isolatedGitEnv } from "../fake-github/git-repos.js";
import { sendWebhook } from "../helpers/webhook-sender.js";
import { startAtoll, type AtollProcess } from "../helpers/atoll-process.js";
import { issueCommentEvent } from "../helpers/events.js";
import { makeProbot, TEST_APP_ID } from "../helpers/probot.js";
import { expectNoOpenapiViolations } from "../helpers/openapi-validator-plugin.js";
import { Ajv } from "ajv";

const creds = testAppCredentials();
let gh: FakeGitHub;
const tempDirs: string[] = [];

beforeAll(async () => {
  gh = await startFakeGitHub();
});

// A 500 from the fake is a bug in the fake, and would hide the app's behaviour.
afterEach(() => {
  expect(gh.internalErrors).toEqual([]);
});

afterAll(async () => {
  await gh?.close();
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

let repoCounter = 0;
/** A fresh repository per test, so tests do not see each other's comments or check runs. */
async function freshRepo(files: Record<string, string> = { "README.md": "# test\n" }) {
  const name = `repo${++repoCounter}`;
  const repo = await gh.createRepo("acme", name);
  await repo.commit("main", files, "initial");
  return repo;
}

function makeJwt(opts: { key?: string; iss?: number | string; iat?: number; exp?: number } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT" })).toString("base64url");
  const payload = Buffer.from(
    JSON.stringify({ iat: opts.iat ?? now - 30, exp: opts.exp ?? now + 540, iss: opts.iss ?? creds.appId }),
  ).toString("base64url");
  const signer = createSign("RSA-SHA256");
  signer.update(`${header}.${payload}`);
  return `${header}.${payload}.${signer.sign(opts.key ?? creds.privateKey).toString("base64url")}`;
}

interface ApiResponse {
  status: number;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

async function api(
  method: string,
  path: string,
  opts: { auth?: string; body?: unknown; accept?: string; url?: string } = {},
): Promise<ApiResponse> {
  const res = await fetch(opts.url ?? `${gh.apiUrl}${path}`, {
    method,
    headers: {
      accept: opts.accept ?? "application/vnd.github+json",
      ...(opts.auth ? { authorization: opts.auth } : {}),
      ...(opts.body !== undefined ? { "content-type": "application/json; charset=utf-8" } : {}),
    },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // raw
  }
  return { status: res.status, json, headers: res.headers };
}

async function installationToken(installationId = 1): Promise<string> {
  const res = await api("POST", `/app/installations/${installationId}/access_tokens`, { auth: `bearer ${makeJwt()}` });
  expect(res.status).toBe(201);
  return res.json.token as string;
}

async function withToken() {
  const token = await installationToken();
  return { token, auth: `token ${token}` };
}

describe("app authentication", () => {
  test("uses the same app id as the Probot test helpers and the event builders", () => {
    expect(gh.appId).toBe(TEST_APP_ID);
  });

  test("issues installation tokens only for a valid app JWT", async () => {
    const path = "/app/installations/7/access_tokens";
    const otherKey = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    }).privateKey;
    const now = Math.floor(Date.now() / 1000);

    expect((await api("POST", path)).status).toBe(401);
    expect((await api("POST", path, { auth: `bearer ${makeJwt({ key: otherKey })}` })).status).toBe(401);
    expect((await api("POST", path, { auth: `bearer ${makeJwt({ iss: 999 })}` })).status).toBe(401);
    expect((await api("POST", path, { auth: `bearer ${makeJwt({ iat: now - 1200, exp: now - 600 })}` })).status).toBe(401);
    expect((await api("POST", path, { auth: `bearer ${makeJwt({ exp: now + 3600 })}` })).status).toBe(401);
    // An installation token is not an app credential.
    const { token } = await withToken();
    expect((await api("POST", path, { auth: `token ${token}` })).status).toBe(401);

    // Octokit sends the scheme in lower case; GitHub accepts any case.
    for (const scheme of ["bearer", "Bearer"]) {
      const ok = await api("POST", path, { auth: `${scheme} ${makeJwt()}` });
      expect(ok.status).toBe(201);
      expect(ok.json.token).toMatch(/^ghs_[A-Za-z0-9_-]+$/);
      const expiresIn = Date.parse(ok.json.expires_at) - Date.now();
      expect(expiresIn).toBeGreaterThan(59 * 60 * 1000);
      expect(expiresIn).toBeLessThanOrEqual(60 * 60 * 1000);
    }
    expect(gh.issuedTokens.filter((t) => t.installationId === 7)).toHaveLength(2);
  });

  test("GET /app answers the app's identity to a JWT", async () => {
    const res = await api("GET", "/app", { auth: `Bearer ${makeJwt()}` });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: creds.appId, slug: "atoll-test", owner: { login: expect.any(String) } });
    expect((await api("GET", "/app")).status).toBe(401);
  });

  test("API calls need a valid installation token", async () => {
    const repo = await freshRepo();
    const path = `/repos/${repo.fullName}`;
    const noAuth = await api("GET", path);
    expect(noAuth).toMatchObject({ status: 401, json: { message: "Bad credentials" } });
    expect((await api("GET", path, { auth: "token ghs_not_issued" })).status).toBe(401);
    expect((await api("GET", path, { auth: `bearer ${makeJwt()}` })).status).toBe(401);

    const { token } = await withToken();
    for (const auth of [`token ${token}`, `Token ${token}`, `bearer ${token}`]) {
      const res = await api("GET", path, { auth });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ full_name: repo.fullName, default_branch: "main", clone_url: repo.cloneUrl });
    }

    const logged = gh.requests.filter((r) => r.path === path);
    expect(logged.map((r) => [r.status, r.auth])).toEqual([
      [401, "none"],
      [401, "invalid"],
      [401, "jwt"],
      [200, "token"],
      [200, "token"],
      [200, "token"],
    ]);
    expect(logged[0].template).toBe("/repos/{owner}/{repo}");
  });

  test("expired tokens are refused by the API", async () => {
    const fake = await startFakeGitHub();
    try {
      const r = await fake.createRepo("acme", "expiry");
      const tok = await fetch(`${fake.apiUrl}/app/installations/1/access_tokens`, {
        method: "POST",
        headers: { authorization: `bearer ${makeJwt()}` },
      }).then((res) => res.json() as Promise<{ token: string }>);
      const get = () => fetch(`${fake.apiUrl}/repos/${r.fullName}`, { headers: { authorization: `token ${tok.token}` } });
      expect((await get()).status).toBe(200);
      fake.expireTokens();
      expect((await get()).status).toBe(401);
    } finally {
      await fake.close();
    }
  });
});

describe("git over smart HTTP", () => {
  async function git(args: string[], env: Record<string, string> = {}, cwd?: string) {
    return execa("git", args, { env: isolatedGitEnv(env), extendEnv: false, reject: false, all: true, cwd });
  }
  /** How the app passes the token: per command, via GIT_CONFIG_* (never in .git/config). */
  const authEnv = (token: string) => ({
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.extraHeader",
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`,
  });

  test("refuses git without a token and serves it with one", async () => {
    const repo = await freshRepo({ "main.tf": "# base\n" });
    const headSha = await repo.commit("feature", { "main.tf": "# changed\n" });
    const before = gh.gitRequests.length;

    const anonymous = await git(["ls-remote", repo.cloneUrl]);
    expect(anonymous.exitCode).not.toBe(0);
    expect(gh.gitRequests.slice(before).some((g) => !g.authorized)).toBe(true);
    expect(gh.gitRequests.slice(before).every((g) => !g.authorized)).toBe(true);

    const wrong = await git(["ls-remote", repo.cloneUrl], authEnv("ghs_not_issued"));
    expect(wrong.exitCode).not.toBe(0);

    const { token } = await withToken();
    const listed = await git(["ls-remote", repo.cloneUrl], authEnv(token));
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toContain(`${headSha}\trefs/heads/feature`);

    // Fetch by sha, as the app fetches a PR head.
    const work = await mkdtemp(join(tmpdir(), "fake-gh-clone-"));
    tempDirs.push(work);
    expect((await git(["init", "-q", work])).exitCode).toBe(0);
    const fetched = await git(["fetch", "-q", "--depth", "1", repo.cloneUrl, headSha], authEnv(token), work);
    expect(fetched.all).toBe("");
    expect(fetched.exitCode).toBe(0);
    const shown = await git(["show", `${headSha}:main.tf`], {}, work);
    expect(shown.stdout).toBe("# changed");
    const last = gh.gitRequests.at(-1);
    expect(last).toMatchObject({ authorized: true, service: "git-upload-pack" });

    // Pushing is never allowed (contents:read), even with a valid token.
    const push = await git(["push", repo.cloneUrl, `${headSha}:refs/heads/pushed`], authEnv(token), work);
    expect(push.exitCode).not.toBe(0);
    expect(await repo.tryResolve("refs/heads/pushed")).toBeNull();
  });

  test("expired tokens are refused by git", async () => {
    const fake = await startFakeGitHub();
    try {
      const r = await fake.createRepo("acme", "git-expiry");
      await r.commit("main", { a: "1" });
      const tok = await fetch(`${fake.apiUrl}/app/installations/1/access_tokens`, {
        method: "POST",
        headers: { authorization: `bearer ${makeJwt()}` },
      }).then((res) => res.json() as Promise<{ token: string }>);
      expect((await git(["ls-remote", r.cloneUrl], authEnv(tok.token))).exitCode).toBe(0);
      fake.expireTokens();
      expect((await git(["ls-remote", r.cloneUrl], authEnv(tok.token))).exitCode).not.toBe(0);
    } finally {
      await fake.close();
    }
  });

  test("fork PR heads are only reachable through refs/pull/N/head or by sha", async () => {
    const repo = await freshRepo();
    const forkSha = await repo.commit("contrib", { "x.tf": "# from a fork\n" });
    const ownSha = await repo.commit("own", { "y.tf": "# same repo\n" });
    await gh.createPull("acme", repo.name, { number: 5, head: "contrib", fork: true, author: "outsider" });
    await gh.createPull("acme", repo.name, { number: 6, head: "own" });
    const { token } = await withToken();
    const listed = await git(["ls-remote", repo.cloneUrl], authEnv(token));
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).not.toContain("refs/heads/contrib");
    expect(listed.stdout).toContain(`${forkSha}\trefs/pull/5/head`);
    expect(listed.stdout).toContain(`${ownSha}\trefs/heads/own`);
    expect(listed.stdout).toContain(`${ownSha}\trefs/pull/6/head`);

    const pr = await api("GET", `/repos/${repo.fullName}/pulls/5`, { auth: `token ${token}` });
    expect(pr.json.head).toMatchObject({ sha: forkSha, ref: "contrib", repo: { full_name: `outsider/${repo.name}`, fork: true } });
    expect(pr.json.base.repo.full_name).toBe(repo.fullName);
  });
});

describe("pull requests", () => {
  test("GET pull re-reads the head sha from the branch", async () => {
    const repo = await freshRepo();
    const first = await repo.commit("feat", { "a.tf": "1" });
    await gh.createPull("acme", repo.name, { number: 3, head: "feat", title: "Add a", author: "alice" });
    const { auth } = await withToken();
    const get = () => api("GET", `/repos/${repo.fullName}/pulls/3`, { auth });

    const pr = await get();
    expect(pr.status).toBe(200);
    expect(pr.json).toMatchObject({
      number: 3,
      state: "open",
      draft: false,
      merged: false,
      mergeable: true,
      mergeable_state: "clean",
      title: "Add a",
      user: { login: "alice", type: "User" },
      html_url: `${gh.url}/${repo.fullName}/pull/3`,
      head: { sha: first, ref: "feat", repo: { full_name: repo.fullName, clone_url: repo.cloneUrl } },
      base: { sha: await repo.sha("main"), ref: "main" },
    });

    const second = await repo.commit("feat", { "a.tf": "2" });
    expect((await get()).json.head.sha).toBe(second);
    expect(await repo.sha("refs/pull/3/head")).toBe(second);

    gh.updatePull("acme", repo.name, 3, { draft: true });
    expect((await get()).json).toMatchObject({ draft: true, mergeable_state: "draft" });
    gh.updatePull("acme", repo.name, 3, { draft: false, merged: true });
    expect((await get()).json).toMatchObject({ state: "closed", merged: true, merged_at: expect.any(String) });
    expect((await api("GET", `/repos/${repo.fullName}/pulls/99`, { auth })).status).toBe(404);
  });

  test("files: renames, deletes and pagination across pages via Link", async () => {
    const base: Record<string, string> = {};
    for (let i = 0; i < 40; i++) base[`mod/file${i}.tf`] = `# ${i}\n${"x\n".repeat(20)}`;
    base["old-name.tf"] = "resource \"terraform_data\" \"r\" {}\n".repeat(10);
    base["gone.tf"] = "# to be deleted\n";
    const repo = await freshRepo(base);
    const change: Record<string, string | null> = { "old-name.tf": null, "new-name.tf": base["old-name.tf"], "gone.tf": null, "added.tf": "new\n" };
    for (let i = 0; i < 40; i++) change[`mod/file${i}.tf`] = `# ${i} changed\n${"x\n".repeat(20)}`;
    await repo.commit("big", change);
    // Moving main afterwards must not leak main's changes into the PR diff (three-dot diff).
    await repo.commit("main", { "unrelated-on-main.tf": "x" });
    await gh.createPull("acme", repo.name, { number: 1, head: "big" });
    const { auth } = await withToken();

    const seen: Array<{ filename: string; status: string; previous_filename?: string }> = [];
    let url: string | undefined = `${gh.apiUrl}/repos/${repo.fullName}/pulls/1/files`;
    let pages = 0;
    while (url) {
      const res = await api("GET", "", { auth, url });
      expect(res.status).toBe(200);
      pages++;
      seen.push(...res.json);
      url = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
    }
    expect(pages).toBe(2); // 43 files, 30 per page
    expect(seen).toHaveLength(43);
    const byName = new Map(seen.map((f) => [f.filename, f]));
    expect(byName.get("new-name.tf")).toMatchObject({ status: "renamed", previous_filename: "old-name.tf" });
    expect(byName.get("gone.tf")).toMatchObject({ status: "removed" });
    expect(byName.get("added.tf")).toMatchObject({ status: "added", additions: 1, deletions: 0 });
    expect(byName.get("mod/file7.tf")).toMatchObject({ status: "modified", additions: 1, deletions: 1, changes: 2 });
    expect(byName.has("old-name.tf")).toBe(false);
    expect(byName.has("unrelated-on-main.tf")).toBe(false);

    const big = await api("GET", `/repos/${repo.fullName}/pulls/1/files?per_page=100`, { auth });
    expect(big.json).toHaveLength(43);
    expect(big.headers.get("link")).toBeNull();
    const capped = await api("GET", `/repos/${repo.fullName}/pulls/1/files?per_page=500&page=1`, { auth });
    expect(capped.json).toHaveLength(43);
    const second = await api("GET", `/repos/${repo.fullName}/pulls/1/files?per_page=40&page=2`, { auth });
    expect(second.json).toHaveLength(3);
    expect(second.headers.get("link")).toContain('rel="prev"');
    expect(second.headers.get("link")).not.toContain('rel="next"');
  });

  test("files stop at 3000, like GitHub's", async () => {
    const repo = await freshRepo();
    const many: Record<string, string> = {};
    for (let i = 0; i < 3005; i++) many[`stacks/s${i}.tf`] = `# ${i}\n`;
    await repo.commit("huge", many);
    await gh.createPull("acme", repo.name, { number: 1, head: "huge" });
    const { auth } = await withToken();
    const page = (n: number) => api("GET", `/repos/${repo.fullName}/pulls/1/files?per_page=100&page=${n}`, { auth });
    const last = await page(30);
    expect(last.json).toHaveLength(100);
    expect(last.headers.get("link")).not.toContain('rel="next"');
    expect((await page(31)).json).toEqual([]);
  }, 60_000);

  test("Octokit (as Probot configures it for GHES) authenticates, paginates and writes", async () => {
    const repo = await freshRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 35; i++) files[`f${i}.tf`] = `${i}\n`;
    files["dir/nested.tf"] = "nested\n";
    const head = await repo.commit("many", files);
    await gh.createPull("acme", repo.name, { number: 2, head: "many" });
    // The same construction `probot run` does with GHE_HOST: app auth against the fake's base URL.
    const probot = await makeProbot({ appId: creds.appId, privateKey: creds.privateKey, baseUrl: gh.apiUrl });
    const octokit = await probot.auth(1);
    const listed = await octokit.paginate(octokit.rest.pulls.listFiles, { owner: "acme", repo: repo.name, pull_number: 2, per_page: 10 });
    expect(listed.map((f) => f.filename).sort()).toEqual(Object.keys(files).sort());
    expect(listed).toHaveLength(36);
    const created = await octokit.rest.checks.create({ owner: "acme", repo: repo.name, name: "plan", head_sha: head, status: "in_progress" });
    expect(created.data.id).toEqual(expect.any(Number));
    const perm = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: "acme", repo: repo.name, username: "nobody-special" });
    expect(perm.data.permission).toBe("read");
    const nested = await octokit.rest.repos.getContent({ owner: "acme", repo: repo.name, path: "dir/nested.tf", ref: "many" });
    expect(Array.isArray(nested.data) ? "dir" : Buffer.from((nested.data as { content: string }).content, "base64").toString()).toBe("nested\n");
    const root = await octokit.rest.repos.getContent({ owner: "acme", repo: repo.name, path: "", ref: "many" });
    expect(Array.isArray(root.data) && root.data.map((e) => e.name)).toContain("dir");
    const appOctokit = await probot.auth();
    expect((await appOctokit.rest.apps.getAuthenticated()).data?.slug).toBe("atoll-test");
    const tokenRequests = gh.requests.filter((r) => r.template === "/app/installations/{installation_id}/access_tokens" && r.auth === "jwt");
    expect(tokenRequests.length).toBeGreaterThan(0);
    expect(gh.violations).toEqual([]);
    expect(gh.unhandled).toEqual([]);
  });

  test("reviews and collaborator permissions", async () => {
    const repo = await freshRepo();
    await repo.commit("r", { x: "1" });
    await gh.createPull("acme", repo.name, { number: 4, head: "r" });
    await gh.addReview("acme", repo.name, 4, { user: "bob", state: "approved" });
    await gh.addReview("acme", repo.name, 4, { user: "carol", state: "CHANGES_REQUESTED", body: "no" });
    gh.setPermission("acme", repo.name, "bob", "admin");
    gh.setPermission("acme", repo.name, "dave", "maintain");
    gh.setPermission("acme", repo.name, "erin", "none");
    const { auth } = await withToken();

    const reviews = await api("GET", `/repos/${repo.fullName}/pulls/4/reviews`, { auth });
    expect(reviews.json.map((r: { user: { login: string }; state: string }) => [r.user.login, r.state])).toEqual([
      ["bob", "APPROVED"],
      ["carol", "CHANGES_REQUESTED"],
    ]);
    expect(reviews.json[0].commit_id).toBe(await repo.sha("r"));

    const perm = async (user: string) => (await api("GET", `/repos/${repo.fullName}/collaborators/${user}/permission`, { auth })).json;
    expect(await perm("bob")).toMatchObject({ permission: "admin", role_name: "admin", user: { login: "bob" } });
    expect(await perm("dave")).toMatchObject({ permission: "write", role_name: "maintain", user: { permissions: { push: true, admin: false } } });
    expect(await perm("erin")).toMatchObject({ permission: "none" });
    expect(await perm("stranger")).toMatchObject({ permission: "read", role_name: "read" });
  });
});

/**
 * GitHub's REST description as a response oracle: the fake's answers for endpoints Atoll reads
 * decisions from must have the shape Octokit's types promise. OpenAPI's `nullable` is rewritten
 * to JSON Schema (`anyOf null`) for ajv.
 */
function responseValidator(template: string): (body: unknown) => string[] {
  const require = createRequire(import.meta.url);
  const doc = JSON.parse(readFileSync(require.resolve("@octokit/openapi/generated/api.github.com.deref.json"), "utf8")) as {
    paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: unknown }> }> }>>;
  };
  const toJsonSchema = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(toJsonSchema);
    if (!s || typeof s !== "object") return s;
    const { nullable, ...rest } = s as Record<string, unknown>;
    const converted = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, k === "example" || k === "examples" ? v : toJsonSchema(v)]));
    return nullable === true ? { anyOf: [{ type: "null" }, converted] } : converted;
  };
  const schema = toJsonSchema(doc.paths[template].get.responses["200"].content["application/json"].schema) as object;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  const validate = ajv.compile(schema);
  return (body) => (validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`));
}

/** The query Atoll sends for its `mergeable` apply requirement. */
const MERGE_BLOCKERS_QUERY = `
  query($owner: String!, $repo: String!, $number: Int!) {
    repository(owner: $owner, name: $repo) {
      pullRequest(number: $number) {
        reviewDecision
        mergeStateStatus
        commits(last: 1) { nodes { commit { oid statusCheckRollup { contexts(first: 100) { nodes {
          __typename
          ... on CheckRun { name status conclusion isRequired(pullRequestNumber: $number) }
          ... on StatusContext { context state isRequired(pullRequestNumber: $number) }
        } } } } } }
      }
    }
  }
`;

interface BlockersAnswer {
  repository: {
    pullRequest: {
      reviewDecision: string | null;
      mergeStateStatus: string;
      commits: {
        nodes: Array<{
          commit: {
            oid: string;
            statusCheckRollup: { contexts: { nodes: Array<Record<string, unknown> & { __typename: string }> } } | null;
          };
        }>;
      };
    };
  };
}

describe("compare, GraphQL and mergeability", () => {
  type Octokit = Awaited<ReturnType<Awaited<ReturnType<typeof makeProbot>>["auth"]>>;
  let octokit: Octokit;

  beforeAll(async () => {
    const probot = await makeProbot({ appId: creds.appId, privateKey: creds.privateKey, baseUrl: gh.apiUrl });
    octokit = await probot.auth(1);
  });

  // Whatever was sent must have been valid for GitHub (the Octokit plugin records, the fake
  // too) and servable by the fake, except where a test provokes gaps on purpose and says so.
  let marks = { unhandled: 0, violations: 0 };
  let provoked = { unhandled: 0, violations: 0 };
  beforeEach(() => {
    marks = { unhandled: gh.unhandled.length, violations: gh.violations.length };
    provoked = { unhandled: 0, violations: 0 };
  });
  afterEach(() => {
    expectNoOpenapiViolations();
    expect(gh.unhandled.length - marks.unhandled).toBe(provoked.unhandled);
    expect(gh.violations.length - marks.violations).toBe(provoked.violations);
  });

  const blockers = async (repo: string, number: number) =>
    (await octokit.graphql<BlockersAnswer>(MERGE_BLOCKERS_QUERY, { owner: "acme", repo, number })).repository.pullRequest;

  /** [name-or-context, state-or-conclusion, isRequired] per rollup context, for compact assertions. */
  const contexts = (pr: BlockersAnswer["repository"]["pullRequest"]) =>
    (pr.commits.nodes[0].commit.statusCheckRollup?.contexts.nodes ?? []).map((n) =>
      n.__typename === "CheckRun" ? ["CheckRun", n.name, n.status, n.conclusion, n.isRequired] : ["StatusContext", n.context, n.state, n.isRequired],
    );

  const restPull = async (repo: string, number: number) => (await octokit.rest.pulls.get({ owner: "acme", repo, pull_number: number })).data;

  describe("compare", () => {
    test("ahead, behind, diverged and identical follow real commits; unknown refs are 404", async () => {
      const repo = await freshRepo();
      const root = await repo.sha("main");
      const c1 = await repo.commit("feature/x", { "a.tf": "1\n" }, "first\n\nwith a body");
      const c2 = await repo.commit("feature/x", { "b.tf": "2\n" }, "second");
      const validate = responseValidator("/repos/{owner}/{repo}/compare/{basehead}");

      const ahead = await octokit.rest.repos.compareCommitsWithBasehead({ owner: "acme", repo: repo.name, basehead: "main...feature/x" });
      expect(validate(ahead.data)).toEqual([]);
      expect(ahead.data).toMatchObject({
        status: "ahead",
        ahead_by: 2,
        behind_by: 0,
        total_commits: 2,
        base_commit: { sha: root },
        merge_base_commit: { sha: root },
        html_url: `${gh.url}/${repo.fullName}/compare/main...feature/x`,
      });
      expect(ahead.data.commits.map((c) => [c.sha, c.commit.message, c.parents.map((p) => p.sha)])).toEqual([
        [c1, "first\n\nwith a body", [root]],
        [c2, "second", [c1]],
      ]);
      expect(ahead.data.files?.map((f) => [f.filename, f.status])).toEqual([
        ["a.tf", "added"],
        ["b.tf", "added"],
      ]);

      const behind = await octokit.rest.repos.compareCommitsWithBasehead({ owner: "acme", repo: repo.name, basehead: `${c2}...main` });
      expect(behind.data).toMatchObject({ status: "behind", ahead_by: 0, behind_by: 2, total_commits: 0, commits: [], files: [], base_commit: { sha: c2 } });

      // main moves on: the branch has diverged (compared by sha, as Atoll does with the PR head).
      const m1 = await repo.commit("main", { "c.tf": "3\n" }, "on main");
      const diverged = await octokit.rest.repos.compareCommitsWithBasehead({ owner: "acme", repo: repo.name, basehead: `main...${c2}` });
      expect(validate(diverged.data)).toEqual([]);
      expect(diverged.data).toMatchObject({ status: "diverged", ahead_by: 2, behind_by: 1, base_commit: { sha: m1 }, merge_base_commit: { sha: root } });
      // Three-dot: only the branch's side of the change.
      expect(diverged.data.files?.map((f) => f.filename)).toEqual(["a.tf", "b.tf"]);

      const identical = await octokit.rest.repos.compareCommitsWithBasehead({ owner: "acme", repo: repo.name, basehead: `main...${m1}` });
      expect(identical.data).toMatchObject({ status: "identical", ahead_by: 0, behind_by: 0, total_commits: 0, commits: [], files: [] });

      const { auth } = await withToken();
      for (const basehead of ["main...nope", "nope...main", `main...${"1".repeat(40)}`, "main..feature/x", "main"]) {
        expect((await api("GET", `/repos/${repo.fullName}/compare/${basehead}`, { auth })).status).toBe(404);
      }
      expect((await api("GET", `/repos/acme/no-such-repo/compare/main...main`, { auth })).status).toBe(404);
    });
  });

  describe("GraphQL", () => {
    async function pullWithChecks() {
      const repo = await freshRepo();
      await repo.commit("feature", { "main.tf": "# change\n" });
      await gh.createPull("acme", repo.name, { number: 1, head: "feature" });
      const head = await repo.sha("feature");
      const check = async (name: string, body: { status?: "queued" | "in_progress" | "completed"; conclusion?: "success" | "failure" } = {}) =>
        (await octokit.rest.checks.create({ owner: "acme", repo: repo.name, name, head_sha: head, ...body })).data;
      return { repo, head, check };
    }

    test("the merge-blockers query: latest run per name on the head, statuses, isRequired from protection", async () => {
      const { repo, head, check } = await pullWithChecks();
      gh.setRequiredChecks("acme", repo.name, "main", ["atoll/plan", "ci/build"]);

      // Required "ci/build" has not reported at all.
      await check("atoll/plan", { status: "in_progress" });
      const planDone = await check("atoll/plan", { conclusion: "success" });
      let pr = await blockers(repo.name, 1);
      expect(pr.commits.nodes.map((n) => n.commit.oid)).toEqual([head]);
      expect(contexts(pr)).toEqual([["CheckRun", "atoll/plan", "COMPLETED", "SUCCESS", true]]);
      expect(pr).toMatchObject({ reviewDecision: null, mergeStateStatus: "BLOCKED" });
      expect((await restPull(repo.name, 1)).mergeable_state).toBe("blocked");

      // Required status failing; a non-required check failing too.
      gh.addStatus("acme", repo.name, head, { context: "ci/build", state: "failure" });
      await check("lint", { conclusion: "failure" });
      pr = await blockers(repo.name, 1);
      expect(contexts(pr)).toEqual([
        ["CheckRun", "atoll/plan", "COMPLETED", "SUCCESS", true],
        ["CheckRun", "lint", "COMPLETED", "FAILURE", false],
        ["StatusContext", "ci/build", "FAILURE", true],
      ]);
      expect(pr.mergeStateStatus).toBe("BLOCKED");

      // Required ones pass: only the optional failure remains, which GitHub calls unstable.
      gh.addStatus("acme", repo.name, head, { context: "ci/build", state: "success" });
      pr = await blockers(repo.name, 1);
      expect(contexts(pr)).toContainEqual(["StatusContext", "ci/build", "SUCCESS", true]);
      expect(pr.mergeStateStatus).toBe("UNSTABLE");
      expect((await restPull(repo.name, 1)).mergeable_state).toBe("unstable");

      await check("lint", { conclusion: "success" });
      expect((await blockers(repo.name, 1)).mergeStateStatus).toBe("CLEAN");
      expect((await restPull(repo.name, 1)).mergeable_state).toBe("clean");

      // A required check failing again (a newer run of the same name wins).
      await octokit.rest.checks.update({ owner: "acme", repo: repo.name, check_run_id: planDone.id, conclusion: "failure" });
      pr = await blockers(repo.name, 1);
      expect(contexts(pr)[0]).toEqual(["CheckRun", "atoll/plan", "COMPLETED", "FAILURE", true]);
      expect(pr.mergeStateStatus).toBe("BLOCKED");

      // A push: the new head has no checks, the rollup is null, the required ones are missing.
      const newHead = await repo.commit("feature", { "main.tf": "# change 2\n" });
      pr = await blockers(repo.name, 1);
      expect(pr.commits.nodes[0].commit).toEqual({ oid: newHead, statusCheckRollup: null });
      expect(pr.mergeStateStatus).toBe("BLOCKED");

      // Without protection nothing is required.
      gh.setRequiredChecks("acme", repo.name, "main", []);
      expect((await blockers(repo.name, 1)).mergeStateStatus).toBe("CLEAN");
    });

    test("reviewDecision follows required approvals and each reviewer's latest opinion", async () => {
      const repo = await freshRepo();
      await repo.commit("feature", { "main.tf": "# change\n" });
      await gh.createPull("acme", repo.name, { number: 1, head: "feature", author: "alice" });
      const review = (user: string, state: string) => gh.addReview("acme", repo.name, 1, { user, state });
      const decision = async () => {
        const pr = await blockers(repo.name, 1);
        return [pr.reviewDecision, pr.mergeStateStatus];
      };

      await review("bob", "CHANGES_REQUESTED");
      // Reviews not required by protection: no decision, and nothing blocks.
      expect(await decision()).toEqual([null, "CLEAN"]);

      gh.setRequiredApprovals("acme", repo.name, "main", 2);
      expect(await decision()).toEqual(["CHANGES_REQUESTED", "BLOCKED"]);
      expect((await restPull(repo.name, 1)).mergeable_state).toBe("blocked");
      await review("bob", "APPROVED");
      expect(await decision()).toEqual(["REVIEW_REQUIRED", "BLOCKED"]);
      // A comment is not an opinion: bob still approves, carol has not decided.
      await review("bob", "COMMENTED");
      await review("carol", "COMMENTED");
      expect(await decision()).toEqual(["REVIEW_REQUIRED", "BLOCKED"]);
      await review("carol", "approved");
      expect(await decision()).toEqual(["APPROVED", "CLEAN"]);
      expect((await restPull(repo.name, 1)).mergeable_state).toBe("clean");
      await review("dave", "CHANGES_REQUESTED");
      expect(await decision()).toEqual(["CHANGES_REQUESTED", "BLOCKED"]);
      await review("dave", "APPROVED");
      expect(await decision()).toEqual(["APPROVED", "CLEAN"]);
      // Dismissing withdraws an approval: 2 of 3 are still enough, 1 is not.
      await review("dave", "DISMISSED");
      expect(await decision()).toEqual(["APPROVED", "CLEAN"]);
      await review("carol", "DISMISSED");
      expect(await decision()).toEqual(["REVIEW_REQUIRED", "BLOCKED"]);
      // Protection rules are per branch: a PR into another base is unaffected.
      await repo.commit("release", { "r.tf": "r\n" }, "release", { from: "main" });
      await repo.commit("hotfix", { "h.tf": "h\n" }, "hotfix", { from: "release" });
      await gh.createPull("acme", repo.name, { number: 2, head: "hotfix", base: "release" });
      const other = await blockers(repo.name, 2);
      expect([other.reviewDecision, other.mergeStateStatus]).toEqual([null, "CLEAN"]);
    });

    test("queries the fake cannot answer are GraphQL errors and recorded as unhandled", async () => {
      const { repo } = await pullWithChecks();
      const failing = async (query: string, variables: Record<string, unknown> = {}) => {
        const err = await octokit.graphql(query, variables).then(
          () => undefined,
          (e: unknown) => e as { errors?: Array<{ message: string }> },
        );
        expect(err?.errors?.length).toBeGreaterThan(0);
        return err!.errors!.map((e) => e.message);
      };
      const vars = { owner: "acme", repo: repo.name, number: 1 };

      expect(await failing("{ viewer { login } }")).toEqual(["Field 'viewer' doesn't exist on type 'Query'"]);
      // A misspelt field, a wrongly typed variable, a missing variable, a syntax error.
      expect(await failing(MERGE_BLOCKERS_QUERY.replace("mergeStateStatus", "mergeStatus"), vars)).toEqual([
        "Field 'mergeStatus' doesn't exist on type 'PullRequest'",
      ]);
      expect(await failing(MERGE_BLOCKERS_QUERY.replace("$number: Int!", "$number: String!"), { ...vars, number: "1" })).toEqual([
        expect.stringMatching(/^Type mismatch on variable \$number/),
        expect.stringMatching(/^Type mismatch on variable \$number/),
        expect.stringMatching(/^Type mismatch on variable \$number/),
      ]);
      expect(await failing(MERGE_BLOCKERS_QUERY, { owner: "acme", repo: repo.name })).toEqual([
        "Variable $number of type Int! was provided invalid value",
      ]);
      expect(await failing("query { repository(owner: \"acme\", name: \"x\") { name }")).toEqual([expect.stringMatching(/^Parse error on end of file/)]);
      // Selecting fields on the union itself instead of through a fragment.
      expect(
        await failing(MERGE_BLOCKERS_QUERY.replace("__typename", "__typename name"), vars),
      ).toEqual(["Field 'name' doesn't exist on type 'StatusCheckRollupContext'"]);
      expect(gh.unhandled.slice(marks.unhandled).map((u) => [u.method, u.path, u.template])).toEqual(
        Array.from({ length: 6 }, () => ["POST", "/api/graphql", "/graphql"]),
      );
      expect(gh.unhandled.at(-1)?.error).toBe("Field 'name' doesn't exist on type 'StatusCheckRollupContext'");
      provoked.unhandled = 6;
    });

    test("GitHub's own errors: NOT_FOUND with partial data, pagination bounds; auth like REST", async () => {
      const { repo } = await pullWithChecks();
      const { auth } = await withToken();
      const post = (body: unknown, authorization?: string) =>
        fetch(`${gh.url}/api/graphql`, { method: "POST", headers: authorization ? { authorization } : {}, body: JSON.stringify(body) });

      const missingPull = await post({ query: MERGE_BLOCKERS_QUERY, variables: { owner: "acme", repo: repo.name, number: 99 } }, auth);
      expect(missingPull.status).toBe(200);
      expect(await missingPull.json()).toEqual({
        data: { repository: { pullRequest: null } },
        errors: [{ type: "NOT_FOUND", path: ["repository", "pullRequest"], locations: [{ line: 4, column: 7 }], message: "Could not resolve to a PullRequest with the number of 99." }],
      });
      const missingRepo = await (await post({ query: MERGE_BLOCKERS_QUERY, variables: { owner: "acme", repo: "nope", number: 1 } }, auth)).json();
      expect(missingRepo.data).toEqual({ repository: null });
      expect(missingRepo.errors[0]).toMatchObject({ type: "NOT_FOUND", message: "Could not resolve to a Repository with the name 'acme/nope'." });
      // Legitimate answers, not gaps in the fake (checked after each test).

      const unbounded = await (await post({ query: `{ repository(owner: "acme", name: "${repo.name}") { pullRequest(number: 1) { number commits { totalCount } } } }` }, auth)).json();
      expect(unbounded).toMatchObject({
        data: { repository: { pullRequest: null } },
        errors: [{ type: "MISSING_PAGINATION_BOUNDARIES", message: "You must provide a `first` or `last` value to properly paginate the `commits` connection." }],
      });
      const tooMany = await (await post({ query: `{ repository(owner: "acme", name: "${repo.name}") { pullRequest(number: 1) { commits(first: 101) { totalCount } } } }` }, auth)).json();
      expect(tooMany.errors[0].type).toBe("EXCESSIVE_PAGINATION");
      // GitHub would refuse these, so they are the app's mistakes: recorded as violations.
      expect(gh.violations.slice(marks.violations).map((v) => v.errors)).toEqual([
        ["You must provide a `first` or `last` value to properly paginate the `commits` connection."],
        ["Requesting 101 records on the `commits` connection exceeds the `first` limit of 100 records."],
      ]);
      provoked.violations = 2;

      expect((await post({ query: "{ __typename }" })).status).toBe(401);
      expect((await post({ query: "{ __typename }" }, `bearer ${makeJwt()}`)).status).toBe(401);
      expect(await (await post({ query: "{ __typename }" }, auth)).json()).toEqual({ data: { __typename: "Query" } });
    });

    test("aliases, named fragments, directives and pagination work like GraphQL", async () => {
      const { repo } = await pullWithChecks();
      await repo.commit("feature", { "second.tf": "2\n" }, "second");
      const head = await repo.commit("feature", { "third.tf": "3\n" }, "third");
      await gh.syncPull("acme", repo.name, 1);
      await octokit.rest.checks.create({ owner: "acme", repo: repo.name, name: "a", head_sha: head, status: "completed", conclusion: "success" });
      const query = `
        query Commits($owner: String!, $repo: String!, $number: Int!, $withRollup: Boolean = false, $after: String) {
          repository(owner: $owner, name: $repo) {
            pr: pullRequest(number: $number) {
              state isDraft headRefOid author { __typename login }
              firstTwo: commits(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { ...C } }
              latest: commits(last: 1) { nodes { ...C commit { statusCheckRollup @include(if: $withRollup) { state } } } }
            }
          }
        }
        fragment C on PullRequestCommit { commit { oid messageHeadline } }
      `;
      type Answer = {
        repository: {
          pr: {
            state: string;
            isDraft: boolean;
            headRefOid: string;
            author: { __typename: string; login: string };
            firstTwo: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; nodes: Array<{ commit: { oid: string; messageHeadline: string } }> };
            latest: { nodes: Array<{ commit: { oid: string; messageHeadline: string; statusCheckRollup?: { state: string } | null } }> };
          };
        };
      };
      const vars = { owner: "acme", repo: repo.name, number: 1 };
      const page1 = (await octokit.graphql<Answer>(query, vars)).repository.pr;
      expect(page1).toMatchObject({ state: "OPEN", isDraft: false, headRefOid: head, author: { __typename: "User", login: "octocat" } });
      expect(page1.firstTwo.totalCount).toBe(3);
      expect(page1.firstTwo.nodes.map((n) => n.commit.messageHeadline)).toEqual(["Update feature", "second"]);
      expect(page1.firstTwo.pageInfo.hasNextPage).toBe(true);
      expect(page1.latest.nodes).toEqual([{ commit: { oid: head, messageHeadline: "third" } }]);

      const page2 = (await octokit.graphql<Answer>(query, { ...vars, after: page1.firstTwo.pageInfo.endCursor, withRollup: true })).repository.pr;
      expect(page2.firstTwo.nodes.map((n) => n.commit.messageHeadline)).toEqual(["third"]);
      expect(page2.firstTwo.pageInfo.hasNextPage).toBe(false);
      expect(page2.latest.nodes[0].commit.statusCheckRollup).toEqual({ state: "SUCCESS" });
    });
  });

  describe("mergeable_state", () => {
    test("clean → blocked by a failing required check → clean when it passes; draft", async () => {
      const repo = await freshRepo();
      const head = await repo.commit("feature", { "main.tf": "# change\n" });
      await gh.createPull("acme", repo.name, { number: 1, head: "feature" });
      const validate = responseValidator("/repos/{owner}/{repo}/pulls/{pull_number}");
      const state = async () => {
        const pr = await restPull(repo.name, 1);
        expect(validate(pr)).toEqual([]);
        return [pr.mergeable, pr.mergeable_state];
      };

      expect(await state()).toEqual([true, "clean"]);
      gh.setRequiredChecks("acme", repo.name, "main", ["ci/build"]);
      expect(await state()).toEqual([true, "blocked"]);
      gh.addStatus("acme", repo.name, head, { context: "ci/build", state: "pending" });
      expect(await state()).toEqual([true, "blocked"]);
      gh.addStatus("acme", repo.name, head, { context: "ci/build", state: "failure" });
      expect(await state()).toEqual([true, "blocked"]);
      gh.addStatus("acme", repo.name, head, { context: "ci/build", state: "success" });
      expect(await state()).toEqual([true, "clean"]);

      gh.updatePull("acme", repo.name, 1, { draft: true });
      expect(await state()).toEqual([true, "draft"]);
      expect((await blockers(repo.name, 1)).mergeStateStatus).toBe("DRAFT");
      gh.updatePull("acme", repo.name, 1, { draft: false });
      expect(await state()).toEqual([true, "clean"]);

      // A test can still pin values GitHub computes elsewhere (GHES pre-receive hooks) …
      gh.updatePull("acme", repo.name, 1, { mergeableState: "has_hooks" });
      expect(await state()).toEqual([true, "has_hooks"]);
      expect((await blockers(repo.name, 1)).mergeStateStatus).toBe("HAS_HOOKS");
      // … or "still computing" for good, and go back to computed values.
      gh.updatePull("acme", repo.name, 1, { mergeable: null, mergeableState: "auto" });
      expect(await state()).toEqual([null, "unknown"]);
      expect(await state()).toEqual([null, "unknown"]);
      gh.updatePull("acme", repo.name, 1, { mergeable: "auto" });
      expect(await state()).toEqual([true, "clean"]);
    });

    test("computing: null for the next N reads, then the value", async () => {
      const repo = await freshRepo();
      await repo.commit("feature", { "main.tf": "# change\n" });
      await gh.createPull("acme", repo.name, { number: 1, head: "feature" });
      gh.setMergeableComputing("acme", repo.name, 1, 2);
      const read = async () => {
        const pr = await restPull(repo.name, 1);
        return [pr.mergeable, pr.mergeable_state];
      };
      expect(await read()).toEqual([null, "unknown"]);
      // A GraphQL read of the merge state counts as one read, however many fields ask.
      const q = `query($o: String!, $r: String!) { repository(owner: $o, name: $r) { pullRequest(number: 1) { mergeable mergeStateStatus again: mergeStateStatus } } }`;
      type A = { repository: { pullRequest: { mergeable: string; mergeStateStatus: string; again: string } } };
      expect((await octokit.graphql<A>(q, { o: "acme", r: repo.name })).repository.pullRequest).toEqual({ mergeable: "UNKNOWN", mergeStateStatus: "UNKNOWN", again: "UNKNOWN" });
      expect(await read()).toEqual([true, "clean"]);
      expect((await octokit.graphql<A>(q, { o: "acme", r: repo.name })).repository.pullRequest).toEqual({ mergeable: "MERGEABLE", mergeStateStatus: "CLEAN", again: "CLEAN" });
    });

    test("dirty when head and base conflict; behind only when the branch must be up to date", async () => {
      const repo = await freshRepo({ "main.tf": "# v1\n" });
      await repo.commit("feature", { "main.tf": "# feature\n" });
      await gh.createPull("acme", repo.name, { number: 1, head: "feature" });
      await repo.commit("other", { "other.tf": "o\n" });
      await gh.createPull("acme", repo.name, { number: 2, head: "other" });
      const read = async (n: number) => {
        const pr = await restPull(repo.name, n);
        return [pr.mergeable, pr.mergeable_state];
      };

      // main moves: #1 now conflicts, #2 is merely behind.
      await repo.commit("main", { "main.tf": "# v2 on main\n" });
      expect(await read(1)).toEqual([false, "dirty"]);
      const q = `query($r: String!) { repository(owner: "acme", name: $r) { pullRequest(number: 1) { mergeable mergeStateStatus } } }`;
      expect((await octokit.graphql<{ repository: { pullRequest: unknown } }>(q, { r: repo.name })).repository.pullRequest).toEqual({
        mergeable: "CONFLICTING",
        mergeStateStatus: "DIRTY",
      });
      expect(await read(2)).toEqual([true, "clean"]);
      gh.setRequiredChecks("acme", repo.name, "main", [], { strict: true });
      expect(await read(2)).toEqual([true, "behind"]);
      // Catching up with main (a merge from main into the branch) clears it.
      await repo.merge("other", "main", "Merge main into other");
      expect(await read(2)).toEqual([true, "clean"]);
    });
  });

  describe("merging and closing", () => {
    test("mergePull merges the head into the base in git and marks the PR merged", async () => {
      const repo = await freshRepo();
      const head = await repo.commit("feature", { "feature.tf": "f\n" });
      await gh.createPull("acme", repo.name, { number: 7, head: "feature", title: "Add feature", author: "alice" });
      await repo.commit("main", { "main-only.tf": "m\n" });
      const compare = async (basehead: string) => (await octokit.rest.repos.compareCommitsWithBasehead({ owner: "acme", repo: repo.name, basehead })).data;
      expect((await compare(`main...${head}`)).status).toBe("diverged");

      const merged = await gh.mergePull("acme", repo.name, 7, { mergedBy: "bob" });
      const tip = await repo.sha("main");
      expect(merged.mergeCommitSha).toBe(tip);
      // The base now contains the head: from the head's side the base is ahead.
      expect(await compare(`main...${head}`)).toMatchObject({ status: "behind", ahead_by: 0, behind_by: 2 });
      expect(await compare(`${head}...main`)).toMatchObject({ status: "ahead", ahead_by: 2 });
      const [mergeCommit] = (await compare(`${head}...main`)).commits.slice(-1);
      expect(mergeCommit.commit.message).toBe("Merge pull request #7 from acme/feature\n\nAdd feature");
      expect(mergeCommit.parents).toHaveLength(2);
      expect(mergeCommit.parents[1].sha).toBe(head);
      expect((await repo.readPath(tip, "feature.tf"))?.type).toBe("file");
      expect((await repo.readPath(tip, "main-only.tf"))?.type).toBe("file");

      const pr = await restPull(repo.name, 7);
      expect(pr).toMatchObject({ state: "closed", merged: true, merge_commit_sha: tip, merged_by: { login: "bob" }, mergeable: null, head: { sha: head } });
      expect(pr.merged_at).toEqual(expect.any(String));
      expect(pr.closed_at).toBe(pr.merged_at);
      const q = `query($r: String!) { repository(owner: "acme", name: $r) { pullRequest(number: 7) { state merged mergedAt } } }`;
      expect((await octokit.graphql<{ repository: { pullRequest: unknown } }>(q, { r: repo.name })).repository.pullRequest).toEqual({
        state: "MERGED",
        merged: true,
        mergedAt: pr.merged_at,
      });
      await expect(gh.mergePull("acme", repo.name, 7)).rejects.toThrow(/not open/);
    });

    test("PUT …/merge: merge, squash and rebase change the base in git; the PR is merged by the app", async () => {
      const repo = await freshRepo({ "main.tf": "# v1\n" });
      const log = async (ref: string) => (await repo.git(["log", "--format=%P|%an|%cn|%s", ref])).trim().split("\n");
      const merge = (n: number, method: "merge" | "squash" | "rebase", sha: string) =>
        octokit.rest.pulls.merge({ owner: "acme", repo: repo.name, pull_number: n, merge_method: method, sha });

      await repo.commit("m", { "m.tf": "m\n" }, "add m", { author: { name: "Alice", email: "alice@example.com" } });
      const mHead = await repo.commit("m", { "m2.tf": "m2\n" }, "add m2");
      await gh.createPull("acme", repo.name, { number: 1, head: "m", title: "Merge me", author: "alice" });
      const beforeMerge = await repo.sha("main");
      const merged = await merge(1, "merge", mHead);
      expect(merged.data).toEqual({ sha: await repo.sha("main"), merged: true, message: "Pull Request successfully merged" });
      expect((await log("main"))[0]).toBe(`${beforeMerge} ${mHead}|GitHub|GitHub|Merge pull request #1 from acme/m`);
      expect(await restPull(repo.name, 1)).toMatchObject({ state: "closed", merged: true, merge_commit_sha: merged.data.sha, merged_by: { login: gh.botLogin } });

      await repo.commit("s", { "s.tf": "s\n" }, "add s", { author: { name: "Sam", email: "sam@example.com" } });
      const sHead = await repo.commit("s", { "s2.tf": "s2\n" }, "add s2", { author: { name: "Sam", email: "sam@example.com" } });
      await gh.createPull("acme", repo.name, { number: 2, head: "s", title: "Squash me" });
      const beforeSquash = await repo.sha("main");
      const squashed = await merge(2, "squash", sHead);
      expect(await log("main~1..main")).toEqual([`${beforeSquash}|Sam|GitHub|Squash me (#2)`]);
      expect((await repo.readPath(squashed.data.sha, "s2.tf"))?.type).toBe("file");

      await repo.commit("r", { "r.tf": "r\n" }, "add r");
      const rHead = await repo.commit("r", { "r2.tf": "r2\n" }, "add r2");
      await gh.createPull("acme", repo.name, { number: 3, head: "r" });
      // main moves after the branch started: the commits are recreated on top of it.
      const beforeRebase = await repo.commit("main", { "main-only.tf": "x\n" }, "main moves");
      const rebased = await merge(3, "rebase", rHead);
      const replayed = await log(`${beforeRebase}..main`);
      expect(replayed.map((l) => l.split("|").slice(1).join("|"))).toEqual(["Fake GitHub Test|GitHub|add r2", "Fake GitHub Test|GitHub|add r"]);
      expect(replayed[1].split("|")[0]).toBe(beforeRebase);
      expect(rebased.data.sha).not.toBe(rHead);
      for (const f of ["r.tf", "r2.tf", "main-only.tf", "s2.tf", "m2.tf"]) expect([f, (await repo.readPath(rebased.data.sha, f))?.type]).toEqual([f, "file"]);
    });

    test("PUT …/merge refuses like GitHub: 409 when the head moved, 405 when conflicting, blocked, draft or closed", async () => {
      const repo = await freshRepo({ "main.tf": "# v1\n" });
      const merge = (n: number, sha: string) => octokit.rest.pulls.merge({ owner: "acme", repo: repo.name, pull_number: n, merge_method: "merge", sha });
      const old = await repo.commit("feature", { "a.tf": "a\n" });
      const pr = await gh.createPull("acme", repo.name, { number: 1, head: "feature" });
      const head = await repo.commit("feature", { "b.tf": "b\n" });
      await expect(merge(1, old)).rejects.toMatchObject({ status: 409, response: { data: { message: "Head branch was modified. Review and try the merge again." } } });

      gh.setRequiredChecks("acme", repo.name, "main", ["ci"]);
      await expect(merge(1, head)).rejects.toMatchObject({ status: 405, response: { data: { message: 'Required status check "ci" is expected.' } } });
      gh.addStatus("acme", repo.name, head, { context: "ci", state: "failure" });
      await expect(merge(1, head)).rejects.toMatchObject({ status: 405, response: { data: { message: 'Required status check "ci" is failing.' } } });
      gh.setRequiredChecks("acme", repo.name, "main", []);
      gh.setRequiredApprovals("acme", repo.name, "main", 1);
      await expect(merge(1, head)).rejects.toMatchObject({ status: 405, response: { data: { message: expect.stringMatching(/approving review is required/) } } });
      gh.setRequiredApprovals("acme", repo.name, "main", 0);
      gh.updatePull("acme", repo.name, 1, { draft: true });
      await expect(merge(1, head)).rejects.toMatchObject({ status: 405, response: { data: { message: "Pull Request is still a draft" } } });
      gh.updatePull("acme", repo.name, 1, { draft: false });
      const main = await repo.commit("main", { "a.tf": "conflict\n" });
      await expect(merge(1, head)).rejects.toMatchObject({ status: 405, response: { data: { message: "Pull Request is not mergeable" } } });
      expect(gh.pull("acme", repo.name, pr.number)).toMatchObject({ state: "open", merged: false });
      expect(await repo.sha("main")).toBe(main);
      gh.closePull("acme", repo.name, 1);
      await expect(merge(1, head)).rejects.toMatchObject({ status: 405 });
      // Refusals are answers, not invalid requests (afterEach: no violations).
    });

    test("DELETE …/git/refs/heads/{branch}: deletes it and closes open PRs from it; a missing ref or a fork's branch is 422", async () => {
      const repo = await freshRepo();
      await repo.commit("feature/x", { "x.tf": "x\n" });
      await repo.commit("other", { "o.tf": "o\n" });
      await gh.createPull("acme", repo.name, { number: 1, head: "other" });
      await repo.commit("forked", { "f.tf": "f\n" });
      await gh.createPull("acme", repo.name, { number: 2, head: "forked", author: "mallory", fork: true });
      const del = (ref: string) => octokit.rest.git.deleteRef({ owner: "acme", repo: repo.name, ref });

      expect((await del("heads/feature/x")).status).toBe(204);
      expect(await repo.branches()).not.toContain("feature/x");
      expect((await del("heads/other")).status).toBe(204);
      expect(gh.pull("acme", repo.name, 1)).toMatchObject({ state: "closed", merged: false });
      await expect(del("heads/feature/x")).rejects.toMatchObject({ status: 422, response: { data: { message: "Reference does not exist" } } });
      await expect(del("heads/forked")).rejects.toMatchObject({ status: 422 });
      expect(await repo.branches()).toContain("forked");
    });

    test("a conflicting PR cannot be merged; closePull closes without merging", async () => {
      const repo = await freshRepo({ "main.tf": "# v1\n" });
      await repo.commit("feature", { "main.tf": "# feature\n" });
      await gh.createPull("acme", repo.name, { number: 1, head: "feature" });
      const before = await repo.commit("main", { "main.tf": "# v2\n" });
      await expect(gh.mergePull("acme", repo.name, 1)).rejects.toThrow(/does not merge cleanly/);
      expect(await repo.sha("main")).toBe(before);
      expect(gh.pull("acme", repo.name, 1)).toMatchObject({ state: "open", merged: false });

      gh.closePull("acme", repo.name, 1);
      expect(await restPull(repo.name, 1)).toMatchObject({ state: "closed", merged: false, merged_at: null, closed_at: expect.any(String) });
      expect(await repo.sha("main")).toBe(before);
      const q = `query($r: String!) { repository(owner: "acme", name: $r) { pullRequest(number: 1) { state closed merged reviewDecision } } }`;
      expect((await octokit.graphql<{ repository: { pullRequest: unknown } }>(q, { r: repo.name })).repository.pullRequest).toEqual({
        state: "CLOSED",
        closed: true,
        merged: false,
        reviewDecision: null,
      });
    });
  });
});

describe("contents", () => {
  test("file, directory, raw and 404", async () => {
    const repo = await freshRepo({ "atlantis.yaml": "version: 3\nprojects: []\n", "envs/dev/main.tf": "# dev ✓\n", "envs/prod/main.tf": "# prod\n" });
    const feature = await repo.commit("feature", { "atlantis.yaml": "version: 3\n" });
    const { auth } = await withToken();
    const base = `/repos/${repo.fullName}/contents`;

    const file = await api("GET", `${base}/envs/dev/main.tf`, { auth });
    expect(file.status).toBe(200);
    expect(file.json).toMatchObject({ type: "file", encoding: "base64", path: "envs/dev/main.tf", name: "main.tf", size: Buffer.byteLength("# dev ✓\n") });
    expect(Buffer.from(file.json.content, "base64").toString("utf8")).toBe("# dev ✓\n");

    // Octokit percent-encodes the slashes in {path}; both forms work.
    const encoded = await api("GET", `${base}/${encodeURIComponent("envs/dev/main.tf")}`, { auth });
    expect(encoded.json.sha).toBe(file.json.sha);

    const atRef = async (ref: string) => Buffer.from((await api("GET", `${base}/atlantis.yaml?ref=${ref}`, { auth })).json.content, "base64").toString();
    expect(await atRef("feature")).toBe("version: 3\n");
    expect(await atRef(feature)).toBe("version: 3\n");
    expect(await atRef("main")).toBe("version: 3\nprojects: []\n");

    const dir = await api("GET", `${base}/envs`, { auth });
    expect(dir.json.map((e: { name: string; type: string; path: string }) => [e.name, e.type, e.path])).toEqual([
      ["dev", "dir", "envs/dev"],
      ["prod", "dir", "envs/prod"],
    ]);

    // The root listing, as Octokit requests it for path "" (trailing slash) and without it.
    for (const rootPath of [`${base}/`, base]) {
      const root = await api("GET", `${rootPath}?ref=feature`, { auth });
      expect(root.status).toBe(200);
      expect(root.json.map((e: { name: string; type: string }) => [e.name, e.type])).toEqual([
        ["atlantis.yaml", "file"],
        ["envs", "dir"],
      ]);
    }

    const raw = await api("GET", `${base}/atlantis.yaml`, { auth, accept: "application/vnd.github.v3.raw" });
    expect(raw.status).toBe(200);
    expect(raw.json).toBe("version: 3\nprojects: []\n");
    expect(raw.headers.get("content-type")).toMatch(/^text\/plain/);

    const missing = await api("GET", `${base}/nope.tf`, { auth });
    expect(missing).toMatchObject({ status: 404, json: { message: "Not Found" } });
    expect((await api("GET", `${base}/atlantis.yaml?ref=no-such-branch`, { auth })).status).toBe(404);
    expect((await api("GET", `/repos/acme/no-such-repo/contents/x`, { auth })).status).toBe(404);
    // A 404 on a known route is GitHub's answer, not a gap in the fake.
    expect(gh.unhandled.filter((u) => u.path.includes("/contents/"))).toEqual([]);
  });
});

describe("comments and reactions", () => {
  test("create, list (paginated), edit, delete; too-long bodies are rejected and not stored", async () => {
    const repo = await freshRepo();
    await repo.commit("c", { x: "1" });
    await gh.createPull("acme", repo.name, { number: 8, head: "c" });
    const { auth } = await withToken();
    const path = `/repos/${repo.fullName}/issues/8/comments`;
    const violationsBefore = gh.violations.length;

    const tooLong = await api("POST", path, { auth, body: { body: "x".repeat(65537) } });
    expect(tooLong.status).toBe(422);
    expect(tooLong.json.message).toBe("Validation Failed");
    expect(tooLong.json.errors[0].message).toBe("body is too long (maximum is 65536 characters)");
    expect(gh.comments("acme", repo.name, 8)).toEqual([]);
    expect(gh.violations.slice(violationsBefore)).toHaveLength(1);
    expect(gh.violations.at(-1)).toMatchObject({ method: "POST", template: "/repos/{owner}/{repo}/issues/{issue_number}/comments" });

    // Exactly at the limit (counted in characters, not bytes) is fine.
    const atLimit = await api("POST", path, { auth, body: { body: "é".repeat(65536) } });
    expect(atLimit.status).toBe(201);
    expect(atLimit.json).toMatchObject({ user: { login: "atoll-test[bot]", type: "Bot" }, node_id: expect.any(String) });
    expect(atLimit.json.html_url).toContain(`/pull/8#issuecomment-${atLimit.json.id}`);

    for (let i = 0; i < 31; i++) expect((await api("POST", path, { auth, body: { body: `comment ${i}` } })).status).toBe(201);
    const page1 = await api("GET", path, { auth });
    expect(page1.json).toHaveLength(30);
    const next = /<([^>]+)>;\s*rel="next"/.exec(page1.headers.get("link") ?? "")?.[1];
    expect(next).toBeDefined();
    const page2 = await api("GET", "", { auth, url: next });
    expect(page2.json.map((c: { body: string }) => c.body)).toEqual(["comment 29", "comment 30"]);

    const id = atLimit.json.id as number;
    const edited = await api("PATCH", `/repos/${repo.fullName}/issues/comments/${id}`, { auth, body: { body: "short now" } });
    expect(edited.json.body).toBe("short now");
    const record = gh.comments("acme", repo.name, 8).find((c) => c.id === id);
    expect(record).toMatchObject({ body: "short now", byApp: true });
    expect(record?.previousBodies).toHaveLength(1);
    expect((await api("PATCH", `/repos/${repo.fullName}/issues/comments/${id}`, { auth, body: { body: "y".repeat(65537) } })).status).toBe(422);
    expect((await api("DELETE", `/repos/${repo.fullName}/issues/comments/${id}`, { auth })).status).toBe(204);
    expect(gh.comments("acme", repo.name, 8).map((c) => c.id)).not.toContain(id);
    expect(gh.comments("acme", repo.name, 8)).toHaveLength(31);
  });

  test("reactions: 201 when new, 200 when the app already reacted the same way", async () => {
    const repo = await freshRepo();
    await repo.commit("c", { x: "1" });
    await gh.createPull("acme", repo.name, { number: 9, head: "c" });
    const human = gh.addComment("acme", repo.name, 9, { user: "alice", body: "atlantis plan" });
    const { auth } = await withToken();
    const path = `/repos/${repo.fullName}/issues/comments/${human.id}/reactions`;

    const first = await api("POST", path, { auth, body: { content: "eyes" } });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ content: "eyes", user: { login: "atoll-test[bot]" } });
    const again = await api("POST", path, { auth, body: { content: "eyes" } });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);
    expect((await api("POST", path, { auth, body: { content: "rocket" } })).status).toBe(201);
    expect(gh.reactions("acme", repo.name, human.id).map((r) => r.content)).toEqual(["eyes", "rocket"]);

    const bad = await api("POST", path, { auth, body: { content: "thumbsup" } });
    expect(bad.status).toBe(422);
    expect(gh.violations.at(-1)?.errors.join("\n")).toMatch(/content/);
    expect((await api("POST", `/repos/${repo.fullName}/issues/comments/1/reactions`, { auth, body: { content: "eyes" } })).status).toBe(404);
  });
});

describe("check runs", () => {
  async function setup() {
    const repo = await freshRepo();
    const sha = await repo.commit("main", { "main.tf": "# v2\n" });
    const { auth } = await withToken();
    return { repo, sha, auth, path: `/repos/${repo.fullName}/check-runs` };
  }
  const action = (label: string, identifier = "apply") => ({ label, description: "Run terraform apply", identifier });

  test("GitHub's limits beyond the schema are enforced with 422 and nothing is created", async () => {
    const { repo, sha, auth, path } = await setup();
    const base = { name: "atoll/plan: dev", head_sha: sha, status: "completed", conclusion: "success" };
    const before = gh.violations.length;

    const fourActions = await api("POST", path, { auth, body: { ...base, actions: [action("a", "a"), action("b", "b"), action("c", "c"), action("d", "d")] } });
    expect(fourActions.status).toBe(422);
    const longLabel = await api("POST", path, { auth, body: { ...base, actions: [action("x".repeat(21))] } });
    expect(longLabel.status).toBe(422);
    expect(JSON.stringify(longLabel.json.errors)).toMatch(/label/);
    // 32768 × "é" is 32768 characters (fine by the schema) but 65536 UTF-8 bytes (too many).
    const multiByte = "é".repeat(32768);
    expect(multiByte.length).toBeLessThan(65535);
    const bigSummary = await api("POST", path, { auth, body: { ...base, output: { title: "Plan", summary: multiByte } } });
    expect(bigSummary.status).toBe(422);
    expect(bigSummary.json.errors[0].message).toBe("summary exceeds a maximum bytesize of 65535");
    const bigText = await api("POST", path, { auth, body: { ...base, output: { title: "Plan", summary: "ok", text: multiByte } } });
    expect(bigText.status).toBe(422);
    const noConclusion = await api("POST", path, { auth, body: { name: "x", head_sha: sha, status: "completed" } });
    expect(noConclusion.status).toBe(422);
    const tooManyAnnotations = Array.from({ length: 51 }, (_, i) => ({ path: "main.tf", start_line: i + 1, end_line: i + 1, annotation_level: "notice", message: "m" }));
    expect((await api("POST", path, { auth, body: { ...base, output: { title: "t", summary: "s", annotations: tooManyAnnotations } } })).status).toBe(422);

    expect(gh.violations.length - before).toBe(6);
    expect(gh.checkRuns("acme", repo.name)).toEqual([]);

    // Just under the byte limit is accepted.
    const fits = await api("POST", path, { auth, body: { ...base, output: { title: "Plan", summary: "é".repeat(32767) + "a" } } });
    expect(fits.status).toBe(201);
    expect(gh.violations.length - before).toBe(6);
  });

  test("holdResponses: the run is created at once, the answer comes only on release", async () => {
    const { repo, sha, auth, path } = await setup();
    const hold = gh.holdResponses((r) => r.method === "POST" && (r.body as { name?: string } | undefined)?.name === "held");
    let answered = false;
    const pending = api("POST", path, { auth, body: { name: "held", head_sha: sha } }).then((res) => ((answered = true), res));
    await gh.waitFor(() => gh.checkRuns("acme", repo.name, { name: "held" }).length === 1, { what: "the held run" });
    // Other requests are answered meanwhile.
    expect((await api("POST", path, { auth, body: { name: "other", head_sha: sha } })).status).toBe(201);
    expect([answered, hold.held()]).toEqual([false, 1]);
    hold.release();
    expect((await pending).status).toBe(201);
    expect((await api("POST", path, { auth, body: { name: "held", head_sha: sha } })).status).toBe(201);
    expect(hold.held()).toBe(1);
  });

  test("create, update, read back, list by commit; history is kept", async () => {
    const { repo, sha, auth, path } = await setup();
    const created = await api("POST", path, {
      auth,
      body: { name: "atoll/plan: dev", head_sha: sha, status: "in_progress", external_id: "pr=1;project=dev", output: { title: "Planning", summary: "…" } },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: "atoll/plan: dev",
      head_sha: sha,
      status: "in_progress",
      conclusion: null,
      external_id: "pr=1;project=dev",
      app: { id: gh.appId, slug: "atoll-test" },
      check_suite: { id: expect.any(Number) },
      output: { title: "Planning", summary: "…" },
    });
    const id = created.json.id as number;

    const updated = await api("PATCH", `${path}/${id}`, {
      auth,
      body: { conclusion: "success", output: { title: "Plan: 1 to add", summary: "ok" }, actions: [action("Apply")] },
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ status: "completed", conclusion: "success", completed_at: expect.any(String) });

    const fetched = await api("GET", `${path}/${id}`, { auth });
    expect(fetched.json).toMatchObject({ status: "completed", conclusion: "success", output: { title: "Plan: 1 to add" }, external_id: "pr=1;project=dev" });

    // A second run with the same name: the commit listing shows only the latest per name by default.
    const rerun = await api("POST", path, { auth, body: { name: "atoll/plan: dev", head_sha: sha } });
    await api("POST", path, { auth, body: { name: "atoll/plan: prod", head_sha: sha } });
    const byCommit = await api("GET", `/repos/${repo.fullName}/commits/${sha}/check-runs?check_name=${encodeURIComponent("atoll/plan: dev")}`, { auth });
    expect(byCommit.json.total_count).toBe(1);
    expect(byCommit.json.check_runs[0].id).toBe(rerun.json.id);
    const all = await api("GET", `/repos/${repo.fullName}/commits/main/check-runs?filter=all`, { auth });
    expect(all.json.total_count).toBe(3);

    const [run] = gh.checkRuns("acme", repo.name, { headSha: sha, name: "atoll/plan: dev" }).filter((r) => r.id === id);
    expect(run).toMatchObject({ status: "completed", conclusion: "success", externalId: "pr=1;project=dev", actions: [action("Apply")] });
    expect(run.history.map((h) => [h.method, h.status, h.conclusion])).toEqual([
      ["POST", "in_progress", null],
      ["PATCH", "completed", "success"],
    ]);
    expect(gh.checkRuns("acme", repo.name, { name: "atoll/plan: prod" })).toHaveLength(1);

    expect((await api("PATCH", `${path}/${id}`, { auth, body: { status: "completed" } })).status).toBe(422);
    expect((await api("POST", path, { auth, body: { name: "x", head_sha: "0".repeat(40) } })).status).toBe(422);
  });

  test("check runs list the open same-repo PRs of their head sha", async () => {
    const { repo, auth, path } = await setup();
    const head = await repo.commit("pr-branch", { "b.tf": "b" });
    await gh.createPull("acme", repo.name, { number: 12, head: "pr-branch" });
    const created = await api("POST", path, { auth, body: { name: "p", head_sha: head } });
    expect(created.json.pull_requests.map((p: { number: number }) => p.number)).toEqual([12]);
  });
});

describe("contract recording", () => {
  test("schema violations are recorded and answered with 422", async () => {
    const repo = await freshRepo();
    const sha = await repo.sha("main");
    const { auth } = await withToken();
    const before = gh.violations.length;
    const res = await api("POST", `/repos/${repo.fullName}/check-runs`, { auth, body: { name: "x", head_sha: sha, status: "bogus" } });
    expect(res.status).toBe(422);
    expect(res.json.message).toBe("Validation Failed");
    const added = gh.violations.slice(before);
    expect(added).toHaveLength(1);
    expect(added[0].errors.join("\n")).toMatch(/status/);
    expect(added[0].body).toEqual({ name: "x", head_sha: sha, status: "bogus" });

    const status = await api("POST", `/repos/${repo.fullName}/statuses/${sha}`, { auth, body: { state: "success", context: "atoll/plan" } });
    expect(status.status).toBe(201);
    expect(gh.statuses("acme", repo.name, sha).map((s) => [s.state, s.context])).toEqual([["success", "atoll/plan"]]);
    expect((await api("POST", `/repos/${repo.fullName}/statuses/${sha}`, { auth, body: { state: "great" } })).status).toBe(422);
  });

  test("unknown routes are 404 and recorded as unhandled", async () => {
    const { auth } = await withToken();
    const before = gh.unhandled.length;
    expect((await api("GET", "/definitely/not/a/route", { auth })).status).toBe(404);
    // A real endpoint the fake does not implement is just as unhandled.
    expect((await api("GET", "/repos/acme/x/releases", { auth })).status).toBe(404);
    // GraphQL answers 200 with errors, but a query the fake cannot serve is just as unhandled.
    const graphql = await fetch(`${gh.url}/api/graphql`, { method: "POST", headers: { authorization: auth }, body: JSON.stringify({ query: "{ viewer { login } }" }) });
    expect(graphql.status).toBe(200);
    expect((await graphql.json()).errors[0].message).toBe("Field 'viewer' doesn't exist on type 'Query'");
    expect(gh.unhandled.slice(before).map((u) => [u.method, u.path])).toEqual([
      ["GET", "/definitely/not/a/route"],
      ["GET", "/repos/acme/x/releases"],
      ["POST", "/api/graphql"],
    ]);
  });

  test("waitFor returns the predicate's value, and explains a timeout", async () => {
    let calls = 0;
    await expect(gh.waitFor(() => (++calls >= 3 ? { done: calls } : undefined), { intervalMs: 1 })).resolves.toEqual({ done: 3 });
    await expect(
      gh.waitFor(() => false, { timeoutMs: 50, intervalMs: 10, what: "a comment that never comes", context: () => "app logs: none" }),
    ).rejects.toThrow(/a comment that never comes[\s\S]*Recent requests[\s\S]*app logs: none/);
    await expect(
      gh.waitFor(
        () => {
          throw new Error("not yet: 0 comments");
        },
        { timeoutMs: 30, intervalMs: 10 },
      ),
    ).rejects.toThrow(/Last predicate error: not yet: 0 comments/);
  });
});

describe("webhook sender", () => {
  test("signs the exact body and sends GitHub's headers", async () => {
    let received: { headers: IncomingMessage["headers"]; body: string } | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
        res.writeHead(202).end("accepted");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (server.address() as { port: number }).port;
      const payload = { action: "created", comment: { body: "atlantis plan — ünïcödé ✓" }, installation: { id: 1 } };
      const res = await sendWebhook(`http://127.0.0.1:${port}/hook`, "s3cret", { name: "issue_comment", id: "delivery-1", payload });
      expect(res).toMatchObject({ status: 202, body: "accepted" });
      expect(received).toBeDefined();
      const h = received!.headers;
      expect(h).toMatchObject({
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/test",
        "x-github-event": "issue_comment",
        "x-github-delivery": "delivery-1",
      });
      expect(JSON.parse(received!.body)).toEqual(payload);
      const signature = String(h["x-hub-signature-256"]);
      expect(await verify("s3cret", received!.body, signature)).toBe(true);
      expect(await verify("other-secret", received!.body, signature)).toBe(false);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("process harness (with a stand-in for the built app)", () => {
  /**
   * A minimal Probot app in `<dir>/lib/index.js`: proves that `probot run` with GHE_HOST talks
   * to the fake (JWT → installation token → REST), independently of Atoll itself.
   */
  const STAND_IN = `
import { spawn } from "node:child_process";
export default (app) => {
  app.on("issue_comment.created", async (context) => {
    const body = context.payload.comment.body;
    if (body === "spawn a sleeper") {
      const child = spawn("sleep", ["300"], { stdio: "ignore" });
      await context.octokit.rest.issues.createComment(context.issue({ body: "sleeper " + child.pid }));
      return;
    }
    await context.octokit.rest.reactions.createForIssueComment(context.repo({ comment_id: context.payload.comment.id, content: "eyes" }));
    const env = process.env;
    await context.octokit.rest.issues.createComment(context.issue({
      body: ["echo " + body, "data=" + env.ATOLL_DATA_DIR, "flag=" + env.STAND_IN_FLAG, "proxy=" + (env.WEBHOOK_PROXY_URL ?? "none")].join("\\n"),
    }));
  });
};
`;
  async function standIn(source: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "stand-in-app-"));
    tempDirs.push(dir);
    await mkdir(join(dir, "lib"));
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "stand-in", type: "module", private: true }));
    await writeFile(join(dir, "lib", "index.js"), source);
    return dir;
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  let proc: AtollProcess | undefined;
  afterEach(async () => {
    await proc?.stop("SIGKILL");
    proc = undefined;
  });

  test("runs the app against the fake, delivers signed webhooks, scrubs the environment, stops", async () => {
    const root = await standIn(STAND_IN);
    const repo = await freshRepo();
    await repo.commit("feature", { "main.tf": "# x\n" });
    await gh.createPull("acme", repo.name, { number: 1, head: "feature" });
    const human = gh.addComment("acme", repo.name, 1, { user: "alice", body: "atlantis plan" });

    const saved = process.env.WEBHOOK_PROXY_URL;
    process.env.WEBHOOK_PROXY_URL = "http://leaked.invalid/channel";
    try {
      proc = await startAtoll({ fakeGitHub: gh, root, env: { STAND_IN_FLAG: "passed" } });
    } finally {
      if (saved === undefined) delete process.env.WEBHOOK_PROXY_URL;
      else process.env.WEBHOOK_PROXY_URL = saved;
    }
    const event = issueCommentEvent({ owner: "acme", repo: repo.name, cloneUrl: repo.cloneUrl, htmlBase: gh.url, number: 1, commentId: human.id, user: "alice", body: "atlantis plan" });
    const res = await proc.send(event);
    expect(res.status).toBe(200);

    const reply = await gh.waitFor(() => gh.comments("acme", repo.name, 1).find((c) => c.byApp), {
      what: "the stand-in app's reply",
      context: () => proc!.logs().slice(-40).join("\n"),
    });
    expect(reply.body).toBe(["echo atlantis plan", `data=${proc.dataDir}`, "flag=passed", "proxy=none"].join("\n"));
    expect(reply.user).toBe(gh.botLogin);
    expect(gh.reactions("acme", repo.name, human.id).map((r) => r.content)).toEqual(["eyes"]);
    expect(gh.requests.some((r) => r.template === "/app/installations/{installation_id}/access_tokens" && r.status === 201)).toBe(true);

    // A delivery with a wrong signature is refused by the app's webhook middleware.
    const forged = await sendWebhook(proc.webhookUrl, "not-the-secret", event);
    expect(forged.status).toBe(400);

    const { pid, dataDir } = proc;
    const exit = await proc.stop();
    proc = undefined;
    // The stand-in installs no SIGTERM handler, so the default action ends it.
    expect(exit).toEqual({ code: null, signal: "SIGTERM" });
    expect(alive(pid)).toBe(false);
    await expect(stat(dataDir)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  test("kill9 takes the app's children down with it", async () => {
    const root = await standIn(STAND_IN);
    const repo = await freshRepo();
    await repo.commit("feature", { "main.tf": "# x\n" });
    await gh.createPull("acme", repo.name, { number: 1, head: "feature" });
    proc = await startAtoll({ fakeGitHub: gh, root });
    await proc.send(issueCommentEvent({ owner: "acme", repo: repo.name, cloneUrl: repo.cloneUrl, htmlBase: gh.url, number: 1, body: "spawn a sleeper" }));
    const comment = await gh.waitFor(() => gh.comments("acme", repo.name, 1).find((c) => c.body.startsWith("sleeper ")), { what: "sleeper pid" });
    const sleeper = Number(comment.body.split(" ")[1]);
    expect(alive(sleeper)).toBe(true);
    const exit = await proc.kill9();
    proc = undefined;
    expect(exit.signal).toBe("SIGKILL");
    await gh.waitFor(() => !alive(sleeper), { what: `sleeper ${sleeper} to be gone`, timeoutMs: 5000 });
  }, 60_000);

  test("an app that dies during startup fails startAtoll with its logs", async () => {
    const root = await standIn(`throw new Error("boom while loading the app");\nexport default () => {};\n`);
    await expect(startAtoll({ fakeGitHub: gh, root })).rejects.toThrow(/exited before it was ready[\s\S]*boom while loading the app/);
  }, 60_000);

  test("a missing build is reported as such", async () => {
    const root = await mkdtemp(join(tmpdir(), "no-build-"));
    tempDirs.push(root);
    await expect(startAtoll({ fakeGitHub: gh, root })).rejects.toThrow(/npm run build/);
  });
});
