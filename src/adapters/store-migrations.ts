/**
 * Schema migrations of Atoll's store, as in-code Kysely `MigrationProvider`s — the same list for
 * SQLite (one server) and PostgreSQL (several replicas).
 *
 * Migrations live in code (not in a directory read at run time) so the built app carries them
 * and no file-system layout has to survive bundling. They are numbered ("0001_…") because Kysely
 * runs them in name order, and they are **append-only**: a released migration is never edited
 * or removed (a database that ran it records its name in `kysely_migration`, and Kysely refuses
 * to start when a recorded migration is missing). Change the schema by adding the next number.
 * Where the two databases need different column types, a migration asks `types(dialect)`; the
 * SQL a migration runs on SQLite never changes once released.
 *
 * Schema (as of the latest migration)
 * ------------------------------------
 * Repository owner/name appear twice where they identify something: `owner_key`/`repo_key` are
 * lower-cased (GitHub logins and repo names are case-insensitive, so keys and lookups use these)
 * and `owner`/`repo` keep the spelling last written, for display. A project's identity is three
 * columns, `project_name` ("" when unnamed), `project_dir` and `project_workspace`, never a
 * joined string, so queries can filter on each part and no separator can collide.
 * Timestamps are ISO-8601 strings as produced by `Date#toISOString()` (UTC, fixed width), which
 * sort and compare correctly as text. JSON values are stored as TEXT. GitHub ids (check runs,
 * installations) are 64-bit integers (`bigint` on PostgreSQL).
 *
 * - `project_states` — what Atoll knows about one project of one pull request.
 *   `id` PK (first-insertion order; an upsert keeps it),
 *   UNIQUE (owner_key, repo_key, pull_number, project_name, project_dir, project_workspace),
 *   owner, repo, head_sha, base_sha NULL, plan, has_changes (0/1), apply, plan_blob NULL (key of
 *   the saved plan file in `blobs`), plan_digest NULL, extra_args (JSON array), summary NULL
 *   (JSON PlanSummary), headline, output, plan_check_run_id NULL, updated_at, why NULL (why it
 *   was planned), since_push NULL (JSON PlanDelta: what changed since the previous push's plan),
 *   fingerprint NULL (of the project's inputs when planned), carried_from NULL (the commit a
 *   plan carried to this head was made at).
 *   Index on (plan, apply) for crash recovery's "everything pending" scan.
 * - `check_runs` — the latest check run Atoll created per name on a commit.
 *   PK (owner_key, repo_key, head_sha, name); head_sha is lower-cased (hex); id, status,
 *   updated_at (not read by the Store today; kept so old rows can be pruned later).
 * - `locks` — one pull request owns a project of a repo.
 *   PK (owner_key, repo_key, project_name, project_dir, project_workspace); owner, repo,
 *   pull_number, installation_id, user, locked_at. Index (owner_key, repo_key, pull_number).
 * - `waiters` — pull requests queued for a project lock, FIFO per project.
 *   `id` PK (insertion order, the FIFO tie-breaker),
 *   UNIQUE (owner_key, repo_key, project_name, project_dir, project_workspace, pull_number),
 *   owner, repo, installation_id, user, queued_at. Index (owner_key, repo_key, pull_number).
 * - `jobs` — persisted jobs. `id` PK, spec (JSON JobSpec), status, dedupe_key UNIQUE NULL (NULLs
 *   never collide), created_at, started_at NULL, finished_at NULL, error NULL, processes (JSON
 *   array of {pid, startTime}), job_key (jobs with the same key — one pull request — run one
 *   after another, in id order), replica NULL (the replica that claimed it), worker NULL (the
 *   process holding its lease), lease_expires_at NULL and cancel_requested_by NULL (who asked a
 *   running job to stop before its next execution-order group). Indexes on status and
 *   (job_key, status, id).
 * - `job_logs` — what a job's terraform printed (the web UI's job page). PK (job_id, seq); text,
 *   created_at (indexed, for the retention cut). Not a foreign key: a log may outlive its job row.
 * - `deliveries` — webhook deliveries already accepted. `id` TEXT PK, event, received_at
 *   (indexed, for pruning).
 * - `blobs` — files a later job needs, whichever replica runs it (saved plan files).
 *   `key` TEXT PK, data (BLOB / bytea), size, created_at.
 * - `plan_history` — every successful plan of a pull request's projects: `id` PK (order),
 *   owner_key, repo_key, pull_number, project_name, project_dir, project_workspace, head_sha,
 *   digest (of the plan, without its timestamp), changes (JSON: address → action), created_at.
 *   Index (owner_key, repo_key, pull_number). Approvals are bound to the plan they saw by it.
 * - `repositories` — the name Atoll last saw for each GitHub repository id (`id` PK, bigint),
 *   owner_key, repo_key, owner, repo, updated_at: a rename or transfer moves the rows above that
 *   are keyed by the old name (`Store.renameRepository`).
 *
 * PostgreSQL only: a trigger on `jobs` sends `NOTIFY atoll_jobs` when a job is queued or
 * finishes, so idle replicas claim new work at once (they also poll, in case a notification is
 * missed while reconnecting).
 *
 * Kysely's own `kysely_migration` / `kysely_migration_lock` tables record which migrations ran.
 */
