/**
 * Webhook payload builders for tests, ready for `probot.receive(...)`.
 *
 * Payloads start from GitHub's own examples (`@octokit/webhooks-examples`), deep-cloned, then
 * adjusted to the scenario (repo, numbers, SHAs, users, installation). Every builder's output is
 * validated against GitHub's official webhook description (`@octokit/openapi-webhooks`, the same
 * source Probot's types come from), so an app that works on these payloads works on the shape
 * github.com actually sends, not on a hand-written approximation.
 *
 * Repository-related fields are kept consistent with each other: `full_name`, `owner.login`,
 * `name`, `clone_url`, `html_url`, API URLs and every URL embedded in the PR/issue/comment.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { Probot } from "probot";
import type { PullRecord } from "../fake-github/state.js";

// See openapi.ts: ajv-formats is CJS and the default import's shape differs between TS and Node.
type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats: FormatsPlugin =
  typeof addFormatsModule === "function"
    ? (addFormatsModule as unknown as FormatsPlugin)
    : (addFormatsModule as unknown as { default: FormatsPlugin }).default;

// Payloads are edited as plain JSON; their precise types are restored by the builders' return types.
type Obj = Record<string, any>;

type ReceivableEvent = Parameters<Probot["receive"]>[0];
/** `{ id, name, payload }` typed exactly as `probot.receive` expects for event `N`. */
export type EventFixture<N extends ReceivableEvent["name"]> = Extract<ReceivableEvent, { name: N }>;
/** Same, narrowed to one action, so `payload` has that action's exact type. */
export type ActionFixture<N extends ReceivableEvent["name"], A extends string> = {
  id: string;
  name: N;
  payload: Extract<EventFixture<N>["payload"], { action: A }>;
};

const require = createRequire(import.meta.url);

interface ExampleDefinition {
  name: string;
  examples: Obj[];
}

let exampleDefs: ExampleDefinition[] | undefined;

/** Deep clone of the `index`-th bundled example for `name.action`. */
function example(name: string, action: string, index: number): Obj {
  exampleDefs ??= require("@octokit/webhooks-examples") as ExampleDefinition[];
  const def = exampleDefs.find((d) => d.name === name);
  const found = def?.examples.filter((e) => e.action === action)[index];
  if (!found) throw new Error(`no bundled webhook example ${name}.${action}[${index}]`);
  return structuredClone(found);
}

// ---------------------------------------------------------------------------------------------
// Schema validation

let webhookSpec: { webhooks: Record<string, Obj>; components: Obj } | undefined;
let webhookAjv: Ajv | undefined;
const webhookValidators = new Map<string, ValidateFunction>();

function webhookValidator(name: string, action: string | undefined): ValidateFunction | undefined {
  const key = [name, action].filter(Boolean).join("-").replace(/_/g, "-");
  const cached = webhookValidators.get(key);
  if (cached) return cached;
  if (!webhookSpec) {
    // Read the single api.github.com file: the package's index.js imports all eight variants.
    const file = require.resolve("@octokit/openapi-webhooks/generated/api.github.com.json");
    webhookSpec = JSON.parse(readFileSync(file, "utf8")) as typeof webhookSpec;
  }
  if (!webhookAjv) {
    webhookAjv = new Ajv({ strict: false, allErrors: true, logger: false });
    addFormats(webhookAjv);
    webhookAjv.addSchema({ $id: "owh", components: webhookSpec!.components });
  }
  // The webhook entry points at its schema (`#/components/schemas/webhook-issue-comment-created`);
  // following the ref instead of guessing the name keeps working if GitHub renames schemas.
  const ref = webhookSpec!.webhooks[key]?.post?.requestBody?.content?.["application/json"]?.schema?.$ref;
  if (typeof ref !== "string") return undefined;
  const validate = webhookAjv.getSchema(`owh${ref}`);
  if (validate) webhookValidators.set(key, validate);
  return validate;
}

/**
 * Errors (empty = valid) from validating a webhook payload against GitHub's official webhook
 * schema for `name` + `action` (action undefined for action-less events such as `push`).
 */
export function validateWebhookPayload(name: string, action: string | undefined, payload: unknown): string[] {
  const label = action ? `${name}.${action}` : name;
  const validate = webhookValidator(name, action);
  if (!validate) return [`unknown webhook: ${label}`];
  if (validate(payload)) return [];
  return (validate.errors ?? []).map((e) => `${label}: data${e.instancePath} ${e.message ?? "is invalid"}`);
}

