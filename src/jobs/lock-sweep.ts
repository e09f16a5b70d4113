/**
 * The periodic lock sweep: a lock whose holder PR is closed or merged (Atoll missed the close
 * event — it was down, or the webhook failed) gets a cleanup job, which releases the lock, says so
 * on that PR and plans the next PR waiting for it. Every worker replica sweeps; the cleanup's
 * dedupe key (holder PR and its latest lock time) makes the first sweep's job the only one.
 */
import type { GitHubPort } from "../ports/github.js";
import type { Store } from "../ports/store.js";
import type { Logger } from "../runner/runner-deps.js";
import type { JobSubmitter } from "./job-service.js";

export async function sweepLocks(opts: {
  store: Store;
  jobs: JobSubmitter;
  githubFor: (installationId: number, owner: string, repo: string) => Promise<GitHubPort>;
  name: string;
  log: Logger;
}): Promise<number> {
  const holders = new Map<string, { installationId: number; owner: string; repo: string; pullNumber: number; lockedAt: string }>();
  for (const l of await opts.store.listLocks()) {
    const key = `${l.repo.owner}/${l.repo.repo}#${l.pullNumber}`.toLowerCase();
    const seen = holders.get(key);
    holders.set(key, {
      installationId: l.installationId,
      owner: l.repo.owner,
      repo: l.repo.repo,
      pullNumber: l.pullNumber,
      lockedAt: seen && seen.lockedAt > l.lockedAt ? seen.lockedAt : l.lockedAt,
    });
  }
  let healed = 0;
  for (const [key, { lockedAt, ...h }] of holders) {
    let state: "open" | "closed";
    let merged = false;
    try {
      const pull = await (await opts.githubFor(h.installationId, h.owner, h.repo)).getPull(h.pullNumber);
      state = pull.state;
      merged = pull.merged;
    } catch (error) {
      if ((error as { status?: number }).status !== 404) {
        opts.log.warn({ err: error, ...h }, "lock sweep: could not check the holder pull request");
        continue;
      }
      state = "closed"; // the PR (or the repo) is gone
    }
    if (state !== "closed") continue;
    // Replicas sweep independently: one cleanup per holder and lock generation.
    const job = await opts.jobs.submit({ ...h, user: "atoll", name: opts.name, kind: "cleanup", merged, healed: true }, `sweep:${key}:${lockedAt}`);
    if (job) healed++;
  }
  if (healed) opts.log.info({ healed }, "lock sweep: released locks of closed pull requests");
  return healed;
}
