/**
 * The durable `Store` for several replicas: one PostgreSQL database (`ATOLL_DATABASE_URL`)
 * shared by every Atoll process, through Kysely's PostgreSQL dialect and `pg`. The queries are
 * the SQLite store's (`kysely-store.ts`); this file opens the pool, runs the migrations and
 * listens for job notifications.
 *
 * - **Migrations** run at start in one transaction under Kysely's PostgreSQL migration lock (an
 *   advisory lock), so replicas starting together migrate once and the others wait for it.
 * - **64-bit integers** (`bigint`: GitHub check-run and installation ids, `count(*)`) are read as
 *   numbers, not strings; every value Atoll stores is far below 2^53.
 * - **Job notifications.** `watchJobs` holds one extra connection that `LISTEN`s on
 *   `atoll_jobs` (a trigger notifies it when a job is queued or finishes; see
 *   `store-migrations.ts`). It reconnects after a lost connection, and tells the listener once
 *   it is back, since notifications sent meanwhile are lost.
 */
import { setTimeout as delay } from "node:timers/promises";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import pg from "pg";
import type { Store } from "../ports/store.js";
import { createKyselyStore, type StoreOptions, type StoreTables } from "./kysely-store.js";
import { JOBS_CHANNEL, migrationProvider } from "./store-migrations.js";

export interface PostgresStoreOptions extends StoreOptions {
  /** Most connections this process opens for queries (ATOLL_DATABASE_POOL_SIZE); the listener adds one. */
  poolSize?: number;
  /** Problems that do not fail a call (a lost listener connection), for the log. */
  onWarning?: (message: string, error: unknown) => void;
}

const INT8_OID = 20;

/** `pg` type parsers: int8 as a JavaScript number (refusing values a number cannot hold exactly). */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === INT8_OID && format !== "binary") {
      return (text: string) => {
        const n = Number(text);
        if (!Number.isSafeInteger(n)) throw new Error(`PostgreSQL returned ${text}, beyond a safe JavaScript integer`);
        return n;
      };
    }
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig["getTypeParser"],
};

/** The URL without its password (in the user info or a `password=` parameter), for messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    for (const name of [...u.searchParams.keys()]) if (name.toLowerCase() === "password") u.searchParams.set(name, "***");
    return u.toString().replace(/=%2A%2A%2A/g, "=***");
  } catch {
    return "(unparsable ATOLL_DATABASE_URL)";
  }
}

/** Keep one connection listening on `channel`; `listener` runs per notification and after every (re)connect. */
async function listen(
  url: string,
  channel: string,
  listener: () => void,
  warn: (message: string, error: unknown) => void,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let backoffMs = 250;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, types });
    c.on("notification", (n) => {
      if (n.channel === channel) listener();
    });
    c.on("error", (error) => {
      // The connection is gone (server restart, network): connect again, with backoff.
      if (client !== c || stopped) return;
      client = undefined;
      warn("lost the PostgreSQL connection listening for jobs; reconnecting", error);
      void c.end().catch(() => undefined);
      void reconnect();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    } catch (error) {
      await c.end().catch(() => undefined);
      throw error;
    }
    if (stopped) {
      // Unsubscribed while this (re)connect was under way: nothing may listen any more.
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    backoffMs = 250;
    listener(); // anything queued while not listening
  };

  const reconnect = async (): Promise<void> => {
    while (!stopped && !client) {
      await delay(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 10_000);
      if (stopped) return;
      await connect().catch((error: unknown) => warn("could not listen for jobs on PostgreSQL; retrying", error));
    }
  };

  await connect();
  return async () => {
    stopped = true;
    const c = client;
    client = undefined;
    await c?.end().catch(() => undefined);
  };
}

/**
 * Open the PostgreSQL store at `url` (`postgres://user:pass@host:5432/db`), migrated to the latest
 * schema. Fails with a message naming the database (password hidden) when it cannot connect or
 * migrate.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const name = redactDatabaseUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types });
  // An idle connection that dies must not crash the process: the next query gets a new one.
  pool.on("error", (error) => options.onWarning?.("an idle PostgreSQL connection failed", error));
  const db = new Kysely<StoreTables>({ dialect: new PostgresDialect({ pool }) });
  try {
    const { error, results } = await new Migrator({ db, provider: migrationProvider("postgres") }).migrateToLatest();
    if (error !== undefined) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName;
      throw new Error(`${failed ? `migration ${failed} failed` : "migrations failed"}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw new Error(`PostgreSQL store ${name}: ${(error as Error).message}`, { cause: error });
  }
  const warn = options.onWarning ?? (() => undefined);
  const listeners = new Set<() => Promise<void>>();
  return createKyselyStore(db, {
    ...options,
    dialect: "postgres",
    async watchJobs(listener) {
      const stop = await listen(url, JOBS_CHANNEL, listener, warn);
      listeners.add(stop);
      return async () => {
        listeners.delete(stop);
        await stop();
      };
    },
    async onClose() {
      for (const stop of [...listeners]) await stop();
      listeners.clear();
    },
  });
}