function assertValid<F extends { name: ReceivableEvent["name"] }>(name: F["name"], payload: Obj): F {
  const errors = validateWebhookPayload(name, payload.action as string | undefined, payload);
  if (errors.length > 0) {
    throw new Error(`built ${name} payload does not match GitHub's webhook schema:\n  - ${errors.join("\n  - ")}`);
  }
  return { id: deliveryId(), name, payload } as unknown as F;
}

// ---------------------------------------------------------------------------------------------
// Common pieces

/** Unique `X-GitHub-Delivery`-style id (GitHub uses GUIDs). */
export function deliveryId(): string {
  return randomUUID();
}

let idCounter = 4000;
/** Distinct positive ids for comments, reviews, check runs… when the test does not care. */
function nextId(): number {
  return ++idCounter;
}

/** Stable numeric id per login, so the same user has the same id across payloads. */
function userId(login: string): number {
  let h = 2166136261;
  for (const c of login) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return 100_000 + ((h >>> 0) % 9_000_000);
}

function fakeSha(seed: string): string {
  let out = "";
  let h = 0x811c9dc5;
  while (out.length < 40) {
    for (const c of seed + out.length) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    out += (h >>> 0).toString(16).padStart(8, "0");
  }
  return out.slice(0, 40);
}

export interface RepoOptions {
  /** `installation.id`; Probot exchanges a token for it on the first API call. Default 1. */
  installationId?: number;
  /** Repository owner login. Default "Codertocat" (the examples' owner). */
  owner?: string;
  /** Repository name. Default "Hello-World". */
  repo?: string;
  /** Default `${htmlBase}/${owner}/${repo}.git`. */
  cloneUrl?: string;
  /** Web base URL. Default "https://github.com". */
  htmlBase?: string;
  /**
   * REST base URL used in `url`/`*_url` fields. Default "https://api.github.com" for
   * github.com, `${htmlBase}/api/v3` otherwise (GitHub Enterprise Server layout).
   */
  apiBase?: string;
  /** `repository.default_branch`. Default "main". */
  defaultBranch?: string;
  /**
   * `repository.id`, GitHub's identity of the repository (Atoll follows renames by it). Default:
   * derived from the lower-cased `owner/repo`, so two repositories never share one.
   */
  repositoryId?: number;
}

interface RepoTarget {
  owner: string;
  repo: string;
  htmlBase: string;
  apiBase: string;
  cloneUrl: string;
  installationId: number;
  defaultBranch: string;
  repositoryId: number;
}

/** A stable repository id per lower-cased `owner/repo` (FNV-1a), clear of the examples' ids. */
export function repositoryIdFor(owner: string, repo: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${owner}/${repo}`.toLowerCase()) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return 1_000_000_000 + (h % 1_000_000_000);
}

const DEFAULT_OWNER = "Codertocat";
const DEFAULT_REPO = "Hello-World";

function resolveRepo(o: RepoOptions): RepoTarget {
  const owner = o.owner ?? DEFAULT_OWNER;
  const repo = o.repo ?? DEFAULT_REPO;
  const htmlBase = (o.htmlBase ?? "https://github.com").replace(/\/+$/, "");
  const apiBase = (o.apiBase ?? (htmlBase === "https://github.com" ? "https://api.github.com" : `${htmlBase}/api/v3`)).replace(/\/+$/, "");
  return {
    owner,
    repo,
    htmlBase,
    apiBase,
    cloneUrl: o.cloneUrl ?? `${htmlBase}/${owner}/${repo}.git`,
    installationId: o.installationId ?? 1,
    defaultBranch: o.defaultBranch ?? "main",
    repositoryId: o.repositoryId ?? repositoryIdFor(owner, repo),
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Applies `fn` to every string inside `node` (in place). */
function mapStrings(node: unknown, fn: (s: string) => string): void {
  if (Array.isArray(node)) {
    node.forEach((v, i) => {
      if (typeof v === "string") node[i] = fn(v);
      else mapStrings(v, fn);
    });
  } else if (node && typeof node === "object") {
    const obj = node as Obj;
    for (const k of Object.keys(obj)) {
      if (typeof obj[k] === "string") obj[k] = fn(obj[k]);
      else mapStrings(obj[k], fn);
    }
  }
}

function hostOf(base: string): string {
  return new URL(base).host;
}

/**
 * Rewrites every URL in `node` that points at repository `fromFullName` on github.com so it
 * points at `owner/repo` on the target host, then moves the remaining github.com / api.github.com
 * URLs (users, apps) to the target host too.
 */
function retargetUrls(node: unknown, fromFullName: string, owner: string, repo: string, t: RepoTarget): void {
  const full = escapeRegExp(fromFullName);
  const end = "(?=$|[/{#?.])";
  const host = hostOf(t.htmlBase);
  const rules: Array<[RegExp, string]> = [
    [new RegExp(`^https://api\\.github\\.com/repos/${full}${end}`), `${t.apiBase}/repos/${owner}/${repo}`],
    [new RegExp(`^https://github\\.com/${full}${end}`), `${t.htmlBase}/${owner}/${repo}`],
    [new RegExp(`^git://github\\.com/${full}${end}`), `git://${host}/${owner}/${repo}`],
    [new RegExp(`^git@github\\.com:${full}${end}`), `git@${host}:${owner}/${repo}`],
    [/^https?:\/\/api\.github\.com(?=\/|$)/, t.apiBase],
    [/^https?:\/\/github\.com(?=\/|$)/, t.htmlBase],
  ];
  mapStrings(node, (s) => {
    for (const [re, to] of rules) {
      if (re.test(s)) return s.replace(re, to);
    }
    return s;
  });
}

