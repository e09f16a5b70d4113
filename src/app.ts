/**
 * The Probot application: builds the real adapters (or takes test doubles), registers the webhook
 * handlers (roles `all` and `web`), starts the job worker (roles `all` and `worker`: claims jobs
 * from the store, recovers what a previous run left, sweeps locks), serves `/healthz`,
 * `/readyz` and `/metrics`, and drains on SIGTERM. No domain logic lives here.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { ApplicationFunction, ApplicationFunctionOptions, Probot } from "probot";
import { createExecaTerraform } from "./adapters/execa-terraform.js";
import { createGitWorkspace } from "./adapters/git-workspace.js";
import { createCloneTokenCache } from "./adapters/clone-token-cache.js";
import { createOctokitGitHub } from "./adapters/octokit-github.js";
import { WriteQueue } from "./runner/reporting/write-queue.js";
import { PlanTimings } from "./runner/reporting/progress-timing.js";
import { openStore } from "./adapters/open-store.js";
import { createProcessShell } from "./adapters/process-shell.js";
import { killOrphanedGroup, runningProcessGroups, stopAllProcessGroups } from "./adapters/run-process.js";
import { createAppIdentity } from "./app-identity.js";
import type { AppEnv } from "./handlers/app-env.js";
import { registerCheckRunHandlers } from "./handlers/check-run.js";
import { registerIssueCommentHandler } from "./handlers/issue-comment.js";
import { registerPullRequestReviewHandler } from "./handlers/pull-request-review.js";
import { registerPullRequestHandlers } from "./handlers/pull-request.js";
import { createRepositoryFollower, registerLifecycleHandlers } from "./handlers/app-lifecycle.js";
import { FailedDeliveries, guardWebhookEdge, middlewareLogger } from "./handlers/webhook-guard.js";
import { boundedLogger } from "./logs/bounded-log.js";
import { createHealthHandler } from "./health.js";
import { createWebUi } from "./web/web-ui.js";
import { createMetrics, createMetricsHandler, type Metrics } from "./metrics.js";
import { executeJob, reportInterrupted, type ExecutorEnv } from "./jobs/execute-job.js";
import { JobService } from "./jobs/job-service.js";
import { sweepLocks } from "./jobs/lock-sweep.js";
import { sweepLocalCheckouts } from "./jobs/checkout-sweep.js";
import type { BlobStore } from "./ports/blobs.js";
import type { ShellPort } from "./ports/shell.js";
import type { Store } from "./ports/store.js";
import type { TerraformPort } from "./ports/terraform.js";
import type { WorkspacePort } from "./ports/workspace.js";
import type { RunnerDeps } from "./runner/runner-deps.js";
import { SettingsError, readSettings, type Settings } from "./settings.js";
import type { ServerPolicy } from "./config/config-types.js";
import { loadServerPolicyFile } from "./config/server-policy.js";
import { formatConfigIssue } from "./config/yaml-reader.js";

/** Finished jobs and processed deliveries are forgotten after this long (redeliveries are days at most). */
const RETENTION_MS = 14 * 24 * 3600_000;
const HOUSEKEEPING_INTERVAL_MS = 3600_000;
/** Local checkouts of pull requests Atoll no longer tracks are deleted after this long untouched. */
const CHECKOUT_MIN_AGE_MS = 3600_000;

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
  /** Where saved plan files go; default the store's own (`store.blobs`). */
  blobs?: BlobStore;
  /** Tests: don't install the SIGTERM handler or the sweep and housekeeping timers. */
  embedded?: boolean;
  /** Called when start-up recovery is done (tests wait for it). */
  onRecovered?: (result: { interrupted: number; resumed: number }) => void;
}

/** Everything the running app holds, for tests and the shutdown handler. */
export interface AtollRuntime {
  jobs: JobService;
  store: Store;
  settings: Settings;
  metrics: Metrics;
  sweep: () => Promise<number>;
}

