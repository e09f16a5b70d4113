/**
 * The BlobStore in Atoll's own database (the `blobs` table): SQLite for one server, PostgreSQL
 * shared by every replica. Plan files are small next to what a database holds comfortably
 * (a plan of thousands of resources is a few megabytes).
 */
import type { Kysely } from "kysely";
import type { BlobStore } from "../ports/blobs.js";
import type { StoreTables } from "./kysely-store.js";

export function createDatabaseBlobs(db: Kysely<StoreTables>, now: () => string): BlobStore {
  return {
    async put(key, data) {
      await db
        .insertInto("blobs")
        .values({ key, data, size: data.length, created_at: now() })
        .onConflict((oc) =>
          oc.column("key").doUpdateSet((eb) => ({
            data: eb.ref("excluded.data"),
            size: eb.ref("excluded.size"),
            created_at: eb.ref("excluded.created_at"),
          })),
        )
        .execute();
    },

    async get(key) {
      const row = await db.selectFrom("blobs").select("data").where("key", "=", key).executeTakeFirst();
      return row ? Buffer.from(row.data) : undefined;
    },

    async delete(keys) {
      if (keys.length === 0) return;
      await db.deleteFrom("blobs").where("key", "in", keys).execute();
    },

    async deletePrefix(prefix) {
      const rows = await db
        .deleteFrom("blobs")
        // Not LIKE: SQLite's is case-insensitive and has no default escape character.
        .where((eb) => eb(eb.fn("substr", ["key", eb.val(1), eb.val([...prefix].length)]), "=", prefix))
        .returning("key")
        .execute();
      return rows.length;
    },
  };
}
