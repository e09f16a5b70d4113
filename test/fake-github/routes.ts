/**
 * REST handlers of the fake GitHub, keyed by "METHOD <OpenAPI template>" so that routing reuses
 * `matchRoute` from the official description and a handler can only exist for a real endpoint.
 *
 * Each route declares how it authenticates (app JWT or installation token) and, optionally,
 * GitHub's own validation rules that go beyond the request schema; those produce the same 422
 * bodies github.com sends and are reported as contract violations by the server.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { AuthState, Credential } from "./auth.js";
import {
  isoNow,
  markMerged,
  nodeId,
  type CheckRunRecord,
  type CommentRecord,
  type FakeState,
  type PermissionLevel,
  type PullRecord,
} from "./state.js";
import type { FakeRepo } from "./git-repos.js";
import { mergeability, mergeRefusal } from "./merge-state.js";

export interface RouteContext {
  method: string;
  /** API path without `/api/v3`. */
  path: string;
  template: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  headers: IncomingHttpHeaders;
  credential: Credential;
  state: FakeState;
  auth: AuthState;
  /** Re-read a PR's head/base shas from git (no-op once closed). */
  syncPull(p: PullRecord): Promise<void>;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Non-JSON body (raw file contents). */
  raw?: Buffer;
}

/** A field error in GitHub's 422 format. */
export interface FieldError {
  resource: string;
  code: string;
  field?: string;
  message: string;
}

export interface Route {
  /** App JWT, installation token, or a user's OAuth token (`oauth.ts`). */
  auth: "jwt" | "token" | "user";
  /** GitHub's rules beyond the schema; any error → 422 Validation Failed (and a violation). */
  rules?: (ctx: RouteContext) => FieldError[];
  handle(ctx: RouteContext): Promise<RouteResult> | RouteResult;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /**
     * Whether GitHub would say the app sent an invalid request (recorded as a contract
     * violation). Default: every 422. A 422 that is an ordinary answer (deleting a ref that does
     * not exist) passes false.
     */
    readonly violation = status === 422,
  ) {
    super(message);
  }
}

const notFound = () => new HttpError(404, "Not Found");

