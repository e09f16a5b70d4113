/**
 * Shared setup for end-to-end tests: a real PostgreSQL server (Terraform state), the fake GitHub
 * (API + git over HTTP), and the built Atoll server as a real process pointed at it — or, with
 * `replicas`, several Atoll processes (each with its own data dir and role) sharing one
 * PostgreSQL database for Atoll's own state (`ATOLL_DATABASE_URL`).
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pgLib from "pg";
import { startFakeGitHub, type FakeGitHub, type FakeGitHubOptions, type FakeRepo } from "../fake-github/server.js";
import type { CheckRunRecord, CommentRecord, PullRecord } from "../fake-github/state.js";
import { REPO_ROOT, startAtoll, type AtollProcess } from "../helpers/atoll-process.js";
import { deliveryId, issueCommentEvent, pullRequestEvent, pullRequestEventFor, pullRequestReviewEvent, type PullRequestAction } from "../helpers/events.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres.js";

export const OWNER = "acme";
export const REPO = "infra";

/** One Atoll process of a multi-replica environment. */
export interface ReplicaSpec {
  /** ATOLL_ROLE (default all). */
  role?: "all" | "web" | "worker";
  /** Extra environment for this replica only. */
  env?: Record<string, string>;
}

export interface E2eEnv {
  pg: PostgresServer;
  github: FakeGitHub;
  repo: FakeRepo;
  /** The first replica (the only one without `replicas`). */
  atoll: AtollProcess;
  /** Every replica, in the order given; replica i has ATOLL_REPLICA_ID `r<i+1>`. */
  atolls: AtollProcess[];
  /** ATOLL_DATABASE_URL of the replicas (undefined: SQLite in the data dir). */
  databaseUrl?: string;
  /** Query Atoll's PostgreSQL database (replicas only). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Stop replica i (SIGTERM, or kill -9) and, unless `stayDown`, start it again on its data dir. */
  restartReplica(i: number, opts?: { kill9?: boolean; stayDown?: boolean; env?: Record<string, string> }): Promise<void>;
  /** Start replica i again after `restartReplica(i, { stayDown: true })`. */
  startReplica(i: number): Promise<void>;
  /** Replica i's data dir. */
  dataDirOf(i: number): string;
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

export interface E2eOptions {
  env?: Record<string, string>;
  database?: string;
  replicas?: ReplicaSpec[];
  /** Set ATOLL_PUBLIC_URL to each replica's own address (the web UI). */
  publicUrl?: boolean;
  /** Options of the fake GitHub (e.g. its OAuth client). */
  fakeGitHub?: FakeGitHubOptions;
  /** Make acme/infra a private repository. */
  privateRepo?: boolean;
}

export async function startE2eEnv(opts: E2eOptions = {}): Promise<E2eEnv> {
  const pg = await startPostgres();
  const database = opts.database ?? "tfstate";
  await pg.createDatabase(database);
  const github = await startFakeGitHub(opts.fakeGitHub);
  const repo = await github.createRepo(OWNER, REPO, opts.privateRepo ? { private: true } : {});
  const specs = opts.replicas ?? [{}];
  let databaseUrl: string | undefined;
  let pool: pgLib.Pool | undefined;
  if (opts.replicas) {
    await pg.createDatabase("atoll");
    databaseUrl = pg.connString("atoll");
    pool = new pgLib.Pool({ connectionString: databaseUrl, max: 2 });
  }
  const dataDirs = await Promise.all(specs.map(() => fs.mkdtemp(path.join(os.tmpdir(), "atoll-e2e-data-"))));
  const dataDir = dataDirs[0];
  const baseEnv = {
    // Terraform's pg backend reads its connection string from the server's environment,
    // as a real deployment would pass backend credentials.
    PG_CONN_STR: pg.connString(database),
    ...(databaseUrl ? { ATOLL_DATABASE_URL: databaseUrl } : {}),
    ...opts.env,
  };
  const replicaEnv = (i: number, extra: Record<string, string> = {}) => ({
    ...baseEnv,
    ...(opts.replicas ? { ATOLL_REPLICA_ID: `r${i + 1}`, ATOLL_ROLE: specs[i].role ?? "all" } : {}),
    ...specs[i].env,
    ...extra,
  });
  const launchReplica = (i: number, extra?: Record<string, string>) =>
    startAtoll({ fakeGitHub: github, dataDir: dataDirs[i], env: replicaEnv(i, extra), ...(opts.publicUrl ? { publicUrl: true } : {}) });
  // Replicas start one after another: the first migrates the database.
  const atolls: AtollProcess[] = [];
  for (let i = 0; i < specs.length; i++) atolls.push(await launchReplica(i));
  const repoOpts = { owner: OWNER, repo: REPO, htmlBase: github.url, apiBase: github.apiUrl, cloneUrl: repo.cloneUrl, installationId: 1 };
  const env: E2eEnv = {
    pg,
    github,
    repo,
    get atoll() {
      return atolls[0];
    },
    atolls,
    ...(databaseUrl ? { databaseUrl } : {}),
    async sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
      if (!pool) throw new Error("sql(): this environment has no PostgreSQL store (pass `replicas`)");
      return (await pool.query(text, params)).rows as T[];
    },
    async restartReplica(i, r = {}) {
      if (r.kill9) await atolls[i].kill9();
      else await atolls[i].stop();
      if (!r.stayDown) atolls[i] = await launchReplica(i, r.env);
    },
    async startReplica(i) {
      atolls[i] = await launchReplica(i);
    },
    dataDirOf: (i) => dataDirs[i],
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
      await env.restartReplica(0, r);
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
      await Promise.all(atolls.map((a) => a.stop().catch(() => undefined)));
      await pool?.end().catch(() => undefined);
      await github.close().catch(() => undefined);
      await pg.stop().catch(() => undefined);
      for (const d of dataDirs) await fs.rm(d, { recursive: true, force: true });
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

// --- helpers shared by the end-to-end tests ---

export const SLOW_TERRAFORM = path.join(REPO_ROOT, "test", "fixtures", "slow-terraform.sh");

/** A `pg`-backend root module (state in `schema`) with one `terraform_data` per name. */
export const pgTf = (schema: string, resources: string[]) =>
  [`terraform {\n  backend "pg" {\n    schema_name = "${schema}"\n  }\n}\n`, ...resources.map((r) => `resource "terraform_data" "${r}" {\n  input = "${r}"\n}\n`)].join("\n");

export function appComments(env: E2eEnv, pull: number): CommentRecord[] {
  return env.github.comments(OWNER, REPO, pull).filter((c) => c.byApp);
}

export function logTail(env: E2eEnv): string {
  return env.atoll.logs().slice(-40).join("\n");
}

export function waitComment(env: E2eEnv, pull: number, re: RegExp, what: string, after = 0, timeoutMs = 60_000): Promise<CommentRecord> {
  return env.github.waitFor(() => appComments(env, pull).slice(after).find((c) => re.test(c.body)), {
    what,
    timeoutMs,
    context: () => logTail(env),
  });
}

/** The gate of slow-terraform.sh: while closed, the configured subcommands wait before running terraform. */
export class Gate {
  private constructor(private readonly dir: string) {}

  static async create(): Promise<Gate> {
    return new Gate(await fs.mkdtemp(path.join(os.tmpdir(), "atoll-slow-tf-")));
  }

  get file(): string {
    return path.join(this.dir, "gate");
  }

  get pidFile(): string {
    return path.join(this.dir, "pid");
  }

  /** Environment for Atoll: terraform is the wrapper, holding `commands` while the gate is closed. */
  env(commands: string): Record<string, string> {
    return { ATOLL_TERRAFORM_BIN: SLOW_TERRAFORM, SLOW_TF_COMMANDS: commands, SLOW_TF_GATE: this.file, SLOW_TF_PIDFILE: this.pidFile };
  }

  async close(): Promise<void> {
    await fs.rm(this.pidFile, { force: true });
    await fs.writeFile(this.file, "closed\n");
  }

  async open(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }

  /** The pid of the wrapper held at the gate (the terraform process group leader). */
  async heldPid(env: E2eEnv): Promise<number> {
    const text = await env.github.waitFor(() => fs.readFile(this.pidFile, "utf8").catch(() => undefined), {
      what: "terraform held at the gate",
      timeoutMs: 60_000,
      context: () => logTail(env),
    });
    const pid = Number(text.trim());
    expect(Number.isInteger(pid) && pid > 1).toBe(true);
    return pid;
  }

  async remove(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

/** Resource addresses in the Terraform state in PostgreSQL ([] when nothing was ever written). */
export async function stateAddresses(env: E2eEnv, schema: string): Promise<string[]> {
  let data: string;
  try {
    data = (await env.pg.psql(`SELECT data FROM ${schema}.states WHERE name = 'default'`, "tfstate")).trim();
  } catch (e) {
    if (/does not exist/.test((e as Error).message)) return [];
    throw e;
  }
  if (data === "") return [];
  const state = JSON.parse(data) as { resources?: Array<{ type: string; name: string }> };
  return (state.resources ?? []).map((r) => `${r.type}.${r.name}`).sort();
}