/** Re-points URLs of repository `from` (already on the target host) at repository `to`. */
function moveRepoUrls(node: unknown, from: string, to: string, t: RepoTarget): void {
  const end = "(?=$|[/{#?.])";
  const api = new RegExp(`^${escapeRegExp(`${t.apiBase}/repos/${from}`)}${end}`);
  const html = new RegExp(`^${escapeRegExp(`${t.htmlBase}/${from}`)}${end}`);
  mapStrings(node, (s) => s.replace(api, `${t.apiBase}/repos/${to}`).replace(html, `${t.htmlBase}/${to}`));
}

/**
 * Turns a user object (already on the target host) into `login`. Logins go into URLs
 * percent-encoded (GitHub serves `atoll[bot]` as `/users/atoll%5Bbot%5D`), and an App's bot user
 * links to `/apps/<slug>` like on github.com.
 */
function setUser(user: Obj, login: string, t: RepoTarget, type?: "User" | "Bot" | "Organization"): Obj {
  const oldEnc = encodeURIComponent(String(user.login));
  const enc = encodeURIComponent(login);
  const apiOld = `${t.apiBase}/users/${oldEnc}`;
  mapStrings(user, (s) => {
    if (s === apiOld || s.startsWith(apiOld + "/") || s.startsWith(apiOld + "{")) return `${t.apiBase}/users/${enc}` + s.slice(apiOld.length);
    return s;
  });
  user.login = login;
  user.id = userId(login);
  user.node_id = Buffer.from(`04:User${user.id}`).toString("base64");
  if (type) user.type = type;
  const bot = /^(.+)\[bot\]$/.exec(login);
  user.html_url = user.type === "Bot" && bot ? `${t.htmlBase}/apps/${encodeURIComponent(bot[1])}` : `${t.htmlBase}/${enc}`;
  return user;
}

/** Every user-shaped object (has `login` and `type`) under `node` whose login is `login`. */
function usersNamed(node: unknown, login: string, out: Obj[] = []): Obj[] {
  if (Array.isArray(node)) node.forEach((v) => usersNamed(v, login, out));
  else if (node && typeof node === "object") {
    const obj = node as Obj;
    if (obj.login === login && typeof obj.type === "string") out.push(obj);
    Object.values(obj).forEach((v) => usersNamed(v, login, out));
  }
  return out;
}

/**
 * Fills the identity fields of a repository object that `retargetUrls` already moved.
 */
function fillRepository(r: Obj, owner: string, repo: string, t: RepoTarget, cloneUrl: string): void {
  const host = hostOf(t.htmlBase);
  // A fork is another repository: another id.
  r.id = owner === t.owner && repo === t.repo ? t.repositoryId : repositoryIdFor(owner, repo);
  r.name = repo;
  r.full_name = `${owner}/${repo}`;
  r.html_url = `${t.htmlBase}/${owner}/${repo}`;
  r.url = `${t.apiBase}/repos/${owner}/${repo}`;
  r.clone_url = cloneUrl;
  r.git_url = `git://${host}/${owner}/${repo}.git`;
  r.ssh_url = `git@${host}:${owner}/${repo}.git`;
  r.svn_url = `${t.htmlBase}/${owner}/${repo}`;
  r.default_branch = t.defaultBranch;
  if (r.owner && typeof r.owner === "object") setUser(r.owner, owner, t);
}