function record(body: unknown): Record<string, unknown> {
  return body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

function requireRepo(ctx: RouteContext): FakeRepo {
  const r = ctx.state.repo(ctx.params.owner, ctx.params.repo);
  if (!r) throw notFound();
  return r;
}

function requireNumber(value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw notFound();
  return n;
}

async function requirePull(ctx: RouteContext): Promise<PullRecord> {
  requireRepo(ctx);
  const p = ctx.state.pull(ctx.params.owner, ctx.params.repo, requireNumber(ctx.params.pull_number));
  if (!p) throw notFound();
  await ctx.syncPull(p);
  return p;
}

function requireComment(ctx: RouteContext): CommentRecord {
  const r = requireRepo(ctx);
  const id = requireNumber(ctx.params.comment_id);
  const c = ctx.state.comments.find((x) => x.id === id && ctx.state.repoKey(x.owner, x.repo) === ctx.state.repoKey(r.owner, r.name));
  if (!c) throw notFound();
  return c;
}

function requireCheckRun(ctx: RouteContext): CheckRunRecord {
  const r = requireRepo(ctx);
  const id = requireNumber(ctx.params.check_run_id);
  const c = ctx.state.checkRuns.find((x) => x.id === id && ctx.state.repoKey(x.owner, x.repo) === ctx.state.repoKey(r.owner, r.name));
  if (!c) throw notFound();
  return c;
}

// ---------------------------------------------------------------- pagination

/**
 * Slice `items` by `per_page` (default 30, max 100) and `page`, with a `Link` header built from
 * the request's own URL, as GitHub does (Octokit's paginate follows rel="next").
 */
export function paginate<T>(ctx: RouteContext, items: T[]): { items: T[]; headers: Record<string, string> } {
  const perPageRaw = Number(ctx.query.get("per_page") ?? 30);
  const perPage = Math.min(100, Math.max(1, Number.isFinite(perPageRaw) ? Math.floor(perPageRaw) : 30));
  const pageRaw = Number(ctx.query.get("page") ?? 1);
  const page = Math.max(1, Number.isFinite(pageRaw) ? Math.floor(pageRaw) : 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const link = (p: number, rel: string) => {
    const q = new URLSearchParams(ctx.query);
    q.set("per_page", String(perPage));
    q.set("page", String(p));
    return `<${ctx.state.apiUrl}${ctx.path}?${q.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, "prev"));
  if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
  if (page > 1) links.push(link(1, "first"));
  return { items: slice, headers: links.length ? { Link: links.join(", ") } : {} };
}

// ---------------------------------------------------------------- rules beyond the schema

const MAX_COMMENT_CHARS = 65536;
const MAX_OUTPUT_BYTES = 65535;

function commentRules(ctx: RouteContext): FieldError[] {
  const body = record(ctx.body).body;
  if (typeof body === "string" && Array.from(body).length > MAX_COMMENT_CHARS) {
    return [{ resource: "IssueComment", code: "custom", field: "body", message: `body is too long (maximum is ${MAX_COMMENT_CHARS} characters)` }];
  }
  return [];
}

function checkRunRules(ctx: RouteContext): FieldError[] {
  const b = record(ctx.body);
  const errors: FieldError[] = [];
  const err = (field: string, message: string) => errors.push({ resource: "CheckRun", code: "custom", field, message });
  const output = record(b.output);
  for (const field of ["summary", "text"] as const) {
    const v = output[field];
    if (typeof v === "string" && Buffer.byteLength(v, "utf8") > MAX_OUTPUT_BYTES) {
      err(`output.${field}`, `${field} exceeds a maximum bytesize of ${MAX_OUTPUT_BYTES}`);
    }
  }
  if (Array.isArray(output.annotations) && output.annotations.length > 50) {
    err("output.annotations", "Only 50 annotations are allowed per request");
  }
  if (Array.isArray(b.actions)) {
    if (b.actions.length > 3) err("actions", "Only 3 actions are allowed per request");
    for (const a of b.actions.map(record)) {
      const len = (k: string) => (typeof a[k] === "string" ? Array.from(a[k] as string).length : 0);
      if (len("label") > 20) err("actions.label", "label is too long (maximum is 20 characters)");
      if (len("description") > 40) err("actions.description", "description is too long (maximum is 40 characters)");
      if (len("identifier") > 20) err("actions.identifier", "identifier is too long (maximum is 20 characters)");
    }
  }
  if ((b.status === "completed" || b.completed_at !== undefined) && b.conclusion === undefined) {
    err("conclusion", "conclusion is required when status is completed or completed_at is set");
  }
  if (typeof b.status === "string" && ["waiting", "requested", "pending"].includes(b.status)) {
    err("status", `status ${b.status} can only be set by GitHub Actions`);
  }
  if (b.conclusion === "stale") err("conclusion", "conclusion stale can only be set by GitHub");
  return errors;
}

// ---------------------------------------------------------------- handlers

function applyCheckRunBody(c: CheckRunRecord, b: Record<string, unknown>, isCreate: boolean): void {
  if (typeof b.name === "string") c.name = b.name;
  if (typeof b.details_url === "string") c.detailsUrl = b.details_url;
  if (typeof b.external_id === "string") c.externalId = b.external_id;
  if (typeof b.started_at === "string") c.startedAt = b.started_at;
  if (b.output !== undefined) {
    const o = record(b.output);
    c.output = {
      title: typeof o.title === "string" ? o.title : c.output.title,
      summary: typeof o.summary === "string" ? o.summary : c.output.summary,
      text: typeof o.text === "string" ? o.text : c.output.text,
    };
    if (Array.isArray(o.annotations)) c.annotations.push(...o.annotations.map(record));
  }
  if (Array.isArray(b.actions)) {
    c.actions = b.actions.map(record).map((a) => ({
      label: String(a.label),
      description: String(a.description),
      identifier: String(a.identifier),
    }));
  }
  // Sending a conclusion completes the run; going back to queued/in_progress clears it.
  if (typeof b.conclusion === "string") {
    c.status = "completed";
    c.conclusion = b.conclusion;
    c.completedAt = typeof b.completed_at === "string" ? b.completed_at : isoNow();
  } else if (typeof b.status === "string") {
    c.status = b.status;
    if (b.status !== "completed") {
      c.conclusion = null;
      c.completedAt = null;
    }
  } else if (isCreate) {
    c.status = "queued";
  }
}

function contentJson(ctx: RouteContext, r: FakeRepo, ref: string, entry: { path: string; sha: string; size: number; type: string }) {
  const apiUrl = `${ctx.state.apiUrl}/repos/${r.fullName}/contents/${entry.path}?ref=${encodeURIComponent(ref)}`;
  const html = `${ctx.state.baseUrl}/${r.fullName}/${entry.type === "dir" ? "tree" : "blob"}/${ref}/${entry.path}`;
  const gitUrl = `${ctx.state.apiUrl}/repos/${r.fullName}/git/${entry.type === "dir" ? "trees" : "blobs"}/${entry.sha}`;
  return {
    type: entry.type,
    name: entry.path.split("/").pop() ?? entry.path,
    path: entry.path,
    sha: entry.sha,
    size: entry.size,
    url: apiUrl,
    html_url: html,
    git_url: gitUrl,
    download_url: entry.type === "file" ? `${ctx.state.baseUrl}/${r.fullName}/raw/${ref}/${entry.path}` : null,
    _links: { self: apiUrl, git: gitUrl, html },
  };
}

function wantsRaw(headers: IncomingHttpHeaders): boolean {
  return /application\/vnd\.github(\.v3)?\.raw/i.test(String(headers.accept ?? ""));
}

export const PERMISSION_BOOLS: Record<PermissionLevel, { admin: boolean; maintain: boolean; push: boolean; triage: boolean; pull: boolean }> = {
  admin: { admin: true, maintain: true, push: true, triage: true, pull: true },
  maintain: { admin: false, maintain: true, push: true, triage: true, pull: true },
  write: { admin: false, maintain: false, push: true, triage: true, pull: true },
  triage: { admin: false, maintain: false, push: false, triage: true, pull: true },
  read: { admin: false, maintain: false, push: false, triage: false, pull: true },
  none: { admin: false, maintain: false, push: false, triage: false, pull: false },
};

/** `maintain` reports as write and `triage` as read in the legacy `permission` field. */
const LEGACY_PERMISSION: Record<PermissionLevel, string> = {
  admin: "admin",
  maintain: "write",
  write: "write",
  triage: "read",
  read: "read",
  none: "none",
};

/** `GET /repos/{o}/{r}/compare/{base}...{head}`; refs may be branch names or shas. */
async function compare(ctx: RouteContext, basehead: string): Promise<RouteResult> {
  const r = requireRepo(ctx);
  const parts = basehead.split("...");
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw notFound();
  // `user:branch` names a branch in a fork; forks share the fake's single repository.
  const [base, head] = parts.map((x) => x.replace(/^[^:]*:/, ""));
  const unsafe = (ref: string) => ref.startsWith("-") || /[\s\0]/.test(ref);
  if (unsafe(base) || unsafe(head)) throw notFound();
  const cmp = await r.compare(base, head);
  if (!cmp) throw notFound();
  const [baseCommit, mergeBaseCommit] = await r.commitInfo([cmp.baseSha, cmp.mergeBaseSha]);
  const list = await r.commitsBetween(cmp.baseSha, cmp.headSha);
  // GitHub lists at most 300 files for a comparison.
  const files = (await r.diff(cmp.baseSha, cmp.headSha)).slice(0, 300);
  return { status: 200, body: ctx.state.compareJson(r, basehead, cmp, { base: baseCommit, mergeBase: mergeBaseCommit, list }, files) };
}

export const routes: Record<string, Route> = {
  "GET /app": { auth: "jwt", handle: (ctx) => ({ status: 200, body: ctx.state.appJson() }) },

  "POST /app/installations/{installation_id}/access_tokens": {
    auth: "jwt",
    handle(ctx) {
      const installationId = requireNumber(ctx.params.installation_id);
      const t = ctx.auth.issueToken(installationId);
      return {
        status: 201,
        body: {
          token: t.token,
          expires_at: new Date(t.expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
          permissions: ctx.state.appJson().permissions,
          repository_selection: "all",
        },
      };
    },
  },

  "GET /repos/{owner}/{repo}/installation": {
    auth: "jwt",
    handle(ctx) {
      requireRepo(ctx);
      return {
        status: 200,
        body: {
          id: 1,
          account: ctx.state.userJson(ctx.params.owner),
          app_id: ctx.state.app.id,
          app_slug: ctx.state.app.slug,
          target_type: "User",
          repository_selection: "all",
          permissions: ctx.state.appJson().permissions,
          events: ctx.state.appJson().events,
        },
      };
    },
  },

  "GET /repos/{owner}/{repo}": { auth: "token", handle: (ctx) => ({ status: 200, body: ctx.state.repoJson(requireRepo(ctx)) }) },

  "GET /repos/{owner}/{repo}/pulls/{pull_number}": {
    auth: "token",
    async handle(ctx) {
      const p = await requirePull(ctx);
      return { status: 200, body: ctx.state.pullJson(p, await mergeability(ctx.state, p)) };
    },
  },

  "GET /repos/{owner}/{repo}/pulls/{pull_number}/files": {
    auth: "token",
    async handle(ctx) {
      const p = await requirePull(ctx);
      const r = requireRepo(ctx);
      // GitHub stops listing at 3000 files.
      const diff = (await r.diff(p.baseSha, p.headSha)).slice(0, 3000);
      const files = diff.map((d) => ctx.state.diffEntryJson(r, p.headSha, d));
      const page = paginate(ctx, files);
      return { status: 200, body: page.items, headers: page.headers };
    },
  },

  // The description has both the current template and the older `{base}...{head}` one, and the
  // router prefers the latter for `main...sha`; both are the same endpoint on GitHub.
  "GET /repos/{owner}/{repo}/compare/{basehead}": { auth: "token", handle: (ctx) => compare(ctx, ctx.params.basehead ?? "") },
  "GET /repos/{owner}/{repo}/compare/{base}...{head}": {
    auth: "token",
    handle: (ctx) => compare(ctx, `${ctx.params.base}...${ctx.params.head}`),
  },

  "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews": {
    auth: "token",
    async handle(ctx) {
      const p = await requirePull(ctx);
      const reviews = ctx.state.reviews
        .filter((v) => ctx.state.pullKey(v.owner, v.repo, v.pullNumber) === ctx.state.pullKey(p.owner, p.repo, p.number))
        .map((v) => ctx.state.reviewJson(v));
      const page = paginate(ctx, reviews);
      return { status: 200, body: page.items, headers: page.headers };
    },
  },

  "GET /repos/{owner}/{repo}/collaborators/{username}/permission": {
    auth: "token",
    handle(ctx) {
      const r = requireRepo(ctx);
      const login = ctx.params.username;
      const key = ctx.state.repoKey(r.owner, r.name);
      const level = ctx.state.permissions.get(key)?.get(login.toLowerCase()) ?? (ctx.state.privateRepos.has(key) ? "none" : "read");
      return {
        status: 200,
        body: {
          permission: LEGACY_PERMISSION[level],
          role_name: level,
          user: { ...ctx.state.userJson(login), permissions: PERMISSION_BOOLS[level], role_name: level },
        },
      };
    },
  },

  "GET /repos/{owner}/{repo}/contents/{path}": {
    auth: "token",
    async handle(ctx) {
      const r = requireRepo(ctx);
      const ref = ctx.query.get("ref") || r.defaultBranch;
      const sha = await r.tryResolve(ref).catch(() => null);
      if (!sha) throw new HttpError(404, `No commit found for the ref ${ref}`);
      const found = await r.readPath(sha, ctx.params.path ?? "");
      if (!found) throw notFound();
      const path = (ctx.params.path ?? "").replace(/^\/+|\/+$/g, "");
      if (found.type === "dir") {
        return { status: 200, body: found.entries.map((e) => contentJson(ctx, r, ref, e)) };
      }
      if (wantsRaw(ctx.headers)) {
        return { status: 200, raw: found.content, headers: { "Content-Type": "text/plain; charset=utf-8" } };
      }
      return {
        status: 200,
        body: {
          ...contentJson(ctx, r, ref, { path, sha: found.sha, size: found.content.length, type: "file" }),
          // GitHub wraps base64 at 60 columns; decoders must cope with the newlines.
          content: (found.content.toString("base64").match(/.{1,60}/g) ?? []).join("\n") + "\n",
          encoding: "base64",
        },
      };
    },
  },

  "GET /repos/{owner}/{repo}/issues/{issue_number}/comments": {
    auth: "token",
    handle(ctx) {
      const r = requireRepo(ctx);
      const n = requireNumber(ctx.params.issue_number);
      const list = ctx.state.comments
        .filter((c) => ctx.state.repoKey(c.owner, c.repo) === ctx.state.repoKey(r.owner, r.name) && c.issueNumber === n)
        .map((c) => ctx.state.commentJson(c));
      const page = paginate(ctx, list);
      return { status: 200, body: page.items, headers: page.headers };
    },
  },

  "POST /repos/{owner}/{repo}/issues/{issue_number}/comments": {
    auth: "token",
    rules: commentRules,
    handle(ctx) {
      const r = requireRepo(ctx);
      const n = requireNumber(ctx.params.issue_number);
      if (!ctx.state.pull(r.owner, r.name, n)) throw notFound();
      const now = isoNow();
      const id = ctx.state.newId();
      const c: CommentRecord = {
        owner: r.owner,
        repo: r.name,
        issueNumber: n,
        id,
        nodeId: nodeId("IssueComment", id),
        body: String(record(ctx.body).body),
        user: ctx.state.botLogin,
        byApp: true,
        createdAt: now,
        updatedAt: now,
        previousBodies: [],
      };
      ctx.state.comments.push(c);
      return { status: 201, body: ctx.state.commentJson(c), headers: { Location: ctx.state.commentJson(c).url } };
    },
  },

  "GET /repos/{owner}/{repo}/issues/{issue_number}/labels": {
    auth: "token",
    handle(ctx) {
      const r = requireRepo(ctx);
      const key = ctx.state.pullKey(r.owner, r.name, requireNumber(ctx.params.issue_number));
      const list = (ctx.state.issueLabels.get(key) ?? []).map((n) => ctx.state.labelJson(r.owner, r.name, n));
      const page = paginate(ctx, list);
      return { status: 200, body: page.items, headers: page.headers };
    },
  },

  "POST /repos/{owner}/{repo}/issues/{issue_number}/labels": {
    auth: "token",
    rules(ctx) {
      const labels = (record(ctx.body).labels ?? []) as unknown[];
      // GitHub's limit on a label's name.
      return labels.filter((l) => typeof l === "string" && l.length > 50).map((l) => ({ resource: "Label", field: "name", code: "invalid", message: `name is too long (maximum is 50 characters): ${String(l)}` }));
    },
    handle(ctx) {
      const r = requireRepo(ctx);
      const n = requireNumber(ctx.params.issue_number);
      if (!ctx.state.pull(r.owner, r.name, n)) throw notFound();
      const key = ctx.state.pullKey(r.owner, r.name, n);
      const current = ctx.state.issueLabels.get(key) ?? [];
      for (const l of (record(ctx.body).labels ?? []) as string[]) if (!current.some((c) => c.toLowerCase() === l.toLowerCase())) current.push(l);
      ctx.state.issueLabels.set(key, current);
      return { status: 200, body: current.map((name) => ctx.state.labelJson(r.owner, r.name, name)) };
    },
  },

  "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}": {
    auth: "token",
    handle(ctx) {
      const r = requireRepo(ctx);
      const key = ctx.state.pullKey(r.owner, r.name, requireNumber(ctx.params.issue_number));
      const current = ctx.state.issueLabels.get(key) ?? [];
      const name = decodeURIComponent(String(ctx.params.name));
      const at = current.findIndex((c) => c.toLowerCase() === name.toLowerCase());
      if (at < 0) throw new HttpError(404, "Label does not exist");
      current.splice(at, 1);
      return { status: 200, body: current.map((l) => ctx.state.labelJson(r.owner, r.name, l)) };
    },
  },

  "GET /repos/{owner}/{repo}/issues/comments/{comment_id}": {
    auth: "token",
    handle: (ctx) => ({ status: 200, body: ctx.state.commentJson(requireComment(ctx)) }),
  },

  "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": {
    auth: "token",
    rules: commentRules,
    handle(ctx) {
      // Apps with issues:write may edit any comment, so no ownership check here.
      const c = requireComment(ctx);
      c.previousBodies.push(c.body);
      c.body = String(record(ctx.body).body);
      c.updatedAt = isoNow();
      return { status: 200, body: ctx.state.commentJson(c) };
    },
  },

  "DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}": {
    auth: "token",
    handle(ctx) {
      const c = requireComment(ctx);
      ctx.state.comments.splice(ctx.state.comments.indexOf(c), 1);
      return { status: 204 };
    },
  },

  "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions": {
    auth: "token",
    handle(ctx) {
      const c = requireComment(ctx);
      const content = String(record(ctx.body).content);
      const user = ctx.state.botLogin;
      const existing = ctx.state.reactions.find((x) => x.commentId === c.id && x.content === content && x.user === user);
      if (existing) return { status: 200, body: ctx.state.reactionJson(existing) };
      const reaction = { id: ctx.state.newId(), owner: c.owner, repo: c.repo, commentId: c.id, content, user, createdAt: isoNow() };
      ctx.state.reactions.push(reaction);
      return { status: 201, body: ctx.state.reactionJson(reaction) };
    },
  },

  "POST /repos/{owner}/{repo}/check-runs": {
    auth: "token",
    rules: checkRunRules,
    async handle(ctx) {
      const r = requireRepo(ctx);
      const b = record(ctx.body);
      const headSha = String(b.head_sha);
      // GitHub resolves head_sha against the repository; an unknown commit is a 422.
      if (!/^[0-9a-f]{40}$/.test(headSha) || !(await r.tryResolve(headSha))) {
        throw new HttpError(422, "No commit found for SHA: " + headSha);
      }
      const id = ctx.state.newId();
      const now = isoNow();
      const c: CheckRunRecord = {
        owner: r.owner,
        repo: r.name,
        id,
        nodeId: nodeId("CheckRun", id),
        name: String(b.name),
        headSha,
        status: "queued",
        conclusion: null,
        externalId: null,
        detailsUrl: null,
        startedAt: now,
        completedAt: null,
        output: { title: null, summary: null, text: null },
        annotations: [],
        actions: [],
        checkSuiteId: ctx.state.suiteId(headSha),
        history: [],
      };
      applyCheckRunBody(c, b, true);
      c.history.push({ method: "POST", body: b, at: now, status: c.status, conclusion: c.conclusion });
      ctx.state.checkRuns.push(c);
      return { status: 201, body: ctx.state.checkRunJson(c) };
    },
  },

  "GET /repos/{owner}/{repo}/check-runs/{check_run_id}": {
    auth: "token",
    handle: (ctx) => ({ status: 200, body: ctx.state.checkRunJson(requireCheckRun(ctx)) }),
  },

  "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}": {
    auth: "token",
    rules: checkRunRules,
    handle(ctx) {
      const c = requireCheckRun(ctx);
      const b = record(ctx.body);
      applyCheckRunBody(c, b, false);
      c.history.push({ method: "PATCH", body: b, at: isoNow(), status: c.status, conclusion: c.conclusion });
      return { status: 200, body: ctx.state.checkRunJson(c) };
    },
  },

  "GET /repos/{owner}/{repo}/commits/{ref}/check-runs": {
    auth: "token",
    async handle(ctx) {
      const r = requireRepo(ctx);
      const sha = await r.tryResolve(ctx.params.ref).catch(() => null);
      if (!sha) throw new HttpError(422, `No commit found for SHA: ${ctx.params.ref}`);
      const name = ctx.query.get("check_name");
      const status = ctx.query.get("status");
      let runs = ctx.state.checkRuns
        .filter((c) => ctx.state.repoKey(c.owner, c.repo) === ctx.state.repoKey(r.owner, r.name) && c.headSha === sha)
        .filter((c) => (name === null || c.name === name) && (status === null || c.status === status))
        .reverse();
      // filter=latest (default): only the most recent run per name.
      if (ctx.query.get("filter") !== "all") {
        const seen = new Set<string>();
        runs = runs.filter((c) => (seen.has(c.name) ? false : (seen.add(c.name), true)));
      }
      const page = paginate(ctx, runs.map((c) => ctx.state.checkRunJson(c)));
      return { status: 200, body: { total_count: runs.length, check_runs: page.items }, headers: page.headers };
    },
  },

  // The app's merge (automerge): refused like GitHub refuses, otherwise a real merge in git.
  "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge": {
    auth: "token",
    async handle(ctx) {
      const p = await requirePull(ctx);
      const r = requireRepo(ctx);
      const b = record(ctx.body);
      if (p.state !== "open") throw new HttpError(405, "Pull Request is not mergeable");
      if (typeof b.sha === "string" && b.sha !== p.headSha) {
        throw new HttpError(409, "Head branch was modified. Review and try the merge again.");
      }
      const refusal = await mergeRefusal(ctx.state, p);
      if (refusal) throw new HttpError(405, refusal);
      const method = typeof b.merge_method === "string" ? b.merge_method : "merge";
      const title = typeof b.commit_title === "string" ? b.commit_title : undefined;
      const body = typeof b.commit_message === "string" ? b.commit_message : undefined;
      const headOwner = p.headRepoFullName.split("/")[0];
      let sha: string;
      try {
        if (method === "squash") {
          const commits = await r.commitsBetween(p.baseSha, p.headSha);
          const [head] = await r.commitInfo([p.headSha]);
          const message = `${title ?? `${p.title} (#${p.number})`}\n\n${body ?? commits.map((c) => `* ${c.message}`).join("\n\n")}`;
          sha = await r.squash(p.baseRef, p.headSha, message, head.author);
        } else if (method === "rebase") {
          sha = await r.rebase(p.baseRef, p.headSha);
        } else {
          const message = `${title ?? `Merge pull request #${p.number} from ${headOwner}/${p.headRef}`}\n\n${body ?? p.title}`;
          sha = await r.merge(p.baseRef, p.headSha, message);
        }
      } catch {
        // The base moved into a conflict between the check above and the merge.
        throw new HttpError(405, "Pull Request is not mergeable");
      }
      markMerged(p, sha, ctx.state.botLogin);
      return { status: 200, body: { sha, merged: true, message: "Pull Request successfully merged" } };
    },
  },

  "DELETE /repos/{owner}/{repo}/git/refs/{ref}": {
    auth: "token",
    async handle(ctx) {
      const r = requireRepo(ctx);
      const ref = ctx.params.ref ?? "";
      const missing = () => new HttpError(422, "Reference does not exist", {}, false);
      const m = /^(heads|tags)\/(.+)$/.exec(ref);
      if (!m || m[2].startsWith("-") || /[\s\0]|\.\./.test(m[2])) throw missing();
      const pulls = [...ctx.state.pulls.values()].filter((p) => ctx.state.repoKey(p.owner, p.repo) === ctx.state.repoKey(r.owner, r.name));
      // A fork PR's branch lives in the fork (the fake keeps it here, hidden): not this repo's ref.
      if (m[1] === "heads" && pulls.some((p) => p.fork && p.headRef === m[2])) throw missing();
      if (!(await r.tryResolve(`refs/${ref}`))) throw missing();
      await r.git(["update-ref", "-d", `refs/${ref}`]);
      // GitHub closes the open pull requests whose head branch was deleted.
      if (m[1] === "heads") {
        for (const p of pulls.filter((x) => x.state === "open" && !x.fork && x.headRef === m[2])) {
          p.state = "closed";
          p.closedAt = p.updatedAt = isoNow();
        }
      }
      return { status: 204 };
    },
  },

  "POST /repos/{owner}/{repo}/statuses/{sha}": {
    auth: "token",
    async handle(ctx) {
      const r = requireRepo(ctx);
      const sha = ctx.params.sha;
      if (!/^[0-9a-f]{40}$/.test(sha) || !(await r.tryResolve(sha))) throw new HttpError(422, `No commit found for SHA: ${sha}`);
      const b = record(ctx.body);
      const s = {
        id: ctx.state.newId(),
        owner: r.owner,
        repo: r.name,
        sha,
        state: String(b.state),
        context: typeof b.context === "string" ? b.context : "default",
        description: typeof b.description === "string" ? b.description : null,
        targetUrl: typeof b.target_url === "string" ? b.target_url : null,
        creator: ctx.state.botLogin,
        createdAt: isoNow(),
      };
      ctx.state.statuses.push(s);
      return { status: 201, body: ctx.state.statusJson(s) };
    },
  },
};
