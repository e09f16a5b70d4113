/**
 * Shared setup for end-to-end tests: a real PostgreSQL server (Terraform state), the fake GitHub
 * (API + git over HTTP), and the built Atoll server as a real process pointed at it.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { startFakeGitHub, type FakeGitHub, type FakeRepo } from "../fake-github/server.js";
import type { CheckRunRecord, PullRecord } from "../fake-github/state.js";
import { startAtoll, type AtollProcess } from "../helpers/atoll-process.js";
import { deliveryId, issueCommentEvent, pullRequestEvent, pullRequestEventFor, pullRequestReviewEvent, type PullRequestAction } from "../helpers/events.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres.js";

export const OWNER = "acme";
export const REPO = "infra";

export interface E2eEnv {
  pg: PostgresServer;
  github: FakeGitHub;
  repo: FakeRepo;
  atoll: AtollProcess;
  /** Build a pull_request webhook for the fake's current view of the PR. */
  pullEvent(pull: PullRecord, action: PullRequestAction): ReturnType<typeof pullRequestEvent>;
  /** Seed a human comment on the PR and build its issue_comment webhook. */
  comment(pull: PullRecord, user: string, body: string): ReturnType<typeof issueCommentEvent>;
  /** Record a review on the fake and build its pull_request_review.submitted webhook. */
  review(pull: PullRecord, reviewer: string, state: "approved" | "changes_requested" | "commented"): Promise<ReturnType<typeof pullRequestReviewEvent>>;
  /** Every token the fake issued, for leak checks. */
  tokens(): string[];
  /** Stop Atoll (SIGTERM, or kill -9) and start it again on the same data dir. */
  restart(opts?: { kill9?: boolean; env?: Record<string, string> }): Promise<void>;
  /** Query Atoll's SQLite database (read-only) — for assertions about locks, plans and jobs. */
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[];
  /** Atoll's data dir (kept across restarts, removed by stop()). */
  dataDir: string;
  stop(): Promise<void>;
}

export async function startE2eEnv(opts: { env?: Record<string, string>; database?: string } = {}): Promise<E2eEnv> {
  const pg = await startPostgres();
  const database = opts.database ?? "tfstate";
  await pg.createDatabase(database);
  const github = await startFakeGitHub();
  const repo = await github.createRepo(OWNER, REPO);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-e2e-data-"));
  const baseEnv = {
    // Terraform's pg backend reads its connection string from the server's environment,
    // as a real deployment would pass backend credentials.
    PG_CONN_STR: pg.connString(database),
    ...opts.env,
  };
  let atoll = await startAtoll({ fakeGitHub: github, dataDir, env: baseEnv });
  const repoOpts = { owner: OWNER, repo: REPO, htmlBase: github.url, apiBase: github.apiUrl, cloneUrl: repo.cloneUrl, installationId: 1 };
  const env: E2eEnv = {
    pg,
    github,
    repo,
    get atoll() {
      return atoll;
    },
    dataDir,
    pullEvent(pull, action) {
      return pullRequestEventFor(action, pull, repoOpts);
    },
    comment(pull, user, body) {
      const c = github.addComment(OWNER, REPO, pull.number, { user, body });
      return issueCommentEvent({ ...repoOpts, number: pull.number, user, body, commentId: c.id, author: pull.author });
    },
    async review(pull, reviewer, state) {
      await github.addReview(OWNER, REPO, pull.number, { user: reviewer, state: state.toUpperCase() });
      const p = github.pull(OWNER, REPO, pull.number);
      return pullRequestReviewEvent({ ...repoOpts, state, number: p.number, headSha: p.headSha, reviewer });
    },
    tokens() {
      return github.issuedTokens.map((t) => t.token);
    },
    async restart(r = {}) {
      if (r.kill9) await atoll.kill9();
      else await atoll.stop();
      atoll = await startAtoll({ fakeGitHub: github, dataDir, env: { ...baseEnv, ...r.env } });
    },
    query<T>(sql: string, ...params: unknown[]): T[] {
      const db = new Database(path.join(dataDir, "atoll.db"), { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },
    async stop() {
      await atoll.stop().catch(() => undefined);
      await github.close().catch(() => undefined);
      await pg.stop().catch(() => undefined);
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
  return env;
}

export { deliveryId };

/** Latest check run with this name on this commit (GitHub shows the latest). */
export function latestRun(env: E2eEnv, headSha: string, name: string): CheckRunRecord | undefined {
  return env.github.checkRuns(OWNER, REPO, { headSha, name }).sort((a, b) => b.id - a.id)[0];
}

/** Wait until the latest run with this name on this commit has completed. */
export function completedRun(env: E2eEnv, headSha: string, name: string, timeoutMs = 60_000): Promise<CheckRunRecord> {
  return env.github.waitFor(
    () => {
      const r = latestRun(env, headSha, name);
      return r?.status === "completed" ? r : undefined;
    },
    { what: `completed check run "${name}"`, timeoutMs, context: () => env.atoll.logs().slice(-30).join("\n") },
  );
}

/** Everything Atoll sent was valid for github.com, and it used nothing the fake lacks. */
export function expectCleanGitHub(env: E2eEnv): void {
  expect(env.github.violations).toEqual([]);
  expect(env.github.unhandled).toEqual([]);
  expect(env.github.internalErrors).toEqual([]);
}
