/**
 * The Store's queries, written once through Kysely for both databases: SQLite (`sqlite-store.ts`,
 * one server) and PostgreSQL (`postgres-store.ts`, several replicas on one database).
 *
 * Every mutation is a single SQL statement — no multi-statement transactions (one exception,
 * `addWaiter` on PostgreSQL, below). On SQLite that
 * matters because better-sqlite3 is synchronous: a transaction spanning `await`s would hold the
 * write lock while the event loop runs other work, and a second connection in the same thread
 * would then wait for it *inside* SQLite's busy handler, blocking the thread that has to finish
 * the first — a deadlock until `busy_timeout`. A single statement never spans an `await`, is
 * atomic on its own on both databases, and the read-then-write methods are written as one
 * statement each:
 *
 * - `tryLock` / `addWaiter`: `INSERT … ON CONFLICT DO UPDATE SET <col> = <same col> RETURNING *`
 *   — inserts the row, or leaves the existing one untouched and returns it (the holder, or the
 *   waiter's original place). Exactly one of two racing callers inserts. `addWaiter` then counts
 *   who is ahead; on PostgreSQL both run in one transaction under an advisory lock on the queue
 *   (see there).
 * - `createJob` / `recordDelivery`: `INSERT … ON CONFLICT DO NOTHING RETURNING` — no row back
 *   means the key was used before.
 * - `removeProjects` / `releaseLock` / `releasePullLocks` / `removePullWaits`: `DELETE … RETURNING`
 *   — what is returned is exactly what this call removed.
 * - `claimJob`: `UPDATE jobs SET status = 'running', … WHERE id = (SELECT the oldest runnable
 *   queued job … [FOR UPDATE SKIP LOCKED]) AND status = 'queued' RETURNING *`. On PostgreSQL two
 *   replicas claiming at once skip each other's candidate row instead of waiting; a row another
 *   claimer changed meanwhile fails the `status = 'queued'` re-check, so it is never claimed
 *   twice. "Runnable" means no job with the same key is running and none is queued ahead of it,
 *   which keeps a pull request's jobs in order across replicas. On SQLite the statement holds the
 *   database's write lock, which serialises claimers.
 * - `renewLeases` / `finishJob` / `adoptJobs`: `UPDATE … WHERE worker = <me> / lease expired
 *   AND status = 'running' RETURNING` — a job taken over by another replica (its lease ran out)
 *   can no longer be finished or renewed by the worker that lost it, and each job is handed to
 *   one adopter.
 *
 * Repo owner/name are matched case-insensitively through lower-cased key columns; the spelling
 * last written is kept for display. Timestamps are expected as `Date#toISOString()` strings
 * (they are compared as text: FIFO order, leases, pruning). Lists whose order is shown to people
 * are sorted here rather than by the database, so both databases (and any collation) agree.
 */
import { sql, type ExpressionBuilder, type Kysely, type Generated, type Selectable, type Updateable } from "kysely";
import type { JobSpec } from "../jobs/job-spec.js";
import { queueKey } from "../jobs/job-spec.js";
import type { Project } from "../projects/project.js";
import type { BlobStore } from "../ports/blobs.js";
import type {
  ApplyState,
  CheckRunRecord,
  JobRecord,
  JobStatus,
  LockRecord,
  PlanState,
  ProjectState,
  RenameResult,
  RepoRef,
  Store,
  WaiterRecord,
} from "../ports/store.js";
import type { PlanSummary } from "../terraform/plan-summary-types.js";
import type { PlanDelta } from "../terraform/plan-delta.js";
import { createDatabaseBlobs } from "./database-blobs.js";
import { MIGRATION_NAMES, type StoreDialect } from "./store-migrations.js";

// --- table types (the schema after the latest migration; see store-migrations.ts) ---

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
  plan_blob: string | null;
  plan_digest: string | null;
  extra_args: string;
  summary: string | null;
  headline: string;
  output: string;
  plan_check_run_id: number | null;
  updated_at: string;
  why: string | null;
  since_push: string | null;
  fingerprint: string | null;
  carried_from: string | null;
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
  job_key: string;
  replica: string | null;
  worker: string | null;
  lease_expires_at: string | null;
  cancel_requested_by: string | null;
}

export interface DeliveriesTable {
  id: string;
  event: string;
  received_at: string;
}

export interface BlobsTable {
  key: string;
  data: Buffer;
  size: number;
  created_at: string;
}

export interface PlanHistoryTable extends ProjectColumns {
  id: Generated<number>;
  owner_key: string;
  repo_key: string;
  pull_number: number;
  head_sha: string;
  digest: string;
  changes: string;
  created_at: string;
}

