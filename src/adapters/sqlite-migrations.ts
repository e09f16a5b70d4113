/**
 * Schema migrations of Atoll's SQLite store, as an in-code Kysely `MigrationProvider`.
 *
 * Migrations live in code (not in a directory read at run time) so the built app carries them
 * and no file-system layout has to survive bundling. They are numbered ("0001_…") because Kysely
 * runs them in name order, and they are **append-only**: a released migration is never edited
 * or removed (a database that ran it records its name in `kysely_migration`, and Kysely refuses
 * to start when a recorded migration is missing). Change the schema by adding the next number.
 *
 * Schema (as of the latest migration)
 * ------------------------------------
 * Repository owner/name appear twice where they identify something: `owner_key`/`repo_key` are
 * lower-cased (GitHub logins and repo names are case-insensitive, so keys and lookups use these)
 * and `owner`/`repo` keep the spelling last written, for display. A project's identity is three
 * columns, `project_name` ("" when unnamed), `project_dir` and `project_workspace`, never a
 * joined string, so queries can filter on each part and no separator can collide.
 * Timestamps are ISO-8601 strings as produced by `Date#toISOString()` (UTC, fixed width), which
 * sort and compare correctly as text. JSON values are stored as TEXT.
 *
 * - `project_states` — what Atoll knows about one project of one pull request.
 *   `id` INTEGER PK AUTOINCREMENT (first-insertion order; an upsert keeps it),
 *   UNIQUE (owner_key, repo_key, pull_number, project_name, project_dir, project_workspace),
 *   owner, repo, head_sha, base_sha NULL, plan, has_changes (0/1), apply, plan_file NULL,
 *   plan_digest NULL, extra_args (JSON array), summary NULL (JSON PlanSummary), headline,
 *   output, plan_check_run_id NULL, updated_at.
 *   Index on (plan, apply) for crash recovery's "everything pending" scan.
 * - `check_runs` — the latest check run Atoll created per name on a commit.
 *   PK (owner_key, repo_key, head_sha, name); head_sha is lower-cased (hex); id, status,
 *   updated_at (not read by the Store today; kept so old rows can be pruned later).
 * - `locks` — one pull request owns a project of a repo.
 *   PK (owner_key, repo_key, project_name, project_dir, project_workspace); owner, repo,
 *   pull_number, installation_id, user, locked_at. Index (owner_key, repo_key, pull_number).
 * - `waiters` — pull requests queued for a project lock, FIFO per project.
 *   `id` INTEGER PK AUTOINCREMENT (insertion order, the FIFO tie-breaker),
 *   UNIQUE (owner_key, repo_key, project_name, project_dir, project_workspace, pull_number),
 *   owner, repo, installation_id, user, queued_at. Index (owner_key, repo_key, pull_number).
 * - `jobs` — persisted jobs. `id` INTEGER PK AUTOINCREMENT, spec (JSON JobSpec), status,
 *   dedupe_key UNIQUE NULL (NULLs never collide), created_at, started_at NULL,
 *   finished_at NULL, error NULL, processes (JSON array of {pid, startTime}). Index on status.
 * - `deliveries` — webhook deliveries already accepted. `id` TEXT PK, event, received_at
 *   (indexed, for pruning).
 *
 * Kysely's own `kysely_migration` / `kysely_migration_lock` tables record which migrations ran.
 */
import type { Kysely, Migration, MigrationProvider } from "kysely";

/** The project identity columns, in key order. */
const PROJECT_COLUMNS = ["project_name", "project_dir", "project_workspace"] as const;

const migrations: Record<string, Migration> = {
  "0001_initial": {
    // Migrations see the schema as it was when they were written, hence `Kysely<any>`.
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable("project_states")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
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
        .addColumn("plan_check_run_id", "integer")
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addUniqueConstraint("project_states_identity", [
          "owner_key",
          "repo_key",
          "pull_number",
          ...PROJECT_COLUMNS,
        ])
        .execute();
      await db.schema.createIndex("project_states_plan_apply").on("project_states").columns(["plan", "apply"]).execute();

      await db.schema
        .createTable("check_runs")
        .addColumn("owner_key", "text", (c) => c.notNull())
        .addColumn("repo_key", "text", (c) => c.notNull())
        .addColumn("head_sha", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("id", "integer", (c) => c.notNull())
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
        .addColumn("installation_id", "integer", (c) => c.notNull())
        .addColumn("user", "text", (c) => c.notNull())
        .addColumn("locked_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("locks_pk", ["owner_key", "repo_key", ...PROJECT_COLUMNS])
        .execute();
      await db.schema.createIndex("locks_pull").on("locks").columns(["owner_key", "repo_key", "pull_number"]).execute();

      await db.schema
        .createTable("waiters")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("owner_key", "text", (c) => c.notNull())
        .addColumn("repo_key", "text", (c) => c.notNull())
        .addColumn("owner", "text", (c) => c.notNull())
        .addColumn("repo", "text", (c) => c.notNull())
        .addColumn("project_name", "text", (c) => c.notNull())
        .addColumn("project_dir", "text", (c) => c.notNull())
        .addColumn("project_workspace", "text", (c) => c.notNull())
        .addColumn("pull_number", "integer", (c) => c.notNull())
        .addColumn("installation_id", "integer", (c) => c.notNull())
        .addColumn("user", "text", (c) => c.notNull())
        .addColumn("queued_at", "text", (c) => c.notNull())
        .addUniqueConstraint("waiters_identity", ["owner_key", "repo_key", ...PROJECT_COLUMNS, "pull_number"])
        .execute();
      await db.schema.createIndex("waiters_pull").on("waiters").columns(["owner_key", "repo_key", "pull_number"]).execute();

      await db.schema
        .createTable("jobs")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
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
};

/** Names of all migrations, in the order they run. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(migrations).sort();

/** The provider handed to Kysely's `Migrator`. */
export const sqliteMigrationProvider: MigrationProvider = {
  async getMigrations() {
    return { ...migrations };
  },
};