export function createApp(overrides: AppOverrides = {}, onRuntime?: (runtime: AtollRuntime) => void): ApplicationFunction {
  return async (app: Probot, options?: ApplicationFunctionOptions) => {
    // Errors are logged small (no payloads, no terraform output): see logs/bounded-log.ts.
    const log = boundedLogger(app.log);
    const settings = overrides.settings ?? readSettings();
    const policy = overrides.policy ?? (settings.policyFile ? await readPolicy(settings.policyFile) : undefined);
    const works = settings.role !== "web";
    if (works) mkdirSync(settings.dataDir, { recursive: true });
    const store = overrides.store ?? (await openStore(settings, log));
    // Every delivery passes the guard first (signature, JSON, the fields Atoll reads).
    const failures = new FailedDeliveries();
    guardWebhookEdge(app.webhooks as unknown as Parameters<typeof guardWebhookEdge>[0], {
      log,
      failures,
      // A worker has no webhook endpoint (`npm start` serves none). Under `probot run` one would
      // still answer GitHub: refuse loudly rather than drop the delivery with a 200.
      ...(settings.role === "worker"
        ? { refuse: { status: 503, message: "this Atoll replica is a worker (ATOLL_ROLE=worker) and processes no webhooks: send them to a replica with ATOLL_ROLE=all or web" } }
        : {}),
    });
    // Probot's server asks for its webhook middleware after loading the app: give it a logger
    // that does not log the guard's answers a second time (at error level, with a stack).
    const middleware = app.getNodeMiddleware.bind(app);
    app.getNodeMiddleware = (opts = {}) => middleware({ ...opts, log: middlewareLogger(log) as unknown as NonNullable<typeof opts.log> });
    // Webhook deliveries and the App's own (JWT) requests are counted from the start.
    const metrics = createMetrics({ store, runningProcesses: runningProcessGroups });
    metrics.instrumentWebhooks(app.webhooks);
    metrics.instrumentOctokit(await app.auth(), "app");
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
          niceness: settings.processNiceness,
        }),
      shell: overrides.shell ?? createProcessShell({ niceness: settings.processNiceness }),
      ...(policy ? { policy } : {}),
      workspaces:
        overrides.workspaces ??
        createGitWorkspace({
          rootDir: path.join(settings.dataDir, "checkouts"),
          timeoutMs: settings.stepTimeoutMs,
          logger: log,
          niceness: settings.processNiceness,
        }),
      store,
      blobs: overrides.blobs ?? store.blobs,
      jobs: { submit: (spec, key) => jobs.submit(spec, key) },
      planTimings: new PlanTimings(),
    };
    // One token cache per app: a clone token serves every job of its installation while it lasts.
    const cloneTokens = createCloneTokenCache();
    // One write queue per installation, as Octokit paces the writes of an installation.
    const writeQueues = new Map<number, WriteQueue>();
    const writeQueue = (id: number) => writeQueues.get(id) ?? writeQueues.set(id, new WriteQueue()).get(id)!;
    const githubFor = async (installationId: number, owner: string, repo: string) => {
      const octokit = await app.auth(installationId);
      metrics.instrumentOctokit(octokit, installationId);
      return createOctokitGitHub(octokit, { owner, repo, installationId }, cloneTokens, writeQueue(installationId));
    };
    const execEnv: ExecutorEnv = { deps, githubFor, log };
    jobs = new JobService({
      store,
      log,
      execute: (job, run) => executeJob(execEnv, job, run),
      reportInterrupted: (job, reason) => reportInterrupted(execEnv, job, reason),
      killProcesses: async (processes) => {
        let killed = 0;
        for (const p of processes) if (await killOrphanedGroup(p)) killed++;
        return killed;
      },
      work: works,
      concurrency: settings.jobConcurrency,
      replica: settings.replicaId,
      leaseMs: settings.jobLeaseMs,
      pollMs: settings.jobPollMs,
      metrics,
    });
    let draining = false;
    // `/healthz`, `/readyz` and `/metrics` on the server that loads the app (Probot's, or the worker's own).
    try {
      options?.addHandler?.(createHealthHandler({ store, role: settings.role, replica: settings.replicaId, draining: () => draining }));
      options?.addHandler?.(createMetricsHandler({ metrics, ...(settings.metricsToken ? { token: settings.metricsToken } : {}) }));
    } catch {
      // Loaded without an HTTP server (`probot.load` in tests): nothing to serve them on.
    }

    if (settings.role !== "worker") {
      const follow = createRepositoryFollower({ store }, log);
      const env: AppEnv = {
        settings,
        store,
        jobs: { submit: (spec, key) => jobs.submit(spec, key), backlog: () => store.countJobs(["queued"]) },
        identity: createAppIdentity(app, settings.appSlug),
        ...(policy ? { policy } : {}),
        guard: {
          failures,
          // A repository known under another name was renamed: what Atoll holds follows it first.
          before: async (payload) => {
            const repository = payload.repository as { id: number; name: string; owner: { login: string } } | undefined;
            if (repository) await follow(repository);
          },
        },
      };
      registerLifecycleHandlers(app, env, failures, follow);
      registerPullRequestHandlers(app, env);
      // The web UI (locks, jobs, live logs) on the replicas that answer GitHub.
      try {
        options?.addHandler?.(createWebUi({ settings, store, jobs: env.jobs, githubFor, log }));
      } catch {
        // Loaded without an HTTP server (`probot.load` in tests): nothing to serve it on.
      }
      registerIssueCommentHandler(app, env);
      registerPullRequestReviewHandler(app, env);
      registerCheckRunHandlers(app, env);
    }

    const sweep = async () => {
      const healed = await sweepLocks({ store, jobs, githubFor, name: settings.commandNames[0], log }).catch((error: unknown) => {
        log.warn({ err: error }, "lock sweep failed");
        return 0;
      });
      await sweepLocalCheckouts({ store, workspaces: deps.workspaces, log, minAgeMs: CHECKOUT_MIN_AGE_MS }).catch((error: unknown) =>
        log.warn({ err: error }, "local checkout sweep failed"),
      );
      return healed;
    };
    onRuntime?.({ jobs, store, settings, metrics, sweep });

    // Recover in the background: start-up must not wait on GitHub.
    void jobs
      .start()
      .then((r) => overrides.onRecovered?.(r))
      .catch((error: unknown) => log.error({ err: error }, "job recovery failed"));

    if (!overrides.embedded) {
      if (works) {
        setInterval(() => void sweep(), settings.lockSweepIntervalMs).unref();
        setInterval(
          () => {
            void store.prune(new Date(Date.now() - RETENTION_MS)).catch((error: unknown) => log.warn({ err: error }, "pruning old jobs failed"));
            void store.pruneJobLogs(new Date(Date.now() - settings.jobLogRetentionMs)).catch((error: unknown) => log.warn({ err: error }, "pruning old job logs failed"));
          },
          HOUSEKEEPING_INTERVAL_MS,
        ).unref();
      }
      process.once("SIGTERM", () => {
        draining = true;
        log.info({ graceMs: settings.shutdownGraceMs, running: jobs.activeJobs }, "SIGTERM: draining jobs");
        void jobs
          .drain(settings.shutdownGraceMs, async () => {
            const n = await stopAllProcessGroups(5_000);
            log.warn({ processes: n }, "shutdown grace period over: stopped running terraform");
          })
          .then(async (r) => {
            log.info(r, "drained; exiting");
            await jobs.stop();
            await store.close();
            process.exit(0);
          })
          .catch((error: unknown) => {
            log.error({ err: error }, "drain failed; exiting");
            process.exit(1);
          });
      });
    }
    if (settings.role !== "all" && !settings.databaseUrl) {
      log.warn(
        { role: settings.role, database: settings.databaseFile },
        `ATOLL_ROLE=${settings.role} without ATOLL_DATABASE_URL: jobs are shared only with ${settings.role === "web" ? "workers" : "web processes"} on this machine that use the same SQLite file`,
      );
    }
    log.info(
      {
        role: settings.role,
        replica: settings.replicaId,
        dataDir: settings.dataDir,
        database: settings.databaseUrl ? "postgresql" : settings.databaseFile,
        names: settings.commandNames,
        concurrency: settings.jobConcurrency,
      },
      "Atoll is ready",
    );
  };
}
