/**
 * The durable `Store`: an SQLite file (better-sqlite3) written through Kysely.
 *
 * Why every mutation is a single SQL statement (and there are no multi-statement transactions):
 * better-sqlite3 is synchronous, so a transaction that spans `await`s would hold SQLite's write
 * lock while the event loop runs other work; a second connection in the same thread (another
 * Store on the same file) would then wait for that lock *inside* SQLite's busy handler, which
 * blocks the thread that has to finish the first transaction — a deadlock until `busy_timeout`.
 * A single statement never spans an `await`, is atomic on its own, and takes the write lock
 * before it reads (SQLite starts a write statement with a write transaction), so the
 * read-then-write methods are written as one statement each:
 *
 * - `tryLock` / `addWaiter`: `INSERT … ON CONFLICT DO UPDATE SET <col> = <same col> RETURNING *`
 *   — inserts the row, or leaves the existing one untouched and returns it (the holder, or the
 *   waiter's original place). Exactly one of two racing callers inserts.
 * - `createJob` / `recordDelivery`: `INSERT … ON CONFLICT DO NOTHING RETURNING` — no row back
 *   means the key was used before.
 * - `removeProjects` / `releaseLock` / `releasePullLocks` / `removePullWaits`: `DELETE … RETURNING`
 *   — what is returned is exactly what this call removed.
 *
 * The same statements run unchanged on PostgreSQL (ON CONFLICT, RETURNING and `excluded.` are
 * shared syntax), which is why the queries are in `createKyselyStore`, independent of the
 * dialect; `openSqliteStore` only adds the SQLite connection setup and migrations.
 *
 * Repo owner/name are matched case-insensitively through lower-cased key columns; the spelling
 * last written is kept for display. Timestamps are expected as `Date#toISOString()` strings
 * (they are compared as text: FIFO order, pruning).
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import Database from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, type Generated, type Selectable, type Updateable } from "kysely";
import type { JobSpec } from "../jobs/job-spec.js";
import type { Project } from "../projects/project.js";
import type {
  ApplyState,
  CheckRunRecord,
  JobRecord,
  JobStatus,
  LockRecord,
  PlanState,
  ProjectState,
  RepoRef,
  Store,
  WaiterRecord,
} from "../ports/store.js";
import type { PlanSummary } from "../terraform/plan-summary-types.js";
import { MIGRATION_NAMES, sqliteMigrationProvider } from "./sqlite-migrations.js";

/** How long a statement waits for another connection's write lock before failing (ms). */
export const BUSY_TIMEOUT_MS = 10_000;

// --- table types (the schema after the latest migration; see sqlite-migrations.ts) ---

interface RepoColumns {
  owner_key: string;
  repo_key: string;
  owner: string;
  repo: string;
}

interface ProjectColumns {
  project_name: string;
  project_dir: string;
  project_workspace: string;
}

export interface ProjectStatesTable extends RepoColumns, ProjectColumns {
  id: Generated<number>;
  pull_number: number;
  head_sha: string;
  base_sha: string | null;
  plan: string;
  has_changes: number;
  apply: string;
  plan_file: string | null;
  plan_digest: string | null;
  extra_args: string;
  summary: string | null;
  headline: string;
  output: string;
  plan_check_run_id: number | null;
  updated_at: string;
}

export interface CheckRunsTable {
  owner_key: string;
  repo_key: string;
  head_sha: string;
  name: string;
  id: number;
  status: string;
  updated_at: string;
}

export interface LocksTable extends RepoColumns, ProjectColumns {
  pull_number: number;
  installation_id: number;
  user: string;
  locked_at: string;
}

export interface WaitersTable extends RepoColumns, ProjectColumns {
  id: Generated<number>;
  pull_number: number;
  installation_id: number;
  user: string;
  queued_at: string;
}

export interface JobsTable {
  id: Generated<number>;
  spec: string;
  status: string;
  dedupe_key: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  processes: string;
}

export interface DeliveriesTable {
  id: string;
  event: string;
  received_at: string;
}

export interface StoreTables {
  project_states: ProjectStatesTable;
  check_runs: CheckRunsTable;
  locks: LocksTable;
  waiters: WaitersTable;
  jobs: JobsTable;
  deliveries: DeliveriesTable;
}

export interface StoreOptions {
  /** Clock for the timestamps the store sets itself (job `createdAt`, delivery receipt). */
  now?: () => Date;
}

// --- row mapping ---

const PROJECT_KEY = ["project_name", "project_dir", "project_workspace"] as const;
const FINISHED: JobStatus[] = ["succeeded", "failed", "interrupted"];