function installation(id: number): Obj {
  // Same encoding as GitHub's legacy node ids ("023:IntegrationInstallation1").
  return { id, node_id: Buffer.from(`023:IntegrationInstallation${id}`).toString("base64") };
}

/**
 * Shared tail of every builder: repository identity, installation, and dropping `organization`.
 * The examples' `organization` describes the example owner; we cannot know whether the test's
 * owner is an organization, and the field is optional in every schema used here.
 */
function finishCommon(payload: Obj, t: RepoTarget): void {
  // In the examples the repository owner also appears as assignee, labeler, merger…; those users
  // become the test's owner too. Builders then rename the users that play a specific role.
  const exampleOwner = String(payload.repository.owner.login);
  if (exampleOwner !== t.owner) for (const u of usersNamed(payload, exampleOwner)) setUser(u, t.owner, t);
  fillRepository(payload.repository, t.owner, t.repo, t, t.cloneUrl);
  payload.installation = installation(t.installationId);
  delete payload.organization;
}

/** Replaces `/pulls/N`, `/pull/N`, `/issues/N` (N = old number) in every URL under `node`. */
function renumber(node: unknown, oldNumber: number, number: number): void {
  const re = new RegExp(`/(pulls|pull|issues)/${oldNumber}(?=$|[/.#?])`);
  mapStrings(node, (s) => s.replace(re, `/$1/${number}`));
}

function cloneUser(template: Obj): Obj {
  return structuredClone(template);
}

// ---------------------------------------------------------------------------------------------
// pull_request

export type PullRequestAction = "opened" | "reopened" | "synchronize" | "ready_for_review" | "closed";

export interface PullRequestOptions extends RepoOptions {
  number?: number;
  headSha?: string;
  baseSha?: string;
  /** Default "changes". */
  headRef?: string;
  /** Default `defaultBranch` ("main"). */
  baseRef?: string;
  draft?: boolean;
  /** Only meaningful for "closed". */
  merged?: boolean;
  mergeCommitSha?: string;
  /** PR author login. Default: the owner. */
  author?: string;
  /** Event sender. Default: the author. */
  sender?: string;
  /** The head branch lives in another repository (`forkOwner/repo`). */
  fork?: boolean;
  /** Owner of the fork. Default: the author, or "forker" when the author is the owner. */
  forkOwner?: string;
  /** synchronize: the previous head SHA. */
  beforeSha?: string;
  title?: string;
  body?: string | null;
}

const EXAMPLE_HEAD_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const EXAMPLE_BASE_SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";

interface PrShape {
  number: number;
  headSha: string;
  baseSha: string;
  headRef: string;
  baseRef: string;
  author: string;
  fork: boolean;
  forkOwner: string;
}

function resolvePrShape(o: PullRequestOptions, t: RepoTarget): PrShape {
  const author = o.author ?? t.owner;
  return {
    number: o.number ?? 1,
    headSha: o.headSha ?? EXAMPLE_HEAD_SHA,
    baseSha: o.baseSha ?? EXAMPLE_BASE_SHA,
    headRef: o.headRef ?? "changes",
    baseRef: o.baseRef ?? t.defaultBranch,
    author,
    fork: o.fork === true,
    forkOwner: o.forkOwner ?? (author !== t.owner ? author : "forker"),
  };
}

/**
 * Adjusts a pull-request object (full webhook shape or the "simple" one in review events) whose
 * URLs already point at the target repo: number, refs, SHAs, author, fork head.
 */
