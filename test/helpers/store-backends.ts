/**
 * The two Store implementations for contract tests: SQLite (a file in a temp dir) and PostgreSQL
 * (a real server started once per test file, a fresh database per `fresh()`). A test suite
 * written against `StoreBackend` runs unchanged against both:
 *
 *   describe.each(STORE_BACKENDS)("%s store", (name) => {
 *     const backend = useStoreBackend(name);   // registers beforeAll/afterAll/afterEach
 *     test("…", async () => { const store = await backend.open(); … });
 *   });
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPostgresStore } from "../../src/adapters/postgres-store.js";
import { openSqliteStore } from "../../src/adapters/sqlite-store.js";
import type { Store } from "../../src/ports/store.js";
import { startPostgres, type PostgresServer } from "./postgres.js";

export const STORE_BACKENDS = ["sqlite", "postgres"] as const;
export type StoreBackendName = (typeof STORE_BACKENDS)[number];

export interface StoreBackend {
  name: StoreBackendName;
  /**
   * Open a store on the current database (the same one until `fresh()`): several opens are
   * several connections (pools) to one database, as replicas would have. Closed after the test.
   */
  open(opts?: { now?: () => Date }): Promise<Store>;
  /** Start over on a new, empty database (done before every test). */
  fresh(): Promise<void>;
  /** Close a store opened with `open` before the test ends (restart simulation). */
  close(store: Store): Promise<void>;
  /** The PostgreSQL server (postgres backend only). */
  readonly pg: PostgresServer | undefined;
  /** Where the current database is: the SQLite file, or the PostgreSQL URL. */
  readonly location: string;
}

let dbCounter = 0;

export function useStoreBackend(name: StoreBackendName): StoreBackend {
  let pg: PostgresServer | undefined;
  let dir = "";
  let location = "";
  const opened: Store[] = [];

  const backend: StoreBackend = {
    name,
    get pg() {
      return pg;
    },
    get location() {
      return location;
    },
    async open(opts = {}) {
      const store =
        name === "sqlite"
          ? await openSqliteStore(location, opts.now ? { now: opts.now } : {})
          : await openPostgresStore(location, { poolSize: 4, ...(opts.now ? { now: opts.now } : {}) });
      opened.push(store);
      return store;
    },
    async fresh() {
      for (const s of opened.splice(0)) await s.close();
      if (name === "sqlite") {
        if (dir) await rm(dir, { recursive: true, force: true });
        dir = await mkdtemp(join(tmpdir(), "atoll-store-"));
        location = join(dir, "atoll.db");
      } else {
        const db = `store_${process.pid}_${++dbCounter}`;
        await pg!.createDatabase(db);
        location = pg!.connString(db);
      }
    },
    async close(store) {
      const i = opened.indexOf(store);
      if (i >= 0) opened.splice(i, 1);
      await store.close();
    },
  };

  beforeAll(async () => {
    if (name === "postgres") pg = await startPostgres();
  }, 120_000);
  beforeEach(() => backend.fresh());
  afterAll(async () => {
    for (const s of opened.splice(0)) await s.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    await pg?.stop();
  }, 60_000);
  return backend;
}
