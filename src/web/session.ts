/**
 * Stateless web sessions: everything a signed-in browser needs lives in one cookie, sealed with
 * AES-256-GCM (encrypted and authenticated), so any replica can read it without a database and
 * nobody — not even the user — can read or change what is inside (the user's GitHub token).
 *
 * - The key is derived with HKDF-SHA256 from a secret: `ATOLL_SESSION_SECRET` when set, otherwise
 *   the App's private key, which every replica already has (`sessionSecretFrom`).
 * - The sealed payload carries its own expiry (8 h); the cookie's Max-Age only tidies up. A
 *   tampered, expired or foreign (other key, other purpose) cookie reads as "not signed in".
 * - CSRF: a synchronizer token kept in the session, compared in constant time, plus a check that
 *   `Origin`/`Referer` (when the browser sends one) is the public URL's origin.
 *
 * Sealed value: `v1.` + base64url(iv ‖ ciphertext ‖ tag), with the purpose (the cookie's name) as
 * additional authenticated data so that one sealed value cannot be replayed as another.
 */
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { parseCookies, serializeCookie } from "./http.js";

export const SESSION_COOKIE = "atoll_session";
/** How long a sign-in lasts. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface WebSession {
  /** GitHub login of the signed-in user. */
  login: string;
  /** The user's OAuth (user-to-server) access token. Never rendered, logged or put in a URL. */
  token: string;
  /** Synchronizer token for forms (`<input type="hidden" name="csrf">`) and the `x-atoll-csrf` header. */
  csrf: string;
  /** Epoch milliseconds after which the session is void. */
  expiresAt: number;
}

export interface Sessions {
  /** The request's session, or undefined (no cookie, tampered, expired, other key). */
  read(req: IncomingMessage): WebSession | undefined;
  /** `Set-Cookie` value storing `s`. */
  cookieFor(s: WebSession): string;
  /** `Set-Cookie` value deleting the session cookie. */
  clearCookie(): string;
  /** A fresh session (new CSRF token, expiry now + 8 h). */
  newSession(login: string, token: string): WebSession;
  /**
   * Whether a state-changing request may proceed: `Origin` (or, without it, `Referer`) is absent
   * or the public origin, and `submitted` (or, when undefined, the `x-atoll-csrf` header) equals
   * the session's CSRF token.
   */
  checkCsrf(req: IncomingMessage, s: WebSession, submitted: string | undefined): boolean;
  /** Seal any JSON value for `purpose` until `expiresAt` (for short-lived cookies such as OAuth state). */
  seal(purpose: string, value: unknown, expiresAt: number): string;
  /** The value sealed for `purpose`, or undefined when tampered, expired or sealed for something else. */
  unseal<T = unknown>(purpose: string, sealed: string | undefined): T | undefined;
  /** Whether cookies are marked `Secure`. */
  readonly secure: boolean;
  /** The clock expiries are measured with (epoch ms). */
  now(): number;
}

export interface SessionOptions {
  /** At least 32 bytes of secret (a configured secret, or `sessionSecretFrom`'s result). */
  secret: string | Buffer;
  /** Mark cookies `Secure`. Default: whether `publicUrl` is https. */
  secure?: boolean;
  /**
   * The UI's public address (ATOLL_PUBLIC_URL); its origin is the only one allowed to send
   * state-changing requests. Without it, the request's own `Host` is the expected origin.
   */
  publicUrl?: string;
  /** Clock (epoch ms); tests move it. */
  now?: () => number;
  /** Session lifetime; default 8 h. */
  ttlMs?: number;
}

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The AES-256 key for sessions, derived from the secret with HKDF-SHA256. */
export function deriveSessionKey(secret: string | Buffer): Buffer {
  const ikm = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
  if (ikm.length < 16) throw new Error("the session secret is too short");
  return Buffer.from(hkdfSync("sha256", ikm, "atoll/web", "atoll web session key v1", 32));
}

