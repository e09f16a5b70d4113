/**
 * The App's lifecycle on a repository.
 *
 * - Removed (`installation` deleted or suspended, `installation_repositories` removed,
 *   `repository` deleted): Atoll can no longer reach the repository, so it forgets it — locks
 *   and queues released, plans and saved plan files deleted, queued jobs cancelled, running jobs
 *   stopped before they write to it again (`jobs/repository-removal.ts`) — and logs why. Added
 *   back later, the repository starts clean: nothing is "locked by" a pull request Atoll can no
 *   longer see.
 * - Renamed or transferred: GitHub's repository id is its identity (the `repositories` table);
 *   locks, plans, check runs and open jobs move to the new name. Every delivery that names a
 *   repository is checked against the recorded name too, so a missed rename webhook is caught up
 *   by the next delivery.
 */
import type { Probot } from "probot";
import { REPOSITORY_REMOVED } from "../jobs/repository-removal.js";
import type { ForgetScope, RepoRef } from "../ports/store.js";
import type { Logger } from "../runner/runner-deps.js";
import { discardPlans } from "../runner/saved-plans.js";
import type { AppEnv } from "./app-env.js";
import { onWebhook, type FailedDeliveries } from "./webhook-guard.js";

interface RepositoryLike {
  id: number;
  name: string;
  owner: { login: string };
}

function refOf(fullName: string): RepoRef {
  const [owner = "", repo = ""] = fullName.split("/", 2);
  return { owner, repo };
}

/** Release and forget everything Atoll holds in these repositories; logs what and why. */
export async function forgetRepositories(env: Pick<AppEnv, "store">, log: Logger, scope: ForgetScope, reason: string): Promise<void> {
  const result = await env.store.forgetRepositories(scope, { at: new Date().toISOString(), reason: `Cancelled: ${reason}.`, stopBy: REPOSITORY_REMOVED });
  await discardPlans({ blobs: env.store.blobs }, result.projects);
  log.info(
    {
      repos: scope.repos.map((r) => `${r.owner}/${r.repo}`).slice(0, 20),
      ...(scope.installationId !== undefined ? { installation: scope.installationId } : {}),
      locksReleased: result.locks.map((l) => `${l.repo.owner}/${l.repo.repo} ${l.project.dir}#${l.pullNumber}`).slice(0, 20),
      waitersRemoved: result.waiters.length,
      plansForgotten: result.projects.length,
      jobsCancelled: result.cancelledJobs,
      jobsStopping: result.stoppingJobs,
    },
    `forgot the repositories: ${reason}`,
  );
}

/**
 * Keep GitHub's id → name record current, and move what Atoll holds when the name changed.
 * `known` caches what this process last recorded, so most deliveries cost no query.
 */
export function createRepositoryFollower(env: Pick<AppEnv, "store">, log: Logger) {
  const known = new Map<number, string>();
  return async (repository: RepositoryLike, from?: RepoRef): Promise<void> => {
    const to = { owner: repository.owner.login, repo: repository.name };
    const name = `${to.owner}/${to.repo}`;
    if (!from && known.get(repository.id) === name) return;
    const previous = (await env.store.noteRepository(repository.id, to)) ?? from;
    known.set(repository.id, name);
    if (!previous || `${previous.owner}/${previous.repo}`.toLowerCase() === name.toLowerCase()) return;
    const moved = await env.store.renameRepository(previous, to);
    log.info({ from: `${previous.owner}/${previous.repo}`, to: name, repositoryId: repository.id, ...moved }, "repository renamed: locks, plans and jobs follow it");
  };
}

export type RepositoryFollower = ReturnType<typeof createRepositoryFollower>;

export function registerLifecycleHandlers(app: Probot, env: AppEnv, failures: FailedDeliveries, follow: RepositoryFollower): void {
  // No `before`: these handlers decide themselves what happens to the repository.
  const guard = { failures };
  onWebhook(app, ["installation.deleted", "installation.suspend"], guard, async (context) => {
    const { installation, repositories } = context.payload;
    const reason = context.payload.action === "deleted" ? "the App was uninstalled" : "the App's installation was suspended";
    await forgetRepositories(env, context.log, { installationId: installation.id, repos: (repositories ?? []).map((r) => refOf(r.full_name)) }, reason);
  });

  onWebhook(app, "installation_repositories.removed", guard, async (context) => {
    const repos = context.payload.repositories_removed.map((r) => refOf(r.full_name));
    await forgetRepositories(env, context.log, { repos }, "the repository was removed from the App's installation");
  });

  onWebhook(app, "repository.deleted", guard, async (context) => {
    await forgetRepositories(env, context.log, { repos: [refOf(context.payload.repository.full_name)] }, "the repository was deleted");
  });

  onWebhook(app, ["repository.renamed", "repository.transferred"], guard, async (context) => {
    const { repository } = context.payload;
    // The old name, when Atoll had not recorded this id yet (state from before 0005_repositories).
    const changes = context.payload.changes as { repository?: { name?: { from?: string } }; owner?: { from?: { user?: { login?: string }; organization?: { login?: string } } } } | undefined;
    const oldName = changes?.repository?.name?.from;
    const oldOwner = changes?.owner?.from?.user?.login ?? changes?.owner?.from?.organization?.login;
    const from = oldName || oldOwner ? { owner: oldOwner ?? repository.owner.login, repo: oldName ?? repository.name } : undefined;
    await follow(repository, from);
  });
}
