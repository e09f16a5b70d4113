/**
 * The store the settings ask for: PostgreSQL with ATOLL_DATABASE_URL (several replicas), else the
 * SQLite file. Each is imported only when chosen, so a PostgreSQL deployment (the Lambda
 * receiver) never loads SQLite's native module.
 */
import type { Store } from "../ports/store.js";
import type { Logger } from "../runner/runner-deps.js";
import type { Settings } from "../settings.js";

export async function openStore(settings: Pick<Settings, "databaseUrl" | "databaseFile" | "databasePoolSize">, log: Logger): Promise<Store> {
  if (settings.databaseUrl) {
    const { openPostgresStore } = await import("./postgres-store.js");
    return openPostgresStore(settings.databaseUrl, {
      poolSize: settings.databasePoolSize,
      onWarning: (message, error) => log.warn({ err: error }, message),
    });
  }
  const { openSqliteStore } = await import("./sqlite-store.js");
  return openSqliteStore(settings.databaseFile);
}