export interface RepositoriesTable {
  id: number;
  owner_key: string;
  repo_key: string;
  owner: string;
  repo: string;
  updated_at: string;
}

export interface StoreTables {
  project_states: ProjectStatesTable;
  check_runs: CheckRunsTable;
  locks: LocksTable;
  waiters: WaitersTable;
  jobs: JobsTable;
  deliveries: DeliveriesTable;
  blobs: BlobsTable;
  job_logs: JobLogsTable;
  repositories: RepositoriesTable;
  plan_history: PlanHistoryTable;
}

export interface JobLogsTable {
  job_id: number;
  seq: number;
  text: string;
  created_at: string;
}

export interface StoreOptions {
  /** Clock for the timestamps the store sets itself (job `createdAt`, delivery receipt). */
  now?: () => Date;
}

/** What the opening code (SQLite or PostgreSQL) adds to the shared queries. */
export interface KyselyStoreOptions extends StoreOptions {
  dialect: StoreDialect;
  watchJobs?: Store["watchJobs"];
  /** Runs after `db` is destroyed on close (e.g. stop listening). */
  onClose?: () => Promise<void>;
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
  if (r.plan_blob !== null) s.planBlob = r.plan_blob;
  if (r.plan_digest !== null) s.planDigest = r.plan_digest;
  if (r.summary !== null) s.summary = JSON.parse(r.summary) as PlanSummary;
  if (r.plan_check_run_id !== null) s.planCheckRunId = r.plan_check_run_id;
  if (r.why !== null) s.why = r.why;
  if (r.since_push !== null) s.sincePush = JSON.parse(r.since_push) as PlanDelta;
  if (r.fingerprint !== null) s.fingerprint = r.fingerprint;
  if (r.carried_from !== null) s.carriedFrom = r.carried_from;
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
    key: r.job_key,
  };
  if (r.dedupe_key !== null) j.dedupeKey = r.dedupe_key;
  if (r.replica !== null) j.replica = r.replica;
  if (r.worker !== null) j.worker = r.worker;
  if (r.lease_expires_at !== null) j.leaseExpiresAt = r.lease_expires_at;
  if (r.started_at !== null) j.startedAt = r.started_at;
  if (r.finished_at !== null) j.finishedAt = r.finished_at;
  if (r.error !== null) j.error = r.error;
  if (r.cancel_requested_by !== null) j.cancelRequestedBy = r.cancel_requested_by;
  return j;
}

/** Lock listing order: by repo, then project (dir, workspace, name) — stable for display. */
function compareLocks(a: Selectable<LocksTable>, b: Selectable<LocksTable>): number {
  const ka = [a.owner_key, a.repo_key, a.project_dir, a.project_workspace, a.project_name];
  const kb = [b.owner_key, b.repo_key, b.project_dir, b.project_workspace, b.project_name];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return 0;
}

/** The columns a lock and a waiter share: which PR of which installation holds (or waits for) which project. */
function holderColumns(r: Pick<LockRecord, "repo" | "project" | "pullNumber" | "installationId" | "user">) {
  return { ...repoColumns(r.repo), ...projectColumns(r.project), pull_number: r.pullNumber, installation_id: r.installationId, user: r.user };
}

type WaiterKey = ReturnType<typeof repoKey> & ProjectColumns;

/** Insert the waiter, or keep the existing row (its queue time and id are its place in line); returns its 1-based position. */
async function queueWaiter(db: Kysely<StoreTables>, waiter: WaiterRecord, key: WaiterKey): Promise<number> {
  const mine = await db
    .insertInto("waiters")
    .values({ ...holderColumns(waiter), queued_at: waiter.queuedAt })
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
      eb.or([eb("queued_at", "<", mine.queued_at), eb.and([eb("queued_at", "=", mine.queued_at), eb("id", "<=", mine.id)])]),
    )
    .executeTakeFirstOrThrow();
  return Number(ahead.n);
}

/** Pending projects in a stable order: by repo, then pull request, then first insertion. */
function comparePending(a: Selectable<ProjectStatesTable>, b: Selectable<ProjectStatesTable>): number {
  const ka = [a.owner_key, a.repo_key];
  const kb = [b.owner_key, b.repo_key];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return a.pull_number - b.pull_number || a.id - b.id;
}

/**
 * The Store's queries over a Kysely database with the `StoreTables` schema (see the file
 * comment). Only `claimJob` differs by dialect. `close()` destroys `db`.
 */