function shapePullRequest(pr: Obj, s: PrShape, t: RepoTarget): void {
  // Fixed in the clone: the bundled `opened` and `submitted` examples lack
  // `base.repo.has_discussions` / `head.repo.has_discussions`, which the current `synchronize` and
  // review schemas require.
  for (const side of [pr.base, pr.head]) side.repo.has_discussions ??= false;
  renumber(pr, Number(pr.number), s.number);
  const oldHeadSha = String(pr.head.sha);
  mapStrings(pr, (v) => v.split(oldHeadSha).join(s.headSha));
  pr.number = s.number;
  pr.html_url = `${t.htmlBase}/${t.owner}/${t.repo}/pull/${s.number}`;
  setUser(pr.user, s.author, t);

  pr.base.ref = s.baseRef;
  pr.base.sha = s.baseSha;
  pr.base.label = `${t.owner}:${s.baseRef}`;
  setUser(pr.base.user, t.owner, t);
  fillRepository(pr.base.repo, t.owner, t.repo, t, t.cloneUrl);

  pr.head.ref = s.headRef;
  pr.head.sha = s.headSha;
  const headOwner = s.fork ? s.forkOwner : t.owner;
  pr.head.label = `${headOwner}:${s.headRef}`;
  setUser(pr.head.user, headOwner, t);
  if (s.fork) {
    // head.repo becomes the fork: its own URLs, owner, id, and `fork: true`.
    moveRepoUrls(pr.head.repo, `${t.owner}/${t.repo}`, `${s.forkOwner}/${t.repo}`, t);
    fillRepository(pr.head.repo, s.forkOwner, t.repo, t, `${t.htmlBase}/${s.forkOwner}/${t.repo}.git`);
    pr.head.repo.id = Number(pr.base.repo.id) + 1;
    pr.head.repo.node_id = Buffer.from(`010:Repository${pr.head.repo.id}`).toString("base64");
    pr.head.repo.fork = true;
  } else {
    fillRepository(pr.head.repo, t.owner, t.repo, t, t.cloneUrl);
  }
}

const FIXED_TIME = "2026-01-15T10:00:00Z";

/**
 * `pull_request.<action>` from the bundled `opened` example #1 (the first with an
 * `installation`), re-targeted and adjusted to the action's state (open/closed/merged).
 */
export function pullRequestEvent<A extends PullRequestAction>(
  action: A,
  o: PullRequestOptions = {},
): ActionFixture<"pull_request", A> {
  const t = resolveRepo(o);
  const s = resolvePrShape(o, t);
  const payload = example("pull_request", "opened", 1);
  retargetUrls(payload, String(payload.repository.full_name), t.owner, t.repo, t);
  finishCommon(payload, t);
  payload.action = action;
  payload.number = s.number;

  const pr = payload.pull_request;
  shapePullRequest(pr, s, t);
  if (o.title !== undefined) pr.title = o.title;
  if (o.body !== undefined) pr.body = o.body;
  pr.draft = o.draft ?? false;

  const senderLogin = o.sender ?? s.author;
  payload.sender = setUser(cloneUser(payload.sender), senderLogin, t);

  if (action === "closed") {
    const merged = o.merged === true;
    pr.state = "closed";
    pr.closed_at = FIXED_TIME;
    pr.merged = merged;
    pr.merged_at = merged ? FIXED_TIME : null;
    pr.merge_commit_sha = merged ? (o.mergeCommitSha ?? fakeSha(`merge:${s.headSha}`)) : pr.merge_commit_sha;
    pr.merged_by = merged ? setUser(cloneUser(payload.sender), senderLogin, t) : null;
  } else {
    pr.state = "open";
    pr.closed_at = null;
    pr.merged = false;
    pr.merged_at = null;
    pr.merged_by = null;
  }
  if (action === "synchronize") {
    payload.before = o.beforeSha ?? fakeSha(`before:${s.headSha}`);
    payload.after = s.headSha;
  }
  return assertValid<ActionFixture<"pull_request", A>>("pull_request", payload);
}

// ---------------------------------------------------------------------------------------------
// issue_comment

/** `pull_request.<action>` for a pull request of the fake GitHub (head, base, author, draft, fork as recorded). */
export function pullRequestEventFor<A extends PullRequestAction>(action: A, pull: PullRecord, repo: RepoOptions): ActionFixture<"pull_request", A> {
  return pullRequestEvent(action, {
    ...repo,
    number: pull.number,
    headSha: pull.headSha,
    baseSha: pull.baseSha,
    headRef: pull.headRef,
    baseRef: pull.baseRef,
    author: pull.author,
    draft: pull.draft,
    fork: pull.fork,
    ...(pull.fork ? { forkOwner: pull.headRepoFullName.split("/")[0] } : {}),
  });
}