function repoKey(repo: RepoRef): { owner_key: string; repo_key: string } {
  return { owner_key: repo.owner.toLowerCase(), repo_key: repo.repo.toLowerCase() };
}

function repoColumns(repo: RepoRef): RepoColumns {
  return { ...repoKey(repo), owner: repo.owner, repo: repo.repo };
}

function projectColumns(p: Project): ProjectColumns {
  return { project_name: p.name, project_dir: p.dir, project_workspace: p.workspace };
}

function toRepo(r: RepoColumns): RepoRef {
  return { owner: r.owner, repo: r.repo };
}

function toProject(r: ProjectColumns): Project {
  return { name: r.project_name, dir: r.project_dir, workspace: r.project_workspace };
}

function toProjectState(r: Selectable<ProjectStatesTable>): ProjectState {
  const s: ProjectState = {
    project: toProject(r),
    headSha: r.head_sha,
    plan: r.plan as PlanState,
    hasChanges: r.has_changes !== 0,
    apply: r.apply as ApplyState,
    extraArgs: JSON.parse(r.extra_args) as string[],
    headline: r.headline,
    output: r.output,
    updatedAt: r.updated_at,
  };
  // Optional fields are left out (not set to undefined) when absent, like the objects callers built.
  if (r.base_sha !== null) s.baseSha = r.base_sha;
  if (r.plan_file !== null) s.planFile = r.plan_file;
  if (r.plan_digest !== null) s.planDigest = r.plan_digest;
  if (r.summary !== null) s.summary = JSON.parse(r.summary) as PlanSummary;
  if (r.plan_check_run_id !== null) s.planCheckRunId = r.plan_check_run_id;
  return s;
}

function toLock(r: Selectable<LocksTable>): LockRecord {
  return {
    repo: toRepo(r),
    project: toProject(r),
    pullNumber: r.pull_number,
    installationId: r.installation_id,
    user: r.user,
    lockedAt: r.locked_at,
  };
}

function toWaiter(r: Selectable<WaitersTable>): WaiterRecord {
  return {
    repo: toRepo(r),
    project: toProject(r),
    pullNumber: r.pull_number,
    installationId: r.installation_id,
    user: r.user,
    queuedAt: r.queued_at,
  };
}

function toJob(r: Selectable<JobsTable>): JobRecord {
  const j: JobRecord = {
    id: r.id,
    spec: JSON.parse(r.spec) as JobSpec,
    status: r.status as JobStatus,
    createdAt: r.created_at,
    processes: JSON.parse(r.processes) as JobRecord["processes"],
  };
  if (r.dedupe_key !== null) j.dedupeKey = r.dedupe_key;
  if (r.started_at !== null) j.startedAt = r.started_at;
  if (r.finished_at !== null) j.finishedAt = r.finished_at;
  if (r.error !== null) j.error = r.error;
  return j;
}

/** Lock listing order: by repo, then project (dir, workspace, name) — stable for display. */
function compareLocks(a: Selectable<LocksTable>, b: Selectable<LocksTable>): number {
  const ka = [a.owner_key, a.repo_key, a.project_dir, a.project_workspace, a.project_name];
  const kb = [b.owner_key, b.repo_key, b.project_dir, b.project_workspace, b.project_name];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return 0;
}

/**
 * The Store's queries over any Kysely database with the `StoreTables` schema. Dialect-neutral on
 * purpose (see the file comment): a PostgreSQL store can wrap a PostgreSQL `Kysely` with it.
 * `close()` destroys `db`.
 */
