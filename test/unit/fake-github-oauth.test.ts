/**
 * The fake GitHub's OAuth web flow and user-token endpoints (test/fake-github/oauth.ts) are an
 * oracle for the sign-in tests, so they must be as strict as GitHub where Atoll could go wrong.
 */
import { createSign } from "node:crypto";
import { startFakeGitHub, type FakeGitHub } from "../fake-github/server.js";
import { testAppCredentials } from "../fake-github/app-credentials.js";

let gh: FakeGitHub;
const CALLBACK = "http://127.0.0.1:9/login/callback";

beforeAll(async () => {
  gh = await startFakeGitHub();
  await gh.createRepo("acme", "infra");
  await gh.createRepo("acme", "vault", { private: true });
});
afterEach(() => {
  expect(gh.internalErrors).toEqual([]);
  gh.violations.length = 0;
  gh.signInAs(null);
  gh.setOAuthCallbackUrl(undefined);
});
afterAll(() => gh?.close());

async function authorize(params: Record<string, string>) {
  return fetch(`${gh.url}/login/oauth/authorize?${new URLSearchParams(params)}`, { redirect: "manual" });
}

async function code(login: string): Promise<string> {
  gh.signInAs(login);
  const res = await authorize({ client_id: gh.oauthClientId, redirect_uri: CALLBACK, state: "s1" });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
  expect(location.searchParams.get("state")).toBe("s1");
  return location.searchParams.get("code")!;
}

function exchange(body: Record<string, string>, opts: { json?: boolean; accept?: string } = {}) {
  return fetch(`${gh.url}/login/oauth/access_token`, {
    method: "POST",
    headers: { "content-type": opts.json ? "application/json" : "application/x-www-form-urlencoded", accept: opts.accept ?? "application/json" },
    body: opts.json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
  });
}

function jwt(): string {
  const { appId, privateKey } = testAppCredentials();
  const now = Math.floor(Date.now() / 1000);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const data = `${part({ alg: "RS256", typ: "JWT" })}.${part({ iat: now - 30, exp: now + 300, iss: appId })}`;
  return `${data}.${createSign("RSA-SHA256").update(data).sign(privateKey, "base64url")}`;
}

test("authorize: the chosen user approves and is sent back with a code and the state", async () => {
  const c = await code("octocat");
  expect(c).toMatch(/^[0-9a-f]{20}$/);
  expect(gh.authorizations.at(-1)).toMatchObject({ login: "octocat", outcome: "code", redirectUri: CALLBACK, state: "s1" });
});

test("authorize: an unknown client id is GitHub's 404 and a violation; nobody signed in shows a login page", async () => {
  gh.signInAs("octocat");
  expect((await authorize({ client_id: "Iv1.nope", redirect_uri: CALLBACK, state: "s" })).status).toBe(404);
  expect(gh.violations.map((v) => v.errors[0])).toEqual([expect.stringContaining("unknown client_id")]);
  gh.signInAs(null);
  const page = await authorize({ client_id: gh.oauthClientId, redirect_uri: CALLBACK, state: "s" });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("signInAs");
});

test("authorize: redirect_uri must be under the registered callback URL; state is required", async () => {
  gh.signInAs("octocat");
  gh.setOAuthCallbackUrl("http://127.0.0.1:9/login");
  expect((await authorize({ client_id: gh.oauthClientId, redirect_uri: CALLBACK, state: "s" })).status).toBe(302);
  expect((await authorize({ client_id: gh.oauthClientId, redirect_uri: "http://evil.example/login/callback", state: "s" })).status).toBe(400);
  expect((await authorize({ client_id: gh.oauthClientId, redirect_uri: CALLBACK })).status).toBe(400);
  expect(gh.violations).toHaveLength(2);
});

test("authorize: the user can cancel", async () => {
  gh.signInAs("octocat");
  gh.denyNextSignIn();
  const res = await authorize({ client_id: gh.oauthClientId, redirect_uri: CALLBACK, state: "s2" });
  const location = new URL(res.headers.get("location")!);
  expect(location.searchParams.get("error")).toBe("access_denied");
  expect(location.searchParams.get("state")).toBe("s2");
  expect(location.searchParams.has("code")).toBe(false);
});

