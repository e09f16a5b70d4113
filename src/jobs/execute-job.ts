/**
 * Run one job: turn its spec into the runner call, with a CommandContext built for the job's
 * installation. Failures are told on the pull request; interrupted jobs are reported by
 * `reportInterrupted` (restart, crash, shutdown).
 */
import { quote } from "shlex";
import type { GitHubPort } from "../ports/github.js";
import type { JobRecord } from "../ports/store.js";
import { projectFlags, type Project } from "../projects/project.js";
import { runApply } from "../runner/commands/apply-command.js";
import { CheckReporter } from "../runner/reporting/check-reporter.js";
import { runCloseCleanup } from "../runner/commands/close-cleanup.js";
import { postComment } from "../runner/reporting/comments.js";
import { findState, runPlan } from "../runner/commands/plan-command.js";
import { wakeWaiters } from "../runner/gates/project-locks.js";
import { Interrupted, throwIfInterrupted } from "../runner/interrupted.js";
import { runReviewRefresh } from "../runner/commands/review-refresh.js";
import type { CommandContext, Logger, RunnerDeps } from "../runner/runner-deps.js";
import { runUnlock } from "../runner/commands/unlock-command.js";
import { runVersion } from "../runner/commands/version-command.js";
import { runCancel } from "../runner/commands/cancel-command.js";
import { runStateCommand } from "../runner/commands/state-command.js";
import { destroyArgs } from "../runner/gates/destroy-guard.js";
import { commandWords } from "../commands/command-name.js";
import type { CommandRequest } from "../commands/parse-comment.js";
import { describeJob, isCancellable, type JobSpec } from "./job-spec.js";
import { JobLog, runWithJobLog } from "../logs/job-log.js";
import type { JobRun } from "./job-service.js";
import { REPOSITORY_REMOVED, RepositoryRemoved, cachedCheck, stopWhenRemoved } from "./repository-removal.js";

export interface ExecutorEnv {
  deps: RunnerDeps;
  /** A GitHubPort for one repository of one installation. */
  githubFor(installationId: number, owner: string, repo: string): Promise<GitHubPort>;
  log: Logger & { child?: (bindings: Record<string, unknown>) => Logger };
}

async function contextFor(env: ExecutorEnv, job: JobRecord, run?: JobRun, removed?: () => Promise<boolean>): Promise<CommandContext> {
  const s = job.spec;
  const publicUrl = env.deps.settings?.publicUrl?.replace(/\/+$/, "");
  const github = await env.githubFor(s.installationId, s.owner, s.repo);
  return {
    deps: env.deps,
    github: removed ? stopWhenRemoved(github, removed) : github,
    repo: { owner: s.owner, repo: s.repo },
    installationId: s.installationId,
    pullNumber: s.pullNumber,
    user: s.user,
    name: s.name,
    log: env.log.child?.({ job: job.id, repo: `${s.owner}/${s.repo}`, pull: s.pullNumber }) ?? env.log,
    ...(run ? { signal: run.signal, onSpawn: run.onSpawn } : {}),
    ...(publicUrl ? { jobUrl: `${publicUrl}/jobs/${job.id}` } : {}),
    // `cancel` (on any replica) marks the job in the store; asked before each execution-order group.
    cancelRequested: async () => (await env.deps.store.getJob(job.id))?.cancelRequestedBy,
  };
}

/** `-p name`, or `-d dir -w ws` for unnamed projects (the two cannot be combined). */
function targetOf(project: Project | undefined) {
  if (!project) return { dir: "", workspace: "", project: "" };
  return project.name ? { dir: "", workspace: "", project: project.name } : { dir: project.dir, workspace: project.workspace, project: "" };
}

