/**
 * A fake GitHub (Enterprise Server shaped: REST under `/api/v3`, git under `/<owner>/<repo>.git`)
 * for end-to-end tests of the built app.
 *
 * The app runs as a real process with `GHE_HOST=127.0.0.1:PORT GHE_PROTOCOL=http`, so nothing in
 * it is mocked: it authenticates with a real JWT, gets a real (fake-issued) installation token,
 * clones over real git smart HTTP and posts real JSON. The fake is strict where GitHub is strict
 * (auth, the OpenAPI request schemas, byte and length limits) and records everything, so tests
 * can assert on outcomes (comments, check runs) and on the absence of contract violations.
 *
 * What GitHub derives rather than stores is derived here too, from git and the fake's state:
 * compare results, a PR's `mergeable`/`mergeable_state` (conflicts, branch protection set with
 * `setRequiredChecks`/`setRequiredApprovals`, check runs and statuses on the head), and the
 * GraphQL answers at `/api/graphql` (`graphql-schema.ts`). `mergePull` merges for real, and so
 * does the app through `PUT …/pulls/{n}/merge` (merge, squash or rebase; refused like GitHub
 * refuses: 409 when the head moved, 405 when not mergeable); `DELETE …/git/refs/heads/{b}`
 * deletes a branch (and, like GitHub, closes open PRs from it).
 *
 *   const gh = await startFakeGitHub();
 *   const repo = await gh.createRepo("acme", "infra");
 *   await repo.commit("main", { "main.tf": "..." });
 *   await repo.commit("feature", { "main.tf": "... changed" });
 *   await gh.createPull("acme", "infra", { number: 1, head: "feature" });
 *   ...
 *   gh.setRequiredChecks("acme", "infra", "main", ["atoll/plan"]);
 *   ...
 *   await gh.mergePull("acme", "infra", 1);
 *   expect(gh.violations).toEqual([]);
 *   await gh.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { createGitHttpHandler } from "../helpers/git-http-backend.js";
import { matchRoute, validateRestRequest } from "../helpers/openapi.js";
import { testAppCredentials } from "./app-credentials.js";
import { AuthState, type Credential, type IssuedToken } from "./auth.js";
import { executeGraphql } from "./graphql.js";
import { githubSchema } from "./graphql-schema.js";
import { isMutation, runMutation } from "./graphql-mutations.js";
import { FakeRepo, initBareRepo } from "./git-repos.js";
import { HttpError, routes as restRoutes, type FieldError, type Route, type RouteContext, type RouteResult } from "./routes.js";
import { FakeOAuth, userRoutes } from "./oauth.js";
import {
  FakeState,
  isoNow,
  markMerged,
  nodeId,
  type CheckRunRecord,
  type CommentRecord,
  type GitRequestRecord,
  type PermissionLevel,
  type PullRecord,
  type ReactionRecord,
  type RequestRecord,
  type ReviewRecord,
  type StatusRecord,
  type ViolationRecord,
} from "./state.js";

export type {
  CheckRunRecord,
  CommentRecord,
  GitRequestRecord,
  PermissionLevel,
  PullRecord,
  ReactionRecord,
  RequestRecord,
  ReviewRecord,
  StatusRecord,
  ViolationRecord,
} from "./state.js";
export type { FakeRepo } from "./git-repos.js";

export interface FakeGitHubOptions {
  /** App id expected in JWT `iss`. Default: the shared test app's id. */
  appId?: number;
  /**
   * PEM used to verify app JWTs (a public key, or a private key from which the public half is
   * derived). Default: the shared test app's key, so `startAtoll` can sign with its private half.
   */
  publicKey?: string;
  /** Private half of `publicKey`, exposed as `appPrivateKey` for the process harness. */
  privateKey?: string;
  /** App slug (the bot user is `<slug>[bot]`). Default "atoll-test". */
  slug?: string;
  /** Webhook secret shared with the app under test. Default: the shared test app's secret. */
  webhookSecret?: string;
  /** The App's OAuth client id (GITHUB_CLIENT_ID). Default: the `client_id` GET /app reports. */
  oauthClientId?: string;
  /** The App's OAuth client secret (GITHUB_CLIENT_SECRET). Default: a fixed test value. */
  oauthClientSecret?: string;
}

