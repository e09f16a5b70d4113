/**
 * "Sign in with GitHub" for the web UI, with the App's own OAuth client (GITHUB_CLIENT_ID /
 * GITHUB_CLIENT_SECRET, written to .env by Probot's setup wizard). The web application flow:
 *
 * - `GET /login?next=/path` → GitHub's authorize page, with a random `state` that is also kept,
 *   with `next`, in a short-lived sealed cookie (only sent to `/login…`);
 * - `GET /login/callback?code&state` → the state must match the cookie; the code is exchanged for
 *   the user's token, `GET /user` says who it is, the session cookie is set, back to `next`;
 * - `POST /logout` (CSRF-checked) → the session cookie is cleared.
 *
 * Every failure is a small HTML page with a "try again" link. Neither the code, the token nor the
 * client secret is ever put in a page, a URL or a log line.
 *
 * `readableRepos` lists, with the user's token, the repositories the user can read among the App's
 * installations (what the UI may show them).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpHandler } from "../health.js";
import { BodyTooLargeError, escapeHtml, localPath, parseCookies, readForm, redirect, requestUrl, sendHtml, serializeCookie } from "./http.js";
import { constantTimeEqual, createSessions, sessionSecretFrom, type Sessions, type WebSession } from "./session.js";
import type { Settings } from "../settings.js";

export const STATE_COOKIE = "atoll_oauth_state";
/** How long the user may take on GitHub's authorize page. */
export const STATE_TTL_MS = 10 * 60 * 1000;
const TIMEOUT_MS = 15_000;
const USER_AGENT = "atoll";

/** The pino-like subset of a logger used here. */
export interface SignInLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface GitHubHosts {
  /** `https://github.com`, or `${GHE_PROTOCOL}://${GHE_HOST}`. */
  webUrl: string;
  /** `https://api.github.com`, or `${GHE_PROTOCOL}://${GHE_HOST}/api/v3`. */
  apiUrl: string;
}

/** GitHub's web and API addresses from GHE_HOST / GHE_PROTOCOL (github.com without them). */
export function githubHosts(env: NodeJS.ProcessEnv = process.env): GitHubHosts {
  const host = env.GHE_HOST?.trim();
  if (!host) return { webUrl: "https://github.com", apiUrl: "https://api.github.com" };
  const web = `${env.GHE_PROTOCOL?.trim() || "https"}://${host}`;
  return { webUrl: web, apiUrl: `${web}/api/v3` };
}

export interface SignInOptions extends GitHubHosts {
  sessions: Sessions;
  /** GITHUB_CLIENT_ID; missing → `/login` explains what to set. */
  clientId?: string;
  /** GITHUB_CLIENT_SECRET; missing → `/login` explains what to set. */
  clientSecret?: string;
  /** ATOLL_PUBLIC_URL (the callback is `<publicUrl>/login/callback`); missing → `/login` explains. */
  publicUrl?: string;
  log?: SignInLog;
  /** Default: global `fetch`. */
  fetch?: typeof fetch;
  /** Where a signed-out user lands after `/logout` (default `/`). */
  afterLogout?: string;
}

/** What GitHub answered that was not what the flow needs (no secrets in the message). */
export class GitHubApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, 0 when the request failed before an answer. 401: the user's token is no longer valid. */
    readonly status: number,
  ) {
    super(message);
  }
}

interface StateCookie {
  s: string;
  n: string;
}

const noop: SignInLog = { info() {}, warn() {} };

/** The settings sign-in needs that are not set (names of the environment variables). */
export function missingSignInSettings(settings: { oauthClientId?: string | undefined; oauthClientSecret?: string | undefined; publicUrl?: string | undefined }): string[] {
  const missing: string[] = [];
  if (!settings.oauthClientId) missing.push("GITHUB_CLIENT_ID");
  if (!settings.oauthClientSecret) missing.push("GITHUB_CLIENT_SECRET");
  if (!settings.publicUrl) missing.push("ATOLL_PUBLIC_URL");
  return missing;
}