async function run(ctx: CommandContext, spec: JobSpec): Promise<void> {
  switch (spec.kind) {
    case "autoplan":
      return runPlan(ctx, { trigger: "autoplan", dir: "", workspace: "", project: "", extraArgs: [], verbose: false, pull: spec.pull, quietRefusal: spec.quietRefusal });
    case "command":
      return runCommand(ctx, spec.command);
    case "reply":
      return postComment(ctx, spec.body);
    case "react":
      return ctx.github.addReaction(spec.commentId, "eyes");
    case "check-run": {
      const note = `Requested by @${spec.user} with the check run's ${spec.via} on \`${spec.checkRun.name}\`.`;
      if (spec.action === "plan") {
        const states = spec.project ? await ctx.deps.store.listProjects(ctx.repo, ctx.pullNumber) : [];
        const extraArgs = spec.project ? (findState(states, spec.project)?.extraArgs ?? []) : [];
        return runPlan(ctx, { trigger: "comment", ...targetOf(spec.project), extraArgs, verbose: false, notes: [note] });
      }
      if (spec.action === "apply") {
        return runApply(ctx, {
          ...targetOf(spec.project),
          verbose: false,
          // A button on a plan check run applies exactly the plan that run shows.
          fromCheckRun: spec.checkRun.isPlanRun ? { id: spec.checkRun.id, headSha: spec.checkRun.headSha } : { headSha: spec.checkRun.headSha },
          notes: [note],
        });
      }
      if (spec.action === "unlock") return runUnlock(ctx);
      const pull = await ctx.github.getPull(ctx.pullNumber);
      return new CheckReporter(ctx, pull.headSha).refreshAggregates(await ctx.deps.store.listProjects(ctx.repo, pull.number));
    }
    case "review":
      return runReviewRefresh(ctx);
    case "cleanup":
      return runCloseCleanup(ctx, spec.merged, spec.healed ?? false);
    case "lock-released": {
      const pull = await ctx.github.getPull(ctx.pullNumber);
      if (pull.state === "closed") {
        // Nobody to plan for here: pass the lock on to the next PR in line.
        await wakeWaiters(ctx, [{ project: spec.project }], spec.releasedBy);
        return;
      }
      return runPlan(ctx, {
        trigger: "comment",
        ...targetOf(spec.project),
        extraArgs: [],
        verbose: false,
        pull,
        notes: [`The lock on \`${spec.project.dir}\` was released by #${spec.releasedBy}, so Atoll planned this pull request again automatically.`],
      });
    }
  }
}

/** A comment command. */
function runCommand(ctx: CommandContext, c: CommandRequest): Promise<void> {
  const target = { dir: c.dir, workspace: c.workspace, project: c.project };
  switch (c.command) {
    case "plan":
      return runPlan(ctx, { trigger: "comment", ...target, extraArgs: c.extraArgs, verbose: c.verbose });
    case "destroy":
      return runPlan(ctx, { trigger: "comment", ...target, extraArgs: destroyArgs(c.extraArgs), verbose: c.verbose });
    case "apply":
      return runApply(ctx, { ...target, verbose: c.verbose, ...(c.autoMerge ? { autoMerge: c.autoMerge } : {}) });
    case "unlock":
      return runUnlock(ctx);
    case "cancel":
      return runCancel(ctx);
    case "version":
      return runVersion(ctx, target);
    case "import":
    case "state_rm":
      return runStateCommand(ctx, { command: c.command, ...target, args: c.args ?? [], extraArgs: c.extraArgs, verbose: c.verbose });
  }
}

export async function executeJob(env: ExecutorEnv, job: JobRecord, jobRun?: JobRun): Promise<void> {
  const signal = jobRun?.signal;
  const removed = cachedCheck(async () => (await env.deps.store.getJob(job.id))?.cancelRequestedBy === REPOSITORY_REMOVED);
  const ctx = await contextFor(env, job, jobRun, removed).catch(async (error: unknown) => {
    // An uninstalled App gets no installation token: that is the removal, not a failure.
    throw (await removed()) ? new RepositoryRemoved() : error;
  });
  try {
    // Jobs that run terraform keep a log (served live by the web UI).
    const log = isCancellable(job.spec)
      ? new JobLog(env.deps.store, job.id, { maxBytes: env.deps.settings.jobLogMaxBytes, onError: (e) => ctx.log.warn({ err: e }, "could not store a job log chunk") })
      : undefined;
    await (log ? runWithJobLog(log, () => run(ctx, job.spec)) : run(ctx, job.spec));
    throwIfInterrupted(ctx);
  } catch (error) {
    // An interrupted job is reported by the job service (reportInterrupted), not as a failure.
    if (error instanceof Interrupted || signal?.aborted) throw error;
    // The App lost the repository meanwhile: nothing more is written to it (not even the failure).
    if (error instanceof RepositoryRemoved || (await removed())) throw error instanceof RepositoryRemoved ? error : new RepositoryRemoved();
    ctx.log.error({ err: error, job: job.id }, "job failed");
    if (job.spec.kind !== "react") {
      await ctx.github
        .createComment(
          ctx.pullNumber,
          `**Atoll hit an internal error** while running \`${describeJob(job.spec)}\`: ${(error as Error).message}\n\n` +
            `Nothing further was done. The server log has the details; comment the command again to retry.`,
        )
        .catch((e: unknown) => ctx.log.error({ err: e }, "could not report the job failure"));
    }
    throw error;
  }
}

