/**
 * The Probot application: builds the real adapters (or takes test doubles), registers the webhook
 * handlers, recovers jobs left over from the last run, starts the lock sweep, and drains on
 * SIGTERM. No domain logic lives here.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { ApplicationFunction, Probot } from "probot";
import { createExecaTerraform } from "./adapters/execa-terraform.js";
import { createGitWorkspace } from "./adapters/git-workspace.js";
import { createInProcessJobs } from "./adapters/in-process-jobs.js";
import { createCloneTokenCache } from "./adapters/clone-token-cache.js";
import { createOctokitGitHub } from "./adapters/octokit-github.js";
import { createProcessShell } from "./adapters/process-shell.js";
import { killOrphanedGroup, stopAllProcessGroups } from "./adapters/run-process.js";
import { openSqliteStore } from "./adapters/sqlite-store.js";
import { createAppIdentity } from "./app-identity.js";
import type { AppEnv } from "./handlers/app-env.js";
import { registerCheckRunHandlers } from "./handlers/check-run.js";
import { registerIssueCommentHandler } from "./handlers/issue-comment.js";
import { registerPullRequestReviewHandler } from "./handlers/pull-request-review.js";
import { registerPullRequestHandlers } from "./handlers/pull-request.js";
import { executeJob, reportInterrupted, type ExecutorEnv } from "./jobs/execute-job.js";
import { JobService } from "./jobs/job-service.js";
import { sweepLocks } from "./jobs/lock-sweep.js";
import type { JobRunner } from "./ports/jobs.js";
import type { ShellPort } from "./ports/shell.js";
import type { Store } from "./ports/store.js";
import type { TerraformPort } from "./ports/terraform.js";
import type { WorkspacePort } from "./ports/workspace.js";
import type { RunnerDeps } from "./runner/runner-deps.js";
import { SettingsError, readSettings, type Settings } from "./settings.js";
import type { ServerPolicy } from "./config/config-types.js";
import { loadServerPolicyFile } from "./config/server-policy.js";
import { formatConfigIssue } from "./config/yaml-reader.js";

/**
 * The operator's policy file, or a start-up failure listing every problem in it: running with a
 * policy the operator did not mean (e.g. allowing custom workflows by mistake) is worse than not
 * starting.
 */
async function readPolicy(file: string): Promise<ServerPolicy> {
  const loaded = await loadServerPolicyFile(file);
  if (!loaded.ok) {
    throw new SettingsError(`ATOLL_POLICY_FILE ${file} is invalid:\n${loaded.errors.map((e) => `  ${formatConfigIssue(e)}`).join("\n")}`);
  }
  return loaded.policy;
}

/** Replace any part; everything not given is built from the environment. */
export interface AppOverrides {
  settings?: Settings;
  /** The server policy (instead of reading ATOLL_POLICY_FILE). */
  policy?: ServerPolicy;
  terraform?: TerraformPort;
  shell?: ShellPort;
  workspaces?: WorkspacePort;
  store?: Store;
  jobs?: JobRunner;
  /** Tests: don't install the SIGTERM handler or the sweep timer. */
  embedded?: boolean;
  /** Called when start-up recovery is done (tests wait for it). */
  onRecovered?: (result: { interrupted: number; resumed: number }) => void;
}

/** Everything the running app holds, for tests and the shutdown handler. */
export interface AtollRuntime {
  jobs: JobService;
  store: Store;
  sweep: () => Promise<number>;
}

