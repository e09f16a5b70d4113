/**
 * Small HTTP helpers shared by the web UI's handlers (sign-in, pages): cookies, HTML pages,
 * redirects, form bodies and the "is this a local path" check that prevents open redirects.
 * Plain `node:http`, no framework.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** `&<>"'` escaped, for text and attribute values in HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** The request's path and query, parsed against a dummy origin (only `pathname`/`searchParams` are meaningful). */
export function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? "/", "http://atoll.invalid");
  } catch {
    return new URL("/", "http://atoll.invalid");
  }
}

/** Cookies of the request by name (the first of duplicates wins, as browsers send the most specific first). */
export function parseCookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  const header = req.headers.cookie;
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

export interface CookieOptions {
  path?: string;
  /** Seconds; 0 deletes the cookie. Omitted: a browser-session cookie. */
  maxAge?: number;
  secure: boolean;
  sameSite?: "Lax" | "Strict";
}

/** A `Set-Cookie` value, always `HttpOnly`. `value` must already be cookie-safe (base64url, etc.). */
export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${opts.path ?? "/"}`, "HttpOnly", `SameSite=${opts.sameSite ?? "Lax"}`];
  if (opts.maxAge !== undefined) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(opts.maxAge))}`);
    if (opts.maxAge <= 0) parts.push("Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  }
  if (opts.secure) parts.push("Secure");
  return parts.join("; ");
}

/** Headers every web UI answer carries: nothing is cached, nothing leaks through `Referer`, no framing. */
export const WEB_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** Answer a small complete HTML page; `bodyHtml` must already be escaped. */
export function sendHtml(res: ServerResponse, status: number, title: string, bodyHtml: string, cookies: string[] = []): true {
  const html =
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)} · Atoll</title>` +
    `<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.4rem}code{background:#f6f8fa;padding:0 .2em}</style>` +
    `</head><body><h1>${escapeHtml(title)}</h1>\n${bodyHtml}\n</body></html>\n`;
  const headers: Record<string, string | string[]> = { ...WEB_HEADERS, "content-type": "text/html; charset=utf-8" };
  if (cookies.length) headers["set-cookie"] = cookies;
  res.writeHead(status, headers).end(html);
  return true;
}

/** Redirect (302 by default) to `location`, setting `cookies`. */
export function redirect(res: ServerResponse, location: string, cookies: string[] = [], status = 302): true {
  const headers: Record<string, string | string[]> = { ...WEB_HEADERS, location };
  if (cookies.length) headers["set-cookie"] = cookies;
  res.writeHead(status, headers).end();
  return true;
}

/**
 * `next` when it is a path on this server (`/…`, not `//host` or `/\host`, no control characters,
 * no scheme), else `fallback`. Browsers treat `//evil.example` and `/\evil.example` as other
 * hosts, so both are refused.
 */
export function localPath(next: string | null | undefined, fallback = "/"): string {
  if (typeof next !== "string" || next.length === 0 || next.length > 2048) return fallback;
  if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return fallback;
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return fallback;
  // Whatever a browser would resolve it to must stay on the same origin.
  try {
    const base = new URL("http://atoll.invalid/");
    const resolved = new URL(next, base);
    if (resolved.origin !== base.origin) return fallback;
    return resolved.pathname + resolved.search + resolved.hash;
  } catch {
    return fallback;
  }
}

export class BodyTooLargeError extends Error {}

/** The request body as text, refusing more than `limit` bytes. */
export function readBodyText(req: IncomingMessage, limit = 16 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLargeError(`request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** An `application/x-www-form-urlencoded` body (anything else: empty). */
export async function readForm(req: IncomingMessage, limit?: number): Promise<URLSearchParams> {
  const type = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  const text = await readBodyText(req, limit);
  return type === "application/x-www-form-urlencoded" ? new URLSearchParams(text) : new URLSearchParams();
}