export interface IssueCommentOptions extends RepoOptions {
  body: string;
  /** Issue / PR number. Default 1. */
  number?: number;
  /** Commenter (also the sender). Default: the owner. */
  user?: string;
  userType?: "User" | "Bot";
  commentId?: number;
  /** Default true: the comment is on a pull request. false = plain issue. */
  onPullRequest?: boolean;
  /** Sets `comment.performed_via_github_app` (comments made by a GitHub App). */
  performedViaAppId?: number;
  /** Issue/PR author. Default: the owner. */
  author?: string;
  /** `comment.author_association`. Default "MEMBER". */
  authorAssociation?: "OWNER" | "MEMBER" | "COLLABORATOR" | "CONTRIBUTOR" | "FIRST_TIME_CONTRIBUTOR" | "FIRST_TIMER" | "NONE";
}

/** The GitHub App object used for `performed_via_github_app` and `check_run.app`. */
function appObject(id: number, slug: string, t: RepoTarget): Obj {
  const cr = example("check_run", "requested_action", 0);
  const app = cr.check_run.app as Obj;
  retargetUrls(app, "electron/electron", t.owner, t.repo, t);
  app.id = id;
  app.slug = slug;
  app.node_id = Buffer.from(`03:App${id}`).toString("base64");
  app.name = slug;
  app.description = "";
  app.external_url = `${t.htmlBase}/apps/${slug}`;
  app.html_url = `${t.htmlBase}/apps/${slug}`;
  setUser(app.owner, t.owner, t);
  return app;
}

/**
 * `issue_comment.created` from the bundled example #3 (the only one with an `installation`).
 * For PR comments GitHub sets `issue.pull_request`; the example is on a plain issue, so it is
 * added here (the schema accepts it, verified by `validateWebhookPayload`).
 */
export function issueCommentEvent(o: IssueCommentOptions): ActionFixture<"issue_comment", "created"> {
  const t = resolveRepo(o);
  const number = o.number ?? 1;
  const onPr = o.onPullRequest ?? true;
  const user = o.user ?? t.owner;
  const commentId = o.commentId ?? nextId();
  const payload = example("issue_comment", "created", 3);
  retargetUrls(payload, String(payload.repository.full_name), t.owner, t.repo, t);
  finishCommon(payload, t);

  const issue = payload.issue;
  renumber(issue, Number(issue.number), number);
  issue.number = number;
  issue.state = "open";
  setUser(issue.user, o.author ?? t.owner, t);
  const repoApi = `${t.apiBase}/repos/${t.owner}/${t.repo}`;
  const repoHtml = `${t.htmlBase}/${t.owner}/${t.repo}`;
  if (onPr) {
    issue.html_url = `${repoHtml}/pull/${number}`;
    issue.pull_request = {
      url: `${repoApi}/pulls/${number}`,
      html_url: `${repoHtml}/pull/${number}`,
      diff_url: `${repoHtml}/pull/${number}.diff`,
      patch_url: `${repoHtml}/pull/${number}.patch`,
      merged_at: null,
    };
  } else {
    issue.html_url = `${repoHtml}/issues/${number}`;
    delete issue.pull_request;
  }

  const comment = payload.comment;
  comment.id = commentId;
  comment.node_id = Buffer.from(`012:IssueComment${commentId}`).toString("base64");
  comment.url = `${repoApi}/issues/comments/${commentId}`;
  comment.html_url = `${issue.html_url}#issuecomment-${commentId}`;
  comment.issue_url = `${repoApi}/issues/${number}`;
  comment.body = o.body;
  comment.author_association = o.authorAssociation ?? "MEMBER";
  comment.created_at = comment.updated_at = FIXED_TIME;
  if (comment.reactions) comment.reactions.url = `${comment.url}/reactions`;
  setUser(comment.user, user, t, o.userType ?? "User");
  comment.performed_via_github_app =
    o.performedViaAppId !== undefined ? appObject(o.performedViaAppId, `app-${o.performedViaAppId}`, t) : null;

  payload.sender = setUser(cloneUser(comment.user), user, t, o.userType ?? "User");
  return assertValid<ActionFixture<"issue_comment", "created">>("issue_comment", payload);
}

// ---------------------------------------------------------------------------------------------
// pull_request_review

export interface PullRequestReviewOptions extends RepoOptions {
  state: "approved" | "changes_requested" | "commented";
  number?: number;
  headSha?: string;
  baseSha?: string;
  headRef?: string;
  baseRef?: string;
  /** Reviewer (also the sender). Default "octocat". */
  reviewer?: string;
  /** PR author. Default: the owner. */
  author?: string;
  reviewId?: number;
  body?: string | null;
}

