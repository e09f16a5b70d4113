/**
 * Server-rendered HTML for the web UI: one layout (works on a phone-sized screen, follows the
 * browser's `prefers-color-scheme` like GitHub), escaping for every value that came from outside,
 * and the response helpers the pages share. No framework: the pages are small.
 */
import type { ServerResponse } from "node:http";
import { WEB_HEADERS, escapeHtml } from "./http.js";

/** Escape any value for HTML content and attribute values (`escapeHtml` of its text). */
export function esc(value: unknown): string {
  return escapeHtml(String(value));
}

const CSS = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --accent: #0969da; --danger: #d1242f; --ok: #1a7f37; --code: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --border: #3d444d; --accent: #4493f8; --danger: #f85149; --ok: #3fb950; --code: #151b23; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 16px; border-bottom: 1px solid var(--border); }
header .brand { font-weight: 600; font-size: 16px; }
header nav a { margin-right: 12px; }
header .user { margin-left: auto; color: var(--muted); display: flex; gap: 8px; align-items: center; }
main { padding: 16px; max-width: 1100px; margin: 0 auto; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
h1 { font-size: 20px; margin: 0 0 12px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--border); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
.muted { color: var(--muted); }
.status-succeeded { color: var(--ok); } .status-failed, .status-interrupted { color: var(--danger); } .status-running { color: var(--accent); }
button { font: inherit; padding: 3px 10px; border-radius: 6px; border: 1px solid var(--border); background: var(--code); color: var(--fg); cursor: pointer; }
button.danger { color: var(--danger); }
pre.log { background: var(--code); border: 1px solid var(--border); border-radius: 6px; padding: 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; min-height: 4em; }
.notice { padding: 8px 12px; border: 1px solid var(--border); border-radius: 6px; margin-bottom: 12px; }
.notice.error { border-color: var(--danger); }
@media (max-width: 600px) { th.wide, td.wide { display: none; } main { padding: 10px; } }
`;

export interface PageUser {
  login: string;
  csrf: string;
}

/** The page around `body`. `user` shows who is signed in (and the sign-out form). */
export function layout(title: string, body: string, user?: PageUser): string {
  const who = user
    ? `<span class="user">@${esc(user.login)} <form method="post" action="/logout"><input type="hidden" name="csrf" value="${esc(user.csrf)}"><button type="submit">Sign out</button></form></span>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Atoll</title><style>${CSS}</style></head>
<body><header><span class="brand">Atoll</span><nav><a href="/locks">Locks</a><a href="/jobs">Jobs</a></nav>${who}</header>
<main>${body}</main></body></html>`;
}

/**
 * Send a page built with `layout`: the web UI's headers (`WEB_HEADERS`: no caching, no framing,
 * a same-origin referrer), with a CSP that also lets the page load its one script and open its log stream.
 */
export function sendPage(res: ServerResponse, status: number, html: string): true {
  res.writeHead(status, {
    ...WEB_HEADERS,
    "content-type": "text/html; charset=utf-8",
    // Same-origin forms must carry their Origin (the CSRF check): no-referrer would send "null".
    "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  });
  res.end(html);
  return true;
}

/** "3 min ago", "2 h ago" — relative to `now`. */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** "12.3 s", "4 min 5 s" between two timestamps (to now when `end` is absent). */
export function duration(start: string | undefined, end: string | undefined, now = Date.now()): string {
  if (!start) return "";
  const ms = (end ? Date.parse(end) : now) - Date.parse(start);
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
