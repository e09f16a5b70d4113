/**
 * The fake GitHub's side of "Sign in with GitHub": the OAuth web application flow of a GitHub
 * App, and the REST endpoints a user's token is for.
 *
 * Web flow (outside the REST API, so validated here by hand rather than against the OpenAPI
 * description), as github.com does it:
 * - `GET /login/oauth/authorize?client_id&redirect_uri&state`: the test decides who is signed in
 *   on "github.com" and approves (`signInAs(login)`, or `denyNextSignIn()` for "Cancel"); the
 *   browser is sent to `redirect_uri?code=…&state=…` (or `?error=access_denied&state=…`). An
 *   unknown client id gets GitHub's 404 page.
 * - `POST /login/oauth/access_token` (form or JSON; JSON answer with `Accept: application/json`,
 *   form-encoded otherwise): the client id and secret must match, each code works once and for
 *   10 minutes, a `redirect_uri` must repeat the authorize one. Errors are HTTP 200 with `error`,
 *   as on GitHub. The token is a `ghu_…` user token (AuthState).
 *
 * REST with the user token (`auth: "user"` routes): `GET /user`, `GET /user/installations`,
 * `GET /user/installations/{id}/repositories`. The fake has one installation (id 1) covering
 * every repository; a user sees the repositories they may read under the fake's permission model
 * (`setPermission`; "none" is not readable; private repositories only with a permission or as
 * their owner).
 *
 * Requests the app gets wrong (bad client credentials, reused or unknown codes, a mismatched
 * redirect_uri) are contract violations.
 */
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { AuthState } from "./auth.js";
import { HttpError, paginate, PERMISSION_BOOLS, type Route, type RouteContext } from "./routes.js";
import type { FakeState } from "./state.js";

/** GitHub lets the user 10 minutes to come back with a code. */
const CODE_TTL_MS = 10 * 60 * 1000;
/** The single installation of the fake (see `GET /repos/{owner}/{repo}/installation`). */
export const FAKE_INSTALLATION_ID = 1;

export interface OAuthWebRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

export interface OAuthWebResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** What the request recorded as its body (parsed, client secret masked). */
  recordedBody?: unknown;
  /** Set when GitHub would say the app sent a bad request. */
  violation?: string;
}

interface IssuedCode {
  login: string;
  clientId: string;
  redirectUri: string | undefined;
  expiresAt: number;
  used: boolean;
}