/** The comment that would run this job again, for "retry with …" messages. */
export function retryCommand(spec: JobSpec): string | undefined {
  const n = spec.name;
  switch (spec.kind) {
    case "autoplan":
      return `${n} plan`;
    case "command": {
      const c = spec.command;
      const flags = [
        c.project ? `-p ${quote(c.project)}` : "",
        c.dir ? `-d ${quote(c.dir)}` : "",
        c.workspace ? `-w ${quote(c.workspace)}` : "",
        c.verbose ? "--verbose" : "",
        c.autoMerge ? ("disabled" in c.autoMerge ? "--auto-merge-disabled" : `--auto-merge-method ${c.autoMerge.method}`) : "",
        ...(c.args ?? []).map((a) => quote(a)),
      ].filter(Boolean);
      const extra = c.extraArgs.length ? ` -- ${c.extraArgs.map((a) => quote(a)).join(" ")}` : "";
      return [n, commandWords(c.command), ...flags].join(" ") + extra;
    }
    case "check-run":
      if (spec.action === "refresh") return undefined;
      return spec.project && spec.action !== "unlock" ? `${n} ${spec.action} ${projectFlags(spec.project)}` : `${n} ${spec.action}`;
    case "lock-released":
      return `${n} plan ${projectFlags(spec.project)}`;
    default:
      return undefined;
  }
}

const isApply = (spec: JobSpec) =>
  (spec.kind === "command" && spec.command.command === "apply") || (spec.kind === "check-run" && spec.action === "apply");

/**
 * Tell the PR a job was interrupted: close the check runs it left open, mark its pending
 * projects failed, and say how to retry. An apply is never retried by Atoll itself.
 */
export async function reportInterrupted(env: ExecutorEnv, job: JobRecord, reason: string): Promise<void> {
  const spec = job.spec;
  if (spec.kind === "react" || spec.kind === "reply" || spec.kind === "review") return;
  const ctx = await contextFor(env, job);
  if (spec.kind === "cleanup") {
    // Releasing locks is safe to repeat: queue it again.
    await env.deps.jobs.submit({ ...spec }, `cleanup-retry:${job.id}`);
    return;
  }
  const { store } = env.deps;
  const states = await store.listProjects(ctx.repo, ctx.pullNumber);
  const interrupted = states.filter((s) => s.plan === "pending" || s.apply === "pending");
  const shas = new Set(interrupted.map((s) => s.headSha));
  for (const sha of shas) {
    await new CheckReporter(ctx, sha)
      .adoptLatestRuns()
      .catch((e: unknown) => ctx.log.warn({ err: e, headSha: sha }, "could not list the check runs of an interrupted job"));
  }
  for (const s of interrupted) {
    const kind = s.apply === "pending" ? "apply" : "plan";
    await store.upsertProject(ctx.repo, ctx.pullNumber, {
      ...s,
      ...(kind === "plan" ? { plan: "failed" as const, headline: `Interrupted: ${reason}.` } : { apply: "failed" as const }),
      updatedAt: new Date().toISOString(),
    });
    // Plans create their project runs with the result, so an interrupted one may have none yet: the
    // project's run says it was interrupted either way (a run of an earlier result is not reused).
    await new CheckReporter(ctx, s.headSha).projectEnded(kind, s.project, {
      status: "completed",
      conclusion: "cancelled",
      output: { title: `Interrupted: ${reason}`, summary: `This ${kind} did not finish. ${retryText(spec)}` },
    });
  }
  for (const sha of shas) await new CheckReporter(ctx, sha).refreshAggregates(await store.listProjects(ctx.repo, ctx.pullNumber));
  await postComment(ctx, `**Interrupted:** ${reason} \`${describeJob(spec)}\` (requested by @${spec.user}). Locks and saved plans are intact.\n\n${retryText(spec)}`);
}

function retryText(spec: JobSpec): string {
  const cmd = retryCommand(spec);
  if (isApply(spec)) {
    const plan = spec.kind === "check-run" && spec.project ? `\`${spec.name} plan ${projectFlags(spec.project)}\`` : `\`${spec.name} plan\``;
    return (
      "Atoll never retries an apply by itself: the apply may have been partly done. Check the Terraform state, " +
      `then plan again (${plan}), review the new plan, and apply it.`
    );
  }
  return cmd ? `To run it again, comment \`${cmd}\`.` : "";
}
