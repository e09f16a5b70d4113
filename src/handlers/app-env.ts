/**
 * What every webhook handler needs, and the one way they hand work to the job runner: handlers
 * stay thin and fast (the webhook is answered before any GitHub call or terraform run), jobs
 * report their own failures on the pull request.
 */
import type { Context } from "probot";
import { createOctokitGitHub } from "../adapters/octokit-github.js";
import type { AppIdentity } from "../app-identity.js";
import type { JobRunner } from "../ports/jobs.js";
import type { CommandContext, RunnerDeps } from "../runner/runner-deps.js";

export interface AppEnv {
  deps: RunnerDeps;
  jobs: JobRunner;
  identity: AppIdentity;
}

type RepoContext = Context<"pull_request" | "issue_comment" | "pull_request_review" | "check_run">;

export function commandContext(env: AppEnv, context: RepoContext, pullNumber: number, user: string, name: string): CommandContext {
  const { owner, repo } = context.repo();
  const installationId = (context.payload as { installation?: { id: number } }).installation?.id;
  if (!installationId) throw new Error("webhook payload has no installation id");
  return {
    deps: env.deps,
    github: createOctokitGitHub(context.octokit, { owner, repo, installationId }),
    repo: { owner, repo },
    pullNumber,
    user,
    name,
    log: context.log,
  };
}

export function pullJobKey(ctx: CommandContext): string {
  return `${ctx.repo.owner}/${ctx.repo.repo}#${ctx.pullNumber}`.toLowerCase();
}

/**
 * Queue work for a pull request. Jobs of one PR run in order; a failure is logged and told on the
 * PR; a full queue is told on the PR at once.
 */
export function enqueuePullJob(env: AppEnv, ctx: CommandContext, name: string, run: () => Promise<void>): void {
  const accepted = env.jobs.enqueue({
    key: pullJobKey(ctx),
    name,
    run: async () => {
      try {
        await run();
      } catch (error) {
        ctx.log.error({ err: error, job: name, pull: ctx.pullNumber }, "job failed");
        await ctx.github
          .createComment(
            ctx.pullNumber,
            `**Atoll hit an internal error** while running \`${name}\`: ${(error as Error).message}\n\n` +
              `Nothing further was done. The server log has the details; comment the command again to retry.`,
          )
          .catch((e: unknown) => ctx.log.error({ err: e }, "could not report the job failure"));
      }
    },
  });
  if (!accepted) {
    ctx.log.warn({ job: name, queued: env.jobs.queued }, "job queue full");
    void ctx.github
      .createComment(ctx.pullNumber, `**Atoll is busy** (${env.jobs.queued} jobs waiting), so \`${name}\` was not run. Please try again in a few minutes.`)
      .catch((e: unknown) => ctx.log.error({ err: e }, "could not report a full queue"));
  }
}

/** Queue a tiny job that does not wait behind the PR's long-running work (e.g. a reaction). */
export function enqueueSideJob(env: AppEnv, key: string, name: string, log: CommandContext["log"], run: () => Promise<void>): void {
  env.jobs.enqueue({
    key,
    name,
    run: () => run().catch((error: unknown) => log.warn({ err: error, job: name }, "side job failed")),
  });
}