export interface CreatePullOptions {
  number?: number;
  head: string;
  base?: string;
  author?: string;
  draft?: boolean;
  title?: string;
  body?: string;
  /** The head lives in `<author>/<repo>`; its branch is hidden from the base repository. */
  fork?: boolean;
}

export interface UpdatePullOptions {
  draft?: boolean;
  state?: "open" | "closed";
  /** Only flips the flags (no git); use `mergePull` to really merge. */
  merged?: boolean;
  title?: string;
  body?: string;
  /**
   * Pin GitHub's `mergeable` (null = "still computing", for every read until changed; see also
   * `setMergeableComputing`). "auto" goes back to computing it from git.
   */
  mergeable?: boolean | null | "auto";
  /** Pin `mergeable_state` (e.g. "has_hooks"); "auto" goes back to computing it. */
  mergeableState?: string;
}

export interface RequiredChecksOptions {
  /** "Require branches to be up to date before merging": a PR behind its base is `behind`. */
  strict?: boolean;
}

export interface MergePullOptions {
  /** Who pressed the button (`merged_by`); default: the PR's author. */
  mergedBy?: string;
  /** Merge commit message; default: GitHub's "Merge pull request #N from owner/branch". */
  message?: string;
}

export interface WaitForOptions {
  /** Default 20 000 ms. */
  timeoutMs?: number;
  /** Default 50 ms. */
  intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  what?: string;
  /** Extra diagnostics for the timeout message (e.g. the app's last log lines). */
  context?: () => string;
}

/** An error thrown by a handler that is a bug in the fake, not in the app. */
export interface InternalErrorRecord {
  method: string;
  path: string;
  error: string;
}

const DOCS_URL = "https://docs.github.com/rest";

/** The REST routes: the app's (installation token / JWT) and the signed-in user's (oauth.ts). */
const routes: Record<string, Route> = { ...restRoutes, ...userRoutes };

