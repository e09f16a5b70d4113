/**
 * Project locks (Atlantis semantics, plus a queue and self-healing): a plan takes the lock of each
 * project it plans; the same PR may take it again; a successful apply keeps it; it is released
 * when the PR closes or merges, or by `unlock`. A PR that hits another PR's lock is queued, and
 * when the lock is released the first PR in line is planned again automatically.
 * A lock whose holder PR turns out to be closed (Atoll missed the close event) is released on the
 * spot when another PR hits it, and by a periodic sweep.
 */
import type { PullRequestInfo } from "../../ports/github.js";
import type { LockRecord, ProjectState } from "../../ports/store.js";
import { projectKey, projectLabel, type Project } from "../../projects/project.js";
import type { CommandContext } from "../runner-deps.js";
import { discardPlans, discardPullPlans } from "../saved-plans.js";

export type LockOutcome =
  | { project: Project; acquired: true }
  | { project: Project; acquired: false; holder: LockRecord; position: number };

function pullUrl(ctx: CommandContext, n: number): string {
  const host = ctx.deps.settings.githubWebUrl;
  return `${host}/${ctx.repo.owner}/${ctx.repo.repo}/pull/${n}`;
}

/** The holder PR, or a closed stand-in when GitHub no longer knows it (deleted / transferred). */
async function holderPull(ctx: CommandContext, n: number, cache: Map<number, PullRequestInfo | "gone">) {
  if (!cache.has(n)) {
    try {
      cache.set(n, await ctx.github.getPull(n));
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
      cache.set(n, "gone");
    }
  }
  const p = cache.get(n)!;
  return p === "gone" ? { state: "closed" as const, merged: false } : p;
}

/** Take the locks of `projects` for `pull`; blocked projects are queued behind the holder. */
export async function acquireLocks(ctx: CommandContext, pull: PullRequestInfo, projects: Project[]): Promise<LockOutcome[]> {
  const { store } = ctx.deps;
  const holders = new Map<number, PullRequestInfo | "gone">();
  const out: LockOutcome[] = [];
  for (const project of projects) {
    const request = {
      repo: ctx.repo,
      project,
      pullNumber: pull.number,
      installationId: ctx.installationId,
      user: ctx.user,
      lockedAt: new Date().toISOString(),
    };
    let result = await store.tryLock(request);
    if (!result.acquired) {
      const holder = await holderPull(ctx, result.holder.pullNumber, holders);
      if (holder.state === "closed") {
        await releaseClosedPull(ctx, result.holder.pullNumber, { merged: holder.merged, healed: true });
        result = await store.tryLock(request);
      }
    }
    if (result.acquired) {
      await store.removeWaiter(ctx.repo, project, pull.number);
      out.push({ project, acquired: true });
    } else {
      const position = await store.addWaiter({ ...request, queuedAt: request.lockedAt });
      out.push({ project, acquired: false, holder: result.holder, position });
    }
  }
  return out;
}

/** The one-line explanation for a PR blocked by another PR's lock. */
export function blockedHeadline(ctx: CommandContext, outcome: Extract<LockOutcome, { acquired: false }>): string {
  const h = outcome.holder;
  return (
    `\`${projectLabel(outcome.project)}\` is locked by #${h.pullNumber} (planned by @${h.user}, ${h.lockedAt.slice(0, 16).replace("T", " ")} UTC) ` +
    `until that pull request is merged or closed, or its plans are discarded there with \`${ctx.name} unlock\`. ` +
    `This pull request is queued (#${outcome.position} in line): Atoll plans it automatically when the lock is released.`
  );
}

/** Check-run body for a project waiting for a lock (status queued: branch protection waits). */
export function blockedCheck(ctx: CommandContext, outcome: Extract<LockOutcome, { acquired: false }>) {
  const h = outcome.holder;
  return {
    status: "queued" as const,
    output: {
      title: `Waiting for the lock held by #${h.pullNumber} (#${outcome.position} in line)`,
      summary:
        `This project is locked by [#${h.pullNumber}](${pullUrl(ctx, h.pullNumber)}) (planned by @${h.user} at ${h.lockedAt}).\n\n` +
        `This pull request is **#${outcome.position} in line**. When the lock is released — #${h.pullNumber} is merged or closed, ` +
        `or its plans are discarded with \`${ctx.name} unlock\` there — Atoll plans this project again automatically.`,
    },
  };
}

/** Queue a re-plan for the first PR waiting on each released lock. */
export async function wakeWaiters(ctx: CommandContext, released: { project: Project }[], releasedBy: number): Promise<number[]> {
  const { store, jobs } = ctx.deps;
  const woken: number[] = [];
  for (const { project } of released) {
    const [next] = await store.listWaiters(ctx.repo, project);
    if (!next) continue;
    await store.removeWaiter(ctx.repo, project, next.pullNumber);
    await jobs.submit(
      {
        kind: "lock-released",
        installationId: next.installationId,
        owner: ctx.repo.owner,
        repo: ctx.repo.repo,
        pullNumber: next.pullNumber,
        user: next.user,
        name: ctx.name,
        project,
        releasedBy,
      },
      `lock-released:${ctx.repo.owner}/${ctx.repo.repo}:${projectKey(project)}:${next.pullNumber}:${Date.now()}`,
    );
    woken.push(next.pullNumber);
  }
  return woken;
}

/**
 * A PR is gone (closed, merged, or found closed by a sweep / another PR): release its locks and
 * queue places, delete its checkouts and plans, and re-plan the PRs waiting for its locks.
 */
export async function releaseClosedPull(
  ctx: CommandContext,
  pullNumber: number,
  how: { merged: boolean; healed: boolean },
): Promise<LockRecord[]> {
  const { store, workspaces } = ctx.deps;
  const removed = await store.removeProjects(ctx.repo, pullNumber);
  await discardPlans(ctx.deps, removed);
  await discardPullPlans(ctx.deps, ctx.repo, pullNumber);
  // This replica's checkouts; other replicas' are removed by their local cache sweep.
  await workspaces.removePull(ctx.repo.owner, ctx.repo.repo, pullNumber);
  await store.deletePull(ctx.repo, pullNumber);
  await store.removePullWaits(ctx.repo, pullNumber);
  const locks = await store.releasePullLocks(ctx.repo, pullNumber);
  if (how.healed && locks.length) {
    const list = locks.map((l) => `- \`${projectLabel(l.project)}\` (dir \`${l.project.dir}\`, workspace \`${l.project.workspace}\`)`).join("\n");
    await ctx.github
      .createComment(
        pullNumber,
        `This pull request is ${how.merged ? "merged" : "closed"}, so Atoll released its locks and deleted its plans:\n\n${list}`,
      )
      .catch((e: unknown) => ctx.log.warn({ err: e, pull: pullNumber }, "could not comment on a healed pull request"));
  }
  await wakeWaiters(ctx, locks, pullNumber);
  ctx.log.info({ pull: pullNumber, locks: locks.length, plans: removed.length, healed: how.healed }, "released a closed pull request");
  return locks;
}
