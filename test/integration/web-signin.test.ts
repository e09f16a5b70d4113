/**
 * "Sign in with GitHub" end to end against the fake GitHub: the sign-in handler on a real HTTP
 * server, a "browser" made of plain `fetch` with manual redirects and cookies.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startFakeGitHub, type FakeGitHub } from "../fake-github/server.js";
import { createSignInHandler, createWebSignIn, GitHubApiError, githubHosts, readableRepos, type SignInOptions } from "../../src/web/github-oauth.js";
import { readSettings } from "../../src/settings.js";
import { createSessions, type Sessions, type WebSession } from "../../src/web/session.js";
import { escapeHtml } from "../../src/web/http.js";

const SECRET = "integration-session-secret-0123456789";

interface Atoll {
  url: string;
  sessions: Sessions;
  logs: string[];
  close(): Promise<void>;
}

let gh: FakeGitHub;
const servers: Atoll[] = [];

/** The sign-in handler plus `/me` (who is signed in, and a logout form) on a local server. */
async function startAtoll(overrides: Partial<SignInOptions> = {}): Promise<Atoll> {
  const logs: string[] = [];
  const log = (level: string) => (obj: Record<string, unknown>, msg: string) => logs.push(`${level} ${msg} ${JSON.stringify(obj)}`);
  let url = "";
  let sessions!: Sessions;
  let handler!: ReturnType<typeof createSignInHandler>;
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (await handler(req, res)) return;
      if (req.url === "/me") {
        const s = sessions.read(req);
        res.writeHead(200, { "content-type": "text/html" });
        res.end(s ? `<p>Signed in as ${escapeHtml(s.login)}</p><form method="post" action="/logout"><input type="hidden" name="csrf" value="${s.csrf}"></form>` : "<p>Not signed in</p>");
        return;
      }
      res.writeHead(404).end("not found");
    })().catch((e: unknown) => {
      logs.push(`crash ${String(e)}`);
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sessions = createSessions({ secret: SECRET, publicUrl: url });
  handler = createSignInHandler({
    sessions,
    clientId: gh.oauthClientId,
    clientSecret: gh.oauthClientSecret,
    publicUrl: url,
    ...githubHosts({ GHE_HOST: gh.host, GHE_PROTOCOL: "http" }),
    log: { info: log("info"), warn: log("warn") },
    ...overrides,
  });
  const atoll = {
    url,
    sessions,
    logs,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  servers.push(atoll);
  return atoll;
}

/** A browser: a cookie jar per host, every response kept for the "no secrets anywhere" check. */
class Browser {
  readonly jar = new Map<string, Map<string, string>>();
  readonly seen: { url: string; status: number; location: string | null; setCookie: string[]; body: string }[] = [];

  async get(url: string, headers: Record<string, string> = {}) {
    return this.request(url, { method: "GET", headers });
  }

  async request(url: string, init: { method: string; headers?: Record<string, string>; body?: string }) {
    const host = new URL(url).host;
    const cookies = [...(this.jar.get(host) ?? new Map())].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, { ...init, redirect: "manual", headers: { ...(init.headers ?? {}), ...(cookies ? { cookie: cookies } : {}) } });
    const body = await res.text();
    const setCookie = res.headers.getSetCookie();
    for (const c of setCookie) {
      const [pair, ...attrs] = c.split("; ");
      const eq = pair.indexOf("=");
      const jar = this.jar.get(host) ?? new Map<string, string>();
      this.jar.set(host, jar);
      if (attrs.includes("Max-Age=0") || pair.slice(eq + 1) === "") jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const seen = { url, status: res.status, location: res.headers.get("location"), setCookie, body };
    this.seen.push(seen);
    return seen;
  }

  cookie(atoll: Atoll, name: string): string | undefined {
    return this.jar.get(new URL(atoll.url).host)?.get(name);
  }

  /** /login → fake authorize → callback, returning the three answers. */
  async signIn(atoll: Atoll, next = "/") {
    const login = await this.get(`${atoll.url}/login?next=${encodeURIComponent(next)}`);
    expect(login.status).toBe(302);
    const authorize = await this.get(login.location!);
    expect(authorize.status).toBe(302);
    const callback = await this.get(authorize.location!);
    return { login, authorize, callback };
  }
}

beforeAll(async () => {
  gh = await startFakeGitHub();
  await gh.createRepo("acme", "infra");
  await gh.createRepo("acme", "secret", { private: true });
  await gh.createRepo("acme", "hidden", { private: true });
  await gh.createRepo("acme", "denied");
  gh.setPermission("acme", "secret", "octocat", "write");
  gh.setPermission("acme", "denied", "octocat", "none");
});

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  expect(gh.internalErrors).toEqual([]);
  expect(gh.unhandled).toEqual([]);
  gh.signInAs(null);
});