/** Project roots of fakes not closed yet, removed if the test process exits without `close()`. */
const openRoots = new Set<string>();
let exitHookInstalled = false;
function trackRoot(root: string): void {
  openRoots.add(root);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const r of openRoots) {
      try {
        rmSync(r, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}

export class FakeGitHub {
  readonly url: string;
  readonly host: string;
  readonly apiUrl: string;
  readonly appId: number;
  readonly appSlug: string;
  /** Private key matching the JWT verification key, when known (see `FakeGitHubOptions`). */
  readonly appPrivateKey: string | undefined;
  readonly webhookSecret: string;
  /** Directory holding `<owner>/<repo>.git` (removed by `close()`). */
  readonly projectRoot: string;

  /** Every API request, in arrival order. */
  readonly requests: RequestRecord[] = [];
  /**
   * Requests GitHub would have rejected as invalid (schema, limits, rules; for GraphQL, errors
   * other than NOT_FOUND while running a valid document, e.g. missing `first`/`last`). Should
   * stay empty.
   */
  readonly violations: ViolationRecord[] = [];
  /**
   * Requests for routes the fake does not implement (404), and GraphQL documents its schema
   * cannot answer (HTTP 200 with `errors`, as GitHub answers invalid queries). Should stay empty.
   */
  readonly unhandled: RequestRecord[] = [];
  /** Git smart-HTTP requests with whether they carried a valid token. */
  readonly gitRequests: GitRequestRecord[] = [];
  /** Exceptions inside the fake's handlers (answered 500). */
  readonly internalErrors: InternalErrorRecord[] = [];

  readonly #state: FakeState;
  readonly #auth: AuthState;
  readonly #oauth: FakeOAuth;
  readonly #server: Server;
  #closed = false;
  readonly #holds: { match: (r: RequestRecord) => boolean; released: Promise<void>; release: () => void }[] = [];

  /** Use `startFakeGitHub()`. */
  constructor(server: Server, projectRoot: string, opts: Required<Pick<FakeGitHubOptions, "appId" | "slug" | "webhookSecret">> & FakeGitHubOptions) {
    const port = (server.address() as AddressInfo).port;
    this.#server = server;
    this.host = `127.0.0.1:${port}`;
    this.url = `http://${this.host}`;
    this.apiUrl = `${this.url}/api/v3`;
    this.projectRoot = projectRoot;
    this.appId = opts.appId;
    this.appSlug = opts.slug;
    this.appPrivateKey = opts.privateKey;
    this.webhookSecret = opts.webhookSecret;
    this.#auth = new AuthState(opts.appId, opts.publicKey);
    this.#state = new FakeState(this.url, { id: opts.appId, slug: opts.slug, name: opts.slug, ownerLogin: "atoll-owner" });
    this.#oauth = new FakeOAuth(
      opts.oauthClientId ?? this.#state.appJson().client_id,
      opts.oauthClientSecret ?? "fake-oauth-client-secret-0123456789abcdef",
      this.#auth,
      this.#state,
    );
    const git = createGitHttpHandler({
      projectRoot,
      isAuthorized: (h) => this.#auth.isGitAuthorized(h),
      onRequest: ({ path, authorized }) => {
        const service = /\/(git-upload-pack|git-receive-pack)$/.exec(path)?.[1] ?? null;
        this.gitRequests.push({ path, service, authorized, at: new Date().toISOString() });
      },
    });
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      if (git(req, res)) return;
      this.#handleApi(req, res).catch((e: unknown) => {
        this.internalErrors.push({ method: req.method ?? "GET", path: req.url ?? "", error: String((e as Error)?.stack ?? e) });
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ message: "fake GitHub internal error" }));
      });
    });
  }

  // ---------------------------------------------------------------- test-facing: setup

  /** The bot login the app's comments appear under. */
  get botLogin(): string {
    return this.#state.botLogin;
  }

  /**
   * Create an empty bare repository served at `repo.cloneUrl`. `private`: only its owner and
   * users given a permission (`setPermission`) can read it (REST `private`/`visibility`, and the
   * repositories a signed-in user is shown).
   */
  async createRepo(owner: string, name: string, opts: { defaultBranch?: string; private?: boolean } = {}): Promise<FakeRepo> {
    for (const part of [owner, name]) {
      if (!/^[A-Za-z0-9_.-]+$/.test(part) || part.startsWith(".")) throw new Error(`invalid repository name part: ${part}`);
    }
    if (this.#state.repo(owner, name)) throw new Error(`repository ${owner}/${name} already exists`);
    const defaultBranch = opts.defaultBranch ?? "main";
    const path = join(this.projectRoot, owner, `${name}.git`);
    await initBareRepo(path, defaultBranch);
    const repo = new FakeRepo(owner, name, path, defaultBranch, `${this.url}/${owner}/${name}.git`, this.#state.newId());
    this.#state.repos.set(this.#state.repoKey(owner, name), repo);
    if (opts.private) this.#state.privateRepos.add(this.#state.repoKey(owner, name));
    return repo;
  }

  repo(owner: string, name: string): FakeRepo {
    const r = this.#state.repo(owner, name);
    if (!r) throw new Error(`no repository ${owner}/${name}`);
    return r;
  }

  /** Open a pull request from branch `head` into `base` (default: the repo's default branch). */
  async createPull(owner: string, repo: string, opts: CreatePullOptions): Promise<PullRecord> {
    const r = this.repo(owner, repo);
    const key = this.#state.repoKey(owner, repo);
    const number = opts.number ?? this.#state.nextNumber.get(key) ?? 1;
    if (this.#state.pull(owner, repo, number)) throw new Error(`${owner}/${repo}#${number} already exists`);
    const base = opts.base ?? r.defaultBranch;
    const author = opts.author ?? "octocat";
    const headSha = await r.sha(opts.head);
    const baseSha = await r.sha(base);
    const fork = opts.fork ?? false;
    if (fork) await r.hideRef(`refs/heads/${opts.head}`);
    await r.setRef(`refs/pull/${number}/head`, headSha);
    const now = isoNow();
    const id = this.#state.newId();
    const pull: PullRecord = {
      owner: r.owner,
      repo: r.name,
      number,
      id,
      nodeId: nodeId("PullRequest", id),
      title: opts.title ?? `Change ${opts.head}`,
      body: opts.body ?? null,
      author,
      headRef: opts.head,
      baseRef: base,
      headSha,
      baseSha,
      draft: opts.draft ?? false,
      state: "open",
      merged: false,
      mergedAt: null,
      closedAt: null,
      computingReads: 0,
      mergeCommitSha: null,
      mergedBy: null,
      fork,
      headRepoFullName: fork ? `${author}/${r.name}` : r.fullName,
      createdAt: now,
      updatedAt: now,
    };
    this.#state.pulls.set(this.#state.pullKey(owner, repo, number), pull);
    this.#state.nextNumber.set(key, Math.max(number + 1, this.#state.nextNumber.get(key) ?? 1));
    return pull;
  }

  pull(owner: string, repo: string, number: number): PullRecord {
    const p = this.#state.pull(owner, repo, number);
    if (!p) throw new Error(`no pull request ${owner}/${repo}#${number}`);
    return p;
  }

  /**
   * Change draft/state/merged/mergeability. `merged` only flips flags; it does not touch git
   * (`mergePull` does). Mergeability is computed like GitHub's unless pinned here.
   */
  updatePull(owner: string, repo: string, number: number, patch: UpdatePullOptions): PullRecord {
    const p = this.pull(owner, repo, number);
    const now = isoNow();
    if (patch.title !== undefined) p.title = patch.title;
    if (patch.body !== undefined) p.body = patch.body;
    if (patch.draft !== undefined) p.draft = patch.draft;
    if (patch.mergeable !== undefined) p.mergeable = patch.mergeable === "auto" ? undefined : patch.mergeable;
    if (patch.mergeableState !== undefined) p.mergeableState = patch.mergeableState === "auto" ? undefined : patch.mergeableState;
    if (patch.merged) {
      p.merged = true;
      p.mergedAt = now;
      p.state = "closed";
      p.closedAt = now;
    } else if (patch.state === "closed") {
      p.state = "closed";
      p.closedAt = now;
    } else if (patch.state === "open") {
      p.state = "open";
      p.closedAt = null;
    }
    p.updatedAt = now;
    return p;
  }

  /**
   * Re-read the PR's head and base shas from their branches (done automatically on every API
   * request for the PR while it is open; call it after a push to get the new head sha).
   */
  async syncPull(owner: string, repo: string, number: number): Promise<PullRecord> {
    const p = this.pull(owner, repo, number);
    await this.#sync(p);
    return p;
  }

  async #sync(p: PullRecord): Promise<void> {
    if (p.state !== "open") return;
    const r = this.repo(p.owner, p.repo);
    const head = await r.tryResolve(`refs/heads/${p.headRef}`);
    const base = await r.tryResolve(`refs/heads/${p.baseRef}`);
    if (head && head !== p.headSha) {
      p.headSha = head;
      p.updatedAt = isoNow();
      await r.setRef(`refs/pull/${p.number}/head`, head);
    }
    if (base) p.baseSha = base;
  }

  /**
   * Really merge the PR: a merge commit of its head on its base branch (as GitHub's "Create a
   * merge commit" does), then the PR is closed and merged. Sends no webhook; tests deliver the
   * `pull_request.closed` event themselves. Throws when the PR is not open or conflicts.
   */
  async mergePull(owner: string, repo: string, number: number, opts: MergePullOptions = {}): Promise<PullRecord> {
    const p = await this.syncPull(owner, repo, number);
    if (p.state !== "open") throw new Error(`${owner}/${repo}#${number} is not open`);
    const r = this.repo(p.owner, p.repo);
    const message = opts.message ?? `Merge pull request #${p.number} from ${p.headRepoFullName.split("/")[0]}/${p.headRef}\n\n${p.title}`;
    markMerged(p, await r.merge(p.baseRef, p.headSha, message), opts.mergedBy ?? p.author);
    return p;
  }

  /** Close the PR without merging (git is untouched). */
  closePull(owner: string, repo: string, number: number): PullRecord {
    return this.updatePull(owner, repo, number, { state: "closed" });
  }

  /**
   * Branch protection: these check-run names / status contexts must pass (success, neutral or
   * skipped) on a PR's head before it can merge into `branch` (GraphQL `isRequired`,
   * `mergeable_state` "blocked"). Each call replaces the previous list and `strict` setting; an
   * empty list removes the requirement.
   */
  setRequiredChecks(owner: string, repo: string, branch: string, names: string[], opts: RequiredChecksOptions = {}): void {
    const r = this.repo(owner, repo);
    const rule = this.#state.ensureProtection(r.owner, r.name, branch);
    rule.requiredChecks = [...names];
    rule.strict = opts.strict ?? false;
  }

  /** Branch protection: approving reviews required to merge into `branch` (0 = none). */
  setRequiredApprovals(owner: string, repo: string, branch: string, count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > 6) throw new Error(`required approvals must be 0..6 (GitHub's range), got ${count}`);
    const r = this.repo(owner, repo);
    this.#state.ensureProtection(r.owner, r.name, branch).requiredApprovals = count;
  }

  /**
   * GitHub is still computing mergeability for the next `reads` reads of it (REST GET pull, or a
   * GraphQL query asking for `mergeable`/`mergeStateStatus`): they answer null / "unknown" /
   * UNKNOWN, after which the computed (or pinned) value comes back. Lets a test check the app
   * retries instead of taking null as "not mergeable".
   */
  setMergeableComputing(owner: string, repo: string, number: number, reads: number): void {
    this.pull(owner, repo, number).computingReads = reads;
  }

  /** A commit status from another integration (e.g. a CI that is a required check). */
  addStatus(
    owner: string,
    repo: string,
    sha: string,
    opts: { context: string; state: "error" | "failure" | "pending" | "success"; description?: string; targetUrl?: string; creator?: string },
  ): StatusRecord {
    const r = this.repo(owner, repo);
    const s: StatusRecord = {
      id: this.#state.newId(),
      owner: r.owner,
      repo: r.name,
      sha,
      state: opts.state,
      context: opts.context,
      description: opts.description ?? null,
      targetUrl: opts.targetUrl ?? null,
      creator: opts.creator ?? "ci-bot",
      createdAt: isoNow(),
    };
    this.#state.statuses.push(s);
    return s;
  }

  /** Add a submitted review (state is normalised to the REST API's upper case). */
  async addReview(
    owner: string,
    repo: string,
    number: number,
    opts: { user: string; state: string; body?: string; commitId?: string },
  ): Promise<ReviewRecord> {
    const p = await this.syncPull(owner, repo, number);
    const review: ReviewRecord = {
      id: this.#state.newId(),
      owner: p.owner,
      repo: p.repo,
      pullNumber: number,
      user: opts.user,
      state: opts.state.toUpperCase(),
      body: opts.body ?? "",
      commitId: opts.commitId ?? p.headSha,
      submittedAt: isoNow(),
    };
    this.#state.reviews.push(review);
    return review;
  }

  /**
   * Collaborator permission; users without an entry get "read" on a public repository and "none"
   * on a private one. "none" also hides the repository from the user's signed-in view.
   */
  setPermission(owner: string, repo: string, user: string, level: PermissionLevel): void {
    const r = this.repo(owner, repo);
    const key = this.#state.repoKey(r.owner, r.name);
    let m = this.#state.permissions.get(key);
    if (!m) this.#state.permissions.set(key, (m = new Map()));
    m.set(user.toLowerCase(), level);
  }

  /** Seed a comment by a human (e.g. the `atlantis plan` comment a webhook will refer to). */
  addComment(owner: string, repo: string, number: number, opts: { user: string; body: string }): CommentRecord {
    const p = this.pull(owner, repo, number);
    const id = this.#state.newId();
    const now = isoNow();
    const c: CommentRecord = {
      owner: p.owner,
      repo: p.repo,
      issueNumber: number,
      id,
      nodeId: nodeId("IssueComment", id),
      body: opts.body,
      user: opts.user,
      byApp: false,
      createdAt: now,
      updatedAt: now,
      previousBodies: [],
    };
    this.#state.comments.push(c);
    return c;
  }

  /** Expire every installation and user token issued so far (git and API calls with them then fail). */
  expireTokens(): void {
    this.#auth.expireAll();
  }

  // ---------------------------------------------------------------- test-facing: sign-in (oauth.ts)

  /** The App's OAuth client id and secret (what the setup wizard writes as GITHUB_CLIENT_ID/SECRET). */
  get oauthClientId(): string {
    return this.#oauth.clientId;
  }

  get oauthClientSecret(): string {
    return this.#oauth.clientSecret;
  }

  /** Who is signed in on the fake github.com and approves the App at /login/oauth/authorize (null: nobody). */
  signInAs(login: string | null): void {
    this.#oauth.signInAs(login);
  }

  /** The next authorize request is cancelled by the user: back to the app with `error=access_denied`. */
  denyNextSignIn(): void {
    this.#oauth.denyNextSignIn();
  }

  /** The App's registered callback URL; redirect_uri must be under it (unset: any http(s) URL). */
  setOAuthCallbackUrl(url: string | undefined): void {
    this.#oauth.setCallbackUrl(url);
  }

  /** Revoke users' OAuth tokens (one user's, or everyone's), as revoking the App's authorization does. */
  revokeUserTokens(login?: string): void {
    this.#auth.revokeUserTokens(login);
  }

  /** User tokens issued by the OAuth flow. */
  get issuedUserTokens(): { token: string; login: string; expiresAt: number }[] {
    return this.#auth.issuedUserTokens;
  }

  /** Authorize requests that reached a decision (who, which client and redirect_uri, the outcome). */
  get authorizations(): FakeOAuth["authorizations"] {
    return this.#oauth.authorizations;
  }

  get issuedTokens(): IssuedToken[] {
    return this.#auth.issued;
  }

  // ---------------------------------------------------------------- test-facing: inspection

  /** Comments on an issue/PR, oldest first (current bodies; deleted ones are gone). */
  comments(owner: string, repo: string, number: number): CommentRecord[] {
    const key = this.#state.repoKey(owner, repo);
    return this.#state.comments.filter((c) => this.#state.repoKey(c.owner, c.repo) === key && c.issueNumber === number);
  }

  /** The labels on a pull request, in the order they were added. */
  labels(owner: string, repo: string, number: number): string[] {
    return [...(this.#state.issueLabels.get(this.#state.pullKey(owner, repo, number)) ?? [])];
  }

  /** Check runs (latest state of each run, with full history), oldest first. */
  checkRuns(owner: string, repo: string, filter: { headSha?: string; name?: string } = {}): CheckRunRecord[] {
    const key = this.#state.repoKey(owner, repo);
    return this.#state.checkRuns.filter(
      (c) =>
        this.#state.repoKey(c.owner, c.repo) === key &&
        (filter.headSha === undefined || c.headSha === filter.headSha) &&
        (filter.name === undefined || c.name === filter.name),
    );
  }

  /** Reactions in the repository, optionally on one comment. */
  reactions(owner: string, repo: string, commentId?: number): ReactionRecord[] {
    const key = this.#state.repoKey(owner, repo);
    return this.#state.reactions.filter(
      (x) => this.#state.repoKey(x.owner, x.repo) === key && (commentId === undefined || x.commentId === commentId),
    );
  }

  statuses(owner: string, repo: string, sha?: string): StatusRecord[] {
    const key = this.#state.repoKey(owner, repo);
    return this.#state.statuses.filter((s) => this.#state.repoKey(s.owner, s.repo) === key && (sha === undefined || s.sha === sha));
  }

  /** The last `n` API and git requests, one line each, for failure messages. */
  describeRecentRequests(n = 30): string {
    const api = this.requests.map((r) => ({ at: r.at, line: `${r.status} ${r.method} ${r.path} [${r.auth}]${r.error ? ` ${r.error}` : ""}` }));
    const git = this.gitRequests.map((g) => ({ at: g.at, line: `git ${g.path} ${g.authorized ? "authorized" : "UNAUTHORIZED"}` }));
    const all = [...api, ...git].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return all.slice(-n).map((x) => `  ${x.line}`).join("\n") || "  (none)";
  }

  /**
   * Process matching API requests at once but withhold their responses until `release()`: the
   * client never learns the outcome, as when it crashes between sending a request and reading the
   * answer. `held` counts the requests answered late.
   */
  holdResponses(match: (r: RequestRecord) => boolean): { release(): void; held(): number } {
    let held = 0;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const hold = { match: (r: RequestRecord) => match(r) && ++held > 0, released, release };
    this.#holds.push(hold);
    return {
      release: () => {
        if (this.#holds.includes(hold)) this.#holds.splice(this.#holds.indexOf(hold), 1);
        release();
      },
      held: () => held,
    };
  }

  /**
   * Poll `predicate` until it returns something other than undefined/null/false and return it.
   * On timeout, fail with what was awaited, the predicate's last error, the recent requests,
   * violations and unhandled routes.
   */
  async waitFor<T>(predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: WaitForOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const intervalMs = opts.intervalMs ?? 50;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = await predicate();
        if (value !== undefined && value !== null && value !== false) return value;
        lastError = undefined;
      } catch (e) {
        lastError = e;
      }
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    const parts = [`Timed out after ${timeoutMs} ms waiting for ${opts.what ?? "condition"}.`];
    if (lastError !== undefined) parts.push(`Last predicate error: ${String((lastError as Error)?.message ?? lastError)}`);
    parts.push(`Recent requests to the fake GitHub:\n${this.describeRecentRequests()}`);
    if (this.violations.length) parts.push(`Violations:\n${this.violations.map((v) => `  ${v.method} ${v.path}: ${v.errors.join("; ")}`).join("\n")}`);
    if (this.unhandled.length) parts.push(`Unhandled:\n${this.unhandled.map((u) => `  ${u.method} ${u.path}`).join("\n")}`);
    if (this.internalErrors.length) parts.push(`Internal errors:\n${this.internalErrors.map((e) => `  ${e.method} ${e.path}: ${e.error}`).join("\n")}`);
    if (opts.context) parts.push(opts.context());
    throw new Error(parts.join("\n"));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const hold of this.#holds.splice(0)) hold.release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.projectRoot, { recursive: true, force: true });
    openRoots.delete(this.projectRoot);
  }

  // ---------------------------------------------------------------- HTTP

  async #handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", this.url);
    const raw = await readBody(req);
    const query = Object.fromEntries(url.searchParams);
    const isApi = url.pathname === "/api/v3" || url.pathname.startsWith("/api/v3/");
    const path = isApi ? url.pathname.slice("/api/v3".length) || "/" : url.pathname;
    const credential = this.#auth.classify(req.headers.authorization);
    const entry: RequestRecord = { method, path, template: null, query, body: undefined, status: 0, auth: credential.kind, at: new Date().toISOString() };
    this.requests.push(entry);

    const send = (result: RouteResult) => {
      entry.status = result.status;
      const headers: Record<string, string> = {
        "X-GitHub-Request-Id": randomUUID(),
        "X-GitHub-Media-Type": "github.v3; format=json",
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4999",
        "X-RateLimit-Used": "1",
        "X-RateLimit-Reset": String(Math.floor(Date.now() / 1000) + 3600),
        "X-RateLimit-Resource": "core",
        ...result.headers,
      };
      if (result.raw) {
        res.writeHead(result.status, headers);
        res.end(result.raw);
        return;
      }
      if (result.body === undefined) {
        res.writeHead(result.status, headers);
        res.end();
        return;
      }
      res.writeHead(result.status, { "Content-Type": "application/json; charset=utf-8", ...headers });
      res.end(JSON.stringify(result.body));
    };
    const fail = (status: number, message: string, extra: Record<string, unknown> = {}) => {
      entry.error = message;
      send({ status, body: { message, ...extra, documentation_url: DOCS_URL, status: String(status) } });
    };

    // The OAuth web flow lives outside the REST API (form bodies, HTML and redirects).
    if (!isApi && this.#oauth.handles(url.pathname)) {
      const result = this.#oauth.handle({ method, url, headers: req.headers, raw });
      entry.template = url.pathname;
      entry.body = result.recordedBody;
      entry.status = result.status;
      if (result.violation) {
        entry.error = result.violation;
        this.violations.push({ method, path, template: url.pathname, errors: [result.violation], body: result.recordedBody });
      }
      res.writeHead(result.status, result.headers);
      res.end(result.body);
      return;
    }

    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        entry.body = raw.toString("utf8");
        return fail(400, "Problems parsing JSON");
      }
    }
    entry.body = body;

    // GHES serves GraphQL next to the REST prefix; Octokit derives `/api/graphql` from `/api/v3`.
    if (url.pathname === "/api/graphql" && method === "POST") {
      entry.template = "/graphql";
      return this.#handleGraphql(entry, credential, body, send, fail);
    }

    const match = isApi ? (matchRoute(method, path) ?? rootContentsMatch(method, path)) : null;
    const route = match ? routes[`${method} ${match.template}`] : undefined;
    entry.template = match?.template ?? null;
    if (!match || !route) {
      fail(404, "Not Found");
      this.unhandled.push(entry);
      return;
    }

    if (route.auth === "jwt" && credential.kind !== "jwt") {
      return fail(401, credential.kind === "invalid" ? credential.reason : "A JSON web token could not be decoded");
    }
    if (route.auth === "token" && credential.kind !== "token") {
      return fail(401, "Bad credentials");
    }
    if (route.auth === "user" && credential.kind !== "user") {
      if (credential.kind === "token") return fail(403, "Resource not accessible by integration");
      return fail(401, credential.kind === "none" ? "Requires authentication" : "Bad credentials");
    }

    const ctx: RouteContext = {
      method,
      path,
      template: match.template,
      params: match.params,
      query: url.searchParams,
      body,
      headers: req.headers,
      credential,
      state: this.#state,
      auth: this.#auth,
      syncPull: (p) => this.#sync(p),
    };

    const fieldErrors: FieldError[] = route.rules?.(ctx) ?? [];
    const schemaErrors = method === "GET" || method === "HEAD" ? [] : validateRestRequest(method, match.template, body);
    if (fieldErrors.length || schemaErrors.length) {
      const errors = [...fieldErrors, ...schemaErrors.map((message) => ({ resource: "Request", code: "invalid", message }))];
      this.violations.push({ method, path, template: match.template, errors: errors.map((e) => e.message), body });
      return fail(422, "Validation Failed", { errors });
    }

    let result: RouteResult;
    try {
      result = await route.handle(ctx);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      if (e.violation) this.violations.push({ method, path, template: match.template, errors: [e.message], body });
      return fail(e.status, e.message, e.extra);
    }
    for (const hold of this.#holds.filter((h) => h.match(entry))) await hold.released;
    send(result);
  }

  /**
   * `POST /api/graphql`: installation-token auth like REST, then GitHub's GraphQL semantics
   * (HTTP 200 with `errors` for anything wrong with the document). Documents the fake's schema
   * cannot answer are recorded in `unhandled`, as REST routes it lacks are.
   */
  async #handleGraphql(entry: RequestRecord, credential: Credential, body: unknown, send: Sender, fail: Failer): Promise<void> {
    if (credential.kind === "none") return fail(401, "This endpoint requires you to be authenticated.");
    if (credential.kind !== "token") return fail(401, "Bad credentials");
    const problems = validateRestRequest("POST", "/api/graphql", body);
    if (problems.length) {
      this.violations.push({ method: "POST", path: entry.path, template: entry.template, errors: problems, body });
      entry.status = 200;
      entry.error = problems.join("; ");
      send({ status: 200, body: { errors: [{ message: "A query attribute must be specified and must be a string." }] } });
      return;
    }
    const request = body as { query: string; variables?: unknown; operationName?: unknown };
    const result = isMutation(request.query)
      ? runMutation(this.#state, request)
      : await executeGraphql(githubSchema, request, {
          state: this.#state,
          syncPull: (p) => this.#sync(p),
          mergeCache: new Map(),
        });
    const errors = result.body.errors ?? [];
    if (errors.length) entry.error = errors.map((e) => e.message).join("; ");
    if (result.rejected) {
      this.unhandled.push(entry);
    } else {
      // NOT_FOUND is an answer; anything else at execution time (pagination bounds, missing
      // arguments GitHub insists on) is a request GitHub refuses, i.e. the app's mistake.
      const refused = errors.filter((e) => e.type !== "NOT_FOUND");
      if (refused.length) this.violations.push({ method: "POST", path: entry.path, template: entry.template, errors: refused.map((e) => e.message), body });
    }
    send({ status: 200, body: result.body, headers: { "X-RateLimit-Resource": "graphql" } });
  }
}

