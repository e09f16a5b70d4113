/**
 * The local cache sweep: checkouts are per replica, and when a pull request closes only the
 * replica that runs its cleanup job deletes its own checkouts. Every worker therefore also sweeps
 * its data dir: a pull request's checkouts are deleted once Atoll's shared state knows nothing of
 * it (no project state, no queued or running job) and they were not touched for `minAgeMs`. The
 * git mirrors stay (they make the next checkout cheap). Saved plans are in the database, so
 * nothing a later job needs is lost: a checkout that is still needed is simply made again.
 */
import type { Store } from "../ports/store.js";
import type { WorkspacePort } from "../ports/workspace.js";
import type { Logger } from "../runner/runner-deps.js";
import { jobKey } from "./job-spec.js";

export async function sweepLocalCheckouts(opts: {
  store: Store;
  workspaces: WorkspacePort;
  log: Logger;
  /** Checkouts changed more recently than this are kept (a job may be about to use them). */
  minAgeMs: number;
  now?: () => Date;
}): Promise<number> {
  const now = (opts.now?.() ?? new Date()).getTime();
  const local = await opts.workspaces.listPulls();
  if (local.length === 0) return 0;
  const busy = new Set((await opts.store.listJobs(["queued", "running"])).map((j) => j.key));
  let removed = 0;
  for (const p of local) {
    if (now - p.modifiedAt.getTime() < opts.minAgeMs) continue;
    if (busy.has(jobKey({ owner: p.owner, repo: p.repo, pullNumber: p.pullNumber }))) continue;
    if ((await opts.store.listProjects({ owner: p.owner, repo: p.repo }, p.pullNumber)).length > 0) continue;
    await opts.workspaces.removePull(p.owner, p.repo, p.pullNumber);
    removed++;
  }
  if (removed) opts.log.info({ removed }, "removed local checkouts of pull requests Atoll no longer tracks");
  return removed;
}