/**
 * `pull_request_review.submitted` from the bundled example #1 (with `installation`); the
 * `has_discussions` fix is in `shapePullRequest`.
 */
export function pullRequestReviewEvent(o: PullRequestReviewOptions): ActionFixture<"pull_request_review", "submitted"> {
  const t = resolveRepo(o);
  const s = resolvePrShape({ ...o, fork: false }, t);
  const reviewer = o.reviewer ?? "octocat";
  const reviewId = o.reviewId ?? nextId();
  const payload = example("pull_request_review", "submitted", 1);
  retargetUrls(payload, String(payload.repository.full_name), t.owner, t.repo, t);
  finishCommon(payload, t);

  const pr = payload.pull_request;
  shapePullRequest(pr, s, t);
  pr.state = "open";

  const review = payload.review;
  const prHtml = `${t.htmlBase}/${t.owner}/${t.repo}/pull/${s.number}`;
  const prApi = `${t.apiBase}/repos/${t.owner}/${t.repo}/pulls/${s.number}`;
  review.id = reviewId;
  review.node_id = Buffer.from(`017:PullRequestReview${reviewId}`).toString("base64");
  review.state = o.state;
  review.body = o.body === undefined ? null : o.body;
  review.commit_id = s.headSha;
  review.submitted_at = FIXED_TIME;
  review.html_url = `${prHtml}#pullrequestreview-${reviewId}`;
  review.pull_request_url = prApi;
  review._links = { html: { href: review.html_url }, pull_request: { href: prApi } };
  setUser(review.user, reviewer, t, "User");
  payload.sender = setUser(cloneUser(review.user), reviewer, t, "User");
  return assertValid<ActionFixture<"pull_request_review", "submitted">>("pull_request_review", payload);
}

// ---------------------------------------------------------------------------------------------
// check_run

export interface CheckRunOptions extends RepoOptions {
  name: string;
  headSha: string;
  checkRunId?: number;
  checkSuiteId?: number;
  externalId?: string;
  /** requested_action: the clicked button's identifier. Default "apply". */
  identifier?: string;
  /** Default: the owner. */
  sender?: string;
  /**
   * PR numbers GitHub lists on the run. Default []: GitHub leaves this empty for fork PRs, so an
   * app must not rely on it (encode the PR in `external_id`).
   */
  pullRequests?: number[];
  /** Head branch of the suite (null for fork PRs). Default "changes". */
  headRef?: string | null;
  baseRef?: string;
  baseSha?: string;
  status?: "queued" | "in_progress" | "completed";
  /** Default "neutral" when completed; ignored otherwise. */
  conclusion?: "action_required" | "cancelled" | "failure" | "neutral" | "success" | "skipped" | "stale" | "timed_out";
  /** Owning App. Default 123 (`TEST_APP_ID` in probot.ts: runs belong to the app under test). */
  appId?: number;
  appSlug?: string;
  outputTitle?: string;
  outputSummary?: string;
}

/**
 * `check_run.requested_action` / `check_run.rerequested`, both from the bundled
 * `requested_action` example. The bundled `rerequested` examples fail the current schema
 * (no `check_run.node_id` / `details_url`, no app `permissions` / `events`, and app timestamps
 * that are not RFC 3339), and both actions share the same `check_run` schema, so the valid
 * example is reused and its `requested_action` dropped for rerequested.
 */