type Sender = (result: RouteResult) => void;
type Failer = (status: number, message: string, extra?: Record<string, unknown>) => void;

/**
 * `GET /repos/{owner}/{repo}/contents/` (empty path) lists the repository root on GitHub, but
 * the template's `{path}` cannot match an empty segment, so `matchRoute` does not find it.
 */
function rootContentsMatch(method: string, path: string): { template: string; params: Record<string, string> } | null {
  const m = /^\/repos\/([^/]+)\/([^/]+)\/contents\/?$/.exec(path);
  if (method !== "GET" || !m) return null;
  return { template: "/repos/{owner}/{repo}/contents/{path}", params: { owner: decodeURIComponent(m[1]), repo: decodeURIComponent(m[2]), path: "" } };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Start a fake GitHub on 127.0.0.1 with an ephemeral port. */
export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const creds = testAppCredentials();
  const usesTestKey = opts.publicKey === undefined;
  const projectRoot = await mkdtemp(join(tmpdir(), "fake-github-"));
  trackRoot(projectRoot);
  const server = createServer();
  // Keep-alive sockets from Octokit's fetch would otherwise hold `close()` open.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return new FakeGitHub(server, projectRoot, {
    ...opts,
    appId: opts.appId ?? creds.appId,
    slug: opts.slug ?? "atoll-test",
    webhookSecret: opts.webhookSecret ?? creds.webhookSecret,
    publicKey: opts.publicKey ?? creds.publicKey,
    privateKey: opts.privateKey ?? (usesTestKey ? creds.privateKey : undefined),
  });
}
