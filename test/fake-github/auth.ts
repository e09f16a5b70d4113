/**
 * Authentication as GitHub does it for an app: app JWTs (RS256, `iss` = app id, at most 10
 * minutes of lifetime) for `/app/...` endpoints, installation tokens (`ghs_…`, one hour) for
 * everything else, and `x-access-token:<token>` Basic auth for git over HTTP.
 *
 * Being strict here is the point: an app that asks api.github.com for its token while
 * configured for GHES (github-platform.md §1.1a), or that clones without a token, must fail
 * against the fake exactly as it would against the real thing.
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from "node:crypto";
import { decodeBasicAuth } from "../helpers/git-http-backend.js";

export type Credential =
  | { kind: "none" }
  | { kind: "jwt"; appId: string }
  | { kind: "token"; token: string; installationId: number }
  /** A user-to-server token from the OAuth web flow (`ghu_…`, see oauth.ts). */
  | { kind: "user"; token: string; login: string }
  | { kind: "invalid"; reason: string };

export interface IssuedToken {
  token: string;
  installationId: number;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Split `<scheme> <value>`; schemes are case-insensitive (Octokit sends `bearer` in lower case). */
function splitAuthorization(header: string | undefined): { scheme: string; value: string } | null {
  if (!header) return null;
  const m = /^(\S+)\s+(\S+)\s*$/.exec(header.trim());
  if (!m) return null;
  return { scheme: m[1].toLowerCase(), value: m[2] };
}

function base64UrlJson(part: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface IssuedUserToken {
  token: string;
  login: string;
  /** Epoch milliseconds (GitHub Apps' user tokens last 8 hours). */
  expiresAt: number;
}

export class AuthState {
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #userTokens = new Map<string, IssuedUserToken>();
  readonly #publicKey: KeyObject | undefined;

  constructor(
    readonly appId: number,
    publicKeyPem: string | undefined,
  ) {
    // createPublicKey also accepts a private-key PEM and derives the public half.
    this.#publicKey = publicKeyPem ? createPublicKey(publicKeyPem) : undefined;
  }

  /**
   * Check an app JWT. Returns null when valid, otherwise the reason (GitHub answers 401 with
   * a message; the reason is recorded for the test's failure output).
   */
  verifyJwt(jwt: string, nowMs = Date.now()): string | null {
    const parts = jwt.split(".");
    if (parts.length !== 3) return "A JSON web token could not be decoded";
    const header = base64UrlJson(parts[0]);
    const payload = base64UrlJson(parts[1]);
    if (!header || !payload) return "A JSON web token could not be decoded";
    if (header.alg !== "RS256") return `JWT alg must be RS256, got ${String(header.alg)}`;
    if (this.#publicKey) {
      const ok = verify(
        "RSA-SHA256",
        Buffer.from(`${parts[0]}.${parts[1]}`),
        this.#publicKey,
        Buffer.from(parts[2], "base64url"),
      );
      if (!ok) return "A JSON web token could not be decoded (bad signature)";
    }
    if (String(payload.iss) !== String(this.appId)) {
      return `'Issuer' claim ('iss') must be the app id ${this.appId}, got ${String(payload.iss)}`;
    }
    const now = Math.floor(nowMs / 1000);
    if (typeof payload.exp !== "number" || typeof payload.iat !== "number") {
      return "'Expiration time' claim ('exp') and 'Issued at' claim ('iat') must be numeric values";
    }
    // GitHub allows some clock drift; universal-github-app-jwt backdates iat by 30 s.
    if (payload.exp < now - 30) return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
    if (payload.exp - now > 660) return "'Expiration time' claim ('exp') is too far in the future";
    if (payload.iat > now + 60) return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
    return null;
  }

  /** Mint an installation token (GitHub's `ghs_` prefix; length is deliberately not 40, see §3.4). */
  issueToken(installationId: number, nowMs = Date.now()): IssuedToken {
    const token = `ghs_${randomBytes(24).toString("base64url")}`;
    const issued = { token, installationId, expiresAt: nowMs + 60 * 60 * 1000 };
    this.#tokens.set(token, issued);
    return issued;
  }

  /** The issued token if it exists and has not expired. */
  validToken(token: string, nowMs = Date.now()): IssuedToken | undefined {
    const t = this.#tokens.get(token);
    return t && t.expiresAt > nowMs ? t : undefined;
  }

  /** Mint a user-to-server token for `login` (GitHub's `ghu_` prefix). */
  issueUserToken(login: string, nowMs = Date.now()): IssuedUserToken {
    const issued = { token: `ghu_${randomBytes(27).toString("base64url")}`, login, expiresAt: nowMs + 8 * 60 * 60 * 1000 };
    this.#userTokens.set(issued.token, issued);
    return issued;
  }

  /** Revoke the user tokens of `login` (all users' when omitted), as revoking the App's authorization does. */
  revokeUserTokens(login?: string): void {
    for (const t of this.#userTokens.values()) if (login === undefined || t.login.toLowerCase() === login.toLowerCase()) t.expiresAt = 0;
  }

  get issuedUserTokens(): IssuedUserToken[] {
    return [...this.#userTokens.values()];
  }

  /** Expire every issued token now, installation and user tokens (lets a test simulate the time limits). */
  expireAll(): void {
    for (const t of this.#tokens.values()) t.expiresAt = 0;
    for (const t of this.#userTokens.values()) t.expiresAt = 0;
  }

  get issued(): IssuedToken[] {
    return [...this.#tokens.values()];
  }

  /** Classify an API request's Authorization header. */
  classify(authorization: string | undefined): Credential {
    const parsed = splitAuthorization(authorization);
    if (!parsed) return authorization ? { kind: "invalid", reason: "malformed Authorization header" } : { kind: "none" };
    if (parsed.scheme !== "token" && parsed.scheme !== "bearer") {
      return { kind: "invalid", reason: `unsupported scheme ${parsed.scheme}` };
    }
    const issued = this.validToken(parsed.value);
    if (issued) return { kind: "token", token: issued.token, installationId: issued.installationId };
    const user = this.#userTokens.get(parsed.value);
    if (user && user.expiresAt > Date.now()) return { kind: "user", token: user.token, login: user.login };
    if (parsed.scheme === "bearer" && parsed.value.split(".").length === 3) {
      const reason = this.verifyJwt(parsed.value);
      return reason ? { kind: "invalid", reason } : { kind: "jwt", appId: String(this.appId) };
    }
    return { kind: "invalid", reason: this.#tokens.has(parsed.value) || user ? "token expired" : "unknown token" };
  }

  /** Git over HTTP: only `Basic base64("x-access-token:<valid token>")`. */
  isGitAuthorized(authorization: string | undefined): boolean {
    const basic = decodeBasicAuth(authorization);
    return !!basic && basic.user === "x-access-token" && !!this.validToken(basic.password);
  }
}