afterAll(async () => {
  await gh?.close();
});

/** Every secret of the flow: user tokens, authorization codes, the client secret. */
function secrets(): string[] {
  const codes = gh.requests.filter((r) => r.path === "/login/oauth/access_token").map((r) => (r.body as { code?: unknown } | undefined)?.code);
  return [...gh.issuedUserTokens.map((t) => t.token), ...codes.filter((c): c is string => typeof c === "string" && c.length > 0), gh.oauthClientSecret];
}

/** No secret in any of Atoll's answers (body, Location, Set-Cookie) nor in its logs. GitHub's own redirect carries the code, as it must. */
function expectNoSecrets(browser: Browser, atoll: Atoll) {
  const all = secrets();
  expect(all.length).toBeGreaterThan(1);
  const answers = browser.seen.filter((s) => !s.url.startsWith(gh.url));
  expect(answers.length).toBeGreaterThan(0);
  for (const s of answers) {
    for (const secret of all) {
      expect(s.body).not.toContain(secret);
      expect(s.location ?? "").not.toContain(secret);
      for (const c of s.setCookie) expect(c).not.toContain(secret);
    }
  }
  for (const line of atoll.logs) for (const secret of all) expect(line).not.toContain(secret);
}

describe("sign in with GitHub", () => {
  test("the whole flow: /login → GitHub → callback → signed in, back where the user started", async () => {
    const atoll = await startAtoll();
    const browser = new Browser();
    gh.signInAs("octocat");
    const { login, authorize, callback } = await browser.signIn(atoll, "/repos/acme/infra?tab=plans");

    const authorizeUrl = new URL(login.location!);
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${gh.url}/login/oauth/authorize`);
    expect(authorizeUrl.searchParams.get("client_id")).toBe(gh.oauthClientId);
    expect(authorizeUrl.searchParams.get("redirect_uri")).toBe(`${atoll.url}/login/callback`);
    expect(authorizeUrl.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stateCookie = login.setCookie.find((c) => c.startsWith("atoll_oauth_state="))!;
    expect(stateCookie.split("; ")).toEqual(expect.arrayContaining(["Path=/login", "HttpOnly", "SameSite=Lax", "Max-Age=600"]));
    expect(stateCookie).not.toContain(authorizeUrl.searchParams.get("state"));

    expect(new URL(authorize.location!).pathname).toBe("/login/callback");
    expect(callback.status).toBe(302);
    expect(callback.location).toBe("/repos/acme/infra?tab=plans");
    const sessionCookie = callback.setCookie.find((c) => c.startsWith("atoll_session="))!;
    expect(sessionCookie.split("; ")).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Lax"]));
    expect(sessionCookie.split("; ")).not.toContain("Secure"); // http://127.0.0.1
    expect(browser.cookie(atoll, "atoll_oauth_state")).toBeUndefined(); // used up

    const me = await browser.get(`${atoll.url}/me`);
    expect(me.body).toContain("Signed in as octocat");
    expect(gh.issuedUserTokens.filter((t) => t.login === "octocat").length).toBeGreaterThan(0);
    const exchange = gh.requests.filter((r) => r.path === "/login/oauth/access_token");
    expect(exchange.at(-1)).toMatchObject({ method: "POST", status: 200, body: { client_id: gh.oauthClientId, client_secret: "***", redirect_uri: `${atoll.url}/login/callback` } });
    expect(gh.requests.filter((r) => r.path === "/user").at(-1)).toMatchObject({ status: 200, auth: "user" });
    expect(atoll.logs.some((l) => l.includes("signed in to the web UI") && l.includes("octocat"))).toBe(true);
    expectNoSecrets(browser, atoll);
    expect(gh.violations).toEqual([]);
  });

  test("any replica with the same secret reads the session; another deployment's key does not", async () => {
    const a = await startAtoll();
    const browser = new Browser();
    gh.signInAs("octocat");
    await browser.signIn(a);
    const cookie = `atoll_session=${browser.cookie(a, "atoll_session")}`;
    const replica = createSessions({ secret: SECRET });
    expect(replica.read({ headers: { cookie } } as never)?.login).toBe("octocat");
    expect(createSessions({ secret: "some-other-deployment-secret-012345" }).read({ headers: { cookie } } as never)).toBeUndefined();
  });

  test("a state that does not match the cookie is refused and the code is never exchanged", async () => {
    const atoll = await startAtoll();
    gh.signInAs("octocat");
    const exchangesBefore = gh.requests.filter((r) => r.path === "/login/oauth/access_token").length;

    // Tampered state.
    const browser = new Browser();
    const login = await browser.get(`${atoll.url}/login?next=/x`);
    const authorize = await browser.get(login.location!);
    const forged = new URL(authorize.location!);
    forged.searchParams.set("state", "A".repeat(43));
    const refused = await browser.get(forged.toString());
    expect(refused.status).toBe(400);
    expect(refused.body).toContain("Sign-in failed");
    expect(refused.body).toContain('href="/login?next=%2Fx"'); // "Try again", keeping where the user was going
    expect(refused.setCookie.some((c) => c.startsWith("atoll_session="))).toBe(false);

    // A callback URL opened in another browser (login CSRF: an attacker's code in the victim's browser).
    const victim = new Browser();
    const attackerUrl = (await new Browser().get((await browser.get(`${atoll.url}/login`)).location!)).location!;
    const planted = await victim.get(attackerUrl);
    expect(planted.status).toBe(400);
    expect(victim.cookie(atoll, "atoll_session")).toBeUndefined();

    // No state at all.
    expect((await browser.get(`${atoll.url}/login/callback?code=abc`)).status).toBe(400);

    expect(gh.requests.filter((r) => r.path === "/login/oauth/access_token").length).toBe(exchangesBefore);
    expect((await victim.get(`${atoll.url}/me`)).body).toContain("Not signed in");
    expect(atoll.logs.some((l) => l.includes("state does not match"))).toBe(true);
    expectNoSecrets(browser, atoll);
  });

  test("next must be a local path: no open redirect", async () => {
    const atoll = await startAtoll();
    gh.signInAs("octocat");
    for (const next of ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]) {
      const { callback } = await new Browser().signIn(atoll, next);
      expect(callback.status).toBe(302);
      expect(callback.location).toBe("/");
    }
  });

  test("the user cancelling on GitHub gets a page to try again", async () => {
    const atoll = await startAtoll();
    gh.signInAs("octocat");
    gh.denyNextSignIn();
    const { callback } = await new Browser().signIn(atoll, "/repos");
    expect(callback.status).toBe(400);
    expect(callback.body).toContain("You cancelled signing in on GitHub.");
    expect(callback.body).toContain('href="/login?next=%2Frepos"');
  });

  test("a code used twice, or a wrong client secret, is a failure page without secrets", async () => {
    const atoll = await startAtoll();
    gh.signInAs("octocat");
    const browser = new Browser();
    const login = await browser.get(`${atoll.url}/login`);
    const stateCookie = browser.cookie(atoll, "atoll_oauth_state")!;
    const callbackUrl = (await browser.get(login.location!)).location!;
    expect((await browser.get(callbackUrl)).status).toBe(302);
    // Replayed (the state cookie is still valid for its 10 minutes; GitHub's codes work once).
    browser.jar.get(new URL(atoll.url).host)!.set("atoll_oauth_state", stateCookie);
    const replay = await browser.get(callbackUrl);
    expect(replay.status).toBe(502);
    expect(replay.body).toContain("Try again");
    expect(gh.violations.map((v) => v.errors.join())).toEqual([expect.stringContaining("bad_verification_code")]);
    gh.violations.length = 0;

    const wrong = await startAtoll({ clientSecret: "not-the-secret" });
    const { callback } = await new Browser().signIn(wrong);
    expect(callback.status).toBe(502);
    expect(callback.body).not.toContain("not-the-secret");
    expect(wrong.logs.join("\n")).toContain("incorrect_client_credentials");
    expect(wrong.logs.join("\n")).not.toContain("not-the-secret");
    expect(gh.violations.map((v) => v.errors.join())).toEqual([expect.stringContaining("incorrect_client_credentials")]);
    gh.violations.length = 0;
    expectNoSecrets(browser, atoll);
  });

  test("GitHub unreachable: a failure page, the reason in the log", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const atoll = await startAtoll({ webUrl: `http://127.0.0.1:${port}`, apiUrl: `http://127.0.0.1:${port}/api/v3` });
    const browser = new Browser();
    const login = await browser.get(`${atoll.url}/login`);
    const state = new URL(login.location!).searchParams.get("state")!;
    const res = await browser.get(`${atoll.url}/login/callback?code=whatever&state=${state}`);
    expect(res.status).toBe(502);
    expect(atoll.logs.join("\n")).toMatch(/web sign-in failed.*ECONNREFUSED/);
  });

  test("without the OAuth settings or the public URL, /login says which setting is missing", async () => {
    const atoll = await startAtoll({ clientId: undefined, clientSecret: "", publicUrl: undefined });
    const res = await new Browser().get(`${atoll.url}/login`);
    expect(res.status).toBe(503);
    expect(res.body).toContain("Sign-in is not configured");
    for (const name of ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "ATOLL_PUBLIC_URL"]) expect(res.body).toContain(name);
    const partial = await startAtoll({ clientSecret: undefined });
    const body = (await new Browser().get(`${partial.url}/login`)).body;
    expect(body).toContain("GITHUB_CLIENT_SECRET");
    expect(body).not.toContain("<code>GITHUB_CLIENT_ID</code></li>");
  });

  test("other paths and methods", async () => {
    const atoll = await startAtoll();
    const browser = new Browser();
    expect((await browser.get(`${atoll.url}/elsewhere`)).status).toBe(404);
    expect((await browser.request(`${atoll.url}/login`, { method: "POST" })).status).toBe(405);
    expect((await browser.get(`${atoll.url}/logout`)).status).toBe(405);
  });
});