export function createSignInHandler(opts: SignInOptions): HttpHandler {
  const log = opts.log ?? noop;
  const doFetch = opts.fetch ?? fetch;
  const publicUrl = opts.publicUrl?.replace(/\/+$/, "");
  const webUrl = opts.webUrl.replace(/\/+$/, "");
  const apiUrl = opts.apiUrl.replace(/\/+$/, "");
  const redirectUri = publicUrl ? `${publicUrl}/login/callback` : undefined;
  const { sessions } = opts;
  const clearState = () => serializeCookie(STATE_COOKIE, "", { path: "/login", secure: sessions.secure, maxAge: 0 });

  const missingSettings = () => missingSignInSettings({ oauthClientId: opts.clientId, oauthClientSecret: opts.clientSecret, publicUrl });

  function failure(res: ServerResponse, status: number, message: string, next = "/"): true {
    const retry = `/login?next=${encodeURIComponent(next)}`;
    return sendHtml(
      res,
      status,
      "Sign-in failed",
      `<p>${escapeHtml(message)}</p>\n<p><a href="${escapeHtml(retry)}">Try again</a></p>`,
      [clearState()],
    );
  }

  function login(req: IncomingMessage, res: ServerResponse): true {
    const missing = missingSettings();
    if (missing.length) {
      log.warn({ missing }, "web sign-in is not configured");
      const items = missing.map((m) => `<li><code>${escapeHtml(m)}</code></li>`).join("");
      return sendHtml(
        res,
        503,
        "Sign-in is not configured",
        `<p>Signing in with GitHub needs these settings, which are not set on this server:</p><ul>${items}</ul>` +
          `<p><code>GITHUB_CLIENT_ID</code> and <code>GITHUB_CLIENT_SECRET</code> are the App's OAuth credentials (Probot's setup wizard writes them to <code>.env</code>); ` +
          `<code>ATOLL_PUBLIC_URL</code> is this server's public address, and the App's callback URL must be <code>&lt;ATOLL_PUBLIC_URL&gt;/login/callback</code>.</p>`,
      );
    }
    const next = localPath(requestUrl(req).searchParams.get("next"));
    const state = randomBytes(32).toString("base64url");
    const sealed = sessions.seal(STATE_COOKIE, { s: state, n: next } satisfies StateCookie, sessions.now() + STATE_TTL_MS);
    const authorize = new URL(`${webUrl}/login/oauth/authorize`);
    authorize.searchParams.set("client_id", opts.clientId!);
    authorize.searchParams.set("redirect_uri", redirectUri!);
    authorize.searchParams.set("state", state);
    authorize.searchParams.set("allow_signup", "false");
    return redirect(res, authorize.toString(), [
      serializeCookie(STATE_COOKIE, sealed, { path: "/login", secure: sessions.secure, maxAge: STATE_TTL_MS / 1000 }),
    ]);
  }

  async function callback(req: IncomingMessage, res: ServerResponse): Promise<true> {
    if (missingSettings().length) return login(req, res);
    const q = requestUrl(req).searchParams;
    const cookie = sessions.unseal<StateCookie>(STATE_COOKIE, parseCookies(req).get(STATE_COOKIE));
    const next = cookie && typeof cookie.n === "string" ? localPath(cookie.n) : "/";
    const error = q.get("error");
    if (error) {
      log.info({ error: error.slice(0, 100) }, "GitHub did not sign the user in");
      const message = error === "access_denied" ? "You cancelled signing in on GitHub." : `GitHub did not sign you in (${error.slice(0, 100)}).`;
      return failure(res, 400, message, next);
    }
    const state = q.get("state");
    if (!cookie || typeof cookie.s !== "string" || !state || !constantTimeEqual(state, cookie.s)) {
      log.warn({ hasStateCookie: !!cookie }, "web sign-in refused: the state does not match");
      return failure(res, 400, "This sign-in link is not valid here any more (it expired, was used already, or was started in another browser).", next);
    }
    const code = q.get("code");
    if (!code) return failure(res, 400, "GitHub sent no authorization code.", next);
    let token: string;
    let userLogin: string;
    try {
      token = await exchangeCode(code);
      userLogin = (await fetchUser(token)).login;
    } catch (e) {
      log.warn({ reason: (e as Error).message }, "web sign-in failed");
      return failure(res, 502, "Signing in with GitHub did not work. If this keeps happening, ask your Atoll administrator to look at the server's logs.", next);
    }
    const session = sessions.newSession(userLogin, token);
    log.info({ login: userLogin }, "signed in to the web UI");
    return redirect(res, next, [clearState(), sessions.cookieFor(session)]);
  }

  async function exchangeCode(code: string): Promise<string> {
    const response = await request(`${webUrl}/login/oauth/access_token`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json", "user-agent": USER_AGENT },
      body: JSON.stringify({ client_id: opts.clientId, client_secret: opts.clientSecret, code, redirect_uri: redirectUri }),
    });
    if (!response.ok) throw new GitHubApiError(`exchanging the code answered HTTP ${response.status}`, response.status);
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown; error_description?: unknown };
    if (typeof body.error === "string") {
      throw new GitHubApiError(`exchanging the code: ${body.error}${typeof body.error_description === "string" ? ` (${body.error_description})` : ""}`, response.status);
    }
    if (typeof body.access_token !== "string" || !body.access_token) throw new GitHubApiError("exchanging the code: no access_token in the answer", response.status);
    return body.access_token;
  }

  async function fetchUser(token: string): Promise<{ login: string }> {
    const response = await request(`${apiUrl}/user`, { headers: apiHeaders(token) });
    if (!response.ok) throw new GitHubApiError(`GET /user answered HTTP ${response.status}`, response.status);
    const body = (await response.json()) as { login?: unknown };
    if (typeof body.login !== "string" || !body.login) throw new GitHubApiError("GET /user: no login in the answer", response.status);
    return { login: body.login };
  }

  async function request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await doFetch(url, { ...init, redirect: "error", signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      // fetch's errors name the URL (no secrets in it) and the cause.
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new GitHubApiError(`${init.method ?? "GET"} ${url} failed: ${cause?.code ?? cause?.message ?? (e as Error).message}`, 0);
    }
  }

  async function logout(req: IncomingMessage, res: ServerResponse): Promise<true> {
    const session = sessions.read(req);
    let submitted: string | undefined;
    try {
      submitted = (await readForm(req)).get("csrf") ?? undefined;
    } catch (e) {
      if (e instanceof BodyTooLargeError) return sendHtml(res, 413, "Request too large", "<p>That request was too large.</p>");
      throw e;
    }
    if (!session) return redirect(res, localPath(opts.afterLogout), [sessions.clearCookie()], 303);
    if (!sessions.checkCsrf(req, session, submitted)) {
      log.warn({ login: session.login }, "web sign-out refused: CSRF check failed");
      return sendHtml(res, 403, "Not signed out", `<p>This request did not come from Atoll's own page, so it was refused.</p><p><a href="/">Back to Atoll</a></p>`);
    }
    log.info({ login: session.login }, "signed out of the web UI");
    return redirect(res, localPath(opts.afterLogout), [sessions.clearCookie()], 303);
  }

  return async (req, res) => {
    const path = requestUrl(req).pathname;
    const method = (req.method ?? "GET").toUpperCase();
    if (path === "/login" || path === "/login/callback") {
      if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res, "GET");
      return path === "/login" ? login(req, res) : callback(req, res);
    }
    if (path === "/logout") {
      if (method !== "POST") return methodNotAllowed(res, "POST");
      return logout(req, res);
    }
    return false;
  };
}

