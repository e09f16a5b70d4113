/**
 * GitHub API calls of one autoplan, from the fake GitHub's request log (`FakeGitHub.requests`):
 * how many, which, and which reads were made twice for the same data.
 *
 * A read is a GET/HEAD, a GraphQL query, or a token mint (`POST …/access_tokens`, the same token
 * for the same installation). Two reads are "the same data" when method, path, query string and
 * (for GraphQL / token mints) body are equal. Writes (POST/PATCH/PUT/DELETE, GraphQL mutations)
 * are listed separately: a check run legitimately gets several PATCHes.
 */
import type { RequestRecord } from "../test/fake-github/state.js";

export interface CallLine {
  method: string;
  /** Path with the query string (sorted), as called. */
  path: string;
  status: number;
  kind: "read" | "write";
  /** Milliseconds after the webhook was sent. */
  atMs: number;
}

export interface RepeatedCall {
  call: string;
  count: number;
}

export interface ApiCallReport {
  total: number;
  reads: number;
  writes: number;
  /** "METHOD template" → count. */
  byEndpoint: Record<string, number>;
  /** Reads made more than once for the same data (the target says: none). */
  duplicateReads: RepeatedCall[];
  /** Writes to the same object more than once (informational: a check run is created, then updated). */
  repeatedWrites: RepeatedCall[];
  /** Gaps between consecutive writes (ms): Octokit's throttling spaces writes ≥ 1 s apart. */
  writeGapsMs: number[];
  calls: CallLine[];
}

function queryString(q: Record<string, string>): string {
  const keys = Object.keys(q).sort();
  return keys.length ? `?${keys.map((k) => `${k}=${q[k]}`).join("&")}` : "";
}

function isGraphql(r: RequestRecord): boolean {
  return r.method === "POST" && (r.template === "/graphql" || r.path.endsWith("/graphql"));
}

function isMutation(r: RequestRecord): boolean {
  const q = (r.body as { query?: unknown } | undefined)?.query;
  return typeof q === "string" && /^\s*mutation\b/.test(q);
}

function isRead(r: RequestRecord): boolean {
  if (r.method === "GET" || r.method === "HEAD") return true;
  if (isGraphql(r)) return !isMutation(r);
  return r.method === "POST" && /\/app\/installations\/[^/]+\/access_tokens$/.test(r.path);
}

function readKey(r: RequestRecord): string {
  const base = `${r.method} ${r.path}${queryString(r.query)}`;
  if (r.method === "POST") {
    const b = r.body as { query?: unknown; variables?: unknown } | undefined;
    if (isGraphql(r)) return `${base} ${String(b?.query ?? "").replace(/\s+/g, " ")} vars=${JSON.stringify(b?.variables ?? {})}`;
    return r.body === undefined || r.body === null ? base : `${base} ${JSON.stringify(r.body)}`;
  }
  return base;
}

export function analyzeCalls(window: RequestRecord[], t0WallMs: number): ApiCallReport {
  const byEndpoint: Record<string, number> = {};
  const readCounts = new Map<string, number>();
  const writeCounts = new Map<string, number>();
  const calls: CallLine[] = [];
  const writeTimes: number[] = [];
  for (const r of window) {
    const read = isRead(r);
    const endpoint = `${r.method} ${r.template ?? r.path}`;
    byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + 1;
    const atMs = Date.parse(r.at) - t0WallMs;
    calls.push({ method: r.method, path: `${r.path}${queryString(r.query)}`, status: r.status, kind: read ? "read" : "write", atMs });
    if (read) {
      const k = readKey(r);
      readCounts.set(k, (readCounts.get(k) ?? 0) + 1);
    } else {
      // A POST to a collection creates a new object each time: tell creates apart by their name.
      const name = r.method === "POST" ? (r.body as { name?: unknown } | undefined)?.name : undefined;
      const k = `${r.method} ${r.path}${typeof name === "string" ? ` (name: ${name})` : ""}`;
      writeCounts.set(k, (writeCounts.get(k) ?? 0) + 1);
      writeTimes.push(atMs);
    }
  }
  const repeated = (m: Map<string, number>) =>
    [...m.entries()].filter(([, n]) => n > 1).map(([call, count]) => ({ call, count })).sort((a, b) => b.count - a.count);
  const writeGapsMs = writeTimes.slice(1).map((t, i) => t - writeTimes[i]);
  return {
    total: window.length,
    reads: calls.filter((c) => c.kind === "read").length,
    writes: calls.filter((c) => c.kind === "write").length,
    byEndpoint,
    duplicateReads: repeated(readCounts),
    repeatedWrites: repeated(writeCounts),
    writeGapsMs,
    calls,
  };
}