describe("sign out", () => {
  async function signedIn() {
    const atoll = await startAtoll();
    const browser = new Browser();
    gh.signInAs("octocat");
    await browser.signIn(atoll);
    const csrf = /name="csrf" value="([^"]+)"/.exec((await browser.get(`${atoll.url}/me`)).body)![1];
    return { atoll, browser, csrf };
  }
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const formHeaders = { "content-type": "application/x-www-form-urlencoded" };

  test("needs the CSRF token", async () => {
    const { atoll, browser } = await signedIn();
    for (const body of ["", form({ csrf: "wrong" })]) {
      const res = await browser.request(`${atoll.url}/logout`, { method: "POST", headers: { ...formHeaders, origin: atoll.url }, body });
      expect(res.status).toBe(403);
      expect(res.setCookie).toEqual([]);
    }
    expect((await browser.get(`${atoll.url}/me`)).body).toContain("Signed in as octocat");
  });

  test("refuses another origin even with the right token", async () => {
    const { atoll, browser, csrf } = await signedIn();
    const res = await browser.request(`${atoll.url}/logout`, { method: "POST", headers: { ...formHeaders, origin: "https://evil.example" }, body: form({ csrf }) });
    expect(res.status).toBe(403);
    expect((await browser.get(`${atoll.url}/me`)).body).toContain("Signed in as octocat");
  });

  test("with the token from the page, clears the cookie", async () => {
    const { atoll, browser, csrf } = await signedIn();
    const res = await browser.request(`${atoll.url}/logout`, { method: "POST", headers: { ...formHeaders, origin: atoll.url }, body: form({ csrf }) });
    expect(res.status).toBe(303);
    expect(res.location).toBe("/");
    expect(res.setCookie).toEqual([expect.stringMatching(/^atoll_session=; .*Max-Age=0/)]);
    expect((await browser.get(`${atoll.url}/me`)).body).toContain("Not signed in");
    // The x-atoll-csrf header works as well (for script-driven requests).
    const again = await signedIn();
    const viaHeader = await again.browser.request(`${again.atoll.url}/logout`, { method: "POST", headers: { "x-atoll-csrf": again.csrf } });
    expect(viaHeader.status).toBe(303);
  });

  test("a tampered cookie is simply not signed in", async () => {
    const { atoll, browser } = await signedIn();
    const jar = browser.jar.get(new URL(atoll.url).host)!;
    const value = jar.get("atoll_session")!;
    jar.set("atoll_session", value.slice(0, -2) + (value.endsWith("A") ? "BB" : "AA"));
    expect((await browser.get(`${atoll.url}/me`)).body).toContain("Not signed in");
  });
});

