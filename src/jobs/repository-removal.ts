/**
 * Jobs of a repository the App can no longer reach (removed from the installation, deleted, or
 * the installation deleted or suspended). The lifecycle handlers forget the repository
 * (`Store.forgetRepositories`): queued jobs are cancelled, and running ones are marked with
 * {@link REPOSITORY_REMOVED}. A marked job starts no further execution-order group (like
 * `cancel`), its running terraform finishes, and its next GitHub call ends it with
 * {@link RepositoryRemoved} instead of being sent: nothing more is written to that repository,
 * and the job is recorded as cancelled, not as failed.
 */
import type { GitHubPort } from "../ports/github.js";

/** `jobs.cancel_requested_by` of a running job whose repository the App can no longer reach. */
export const REPOSITORY_REMOVED = "atoll:repository-removed";

export class RepositoryRemoved extends Error {
  constructor(what = "the job") {
    super(`${what} stopped: the repository was removed from the App (or the App uninstalled or suspended)`);
    this.name = "RepositoryRemoved";
  }
}

/** A check asked at most once per `everyMs` (the answer is reused meanwhile); true once stays true. */
export function cachedCheck(check: () => Promise<boolean>, everyMs = 1_000): () => Promise<boolean> {
  let last = 0;
  let answer = false;
  return async () => {
    if (answer) return true;
    if (Date.now() - last >= everyMs) {
      last = Date.now();
      answer = await check().catch(() => false);
    }
    return answer;
  };
}

/** `github`, whose every call first asks `removed()` and throws {@link RepositoryRemoved} instead of calling. */
export function stopWhenRemoved(github: GitHubPort, removed: () => Promise<boolean>): GitHubPort {
  return new Proxy(github, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (await removed()) throw new RepositoryRemoved();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
