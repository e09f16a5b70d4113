/**
 * JobSpec: everything needed to run a job, as plain JSON. Webhook handlers turn events into
 * specs; specs are stored before the webhook is answered, so a job survives a restart and can be
 * run by any worker (it gets an installation token from `installationId`).
 */
import { commandWords } from "../commands/command-name.js";
import type { CommandRequest } from "../commands/parse-comment.js";
import type { PullRequestInfo } from "../ports/github.js";
import type { Project } from "../projects/project.js";

export interface JobTarget {
  installationId: number;
  owner: string;
  repo: string;
  pullNumber: number;
  /** Who asked (comment author, button clicker, PR author for autoplan). */
  user: string;
  /** Command word to suggest in replies ("atoll", "atlantis", "@slug"). */
  name: string;
}

export type JobSpec = JobTarget &
  (
    | {
        /** pull_request opened/reopened/ready_for_review/synchronize. */
        kind: "autoplan";
        pull: PullRequestInfo;
        /** Don't explain a refusal (fork PR) again on every push. */
        quietRefusal: boolean;
      }
    | {
        /** A comment command (plan, destroy, apply, unlock, version, cancel, import, state rm). */
        kind: "command";
        commentId: number;
        command: CommandRequest;
      }
    | {
        /** Reply to a comment (help, usage errors, not allowlisted). */
        kind: "reply";
        commentId: number;
        body: string;
      }
    | {
        /** The eyes reaction on a command comment. */
        kind: "react";
        commentId: number;
      }
    | {
        /** A check-run button or re-run. */
        kind: "check-run";
        action: "plan" | "apply" | "unlock" | "refresh";
        via: "button" | "re-run";
        checkRun: { id: number; name: string; headSha: string; isPlanRun: boolean };
        project?: Project;
      }
    | {
        /** A review was submitted: refresh apply readiness. */
        kind: "review";
      }
    | {
        /** The PR closed: release locks, delete checkouts and plans. */
        kind: "cleanup";
        merged: boolean;
        /** Found closed by a lock sweep (the close event was missed): say so on the PR. */
        healed?: boolean;
      }
    | {
        /** A lock this PR was waiting for was released: plan the project again. */
        kind: "lock-released";
        project: Project;
        /** The PR that held it. */
        releasedBy: number;
      }
  );

/** Jobs of one pull request run one after another (one checkout, one terraform at a time). */
export function jobKey(spec: Pick<JobTarget, "owner" | "repo" | "pullNumber">): string {
  return `${spec.owner}/${spec.repo}#${spec.pullNumber}`.toLowerCase();
}

/**
 * The queue a job waits in (`jobs.job_key`): its pull request's, except `cancel`, which has a
 * queue of its own next to it so it runs while the command it cancels is still running.
 */
export function queueKey(spec: JobSpec): string {
  const key = jobKey(spec);
  return spec.kind === "command" && spec.command.command === "cancel" ? `${key} cancel` : key;
}

/** Jobs `cancel` drops while queued (and asks to stop while running): the ones that run terraform. */
export function isCancellable(spec: JobSpec): boolean {
  if (spec.kind === "autoplan" || spec.kind === "lock-released") return true;
  if (spec.kind === "check-run") return spec.action === "plan" || spec.action === "apply";
  return spec.kind === "command" && !["unlock", "cancel"].includes(spec.command.command);
}

export function describeJob(spec: JobSpec): string {
  switch (spec.kind) {
    case "command":
      return commandWords(spec.command.command);
    case "check-run":
      return `${spec.action} (${spec.via})`;
    default:
      return spec.kind;
  }
}