import { readFile } from "node:fs/promises";
import { sql, type Kysely, type Migration, type MigrationProvider } from "kysely";

export type StoreDialect = "sqlite" | "postgres";

/** The PostgreSQL channel a new or finished job is announced on. */
export const JOBS_CHANNEL = "atoll_jobs";

/** The project identity columns, in key order. */
const PROJECT_COLUMNS = ["project_name", "project_dir", "project_workspace"] as const;

/** Column types that differ between the two databases. */
function types(dialect: StoreDialect) {
  return dialect === "postgres"
    ? { id: "serial", bigint: "bigint", bytes: "bytea" }
    : { id: "integer", bigint: "integer", bytes: "blob" };
}

/**
 * Key of an imported plan file in `blobs` — the format of `planBlobKey` (runner/saved-plans.ts)
 * when 0002 was written; keys are stored with each plan, so later formats may differ.
 */
function legacyPlanKey(row: Record<string, unknown>): string {
  const e = (v: unknown) => encodeURIComponent(String(v));
  const project = `${e(row.project_name)},${e(row.project_dir)},${e(row.project_workspace)}`;
  return `plans/${e(row.owner_key)}/${e(row.repo_key)}/${row.pull_number}/${String(row.head_sha).toLowerCase()}/${project}.tfplan`;
}