export class FakeOAuth {
  #signedIn: string | null = null;
  #denyNext = false;
  #callbackUrl: string | undefined;
  readonly #codes = new Map<string, IssuedCode>();
  /** Every authorize request that reached a decision (for assertions). */
  readonly authorizations: { login: string | null; clientId: string; redirectUri: string | undefined; state: string | null; outcome: "code" | "denied" | "refused" }[] = [];

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    readonly auth: AuthState,
    readonly state: FakeState,
  ) {}

  /** Who is signed in on the fake github.com and approves the App (null: nobody, authorize shows a login page). */
  signInAs(login: string | null): void {
    this.#signedIn = login;
  }

  /** The next authorize request is cancelled by the user (`error=access_denied`). */
  denyNextSignIn(): void {
    this.#denyNext = true;
  }

  /** The App's registered callback URL: redirect_uri must be on its host and under its path (unset: any http(s) URL). */
  setCallbackUrl(url: string | undefined): void {
    this.#callbackUrl = url;
  }

  handles(pathname: string): boolean {
    return pathname === "/login/oauth/authorize" || pathname === "/login/oauth/access_token";
  }

  handle(req: OAuthWebRequest): OAuthWebResult {
    if (req.url.pathname === "/login/oauth/authorize") {
      if (req.method !== "GET") return html(404, "Not Found");
      return this.#authorize(req.url.searchParams);
    }
    if (req.method !== "POST") return html(404, "Not Found");
    return this.#accessToken(req);
  }

  #redirectUriProblem(redirectUri: string): string | undefined {
    let url: URL;
    try {
      url = new URL(redirectUri);
    } catch {
      return `redirect_uri is not an absolute URL: ${redirectUri}`;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return `redirect_uri must be http(s): ${redirectUri}`;
    if (this.#callbackUrl) {
      const cb = new URL(this.#callbackUrl);
      const under = url.pathname === cb.pathname || url.pathname.startsWith(cb.pathname.endsWith("/") ? cb.pathname : `${cb.pathname}/`);
      if (url.host !== cb.host || url.protocol !== cb.protocol || !under) return `redirect_uri ${redirectUri} is not associated with this application (callback URL ${this.#callbackUrl})`;
    }
    return undefined;
  }

  #authorize(q: URLSearchParams): OAuthWebResult {
    const clientId = q.get("client_id") ?? "";
    const redirectUri = q.get("redirect_uri") ?? undefined;
    const state = q.get("state");
    if (clientId !== this.clientId) {
      this.authorizations.push({ login: this.#signedIn, clientId, redirectUri, state, outcome: "refused" });
      return { ...html(404, "Not Found"), violation: `authorize: unknown client_id ${JSON.stringify(clientId)} (expected ${this.clientId})` };
    }
    if (!redirectUri && !this.#callbackUrl) {
      return { ...html(400, "The redirect_uri MUST be given (the fake has no registered callback URL)"), violation: "authorize: no redirect_uri" };
    }
    const problem = redirectUri ? this.#redirectUriProblem(redirectUri) : undefined;
    if (problem) {
      this.authorizations.push({ login: this.#signedIn, clientId, redirectUri, state, outcome: "refused" });
      return { ...html(400, `Redirect URI mismatch: ${problem}`), violation: `authorize: ${problem}` };
    }
    if (!state) {
      // GitHub does not insist, but a flow without state is open to login CSRF.
      return { ...html(400, "no state"), violation: "authorize: no state parameter (login CSRF protection)" };
    }
    const target = new URL(redirectUri ?? this.#callbackUrl!);
    if (this.#denyNext) {
      this.#denyNext = false;
      this.authorizations.push({ login: this.#signedIn, clientId, redirectUri, state, outcome: "denied" });
      target.searchParams.set("error", "access_denied");
      target.searchParams.set("error_description", "The user has denied your application access.");
      target.searchParams.set("error_uri", "https://docs.github.com/apps/troubleshooting-authorization-request-errors/#access-denied");
      target.searchParams.set("state", state);
      return { status: 302, headers: { Location: target.toString() }, body: "" };
    }
    if (!this.#signedIn) {
      return html(200, "Sign in to GitHub (fake): nobody is signed in; the test should call signInAs(login) first");
    }
    const code = randomBytes(10).toString("hex");
    this.#codes.set(code, { login: this.#signedIn, clientId, redirectUri, expiresAt: Date.now() + CODE_TTL_MS, used: false });
    this.authorizations.push({ login: this.#signedIn, clientId, redirectUri, state, outcome: "code" });
    target.searchParams.set("code", code);
    target.searchParams.set("state", state);
    return { status: 302, headers: { Location: target.toString() }, body: "" };
  }

  #accessToken(req: OAuthWebRequest): OAuthWebResult {
    const type = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    const params = new Map<string, string>(req.url.searchParams);
    const text = req.raw.toString("utf8");
    if (text) {
      if (type === "application/json") {
        try {
          const body = JSON.parse(text) as Record<string, unknown>;
          for (const [k, v] of Object.entries(body)) if (typeof v === "string") params.set(k, v);
        } catch {
          return { ...html(400, "Problems parsing JSON"), violation: "access_token: body is not JSON" };
        }
      } else if (type === "application/x-www-form-urlencoded") {
        for (const [k, v] of new URLSearchParams(text)) params.set(k, v);
      } else {
        return { ...html(415, "Unsupported Media Type"), violation: `access_token: body of type ${type || "(none)"}` };
      }
    }
    const recordedBody = Object.fromEntries([...params].map(([k, v]) => [k, k === "client_secret" ? "***" : v]));
    const json = /application\/json/i.test(String(req.headers.accept ?? ""));
    const answer = (body: Record<string, string>, violation?: string): OAuthWebResult => ({
      status: 200,
      headers: { "Content-Type": json ? "application/json; charset=utf-8" : "application/x-www-form-urlencoded; charset=utf-8", "Cache-Control": "no-store" },
      body: json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
      recordedBody,
      ...(violation ? { violation } : {}),
    });
    const error = (code: string, description: string) =>
      answer({ error: code, error_description: description, error_uri: `https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#${code.replace(/_/g, "-")}` }, `access_token: ${code} (${description})`);

    if (params.get("client_id") !== this.clientId || params.get("client_secret") !== this.clientSecret) {
      return error("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
    }
    const code = params.get("code") ?? "";
    const issued = this.#codes.get(code);
    if (!issued || issued.used || issued.expiresAt <= Date.now() || issued.clientId !== this.clientId) {
      if (issued) issued.used = true;
      return error("bad_verification_code", "The code passed is incorrect or expired.");
    }
    issued.used = true;
    const redirectUri = params.get("redirect_uri");
    if (redirectUri !== undefined && redirectUri !== "" && issued.redirectUri !== undefined && redirectUri !== issued.redirectUri) {
      return error("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.");
    }
    const token = this.auth.issueUserToken(issued.login);
    return answer({ access_token: token.token, token_type: "bearer", scope: "" });
  }
}

function html(status: number, message: string): OAuthWebResult {
  const escaped = message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return { status, headers: { "Content-Type": "text/html; charset=utf-8" }, body: `<!doctype html><title>${escaped}</title><p>${escaped}</p>\n` };
}

// ---------------------------------------------------------------- REST with a user token

function userLogin(ctx: RouteContext): string {
  if (ctx.credential.kind !== "user") throw new HttpError(403, "Resource not accessible by integration");
  return ctx.credential.login;
}

/** Repositories `login` may read, oldest first (the order GitHub lists installation repositories in). */
function readableRepos(state: FakeState, login: string) {
  return [...state.repos.values()].filter((r) => state.permission(r.owner, r.name, login) !== "none");
}

function installationJson(state: FakeState, accountLogin: string) {
  const app = state.appJson();
  return {
    id: FAKE_INSTALLATION_ID,
    account: state.userJson(accountLogin),
    access_tokens_url: `${state.apiUrl}/app/installations/${FAKE_INSTALLATION_ID}/access_tokens`,
    repositories_url: `${state.apiUrl}/installation/repositories`,
    html_url: `${state.baseUrl}/settings/installations/${FAKE_INSTALLATION_ID}`,
    app_id: app.id,
    app_slug: app.slug,
    target_id: state.userId(accountLogin),
    target_type: "User",
    permissions: app.permissions,
    events: app.events,
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    repository_selection: "all",
    suspended_at: null,
    suspended_by: null,
  };
}

export const userRoutes: Record<string, Route> = {
  "GET /user": {
    auth: "user",
    handle(ctx) {
      const login = userLogin(ctx);
      return {
        status: 200,
        body: {
          ...ctx.state.userJson(login),
          name: null,
          company: null,
          blog: "",
          location: null,
          email: null,
          hireable: null,
          bio: null,
          public_repos: 0,
          public_gists: 0,
          followers: 0,
          following: 0,
          created_at: "2024-01-01T00:00:00Z",
          updated_at: "2024-01-01T00:00:00Z",
        },
      };
    },
  },

  "GET /user/installations": {
    auth: "user",
    handle(ctx) {
      const login = userLogin(ctx);
      const repos = readableRepos(ctx.state, login);
      // An installation is listed when the user can access at least one of its repositories.
      const installations = repos.length ? [installationJson(ctx.state, repos[0].owner)] : [];
      const page = paginate(ctx, installations);
      return { status: 200, headers: page.headers, body: { total_count: installations.length, installations: page.items } };
    },
  },

  "GET /user/installations/{installation_id}/repositories": {
    auth: "user",
    handle(ctx) {
      const login = userLogin(ctx);
      if (Number(ctx.params.installation_id) !== FAKE_INSTALLATION_ID) throw new HttpError(404, "Not Found");
      const repos = readableRepos(ctx.state, login);
      const page = paginate(ctx, repos);
      return {
        status: 200,
        headers: page.headers,
        body: {
          total_count: repos.length,
          repository_selection: "all",
          repositories: page.items.map((r) => ({ ...ctx.state.repoJson(r), permissions: PERMISSION_BOOLS[ctx.state.permission(r.owner, r.name, login)] })),
        },
      };
    },
  },
};
