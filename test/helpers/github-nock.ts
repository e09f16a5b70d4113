/**
 * Declarative GitHub mocks for integration tests, on top of strict nock: each method declares
 * exactly the calls a test expects (an unused one fails the test, see strict-nock.ts) and returns
 * an array that collects the request bodies, for assertions.
 */
import nock from "nock";
import { mockInstallationToken } from "./strict-nock.js";

export interface PullFixture {
  number: number;
  headSha: string;
  baseSha?: string;
  state?: "open" | "closed";
  draft?: boolean;
  author?: string;
  fork?: boolean;
}

export class GitHubNock {
  readonly scope: nock.Scope;
  /**
   * Every comment, check-run and merge write, in the order GitHub received them: `comment`,
   * `create <id> <name> <status>`, `update <id> <name> <status>` (the name is known for runs this
   * mock created), `merge`.
   */
  readonly writes: string[] = [];
  private readonly checkRunNames = new Map<number, string>();
  private nextCheckRunId = 1000;
  private nextCommentId = 5000;

  constructor(
    readonly owner = "Codertocat",
    readonly repo = "Hello-World",
    readonly installationId = 1,
    baseUrl = "https://api.github.com",
  ) {
    this.scope = nock(baseUrl);
  }

  private get r() {
    return `/repos/${this.owner}/${this.repo}`;
  }

  /**
   * Installation token exchanges: Probot's own, once per instance. On github.com a checkout's
   * clone token is that same token (from Probot's cache), so one is all a test normally needs.
   */
  tokens(times: number): this {
    for (let i = 0; i < times; i++) mockInstallationToken(this.scope, this.installationId);
    return this;
  }

  rootListing(sha: string, names: string[]): this {
    this.scope
      .get(`${this.r}/contents`)
      .query({ ref: sha })
      .reply(
        200,
        names.map((name) => ({ name, path: name, type: "file", sha: "0".repeat(40), size: 1, url: "", html_url: "", git_url: "", download_url: "", _links: { self: "", git: "", html: "" } })),
      );
    return this;
  }

  fileContent(path: string, sha: string, content: string): this {
    this.scope
      .get(`${this.r}/contents/${path}`)
      .query({ ref: sha })
      .reply(200, { type: "file", encoding: "base64", name: path, path, sha: "1".repeat(40), size: content.length, content: Buffer.from(content).toString("base64") });
    return this;
  }

  changedFiles(pull: number, files: { filename: string; status?: string; previous_filename?: string }[]): this {
    this.scope
      .get(`${this.r}/pulls/${pull}/files`)
      .query({ per_page: 100 })
      .reply(
        200,
        files.map((f) => ({ sha: "2".repeat(40), status: "modified", additions: 1, deletions: 0, changes: 1, blob_url: "", raw_url: "", contents_url: "", ...f })),
      );
    return this;
  }

  reviews(pull: number, reviews: { user: string; state: string }[] = []): this {
    this.scope
      .get(`${this.r}/pulls/${pull}/reviews`)
      .query({ per_page: 100 })
      .reply(
        200,
        reviews.map((r, i) => ({ id: i + 1, user: { login: r.user, id: i + 1, type: "User" }, state: r.state, body: "", submitted_at: new Date().toISOString() })),
      );
    return this;
  }

  pull(p: PullFixture): this {
    const repoObj = { full_name: `${this.owner}/${this.repo}`, clone_url: `https://github.com/${this.owner}/${this.repo}.git` };
    this.scope.get(`${this.r}/pulls/${p.number}`).reply(200, {
      number: p.number,
      state: p.state ?? "open",
      merged: false,
      draft: p.draft ?? false,
      title: "Change things",
      html_url: `https://github.com/${this.owner}/${this.repo}/pull/${p.number}`,
      user: { login: p.author ?? "octocat" },
      head: { sha: p.headSha, ref: "changes", repo: p.fork ? { full_name: `forker/${this.repo}`, clone_url: "" } : repoObj },
      base: { sha: p.baseSha ?? "b".repeat(40), ref: "main", repo: repoObj },
    });
    return this;
  }

  permission(user: string, permission: "admin" | "write" | "read" | "none", roleName?: string): this {
    this.scope
      .get(`${this.r}/collaborators/${user}/permission`)
      .reply(200, { permission, role_name: roleName ?? permission, user: { login: user } });
    return this;
  }

  reaction(commentId: number, content = "eyes"): unknown[] {
    const bodies: unknown[] = [];
    this.scope
      .post(`${this.r}/issues/comments/${commentId}/reactions`, (b) => (bodies.push(b), true))
      .reply(201, { id: 1, content });
    return bodies;
  }

  /** `times` comment creations; returns the bodies posted. */
  comments(pull: number, times = 1): { body: string }[] {
    const bodies: { body: string }[] = [];
    this.scope
      .post(`${this.r}/issues/${pull}/comments`, (b) => (bodies.push(b as { body: string }), true))
      .times(times)
      .reply(201, () => {
        this.writes.push("comment");
        return { id: this.nextCommentId++, node_id: "IC_x", body: "" };
      });
    return bodies;
  }

  /** One merge request (automerge) answered with `status` (200 merged, 405/409 refused); returns the bodies sent. */
  merge(pull: number, status = 200, message = status === 200 ? "Pull Request successfully merged" : "Pull Request is not mergeable"): unknown[] {
    const bodies: unknown[] = [];
    this.scope
      .put(`${this.r}/pulls/${pull}/merge`, (b) => (bodies.push(b), true))
      .reply(status, () => {
        this.writes.push("merge");
        return status === 200 ? { sha: "c".repeat(40), merged: true, message } : { message, documentation_url: "https://docs.github.com/rest" };
      });
    return bodies;
  }

  /** One branch deletion (`DELETE …/git/refs/heads/<branch>`; Octokit encodes the slashes). */
  deleteBranch(branch: string): this {
    this.scope.delete(`${this.r}/git/refs/${encodeURIComponent(`heads/${branch}`)}`).reply(204);
    return this;
  }

  /** `times` check-run creations; returns the bodies posted (ids are assigned from 1000 up). */
  createCheckRuns(times: number): Record<string, unknown>[] {
    const bodies: Record<string, unknown>[] = [];
    this.scope
      .post(`${this.r}/check-runs`, (b) => (bodies.push(b as Record<string, unknown>), true))
      .times(times)
      .reply(201, (_uri, body) => {
        const id = this.nextCheckRunId++;
        const { name, status } = body as { name: string; status?: string };
        this.checkRunNames.set(id, name);
        this.writes.push(`create ${id} ${name} ${status ?? "queued"}`);
        return { id };
      });
    return bodies;
  }

  /** `times` check-run updates (any id); returns `{ id, body }` per update. */
  updateCheckRuns(times: number): { id: number; body: Record<string, unknown> }[] {
    const updates: { id: number; body: Record<string, unknown> }[] = [];
    this.scope
      .patch(/\/check-runs\/\d+$/)
      .times(times)
      .reply(200, (uri, body) => {
        const id = Number(uri.split("/").pop());
        updates.push({ id, body: body as Record<string, unknown> });
        this.writes.push(`update ${id} ${this.checkRunNames.get(id) ?? "?"} ${(body as { status?: string }).status ?? "-"}`);
        return { id };
      });
    return updates;
  }
}
