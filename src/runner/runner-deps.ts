/** What the command runner needs from the outside world; tests pass fakes for any of these. */
import type { JobSubmitter } from "../jobs/job-service.js";
import type { BlobStore } from "../ports/blobs.js";
import type { GitHubPort } from "../ports/github.js";
import type { ShellPort } from "../ports/shell.js";
import type { ServerPolicy } from "../config/config-types.js";
import type { Store, RepoRef } from "../ports/store.js";
import type { TerraformPort } from "../ports/terraform.js";
import type { WorkspacePort } from "../ports/workspace.js";
import type { Settings } from "../settings.js";
import type { PlanTimings } from "./reporting/progress-timing.js";

/** The pino subset Atoll uses (Probot's `context.log` satisfies it). */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface RunnerDeps {
  settings: Settings;
  terraform: TerraformPort;
  /** Runs the shell commands of custom workflows (`run`, `env`, `multienv` steps). */
  shell: ShellPort;
  /** The operator's server policy (ATOLL_POLICY_FILE); undefined = Atlantis's built-in defaults. */
  policy?: ServerPolicy;
  workspaces: WorkspacePort;
  store: Store;
  /** Saved plan files, readable by every replica (see `saved-plans.ts`). */
  blobs: BlobStore;
  /** Queue follow-up work (e.g. re-plan the next PR waiting for a released lock). */
  jobs: JobSubmitter;
  /** How long plans of each repository took (when to write progress); absent: nothing learned. */
  planTimings?: PlanTimings;
}

/** One command for one pull request. */
export interface CommandContext {
  deps: RunnerDeps;
  github: GitHubPort;
  repo: RepoRef;
  installationId: number;
  pullNumber: number;
  /** Who asked (comment author, button clicker, PR author for autoplan). */
  user: string;
  /** The command word to suggest in replies ("atoll", or "atlantis" when the user typed that). */
  name: string;
  log: Logger;
  /** Aborted when the job is interrupted (shutdown); see `interrupted.ts`. */
  signal?: AbortSignal;
  /** Record a process group this command started (crash recovery kills leftovers). */
  onSpawn?: (process: { pid: number; startTime: string }) => void;
  /** The job's page in the web UI (`<ATOLL_PUBLIC_URL>/jobs/<id>`): its check runs' "Details" link. */
  jobUrl?: string;
  /** Who cancelled this command with `cancel`, if anyone (asked before each execution-order group). */
  cancelRequested?: () => Promise<string | undefined>;
}