export function createSessions(opts: SessionOptions): Sessions {
  const key = deriveSessionKey(opts.secret);
  const now = opts.now ?? Date.now;
  const ttlMs = opts.ttlMs ?? SESSION_TTL_MS;
  const publicOrigin = opts.publicUrl ? new URL(opts.publicUrl).origin : undefined;
  const secure = opts.secure ?? (publicOrigin?.startsWith("https:") ?? false);

  function seal(purpose: string, value: unknown, expiresAt: number): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(`${VERSION}:${purpose}`, "utf8"));
    const plain = Buffer.from(JSON.stringify({ e: expiresAt, v: value }), "utf8");
    const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, ct, cipher.getAuthTag()]).toString("base64url")}`;
  }

  function unseal<T>(purpose: string, sealed: string | undefined): T | undefined {
    if (!sealed || sealed.length > 8192 || !sealed.startsWith(`${VERSION}.`)) return undefined;
    const raw = Buffer.from(sealed.slice(VERSION.length + 1), "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES + 1) return undefined;
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(`${VERSION}:${purpose}`, "utf8"));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
      const parsed = JSON.parse(plain.toString("utf8")) as { e?: unknown; v?: unknown };
      if (typeof parsed.e !== "number" || !(parsed.e > now())) return undefined;
      return parsed.v as T;
    } catch {
      return undefined; // wrong key, tampered, truncated
    }
  }

  function expectedOrigin(req: IncomingMessage): string | undefined {
    if (publicOrigin) return publicOrigin;
    const host = req.headers.host;
    return host ? `${secure ? "https" : "http"}://${host}` : undefined;
  }

  function originAllowed(req: IncomingMessage): boolean {
    const expected = expectedOrigin(req);
    const origin = req.headers.origin;
    if (origin !== undefined) return origin === expected; // includes "null" (sandboxed, file:, some redirects)
    const referer = req.headers.referer;
    if (referer === undefined || referer === "") return true;
    try {
      return new URL(referer).origin === expected;
    } catch {
      return false;
    }
  }

  return {
    secure,
    now,
    seal,
    unseal,
    read(req) {
      const v = unseal<{ l?: unknown; t?: unknown; c?: unknown; x?: unknown }>(SESSION_COOKIE, parseCookies(req).get(SESSION_COOKIE));
      if (!v || typeof v.l !== "string" || typeof v.t !== "string" || typeof v.c !== "string" || typeof v.x !== "number") return undefined;
      if (!(v.x > now())) return undefined;
      return { login: v.l, token: v.t, csrf: v.c, expiresAt: v.x };
    },
    cookieFor(s) {
      const sealed = seal(SESSION_COOKIE, { l: s.login, t: s.token, c: s.csrf, x: s.expiresAt }, s.expiresAt);
      return serializeCookie(SESSION_COOKIE, sealed, { secure, maxAge: Math.max(0, Math.floor((s.expiresAt - now()) / 1000)) });
    },
    clearCookie() {
      return serializeCookie(SESSION_COOKIE, "", { secure, maxAge: 0 });
    },
    newSession(login, token) {
      return { login, token, csrf: randomBytes(32).toString("base64url"), expiresAt: now() + ttlMs };
    },
    checkCsrf(req, s, submitted) {
      if (!originAllowed(req)) return false;
      const header = req.headers["x-atoll-csrf"];
      const given = submitted ?? (typeof header === "string" ? header : undefined);
      return typeof given === "string" && given.length > 0 && constantTimeEqual(given, s.csrf);
    },
  };
}

/** String equality in time independent of where the strings differ (digests make the lengths equal). */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

/**
 * The secret sessions are sealed with: `ATOLL_SESSION_SECRET` when configured, otherwise derived
 * from the App's private key (PRIVATE_KEY, or the file at PRIVATE_KEY_PATH), which every replica
 * has. The key is normalised first (PEM, "\n"-escaped or base64 spellings of one key agree) and
 * never used directly: HKDF with its own label separates the session key from the signing key.
 */
export function sessionSecretFrom(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): Buffer {
  if (configured) return Buffer.from(configured, "utf8");
  let text = env.PRIVATE_KEY?.trim();
  if (!text && env.PRIVATE_KEY_PATH?.trim()) {
    try {
      text = readFileSync(env.PRIVATE_KEY_PATH.trim(), "utf8").trim();
    } catch {
      throw new Error(`the web sign-in needs ATOLL_SESSION_SECRET, or a readable PRIVATE_KEY_PATH (could not read ${env.PRIVATE_KEY_PATH.trim()})`);
    }
  }
  if (!text) throw new Error("the web sign-in needs ATOLL_SESSION_SECRET, or the App's private key (PRIVATE_KEY or PRIVATE_KEY_PATH) to derive it from");
  let pem = text.includes("-----BEGIN") ? text.replace(/\\n/g, "\n") : Buffer.from(text, "base64").toString("utf8");
  if (!pem.includes("-----BEGIN")) pem = text;
  let material: Buffer;
  try {
    material = createPrivateKey(pem).export({ format: "der", type: "pkcs8" });
  } catch {
    material = Buffer.from(pem, "utf8"); // not a key we can parse; still the same bytes on every replica
  }
  return Buffer.from(hkdfSync("sha256", material, "atoll/private-key", "atoll session secret from the App's private key", 32));
}