test("access_token: form or JSON, one use per code, client credentials checked", async () => {
  const c = await code("octocat");
  const bad = await exchange({ client_id: gh.oauthClientId, client_secret: "wrong", code: c });
  expect(await bad.json()).toMatchObject({ error: "incorrect_client_credentials" });
  const ok = await exchange({ client_id: gh.oauthClientId, client_secret: gh.oauthClientSecret, code: c, redirect_uri: CALLBACK }, { json: true });
  const body = (await ok.json()) as { access_token: string };
  expect(body).toEqual({ access_token: expect.stringMatching(/^ghu_/), token_type: "bearer", scope: "" });
  const again = await exchange({ client_id: gh.oauthClientId, client_secret: gh.oauthClientSecret, code: c });
  expect(await again.json()).toMatchObject({ error: "bad_verification_code" });
  expect(gh.violations.map((v) => v.errors[0])).toEqual([expect.stringContaining("incorrect_client_credentials"), expect.stringContaining("bad_verification_code")]);
  // The client secret is not kept in the request log.
  expect(JSON.stringify(gh.requests)).not.toContain(gh.oauthClientSecret);

  // Without Accept: application/json GitHub answers form-encoded; a different redirect_uri is refused.
  const form = await exchange({ client_id: gh.oauthClientId, client_secret: gh.oauthClientSecret, code: await code("octocat") }, { accept: "*/*" });
  expect(new URLSearchParams(await form.text()).get("access_token")).toMatch(/^ghu_/);
  const mismatch = await exchange({ client_id: gh.oauthClientId, client_secret: gh.oauthClientSecret, code: await code("octocat"), redirect_uri: "http://127.0.0.1:9/other" });
  expect(await mismatch.json()).toMatchObject({ error: "redirect_uri_mismatch" });
});

test("user endpoints answer the user token only; private repositories need a permission", async () => {
  const res = await exchange({ client_id: gh.oauthClientId, client_secret: gh.oauthClientSecret, code: await code("octocat") });
  const { access_token: token } = (await res.json()) as { access_token: string };
  const get = (path: string, auth = `token ${token}`) => fetch(`${gh.apiUrl}${path}`, { headers: { authorization: auth } });
  expect(await (await get("/user")).json()).toMatchObject({ login: "octocat", type: "User" });
  const installations = (await (await get("/user/installations")).json()) as { total_count: number; installations: { id: number }[] };
  expect(installations.installations.map((i) => i.id)).toEqual([1]);
  const list = async () => ((await (await get("/user/installations/1/repositories")).json()) as { repositories: { full_name: string; private: boolean }[] }).repositories;
  expect((await list()).map((r) => r.full_name)).toEqual(["acme/infra"]);
  gh.setPermission("acme", "vault", "octocat", "read");
  expect((await list()).map((r) => [r.full_name, r.private])).toEqual([["acme/infra", false], ["acme/vault", true]]);
  gh.setPermission("acme", "infra", "octocat", "none");
  expect((await list()).map((r) => r.full_name)).toEqual(["acme/vault"]);
  expect((await get("/user/installations/2/repositories")).status).toBe(404);
  expect((await get("/user", "")).status).toBe(401);

  // An installation token is refused as GitHub refuses it ("Resource not accessible by integration"); a user token is not an installation token.
  const inst = await fetch(`${gh.apiUrl}/app/installations/1/access_tokens`, { method: "POST", headers: { authorization: `Bearer ${jwt()}` } });
  const { token: installationToken } = (await inst.json()) as { token: string };
  expect((await get("/user/installations", `token ${installationToken}`)).status).toBe(403);
  expect((await get("/repos/acme/infra")).status).toBe(401);

  gh.revokeUserTokens("octocat");
  expect((await get("/user")).status).toBe(401);
  expect(gh.unhandled).toEqual([]);
});