export function createKyselyStore(db: Kysely<StoreTables>, options: StoreOptions = {}): Store {
  const now = () => (options.now ? options.now() : new Date()).toISOString();
  let closed = false;

  return {
    async listProjects(repo, pullNumber) {
      const rows = await db
        .selectFrom("project_states")
        .selectAll()
        .where((eb) => eb.and({ ...repoKey(repo), pull_number: pullNumber }))
        .orderBy("id")
        .execute();
      return rows.map(toProjectState);
    },

    async upsertProject(repo, pullNumber, state) {
      await db
        .insertInto("project_states")
        .values({
          ...repoColumns(repo),
          ...projectColumns(state.project),
          pull_number: pullNumber,
          head_sha: state.headSha,
          base_sha: state.baseSha ?? null,
          plan: state.plan,
          has_changes: state.hasChanges ? 1 : 0,
          apply: state.apply,
          plan_file: state.planFile ?? null,
          plan_digest: state.planDigest ?? null,
          extra_args: JSON.stringify(state.extraArgs),
          summary: state.summary === undefined ? null : JSON.stringify(state.summary),
          headline: state.headline,
          output: state.output,
          plan_check_run_id: state.planCheckRunId ?? null,
          updated_at: state.updatedAt,
        })
        .onConflict((oc) =>
          oc.columns(["owner_key", "repo_key", "pull_number", ...PROJECT_KEY]).doUpdateSet((eb) => ({
            owner: eb.ref("excluded.owner"),
            repo: eb.ref("excluded.repo"),
            head_sha: eb.ref("excluded.head_sha"),
            base_sha: eb.ref("excluded.base_sha"),
            plan: eb.ref("excluded.plan"),
            has_changes: eb.ref("excluded.has_changes"),
            apply: eb.ref("excluded.apply"),
            plan_file: eb.ref("excluded.plan_file"),
            plan_digest: eb.ref("excluded.plan_digest"),
            extra_args: eb.ref("excluded.extra_args"),
            summary: eb.ref("excluded.summary"),
            headline: eb.ref("excluded.headline"),
            output: eb.ref("excluded.output"),
            plan_check_run_id: eb.ref("excluded.plan_check_run_id"),
            updated_at: eb.ref("excluded.updated_at"),
          })),
        )
        .execute();
    },

    async removeProjects(repo, pullNumber, projects) {
      if (projects && projects.length === 0) return [];
      const rows = await db
        .deleteFrom("project_states")
        .where((eb) => eb.and({ ...repoKey(repo), pull_number: pullNumber }))
        .$if(projects !== undefined, (qb) =>
          qb.where((eb) => eb.or((projects ?? []).map((p) => eb.and({ ...projectColumns(p) })))),
        )
        .returningAll()
        .execute();
      return rows.sort((a, b) => a.id - b.id).map(toProjectState);
    },

    async listPendingProjects() {
      const rows = await db
        .selectFrom("project_states")
        .selectAll()
        .where((eb) => eb.or([eb("plan", "=", "pending"), eb("apply", "=", "pending")]))
        .orderBy("owner_key")
        .orderBy("repo_key")
        .orderBy("pull_number")
        .orderBy("id")
        .execute();
      return rows.map((r) => ({ repo: toRepo(r), pullNumber: r.pull_number, state: toProjectState(r) }));
    },

    async getCheckRun(repo, headSha, name) {
      const row = await db
        .selectFrom("check_runs")
        .select(["id", "status"])
        .where((eb) => eb.and({ ...repoKey(repo), head_sha: headSha.toLowerCase(), name }))
        .executeTakeFirst();
      return row && { id: row.id, status: row.status as CheckRunRecord["status"] };
    },

    async setCheckRun(repo, headSha, name, record) {
      await db
        .insertInto("check_runs")
        .values({
          ...repoKey(repo),
          head_sha: headSha.toLowerCase(),
          name,
          id: record.id,
          status: record.status,
          updated_at: now(),
        })
        .onConflict((oc) =>
          oc.columns(["owner_key", "repo_key", "head_sha", "name"]).doUpdateSet((eb) => ({
            id: eb.ref("excluded.id"),
            status: eb.ref("excluded.status"),
            updated_at: eb.ref("excluded.updated_at"),
          })),
        )
        .execute();
    },

    async tryLock(lock) {
      // Insert, or "update" the existing row to itself so RETURNING hands back the holder.
      const row = await db
        .insertInto("locks")
        .values({
          ...repoColumns(lock.repo),
          ...projectColumns(lock.project),
          pull_number: lock.pullNumber,
          installation_id: lock.installationId,
          user: lock.user,
          locked_at: lock.lockedAt,
        })
        .onConflict((oc) =>
          oc
            .columns(["owner_key", "repo_key", ...PROJECT_KEY])
            .doUpdateSet((eb) => ({ pull_number: eb.ref("locks.pull_number") })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      const record = toLock(row);
      return row.pull_number === lock.pullNumber ? { acquired: true, lock: record } : { acquired: false, holder: record };
    },

    async getLock(repo, project) {
      const row = await db
        .selectFrom("locks")
        .selectAll()
        .where((eb) => eb.and({ ...repoKey(repo), ...projectColumns(project) }))
        .executeTakeFirst();
      return row && toLock(row);
    },

    async releaseLock(repo, project, pullNumber) {
      const row = await db
        .deleteFrom("locks")
        .where((eb) => eb.and({ ...repoKey(repo), ...projectColumns(project), pull_number: pullNumber }))
        .returningAll()
        .executeTakeFirst();
      return row && toLock(row);
    },

    async releasePullLocks(repo, pullNumber) {
      const rows = await db
        .deleteFrom("locks")
        .where((eb) => eb.and({ ...repoKey(repo), pull_number: pullNumber }))
        .returningAll()
        .execute();
      return rows.sort(compareLocks).map(toLock);
    },

    async listLocks(repo) {
      const rows = await db
        .selectFrom("locks")
        .selectAll()
        .$if(repo !== undefined, (qb) => qb.where((eb) => eb.and(repoKey(repo as RepoRef))))
        .orderBy("owner_key")
        .orderBy("repo_key")
        .orderBy("project_dir")
        .orderBy("project_workspace")
        .orderBy("project_name")
        .execute();
      return rows.map(toLock);
    },

    async addWaiter(waiter) {
      const key = { ...repoKey(waiter.repo), ...projectColumns(waiter.project) };
      // Insert, or keep the existing row (its queue time and id are its place in line).
      const mine = await db
        .insertInto("waiters")
        .values({
          ...repoColumns(waiter.repo),
          ...projectColumns(waiter.project),
          pull_number: waiter.pullNumber,
          installation_id: waiter.installationId,
          user: waiter.user,
          queued_at: waiter.queuedAt,
        })
        .onConflict((oc) =>
          oc
            .columns(["owner_key", "repo_key", ...PROJECT_KEY, "pull_number"])
            .doUpdateSet((eb) => ({ pull_number: eb.ref("waiters.pull_number") })),
        )
        .returning(["id", "queued_at"])
        .executeTakeFirstOrThrow();
      const ahead = await db
        .selectFrom("waiters")
        .select((eb) => eb.fn.countAll().as("n"))
        .where((eb) => eb.and(key))
        .where((eb) =>
          eb.or([
            eb("queued_at", "<", mine.queued_at),
            eb.and([eb("queued_at", "=", mine.queued_at), eb("id", "<=", mine.id)]),
          ]),
        )
        .executeTakeFirstOrThrow();
      return Number(ahead.n);
    },

    async listWaiters(repo, project) {
      const rows = await db
        .selectFrom("waiters")
        .selectAll()
        .where((eb) => eb.and({ ...repoKey(repo), ...projectColumns(project) }))
        .orderBy("queued_at")
        .orderBy("id")
        .execute();
      return rows.map(toWaiter);
    },

    async removeWaiter(repo, project, pullNumber) {
      await db
        .deleteFrom("waiters")
        .where((eb) => eb.and({ ...repoKey(repo), ...projectColumns(project), pull_number: pullNumber }))
        .execute();
    },

    async removePullWaits(repo, pullNumber) {
      const rows = await db
        .deleteFrom("waiters")
        .where((eb) => eb.and({ ...repoKey(repo), pull_number: pullNumber }))
        .returningAll()
        .execute();
      return rows.sort((a, b) => a.id - b.id).map(toWaiter);
    },

    async createJob(spec, dedupeKey) {
      const row = await db
        .insertInto("jobs")
        .values({
          spec: JSON.stringify(spec),
          status: "queued",
          dedupe_key: dedupeKey ?? null,
          created_at: now(),
          processes: "[]",
        })
        // NULL keys never conflict, so jobs without a dedupe key are always created.
        .onConflict((oc) => oc.column("dedupe_key").doNothing())
        .returningAll()
        .executeTakeFirst();
      return row && toJob(row);
    },

    async getJob(id) {
      const row = await db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
      return row && toJob(row);
    },

    async updateJob(id, patch) {
      // A key present with the value undefined clears that optional field (e.g. `error` on retry);
      // absent keys are left alone. `status` cannot be cleared. Unknown ids are ignored.
      const set: Updateable<JobsTable> = {};
      if (patch.status !== undefined) set.status = patch.status;
      if ("startedAt" in patch) set.started_at = patch.startedAt ?? null;
      if ("finishedAt" in patch) set.finished_at = patch.finishedAt ?? null;
      if ("error" in patch) set.error = patch.error ?? null;
      if ("processes" in patch) set.processes = JSON.stringify(patch.processes ?? []);
      if (Object.keys(set).length === 0) return;
      await db.updateTable("jobs").set(set).where("id", "=", id).execute();
    },

    async listJobs(statuses) {
      if (statuses.length === 0) return [];
      const rows = await db.selectFrom("jobs").selectAll().where("status", "in", statuses).orderBy("id").execute();
      return rows.map(toJob);
    },

    async recordDelivery(deliveryId, event) {
      const row = await db
        .insertInto("deliveries")
        .values({ id: deliveryId, event, received_at: now() })
        .onConflict((oc) => oc.column("id").doNothing())
        .returning("id")
        .executeTakeFirst();
      return row !== undefined;
    },

    async prune(olderThan) {
      const cutoff = olderThan.toISOString();
      await db.deleteFrom("deliveries").where("received_at", "<", cutoff).execute();
      // A finished job without `finishedAt` (it should not happen) is aged by its creation time.
      await db
        .deleteFrom("jobs")
        .where("status", "in", FINISHED)
        .where((eb) => eb(eb.fn.coalesce("finished_at", "created_at"), "<", cutoff))
        .execute();
    },

    async deletePull(repo, pullNumber) {
      // Check runs are keyed by commit, not PR, and stay; locks and queues are released by callers.
      await db
        .deleteFrom("project_states")
        .where((eb) => eb.and({ ...repoKey(repo), pull_number: pullNumber }))
        .execute();
    },

    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

// --- opening the SQLite file ---

/**
 * Opens of the same file in this process, one after another: a migration holds the write lock
 * across `await`s, and a second connection of the same thread asking for it would block the
 * thread in SQLite's busy handler (see the file comment). Other processes just wait for the lock.
 */
const opening = new Map<string, Promise<unknown>>();

async function oneOpenAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = opening.get(key) ?? Promise.resolve();
  const run = previous.then(fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  opening.set(key, tail);
  try {
    return await run;
  } finally {
    if (opening.get(key) === tail) opening.delete(key);
  }
}

/**
 * Switch the file to WAL. Switching needs an exclusive lock, and when several processes open a
 * fresh file at once SQLite answers SQLITE_BUSY at once instead of calling the busy handler
 * (waiting could deadlock two connections that both hold a shared lock), so retry here, up to
 * the busy timeout. WAL is persistent: once one opener has switched, the others find it set.
 */
async function enableWal(raw: Database.Database): Promise<void> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      raw.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw error;
      await delay(10 + Math.floor(Math.random() * 40));
    }
  }
}

/** True unless the file has run exactly the migrations this code knows (fast path on reopen). */
function needsMigration(raw: Database.Database): boolean {
  const table = raw.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'").get();
  if (table === undefined) return true;
  const done = new Set(raw.prepare("SELECT name FROM kysely_migration").pluck().all() as string[]);
  return done.size !== MIGRATION_NAMES.length || MIGRATION_NAMES.some((name) => !done.has(name));
}

/**
 * Run pending migrations inside one `BEGIN IMMEDIATE` transaction: processes opening the same
 * file at once are serialised by SQLite's write lock (Kysely's SQLite adapter has no migration
 * lock of its own), and a failed migration leaves no half-built schema behind. Kysely issues no
 * transaction statements of its own for SQLite, so its queries run inside this one.
 */
async function migrate(db: Kysely<StoreTables>, raw: Database.Database, file: string): Promise<void> {
  if (!needsMigration(raw)) return;
  raw.exec("BEGIN IMMEDIATE");
  try {
    const { error, results } = await new Migrator({ db, provider: sqliteMigrationProvider }).migrateToLatest();
    if (error !== undefined) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName;
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `SQLite store ${file}: ${failed ? `migration ${failed} failed` : "migrations failed"}: ${message}`,
        { cause: error },
      );
    }
    raw.exec("COMMIT");
  } finally {
    if (raw.inTransaction) raw.exec("ROLLBACK");
  }
}