describe("readableRepos", () => {
  const apiUrl = () => `${gh.url}/api/v3`;
  async function sessionOf(login: string): Promise<WebSession> {
    const atoll = await startAtoll();
    const browser = new Browser();
    gh.signInAs(login);
    await browser.signIn(atoll);
    return atoll.sessions.read({ headers: { cookie: `atoll_session=${browser.cookie(atoll, "atoll_session")}` } } as never)!;
  }

  test("lists only the repositories the user may read: public ones unless denied, private ones with a permission", async () => {
    const octocat = await sessionOf("octocat");
    const repos = await readableRepos(octocat, { apiUrl: apiUrl() });
    expect(repos.map((r) => [r.fullName, r.private, r.installationId])).toEqual([
      ["acme/infra", false, 1],
      ["acme/secret", true, 1],
    ]);
    expect(repos.find((r) => r.name === "secret")?.permissions).toMatchObject({ push: true, admin: false });
    // The owner sees their private repositories; a stranger only the public ones.
    expect((await readableRepos(await sessionOf("acme"), { apiUrl: apiUrl() })).map((r) => r.fullName)).toEqual(["acme/denied", "acme/hidden", "acme/infra", "acme/secret"]);
    expect((await readableRepos(await sessionOf("stranger"), { apiUrl: apiUrl() })).map((r) => r.fullName)).toEqual(["acme/denied", "acme/infra"]);
    // Given installations only; an installation the user cannot see is a 404 error.
    expect((await readableRepos(octocat, { apiUrl: apiUrl(), installationIds: [1] })).map((r) => r.fullName)).toEqual(["acme/infra", "acme/secret"]);
    await expect(readableRepos(octocat, { apiUrl: apiUrl(), installationIds: [99] })).rejects.toMatchObject({ status: 404 });
    expect(gh.requests.filter((r) => r.path.startsWith("/user/installations")).every((r) => r.auth === "user")).toBe(true);
    expect(gh.violations).toEqual([]);
  });

  test("a revoked token is a 401 GitHubApiError (sign the user out)", async () => {
    const s = await sessionOf("revoked-user");
    gh.revokeUserTokens("revoked-user");
    const error = await readableRepos(s, { apiUrl: apiUrl() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubApiError);
    expect(error).toMatchObject({ status: 401 });
    expect(String((error as Error).message)).not.toContain(s.token);
  });

  test("an installation token is not a user token", async () => {
    const res = await fetch(`${apiUrl()}/user/installations`, { headers: { authorization: "Bearer ghs_not-a-user-token" } });
    expect(res.status).toBe(401);
  });

  test("follows every page, and never sends the token off the API's origin", async () => {
    const big = await startFakeGitHub();
    try {
      await Promise.all(Array.from({ length: 103 }, (_, i) => big.createRepo("bulk", `r${String(i).padStart(3, "0")}`)));
      const s = { token: "" };
      big.signInAs("reader");
      const atoll = await startAtollFor(big);
      const browser = new Browser();
      await browser.signIn(atoll);
      s.token = atoll.sessions.read({ headers: { cookie: `atoll_session=${browser.cookie(atoll, "atoll_session")}` } } as never)!.token;
      const repos = await readableRepos(s, { apiUrl: big.apiUrl });
      expect(repos).toHaveLength(103);
      expect(big.requests.filter((r) => r.path === "/user/installations/1/repositories").map((r) => r.query.page ?? "1")).toEqual(["1", "2"]);

      const seen: string[] = [];
      const evilFetch: typeof fetch = async (input, init) => {
        seen.push(String(input));
        const res = await fetch(input, init);
        const headers = new Headers(res.headers);
        if (String(input).includes("/repositories")) headers.set("link", '<https://evil.example/steal?page=2>; rel="next"');
        return new Response(await res.text(), { status: res.status, headers });
      };
      await expect(readableRepos(s, { apiUrl: big.apiUrl, fetch: evilFetch })).rejects.toThrow(/refusing to follow/);
      expect(seen.some((u) => u.includes("evil.example"))).toBe(false);
    } finally {
      await big.close();
    }
  });
});

describe("createWebSignIn", () => {
  test("wires settings and the environment: GHE hosts, the session key from the App's private key", async () => {
    const env = {
      GHE_HOST: gh.host,
      GHE_PROTOCOL: "http",
      PRIVATE_KEY: gh.appPrivateKey!,
      GITHUB_CLIENT_ID: gh.oauthClientId,
      GITHUB_CLIENT_SECRET: gh.oauthClientSecret,
    };
    let handler!: ReturnType<typeof createWebSignIn>["handler"];
    const server = createServer((req, res) => {
      void Promise.resolve(handler(req, res)).then((handled) => handled || res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const web = createWebSignIn(readSettings({ ...env, ATOLL_PUBLIC_URL: url }), { env });
      handler = web.handler;
      expect(web.hosts).toEqual({ webUrl: gh.url, apiUrl: gh.apiUrl });
      const browser = new Browser();
      gh.signInAs("octocat");
      const atoll = { url } as Atoll;
      const { callback } = await browser.signIn(atoll, "/here");
      expect(callback.location).toBe("/here");
      const cookie = `atoll_session=${browser.cookie(atoll, "atoll_session")}`;
      // Another replica, same private key and no configuration: the same session.
      const replica = createWebSignIn(readSettings({ ...env, ATOLL_PUBLIC_URL: url }), { env });
      const session = replica.sessions.read({ headers: { cookie } } as never)!;
      expect(session.login).toBe("octocat");
      expect((await replica.readableRepos(session)).map((r) => r.fullName)).toEqual(["acme/infra", "acme/secret"]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/** `startAtoll` against another fake GitHub. */
async function startAtollFor(other: FakeGitHub): Promise<Atoll> {
  return startAtoll({ clientId: other.oauthClientId, clientSecret: other.oauthClientSecret, ...githubHosts({ GHE_HOST: other.host, GHE_PROTOCOL: "http" }) });
}
