/**
 * BlobStore: files a later job needs, whichever replica runs it — today the saved plan files
 * (`terraform plan -out`), so a plan made on one replica is applied on another. Implemented in
 * Atoll's own database (`src/adapters/database-blobs.ts`); an object store such as S3 can
 * implement the same four methods.
 */
export interface BlobStore {
  /** Store (or replace) `data` under `key`. */
  put(key: string, data: Buffer): Promise<void>;
  /** The data, or undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  /** Delete these keys (missing ones are fine). */
  delete(keys: string[]): Promise<void>;
  /** Delete every key that starts with `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}