function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader("allow", allow);
  return sendHtml(res, 405, "Method not allowed", `<p>Use ${escapeHtml(allow)} here.</p>`);
}

function apiHeaders(token: string): Record<string, string> {
  return {
    accept: "application/vnd.github+json",
    authorization: `Bearer ${token}`,
    "x-github-api-version": "2022-11-28",
    "user-agent": USER_AGENT,
  };
}

export interface WebSignIn {
  sessions: Sessions;
  /** `/login`, `/login/callback`, `POST /logout`; false for every other path. */
  handler: HttpHandler;
  hosts: GitHubHosts;
  /** `readableRepos` with this server's GitHub. */
  readableRepos(session: Pick<WebSession, "token">, installationIds?: number[]): Promise<ReadableRepo[]>;
}

/**
 * Everything the web UI needs for sign-in, from the settings and the environment (GHE_HOST /
 * GHE_PROTOCOL, and the App's private key when ATOLL_SESSION_SECRET is not set). Throws when
 * there is no secret to seal sessions with at all.
 */
export function createWebSignIn(
  settings: Pick<Settings, "publicUrl" | "sessionSecret" | "oauthClientId" | "oauthClientSecret">,
  opts: { env?: NodeJS.ProcessEnv; log?: SignInLog; fetch?: typeof fetch } = {},
): WebSignIn {
  const env = opts.env ?? process.env;
  const hosts = githubHosts(env);
  const sessions = createSessions({ secret: sessionSecretFrom(settings.sessionSecret, env), ...(settings.publicUrl ? { publicUrl: settings.publicUrl } : {}) });
  const handler = createSignInHandler({
    sessions,
    ...hosts,
    ...(settings.oauthClientId ? { clientId: settings.oauthClientId } : {}),
    ...(settings.oauthClientSecret ? { clientSecret: settings.oauthClientSecret } : {}),
    ...(settings.publicUrl ? { publicUrl: settings.publicUrl } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  return {
    sessions,
    handler,
    hosts,
    readableRepos: (session, installationIds) =>
      readableRepos(session, { apiUrl: hosts.apiUrl, ...(installationIds ? { installationIds } : {}), ...(opts.fetch ? { fetch: opts.fetch } : {}) }),
  };
}

// ---------------------------------------------------------------- what the user may read

export interface ReadableRepo {
  id: number;
  owner: string;
  name: string;
  /** `owner/name` as GitHub spells it. */
  fullName: string;
  private: boolean;
  htmlUrl: string;
  /** The installation of the App the repository belongs to. */
  installationId: number;
  /** The user's permissions on it, as GitHub reports them for a user token (when it does). */
  permissions?: { admin?: boolean; maintain?: boolean; push?: boolean; triage?: boolean; pull?: boolean };
}

export interface ReadableReposOptions {
  /** GitHub's API address (`githubHosts().apiUrl`). */
  apiUrl: string;
  /** Only these installations (default: every installation of the App the user can access). */
  installationIds?: number[];
  fetch?: typeof fetch;
}

/** Stop following `Link: rel="next"` after this many pages (100 × 100 repositories). */
const MAX_PAGES = 100;

/**
 * The repositories the signed-in user can read among the App's installations:
 * `GET /user/installations`, then `GET /user/installations/{id}/repositories` for each, all pages,
 * with the user's token (GitHub answers only installations of this App and repositories the user
 * has access to). Sorted by full name. Throws `GitHubApiError` (status 401: the token is no longer
 * valid, sign the user out).
 */
export async function readableRepos(session: Pick<WebSession, "token">, opts: ReadableReposOptions): Promise<ReadableRepo[]> {
  const apiUrl = opts.apiUrl.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? fetch;
  const get = (path: string, key: string) => getAllPages(doFetch, apiUrl, `${apiUrl}${path}`, session.token, key);
  let ids = opts.installationIds;
  if (!ids) {
    const installations = (await get("/user/installations?per_page=100", "installations")) as { id?: unknown }[];
    ids = installations.map((i) => i.id).filter((id): id is number => typeof id === "number");
  }
  const out = new Map<number, ReadableRepo>();
  for (const id of new Set(ids)) {
    const repos = (await get(`/user/installations/${encodeURIComponent(String(id))}/repositories?per_page=100`, "repositories")) as RepoJson[];
    for (const r of repos) {
      if (typeof r.id !== "number" || typeof r.full_name !== "string" || out.has(r.id)) continue;
      if (r.permissions && r.permissions.pull === false) continue;
      const [owner, name] = r.full_name.split("/");
      out.set(r.id, {
        id: r.id,
        owner: r.owner?.login ?? owner,
        name: r.name ?? name,
        fullName: r.full_name,
        private: r.private === true,
        htmlUrl: r.html_url ?? "",
        installationId: id,
        ...(r.permissions ? { permissions: r.permissions } : {}),
      });
    }
  }
  return [...out.values()].sort((a, b) => a.fullName.toLowerCase().localeCompare(b.fullName.toLowerCase()));
}

interface RepoJson {
  id?: unknown;
  name?: string;
  full_name?: unknown;
  private?: unknown;
  html_url?: string;
  owner?: { login?: string };
  permissions?: ReadableRepo["permissions"];
}

async function getAllPages(doFetch: typeof fetch, apiUrl: string, first: string, token: string, key: string): Promise<unknown[]> {
  const items: unknown[] = [];
  const apiOrigin = new URL(apiUrl).origin;
  let url: string | undefined = first;
  for (let page = 0; url && page < MAX_PAGES; page++) {
    // The token only ever goes to GitHub's own API, whatever a Link header says.
    if (new URL(url).origin !== apiOrigin) throw new GitHubApiError(`refusing to follow a pagination link off ${apiOrigin}`, 0);
    let response: Response;
    try {
      response = await doFetch(url, { headers: apiHeaders(token), redirect: "error", signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      throw new GitHubApiError(`GET ${url.split("?")[0]} failed: ${(e as Error).message}`, 0);
    }
    const path = new URL(url).pathname;
    if (!response.ok) throw new GitHubApiError(`GET ${path} answered HTTP ${response.status}`, response.status);
    const body = (await response.json()) as Record<string, unknown>;
    const list = body[key];
    if (!Array.isArray(list)) throw new GitHubApiError(`GET ${path}: no ${key} in the answer`, response.status);
    items.push(...list);
    url = nextLink(response.headers.get("link"));
  }
  return items;
}

function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim());
    if (m) return m[1];
  }
  return undefined;
}