export function createApp(overrides: AppOverrides = {}, onRuntime?: (runtime: AtollRuntime) => void): ApplicationFunction {
  return async (app: Probot) => {
    const settings = overrides.settings ?? readSettings();
    const policy = overrides.policy ?? (settings.policyFile ? await readPolicy(settings.policyFile) : undefined);
    mkdirSync(settings.dataDir, { recursive: true });
    const store = overrides.store ?? (await openSqliteStore(settings.databaseFile));
    const runner =
      overrides.jobs ??
      createInProcessJobs({
        concurrency: settings.jobConcurrency,
        // The store holds the real queue; this only bounds what waits in memory.
        maxQueued: Number.MAX_SAFE_INTEGER,
        onError: (job, error) => app.log.error({ err: error, job: job.name, key: job.key }, "job failed"),
      });
    // eslint-disable-next-line prefer-const
    let jobs: JobService;
    const deps: RunnerDeps = {
      settings,
      // The default distribution's binary; projects choosing another version or distribution pass theirs per call.
      terraform:
        overrides.terraform ??
        createExecaTerraform({
          binary: settings.terraformDistribution === "opentofu" ? settings.tofuBin : settings.terraformBin,
          ...(settings.pluginCacheDir ? { pluginCacheDir: settings.pluginCacheDir } : {}),
        }),
      shell: overrides.shell ?? createProcessShell(),
      ...(policy ? { policy } : {}),
      workspaces:
        overrides.workspaces ??
        createGitWorkspace({ rootDir: path.join(settings.dataDir, "checkouts"), timeoutMs: settings.stepTimeoutMs, logger: app.log }),
      store,
      jobs: { submit: (spec, key) => jobs.submit(spec, key) },
    };
    // One token cache per app: a clone token serves every job of its installation while it lasts.
    const cloneTokens = createCloneTokenCache();
    const githubFor = async (installationId: number, owner: string, repo: string) =>
      createOctokitGitHub(await app.auth(installationId), { owner, repo, installationId }, cloneTokens);
    const execEnv: ExecutorEnv = { deps, githubFor, log: app.log };
    jobs = new JobService({
      store,
      runner,
      log: app.log,
      execute: (job, signal) => executeJob(execEnv, job, signal),
      reportInterrupted: (job, reason) => reportInterrupted(execEnv, job, reason),
      killOrphans: async (job) => {
        for (const p of job.processes) {
          if (await killOrphanedGroup(p)) app.log.warn({ job: job.id, pid: p.pid }, "killed a process group left by the previous run");
        }
      },
    });
    const env: AppEnv = {
      settings,
      store,
      jobs: {
        submit: (spec, key) => jobs.submit(spec, key),
        get backlog() {
          return runner.queued;
        },
      },
      identity: createAppIdentity(app, settings.appSlug),
      ...(policy ? { policy } : {}),
    };
    registerPullRequestHandlers(app, env);
    registerIssueCommentHandler(app, env);
    registerPullRequestReviewHandler(app, env);
    registerCheckRunHandlers(app, env);

    const sweep = () =>
      sweepLocks({ store, jobs, githubFor, name: settings.commandNames[0], log: app.log }).catch((error: unknown) => {
        app.log.warn({ err: error }, "lock sweep failed");
        return 0;
      });
    onRuntime?.({ jobs, store, sweep });

    // Recover in the background: start-up must not wait on GitHub.
    void jobs
      .recover()
      .then((r) => overrides.onRecovered?.(r))
      .catch((error: unknown) => app.log.error({ err: error }, "job recovery failed"));

    if (!overrides.embedded) {
      setInterval(() => void sweep(), settings.lockSweepIntervalMs).unref();
      process.once("SIGTERM", () => {
        app.log.info({ graceMs: settings.shutdownGraceMs, running: jobs.activeJobs }, "SIGTERM: draining jobs");
        void jobs
          .drain(settings.shutdownGraceMs, async () => {
            const n = await stopAllProcessGroups(5_000);
            app.log.warn({ processes: n }, "shutdown grace period over: stopped running terraform");
          })
          .then(async (r) => {
            app.log.info(r, "drained; exiting");
            await store.close();
            process.exit(0);
          })
          .catch((error: unknown) => {
            app.log.error({ err: error }, "drain failed; exiting");
            process.exit(1);
          });
      });
    }
    app.log.info(
      { dataDir: settings.dataDir, database: settings.databaseFile, names: settings.commandNames, concurrency: settings.jobConcurrency },
      "Atoll is ready",
    );
  };
}