export function createKyselyStore(db: Kysely<StoreTables>, options: KyselyStoreOptions): Store {
  const now = () => (options.now ? options.now() : new Date()).toISOString();
  const postgres = options.dialect === "postgres";
  const blobs: BlobStore = createDatabaseBlobs(db, now);
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
          plan_blob: state.planBlob ?? null,
          plan_digest: state.planDigest ?? null,
          extra_args: JSON.stringify(state.extraArgs),
          summary: state.summary === undefined ? null : JSON.stringify(state.summary),
          headline: state.headline,
          output: state.output,
          plan_check_run_id: state.planCheckRunId ?? null,
          updated_at: state.updatedAt,
          why: state.why ?? null,
          since_push: state.sincePush === undefined ? null : JSON.stringify(state.sincePush),
          fingerprint: state.fingerprint ?? null,
          carried_from: state.carriedFrom ?? null,
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
            plan_blob: eb.ref("excluded.plan_blob"),
            plan_digest: eb.ref("excluded.plan_digest"),
            extra_args: eb.ref("excluded.extra_args"),
            summary: eb.ref("excluded.summary"),
            headline: eb.ref("excluded.headline"),
            output: eb.ref("excluded.output"),
            plan_check_run_id: eb.ref("excluded.plan_check_run_id"),
            updated_at: eb.ref("excluded.updated_at"),
            why: eb.ref("excluded.why"),
            since_push: eb.ref("excluded.since_push"),
            fingerprint: eb.ref("excluded.fingerprint"),
            carried_from: eb.ref("excluded.carried_from"),
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
        .execute();
      return rows.sort(comparePending).map((r) => ({ repo: toRepo(r), pullNumber: r.pull_number, state: toProjectState(r) }));
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
        .values({ ...holderColumns(lock), locked_at: lock.lockedAt })
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
        .execute();
      return rows.sort(compareLocks).map(toLock);
    },

    async countLocks() {
      const row = await db
        .selectFrom("locks")
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async addWaiter(waiter) {
      const key = { ...repoKey(waiter.repo), ...projectColumns(waiter.project) };
      // Two statements (insert, then count who is ahead). On SQLite nothing can commit between
      // them out of id order. On PostgreSQL a concurrent insert with a lower id could commit after
      // our count and both callers would hear "position 1": one transaction per project queue,
      // serialised by an advisory lock on the queue's key, rules that out.
      if (postgres) {
        return db.transaction().execute(async (trx) => {
          await sql`SELECT pg_advisory_xact_lock(hashtext(${JSON.stringify(["waiters", key])}))`.execute(trx);
          return queueWaiter(trx, waiter, key);
        });
      }
      return queueWaiter(db, waiter, key);
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
          job_key: queueKey(spec),
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

    async countJobs(statuses) {
      if (statuses.length === 0) return 0;
      const row = await db
        .selectFrom("jobs")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("status", "in", statuses)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async claimJob(by, times) {
      // The oldest queued job whose pull request has nothing running and nothing queued ahead of it.
      const candidate = db
        .selectFrom("jobs as j")
        .select("j.id")
        .where("j.status", "=", "queued")
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom("jobs as o")
                .select("o.id")
                .whereRef("o.job_key", "=", "j.job_key")
                .where((o) => o.or([o("o.status", "=", "running"), o.and([o("o.status", "=", "queued"), o("o.id", "<", o.ref("j.id"))])])),
            ),
          ),
        )
        .orderBy("j.id")
        .limit(1)
        .$if(postgres, (qb) => qb.forUpdate().skipLocked());
      const row = await db
        .updateTable("jobs")
        .set({ status: "running", started_at: times.startedAt, replica: by.replica, worker: by.worker, lease_expires_at: times.leaseUntil })
        .where("id", "=", candidate)
        .where("status", "=", "queued")
        .returningAll()
        .executeTakeFirst();
      return row && toJob(row);
    },

    async renewLeases(worker, ids, leaseUntil) {
      if (ids.length === 0) return [];
      const rows = await db
        .updateTable("jobs")
        .set({ lease_expires_at: leaseUntil })
        .where("id", "in", ids)
        .where("worker", "=", worker)
        .where("status", "=", "running")
        .returning("id")
        .execute();
      return rows.map((r) => r.id).sort((a, b) => a - b);
    },

    async finishJob(id, worker, outcome) {
      const rows = await db
        .updateTable("jobs")
        .set({ status: outcome.status, finished_at: outcome.finishedAt, error: outcome.error ?? null, lease_expires_at: null })
        .where("id", "=", id)
        .where("worker", "=", worker)
        .where("status", "=", "running")
        .returning("id")
        .execute();
      return rows.length === 1;
    },

    async cancelQueuedJob(id, outcome) {
      const rows = await db
        .updateTable("jobs")
        .set({ status: "cancelled", finished_at: outcome.finishedAt, error: outcome.error })
        .where("id", "=", id)
        .where("status", "=", "queued")
        .returning("id")
        .execute();
      return rows.length === 1;
    },

    async requestJobCancel(id, by) {
      const rows = await db
        .updateTable("jobs")
        .set({ cancel_requested_by: by })
        .where("id", "=", id)
        .where("status", "=", "running")
        .returning("id")
        .execute();
      return rows.length === 1;
    },

    async adoptJobs(filter, worker, leaseUntil) {
      const rows = await db
        .updateTable("jobs")
        .set({ worker, lease_expires_at: leaseUntil })
        .where("status", "=", "running")
        .where((eb) =>
          "replica" in filter
            ? // Jobs from before replicas existed have no replica: every start takes them, as before.
              eb.or([eb("replica", "=", filter.replica), eb("replica", "is", null)])
            : eb.or([eb("lease_expires_at", "<", filter.leaseExpiredBefore), eb("lease_expires_at", "is", null)]),
        )
        .where((eb) => eb.or([eb("worker", "is", null), eb("worker", "!=", worker)]))
        .returningAll()
        .execute();
      return rows.sort((a, b) => a.id - b.id).map(toJob);
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

    async appendJobLog(jobId, seq, text) {
      // A repeated (jobId, seq) — a retried write — keeps the first.
      await db.insertInto("job_logs").values({ job_id: jobId, seq, text, created_at: now() }).onConflict((oc) => oc.columns(["job_id", "seq"]).doNothing()).execute();
    },

    async readJobLog(jobId, afterSeq = 0, maxChunks = 1000) {
      const rows = await db
        .selectFrom("job_logs")
        .select(["seq", "text"])
        .where("job_id", "=", jobId)
        .where("seq", ">", afterSeq)
        .orderBy("seq")
        .limit(maxChunks)
        .execute();
      return rows;
    },

    async pruneJobLogs(olderThan) {
      await db.deleteFrom("job_logs").where("created_at", "<", olderThan.toISOString()).execute();
    },

    async recentJobs(limit) {
      const rows = await db.selectFrom("jobs").selectAll().orderBy("id", "desc").limit(limit).execute();
      return rows.map(toJob);
    },

    async noteRepository(id, repo) {
      const row = await db.selectFrom("repositories").selectAll().where("id", "=", id).executeTakeFirst();
      const values = { ...repoColumns(repo), updated_at: now() };
      if (!row) {
        await db.insertInto("repositories").values({ id, ...values }).onConflict((oc) => oc.column("id").doNothing()).execute();
        return undefined;
      }
      if (row.owner === repo.owner && row.repo === repo.repo) return undefined;
      await db.updateTable("repositories").set(values).where("id", "=", id).execute();
      // Only the spelling changed: the keys (lower-cased) are the same, nothing moves.
      if (row.owner_key === values.owner_key && row.repo_key === values.repo_key) return undefined;
      return toRepo(row);
    },

    async renameRepository(from, to) {
      const fromKey = repoKey(from);
      const fromName = `${fromKey.owner_key}/${fromKey.repo_key}`;
      return db.transaction().execute(async (trx) => {
        const moved = async (table: "project_states" | "locks" | "waiters") =>
          (await trx.updateTable(table).set(repoColumns(to)).where((eb) => eb.and(fromKey)).returning("pull_number").execute()).length;
        const result: RenameResult = { projects: await moved("project_states"), locks: await moved("locks"), waiters: await moved("waiters"), jobs: 0 };
        await trx.updateTable("check_runs").set(repoKey(to)).where((eb) => eb.and(fromKey)).execute();
        await trx.updateTable("plan_history").set(repoKey(to)).where((eb) => eb.and(fromKey)).execute();
        const open = await trx.selectFrom("jobs").select(["id", "spec"]).where("status", "in", ["queued", "running"]).execute();
        for (const row of open) {
          const spec = JSON.parse(row.spec) as JobSpec;
          if (`${spec.owner}/${spec.repo}`.toLowerCase() !== fromName) continue;
          const renamed: JobSpec = { ...spec, owner: to.owner, repo: to.repo };
          await trx.updateTable("jobs").set({ spec: JSON.stringify(renamed), job_key: queueKey(renamed) }).where("id", "=", row.id).execute();
          result.jobs++;
        }
        return result;
      });
    },

    async forgetRepositories(scope, outcome) {
      const keys = scope.repos.map(repoKey);
      const matches = (eb: ExpressionBuilder<StoreTables, "locks" | "waiters">) =>
        eb.or([
          ...keys.map((k) => eb.and(k)),
          ...(scope.installationId !== undefined ? [eb("installation_id", "=", scope.installationId)] : []),
        ]);
      return db.transaction().execute(async (trx) => {
        const locks = keys.length || scope.installationId !== undefined ? await trx.deleteFrom("locks").where(matches).returningAll().execute() : [];
        const waiters = keys.length || scope.installationId !== undefined ? await trx.deleteFrom("waiters").where(matches).returningAll().execute() : [];
        const names = new Set(keys.map((k) => `${k.owner_key}/${k.repo_key}`));
        for (const r of [...locks, ...waiters]) names.add(`${r.owner_key}/${r.repo_key}`);
        const open = await trx.selectFrom("jobs").select(["id", "spec", "status"]).where("status", "in", ["queued", "running"]).orderBy("id").execute();
        const hit = open.filter((row) => {
          const spec = JSON.parse(row.spec) as JobSpec;
          const name = `${spec.owner}/${spec.repo}`.toLowerCase();
          const ours = names.has(name) || (scope.installationId !== undefined && spec.installationId === scope.installationId);
          if (ours) names.add(name);
          return ours;
        });
        const queued = hit.filter((r) => r.status === "queued").map((r) => r.id);
        const running = hit.filter((r) => r.status === "running").map((r) => r.id);
        if (queued.length) {
          await trx.updateTable("jobs").set({ status: "cancelled", finished_at: outcome.at, error: outcome.reason }).where("id", "in", queued).where("status", "=", "queued").execute();
        }
        if (running.length) await trx.updateTable("jobs").set({ cancel_requested_by: outcome.stopBy }).where("id", "in", running).execute();
        const repos = [...names].map((n) => {
          const [owner_key = "", repo_key = ""] = n.split("/");
          return { owner_key, repo_key };
        });
        const inRepos = (eb: ExpressionBuilder<StoreTables, "project_states" | "check_runs" | "plan_history">) => eb.or(repos.map((k) => eb.and(k)));
        const projects = repos.length ? await trx.deleteFrom("project_states").where(inRepos).returningAll().execute() : [];
        if (repos.length) {
          await trx.deleteFrom("check_runs").where(inRepos).execute();
          await trx.deleteFrom("plan_history").where(inRepos).execute();
        }
        return {
          locks: locks.sort(compareLocks).map(toLock),
          waiters: waiters.sort((a, b) => a.id - b.id).map(toWaiter),
          projects: projects.sort(comparePending).map(toProjectState),
          cancelledJobs: queued,
          stoppingJobs: running,
        };
      });
    },

    async recordPlanHistory(repo, pullNumber, entry) {
      await db
        .insertInto("plan_history")
        .values({
          ...repoKey(repo),
          pull_number: pullNumber,
          ...projectColumns(entry.project),
          head_sha: entry.headSha,
          digest: entry.digest,
          changes: JSON.stringify(entry.changes),
          created_at: entry.createdAt,
        })
        .execute();
    },

    async listPlanHistory(repo, pullNumber) {
      const rows = await db
        .selectFrom("plan_history")
        .selectAll()
        .where((eb) => eb.and({ ...repoKey(repo), pull_number: pullNumber }))
        .orderBy("id")
        .execute();
      return rows.map((r) => ({
        project: toProject(r),
        headSha: r.head_sha,
        digest: r.digest,
        changes: JSON.parse(r.changes) as Record<string, string>,
        createdAt: r.created_at,
      }));
    },

    async deletePull(repo, pullNumber) {
      // Check runs are keyed by commit, not PR, and stay; locks and queues are released by callers.
      for (const table of ["project_states", "plan_history"] as const) {
        await db
          .deleteFrom(table)
          .where((eb) => eb.and({ ...repoKey(repo), pull_number: pullNumber }))
          .execute();
      }
    },

    blobs,

    ...(options.watchJobs ? { watchJobs: options.watchJobs } : {}),

    async checkReady() {
      // One query proves the database answers and says which migrations ran.
      const rows = await db.selectFrom("kysely_migration" as never).select("name" as never).execute();
      const done = new Set((rows as { name: string }[]).map((r) => r.name));
      const missing = MIGRATION_NAMES.filter((n) => !done.has(n));
      const unknown = [...done].filter((n) => !MIGRATION_NAMES.includes(n));
      if (missing.length) throw new Error(`the database lacks migrations ${missing.join(", ")}`);
      if (unknown.length) throw new Error(`the database has migrations this version does not know (${unknown.join(", ")}): it was migrated by a newer Atoll`);
    },

    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      await options.onClose?.();
    },
  };
}