function migrations(dialect: StoreDialect): Record<string, Migration> {
  const t = types(dialect);
  /** An integer primary key assigned in insertion order. */
  const idColumn = (db: Kysely<any>, table: string) =>
    db.schema
      .createTable(table)
      .addColumn("id", t.id as "integer", (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()));
  return {
    "0001_initial": {
      // Migrations see the schema as it was when they were written, hence `Kysely<any>`.
      async up(db: Kysely<any>): Promise<void> {
        await idColumn(db, "project_states")
          .addColumn("owner_key", "text", (c) => c.notNull())
          .addColumn("repo_key", "text", (c) => c.notNull())
          .addColumn("owner", "text", (c) => c.notNull())
          .addColumn("repo", "text", (c) => c.notNull())
          .addColumn("pull_number", "integer", (c) => c.notNull())
          .addColumn("project_name", "text", (c) => c.notNull())
          .addColumn("project_dir", "text", (c) => c.notNull())
          .addColumn("project_workspace", "text", (c) => c.notNull())
          .addColumn("head_sha", "text", (c) => c.notNull())
          .addColumn("base_sha", "text")
          .addColumn("plan", "text", (c) => c.notNull())
          .addColumn("has_changes", "integer", (c) => c.notNull())
          .addColumn("apply", "text", (c) => c.notNull())
          .addColumn("plan_file", "text")
          .addColumn("plan_digest", "text")
          .addColumn("extra_args", "text", (c) => c.notNull())
          .addColumn("summary", "text")
          .addColumn("headline", "text", (c) => c.notNull())
          .addColumn("output", "text", (c) => c.notNull())
          .addColumn("plan_check_run_id", t.bigint as "integer")
          .addColumn("updated_at", "text", (c) => c.notNull())
          .addUniqueConstraint("project_states_identity", ["owner_key", "repo_key", "pull_number", ...PROJECT_COLUMNS])
          .execute();
        await db.schema.createIndex("project_states_plan_apply").on("project_states").columns(["plan", "apply"]).execute();

        await db.schema
          .createTable("check_runs")
          .addColumn("owner_key", "text", (c) => c.notNull())
          .addColumn("repo_key", "text", (c) => c.notNull())
          .addColumn("head_sha", "text", (c) => c.notNull())
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("id", t.bigint as "integer", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("updated_at", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("check_runs_pk", ["owner_key", "repo_key", "head_sha", "name"])
          .execute();

        await db.schema
          .createTable("locks")
          .addColumn("owner_key", "text", (c) => c.notNull())
          .addColumn("repo_key", "text", (c) => c.notNull())
          .addColumn("owner", "text", (c) => c.notNull())
          .addColumn("repo", "text", (c) => c.notNull())
          .addColumn("project_name", "text", (c) => c.notNull())
          .addColumn("project_dir", "text", (c) => c.notNull())
          .addColumn("project_workspace", "text", (c) => c.notNull())
          .addColumn("pull_number", "integer", (c) => c.notNull())
          .addColumn("installation_id", t.bigint as "integer", (c) => c.notNull())
          .addColumn("user", "text", (c) => c.notNull())
          .addColumn("locked_at", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("locks_pk", ["owner_key", "repo_key", ...PROJECT_COLUMNS])
          .execute();
        await db.schema.createIndex("locks_pull").on("locks").columns(["owner_key", "repo_key", "pull_number"]).execute();

        await idColumn(db, "waiters")
          .addColumn("owner_key", "text", (c) => c.notNull())
          .addColumn("repo_key", "text", (c) => c.notNull())
          .addColumn("owner", "text", (c) => c.notNull())
          .addColumn("repo", "text", (c) => c.notNull())
          .addColumn("project_name", "text", (c) => c.notNull())
          .addColumn("project_dir", "text", (c) => c.notNull())
          .addColumn("project_workspace", "text", (c) => c.notNull())
          .addColumn("pull_number", "integer", (c) => c.notNull())
          .addColumn("installation_id", t.bigint as "integer", (c) => c.notNull())
          .addColumn("user", "text", (c) => c.notNull())
          .addColumn("queued_at", "text", (c) => c.notNull())
          .addUniqueConstraint("waiters_identity", ["owner_key", "repo_key", ...PROJECT_COLUMNS, "pull_number"])
          .execute();
        await db.schema.createIndex("waiters_pull").on("waiters").columns(["owner_key", "repo_key", "pull_number"]).execute();

        await idColumn(db, "jobs")
          .addColumn("spec", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("dedupe_key", "text", (c) => c.unique())
          .addColumn("created_at", "text", (c) => c.notNull())
          .addColumn("started_at", "text")
          .addColumn("finished_at", "text")
          .addColumn("error", "text")
          .addColumn("processes", "text", (c) => c.notNull().defaultTo("[]"))
          .execute();
        await db.schema.createIndex("jobs_status").on("jobs").column("status").execute();

        await db.schema
          .createTable("deliveries")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("event", "text", (c) => c.notNull())
          .addColumn("received_at", "text", (c) => c.notNull())
          .execute();
        await db.schema.createIndex("deliveries_received_at").on("deliveries").column("received_at").execute();
      },
    },

    "0002_replicas": {
      /**
       * Jobs claimed by any replica (job_key orders a pull request's jobs; the lease columns say
       * who runs one and until when), and saved plan files in the database instead of one disk.
       * Plan files a single server saved before this migration are imported when still there.
       */
      async up(db: Kysely<any>): Promise<void> {
        await db.schema.alterTable("jobs").addColumn("job_key", "text", (c) => c.notNull().defaultTo("")).execute();
        await db.schema.alterTable("jobs").addColumn("replica", "text").execute();
        await db.schema.alterTable("jobs").addColumn("worker", "text").execute();
        await db.schema.alterTable("jobs").addColumn("lease_expires_at", "text").execute();
        // Jobs that may still run need their key (the same as `jobKey` in job-spec.ts at the time).
        const open = await db.selectFrom("jobs").select(["id", "spec"]).where("status", "in", ["queued", "running"]).execute();
        for (const row of open as { id: number; spec: string }[]) {
          const s = JSON.parse(row.spec) as { owner: string; repo: string; pullNumber: number };
          const key = `${s.owner}/${s.repo}#${s.pullNumber}`.toLowerCase();
          await db.updateTable("jobs").set({ job_key: key }).where("id", "=", row.id).execute();
        }
        await db.schema.createIndex("jobs_key_status").on("jobs").columns(["job_key", "status", "id"]).execute();

        await db.schema
          .createTable("blobs")
          .addColumn("key", "text", (c) => c.primaryKey())
          .addColumn("data", t.bytes as "blob", (c) => c.notNull())
          .addColumn("size", "integer", (c) => c.notNull())
          .addColumn("created_at", "text", (c) => c.notNull())
          .execute();

        await db.schema.alterTable("project_states").addColumn("plan_blob", "text").execute();
        const saved = await db.selectFrom("project_states").selectAll().where("plan_file", "is not", null).execute();
        for (const row of saved as Record<string, unknown>[]) {
          const data = await readFile(String(row.plan_file)).catch(() => undefined);
          if (!data) continue; // gone already: apply will say so and ask for a new plan
          const key = legacyPlanKey(row);
          await db
            .insertInto("blobs")
            .values({ key, data, size: data.length, created_at: new Date().toISOString() })
            .onConflict((oc) => oc.column("key").doNothing())
            .execute();
          await db.updateTable("project_states").set({ plan_blob: key }).where("id", "=", row.id as number).execute();
        }
        await db.schema.alterTable("project_states").dropColumn("plan_file").execute();

        if (dialect === "postgres") {
          await sql`CREATE FUNCTION atoll_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify(${sql.lit(JOBS_CHANNEL)}, ''); RETURN NULL; END $$`.execute(db);
          await sql`CREATE TRIGGER atoll_jobs_queued AFTER INSERT ON jobs
            FOR EACH STATEMENT EXECUTE FUNCTION atoll_jobs_notify()`.execute(db);
          await sql`CREATE TRIGGER atoll_jobs_finished AFTER UPDATE OF status ON jobs
            FOR EACH ROW WHEN (NEW.status <> 'running' AND NEW.status <> OLD.status) EXECUTE FUNCTION atoll_jobs_notify()`.execute(db);
        }
      },
    },

    "0003_cancel": {
      /** `atoll cancel` asks a running job (on any replica) to stop before its next group. */
      async up(db: Kysely<any>): Promise<void> {
        await db.schema.alterTable("jobs").addColumn("cancel_requested_by", "text").execute();
      },
    },

    "0004_job_logs": {
      /** Job logs in the shared database: any replica serves them, and they survive restarts. */
      async up(db: Kysely<any>): Promise<void> {
        await db.schema
          .createTable("job_logs")
          .addColumn("job_id", "integer", (c) => c.notNull())
          .addColumn("seq", "integer", (c) => c.notNull())
          .addColumn("text", "text", (c) => c.notNull())
          .addColumn("created_at", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("job_logs_pk", ["job_id", "seq"])
          .execute();
        await db.schema.createIndex("job_logs_created_at").on("job_logs").column("created_at").execute();
      },
    },

    "0005_repositories": {
      /**
       * GitHub's repository id is a repository's identity: the name Atoll last saw for each id, so
       * a rename or transfer (even one whose webhook was missed) moves what Atoll holds under the
       * old name.
       */
      async up(db: Kysely<any>): Promise<void> {
        await db.schema
          .createTable("repositories")
          .addColumn("id", t.bigint as "integer", (c) => c.primaryKey())
          .addColumn("owner_key", "text", (c) => c.notNull())
          .addColumn("repo_key", "text", (c) => c.notNull())
          .addColumn("owner", "text", (c) => c.notNull())
          .addColumn("repo", "text", (c) => c.notNull())
          .addColumn("updated_at", "text", (c) => c.notNull())
          .execute();
      },
    },

    "0006_plan_history": {
      /** Every plan's digest, so an approval stays bound to the plan it saw (and pushes can be compared). */
      async up(db: Kysely<any>): Promise<void> {
        await idColumn(db, "plan_history")
          .addColumn("owner_key", "text", (c) => c.notNull())
          .addColumn("repo_key", "text", (c) => c.notNull())
          .addColumn("pull_number", "integer", (c) => c.notNull())
          .addColumn("project_name", "text", (c) => c.notNull())
          .addColumn("project_dir", "text", (c) => c.notNull())
          .addColumn("project_workspace", "text", (c) => c.notNull())
          .addColumn("head_sha", "text", (c) => c.notNull())
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("changes", "text", (c) => c.notNull())
          .addColumn("created_at", "text", (c) => c.notNull())
          .execute();
        await db.schema.createIndex("plan_history_pull").on("plan_history").columns(["owner_key", "repo_key", "pull_number"]).execute();
        // Shown on the plan's check run, also when it is rendered again (a review arrived).
        await db.schema.alterTable("project_states").addColumn("why", "text").execute();
        await db.schema.alterTable("project_states").addColumn("since_push", "text").execute();
        // Plans kept across a push that changed none of the project's inputs.
        await db.schema.alterTable("project_states").addColumn("fingerprint", "text").execute();
        await db.schema.alterTable("project_states").addColumn("carried_from", "text").execute();
      },
    },
  };
}

/** Names of all migrations, in the order they run (the same for both databases). */
export const MIGRATION_NAMES: readonly string[] = Object.keys(migrations("sqlite")).sort();

/** The provider handed to Kysely's `Migrator`. */
export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return {
    async getMigrations() {
      return migrations(dialect);
    },
  };
}
