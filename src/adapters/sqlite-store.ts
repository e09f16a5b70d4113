/**
 * The durable `Store` of a single server: an SQLite file (better-sqlite3) in the data dir, with
 * the queries shared with PostgreSQL (`kysely-store.ts`, which explains why every mutation is a
 * single statement). This file only opens the file: connection settings, WAL, migrations.
 * Several processes may open the same file (they wait for each other's writes); several
 * machines need PostgreSQL (`postgres-store.ts`).
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import Database from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, type SqliteDatabase } from "kysely";
import type { Store } from "../ports/store.js";
import { createKyselyStore, type StoreOptions, type StoreTables } from "./kysely-store.js";
import { MIGRATION_NAMES, migrationProvider } from "./store-migrations.js";

/** How long a statement waits for another connection's write lock before failing (ms). */
export const BUSY_TIMEOUT_MS = 10_000;

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
    const { error, results } = await new Migrator({ db, provider: migrationProvider("sqlite") }).migrateToLatest();
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
 * The connection as Kysely's database, keeping prepared statements: Kysely prepares every query
 * anew, and preparing costs about as much as running one of the small queries Atoll makes (a
 * 20-project plan makes some 380). The most recently used `max` statements are kept; Kysely runs
 * one query at a time on the connection, so a statement is never in use twice.
 */
export function keepingStatements(raw: Database.Database, max = 256): SqliteDatabase {
  const kept = new Map<string, Database.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql) {
      let stmt = kept.get(sql);
      if (stmt) kept.delete(sql); // re-inserted below: most recently used last
      else stmt = raw.prepare(sql);
      kept.set(sql, stmt);
      if (kept.size > max) kept.delete(kept.keys().next().value as string);
      return stmt;
    },
  };
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
    const db = new Kysely<StoreTables>({ dialect: new SqliteDialect({ database: keepingStatements(raw) }) });
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
    return createKyselyStore(db, { ...options, dialect: "sqlite" });
  });
}