/**
 * Open (creating it and its parent directories if needed) the SQLite store at `file`, migrated to
 * the latest schema. `":memory:"` gives a private in-memory database (tests).
 *
 * The connection uses WAL (readers don't block the writer; other processes may use the file),
 * a busy timeout (a statement waits for another connection's write instead of failing), and
 * `foreign_keys=ON`.
 */
export async function openSqliteStore(file: string, options: StoreOptions = {}): Promise<Store> {
  const inMemory = file === ":memory:";
  const path = inMemory ? file : resolve(file);
  return oneOpenAtATime(path, async () => {
    let raw: Database.Database;
    try {
      if (!inMemory) mkdirSync(dirname(path), { recursive: true });
      raw = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    } catch (error) {
      throw new Error(`SQLite store ${file}: cannot open: ${(error as Error).message}`, { cause: error });
    }
    const db = new Kysely<StoreTables>({ dialect: new SqliteDialect({ database: raw }) });
    try {
      raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      await enableWal(raw);
      raw.pragma("foreign_keys = ON");
      await migrate(db, raw, file);
    } catch (error) {
      await db.destroy();
      if ((error as Error).message.startsWith(`SQLite store ${file}:`)) throw error;
      throw new Error(`SQLite store ${file}: cannot open: ${(error as Error).message}`, { cause: error });
    }
    return createKyselyStore(db, options);
  });
}