export function checkRunEvent<A extends "requested_action" | "rerequested">(
  action: A,
  o: CheckRunOptions,
): ActionFixture<"check_run", A> {
  const t = resolveRepo(o);
  const payload = example("check_run", "requested_action", 0);
  retargetUrls(payload, String(payload.repository.full_name), t.owner, t.repo, t);
  finishCommon(payload, t);
  payload.action = action;
  if (action === "requested_action") payload.requested_action = { identifier: o.identifier ?? "apply" };
  else delete payload.requested_action;

  const repoApi = `${t.apiBase}/repos/${t.owner}/${t.repo}`;
  const repoHtml = `${t.htmlBase}/${t.owner}/${t.repo}`;
  const runId = o.checkRunId ?? nextId();
  const suiteId = o.checkSuiteId ?? nextId();
  const status = o.status ?? "completed";
  const completed = status === "completed";
  const headRef = o.headRef === undefined ? "changes" : o.headRef;
  const baseRef = o.baseRef ?? t.defaultBranch;
  const baseSha = o.baseSha ?? EXAMPLE_BASE_SHA;
  const repoId = Number(payload.repository.id);
  const app = appObject(o.appId ?? 123, o.appSlug ?? "atoll", t);

  const pullRequests = (o.pullRequests ?? []).map((n) => ({
    url: `${repoApi}/pulls/${n}`,
    id: 500_000_000 + n,
    number: n,
    head: { ref: headRef ?? "changes", sha: o.headSha, repo: { id: repoId, url: repoApi, name: t.repo } },
    base: { ref: baseRef, sha: baseSha, repo: { id: repoId, url: repoApi, name: t.repo } },
  }));

  const run = payload.check_run;
  run.id = runId;
  run.node_id = Buffer.from(`08:CheckRun${runId}`).toString("base64");
  run.name = o.name;
  run.head_sha = o.headSha;
  run.external_id = o.externalId ?? "";
  run.url = `${repoApi}/check-runs/${runId}`;
  run.html_url = `${repoHtml}/runs/${runId}`;
  run.details_url = run.html_url;
  run.status = status;
  run.conclusion = completed ? (o.conclusion ?? "neutral") : null;
  run.started_at = FIXED_TIME;
  run.completed_at = completed ? FIXED_TIME : null;
  run.output = {
    title: o.outputTitle ?? `${o.name}`,
    summary: o.outputSummary ?? "summary",
    text: null,
    annotations_count: 0,
    annotations_url: `${run.url}/annotations`,
  };
  run.app = app;
  run.pull_requests = pullRequests;

  const suite = run.check_suite;
  suite.id = suiteId;
  suite.node_id = Buffer.from(`010:CheckSuite${suiteId}`).toString("base64");
  suite.head_branch = headRef;
  suite.head_sha = o.headSha;
  suite.after = o.headSha;
  suite.before = fakeSha(`before:${o.headSha}`);
  suite.status = status;
  suite.conclusion = completed ? run.conclusion : null;
  suite.url = `${repoApi}/check-suites/${suiteId}`;
  suite.pull_requests = structuredClone(pullRequests);
  suite.app = structuredClone(app);

  payload.sender = setUser(payload.sender, o.sender ?? t.owner, t, "User");
  return assertValid<ActionFixture<"check_run", A>>("check_run", payload);
}

// ---------------------------------------------------------------------------------------------
// The App's lifecycle on a repository

/**
 * `installation_repositories.<action>` from the bundled `removed` example: the repository of `o`
 * added to or removed from installation `o.installationId`.
 */
export function installationRepositoriesEvent(action: "added" | "removed", o: RepoOptions = {}): ActionFixture<"installation_repositories", typeof action> {
  const t = resolveRepo(o);
  const payload = example("installation_repositories", "removed", 0);
  payload.action = action;
  // The example's installation predates fields the schema now requires.
  payload.installation.id = t.installationId;
  payload.installation.app_slug = "atoll";
  payload.installation.created_at = FIXED_TIME;
  payload.installation.updated_at = FIXED_TIME;
  const entry = { id: t.repositoryId, node_id: Buffer.from(`010:Repository${t.repositoryId}`).toString("base64"), name: t.repo, full_name: `${t.owner}/${t.repo}`, private: false };
  payload.repositories_added = action === "added" ? [entry] : [];
  payload.repositories_removed = action === "removed" ? [entry] : [];
  return assertValid<ActionFixture<"installation_repositories", typeof action>>("installation_repositories", payload);
}

/**
 * `repository.renamed` / `repository.transferred` / `repository.deleted` from the bundled
 * `renamed` example (the one with an installation): the repository as it is after the change
 * (`o`), with `from` the name or owner it had before.
 */
export function repositoryEvent(action: "renamed" | "transferred" | "deleted", o: RepoOptions & { from?: { owner?: string; repo?: string } } = {}): ActionFixture<"repository", typeof action> {
  const t = resolveRepo(o);
  const payload = example("repository", "renamed", 0);
  retargetUrls(payload, String(payload.repository.full_name), t.owner, t.repo, t);
  finishCommon(payload, t);
  payload.action = action;
  if (action === "renamed") payload.changes = { repository: { name: { from: o.from?.repo ?? t.repo } } };
  else if (action === "transferred") payload.changes = { owner: { from: { user: setUser(cloneUser(payload.sender), o.from?.owner ?? t.owner, t) } } };
  else delete payload.changes;
  return assertValid<ActionFixture<"repository", typeof action>>("repository", payload);
}
