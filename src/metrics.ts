/**
 * Prometheus metrics: one `Metrics` object per app, owning a private prom-client `Registry` (never
 * the global one), served as `GET /metrics` (`createMetricsHandler`) next to `/healthz`.
 *
 * Every label value comes from a fixed list chosen here (event names, job commands, HTTP methods,
 * status classes, rate-limit resources) or is an installation id: never user input (comment
 * text, repo names, branch names) and never anything secret. Unknown values become `other`.
 *
 * Gauges of shared state (queued jobs, locks) are read from the store at scrape time, each query
 * cut off after `storeTimeoutMs`; when the store fails they read NaN and the scrape still answers.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { HttpHandler } from "./health.js";
import type { JobSpec } from "./jobs/job-spec.js";
import type { Store } from "./ports/store.js";

/** How a job ended, as the store records it. */
export type JobResult = "succeeded" | "failed" | "interrupted" | "cancelled";

/** What the job service reports (`JobServiceOptions.metrics`). */
export interface JobMetrics {
  /** A job starts running in this process; call `finish` once when it ends (later calls are ignored). */
  jobStarted(spec: JobSpec): { finish(result: JobResult): void };
  /** A job this process did not run was finished here (an adopted job reported interrupted). */
  jobFinished(spec: JobSpec, result: JobResult): void;
}

/** The part of an Octokit the metrics hook into (`octokit.hook`). */
export interface HookableOctokit {
  hook: {
    after(name: "request", hook: (response: OctokitResponseLike, options: OctokitRequestOptionsLike) => void): void;
    error(name: "request", hook: (error: unknown, options: OctokitRequestOptionsLike) => unknown): void;
  };
}
interface OctokitResponseLike {
  status: number;
  headers: Record<string, unknown>;
}
interface OctokitRequestOptionsLike {
  method?: string;
}

/** The part of `@octokit/webhooks`' `Webhooks` whose calls are timed (`probot.webhooks`). */
export interface WebhooksLike {
  receive: (event: never) => Promise<void>;
  verifyAndReceive: (event: never) => Promise<void>;
}

export interface Metrics extends JobMetrics {
  readonly registry: Registry;
  /**
   * Count and time every delivery `webhooks` handles: `verifyAndReceive` (Probot's webhook
   * endpoint: from the signature check to the answer) and `receive` (`probot.receive`). Refused
   * deliveries (bad signature, not JSON: status 400) are not counted.
   */
  instrumentWebhooks(webhooks: WebhooksLike): void;
  /** Count the requests of this Octokit and follow its rate limit (once per Octokit). */
  instrumentOctokit(octokit: HookableOctokit, installation?: number | "app"): void;
  /** The text exposition and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  store: Pick<Store, "countJobs" | "countLocks">;
  /** Process groups (terraform, git) this process has running (`runningProcessGroups`). */
  runningProcesses?: () => number;
  /** Cut off each store query of a scrape after this long (default 2 s). */
  storeTimeoutMs?: number;
  /** Node.js/process metrics (prom-client's defaults: `atoll_process_…`, `atoll_nodejs_…`); default true. */
  defaultMetrics?: boolean;
}

/** Events a GitHub App may be sent; anything else is counted as `other`. */
const WEBHOOK_EVENTS = new Set([
  "check_run",
  "check_suite",
  "issue_comment",
  "issues",
  "pull_request",
  "pull_request_review",
  "pull_request_review_comment",
  "pull_request_review_thread",
  "push",
  "status",
  "installation",
  "installation_repositories",
  "installation_target",
  "github_app_authorization",
  "repository",
  "meta",
  "ping",
]);

const HTTP_METHODS = new Set(["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]);
/** `x-ratelimit-resource` values GitHub documents; others are `other`. */
const RATE_LIMIT_RESOURCES = new Set(["core", "graphql", "search", "code_search", "integration_manifest", "source_import", "code_scanning_upload", "actions_runner_registration", "scim", "dependency_snapshots", "audit_log", "audit_log_streaming", "code_scanning_autofix"]);
const COMMANDS: Record<string, string> = {
  plan: "plan",
  apply: "apply",
  destroy: "destroy",
  unlock: "unlock",
  version: "version",
  cancel: "cancel",
  import: "import",
  state_rm: "state rm",
};
const CHECK_RUN_ACTIONS = new Set(["plan", "apply", "unlock", "refresh"]);
const OTHER_KINDS = new Set(["autoplan", "review", "cleanup", "lock-released", "reply", "react"]);

export function webhookEventLabel(event: string | undefined): string {
  return event && WEBHOOK_EVENTS.has(event) ? event : "other";
}

/** A job's `command` label: like `describeJob`, but from a fixed list (check-run buttons and re-runs together). */
export function jobCommandLabel(spec: JobSpec): string {
  switch (spec.kind) {
    case "command":
      return COMMANDS[spec.command.command] ?? "other";
    case "check-run":
      return CHECK_RUN_ACTIONS.has(spec.action) ? `check-run ${spec.action}` : "check-run other";
    default:
      return OTHER_KINDS.has(spec.kind) ? spec.kind : "other";
  }
}

function statusClass(status: unknown): string {
  const n = Number(status);
  return Number.isInteger(n) && n >= 100 && n <= 599 ? `${Math.floor(n / 100)}xx` : "error";
}

function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = headers?.[name];
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}

/** Whether a failed `receive` was a refused delivery (bad signature or body), not a handler failure. */
function refused(error: unknown): boolean {
  const first = (error as { errors?: unknown[] } | undefined)?.errors?.[0] ?? error;
  return (first as { status?: unknown } | undefined)?.status === 400;
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "atoll_" });
  const timeoutMs = opts.storeTimeoutMs ?? 2_000;

  /** A store count, or NaN when the store fails or is slow (the scrape must answer). */
  async function fromStore(query: () => Promise<number>): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        query(),
        new Promise<number>((resolve) => {
          timer = setTimeout(() => resolve(Number.NaN), timeoutMs);
        }),
      ]);
    } catch {
      return Number.NaN;
    } finally {
      clearTimeout(timer);
    }
  }

  const webhooks = new Counter({
    name: "atoll_webhooks_received_total",
    help: "Webhook deliveries received (signature verified), by GitHub event name.",
    labelNames: ["event"],
    registers: [registry],
  });
  const webhookLatency = new Histogram({
    name: "atoll_webhook_ack_duration_seconds",
    help: "Time from receiving a verified webhook delivery to answering it (its jobs stored), in seconds.",
    labelNames: ["event"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const jobsFinished = new Counter({
    name: "atoll_jobs_finished_total",
    help: "Jobs finished by this process, by command and result (succeeded, failed, interrupted, cancelled).",
    labelNames: ["command", "result"],
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: "atoll_job_duration_seconds",
    help: "Run time of the jobs this process ran, from claim to finish, in seconds.",
    labelNames: ["command"],
    buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [registry],
  });
  new Gauge({
    name: "atoll_jobs_queued",
    help: "Jobs waiting in the store (every replica's), read at scrape time; NaN when the store does not answer.",
    registers: [registry],
    async collect() {
      this.set(await fromStore(() => opts.store.countJobs(["queued"])));
    },
  });
  const jobsRunning = new Gauge({
    name: "atoll_jobs_running",
    help: "Jobs running in this process.",
    registers: [registry],
  });
  new Gauge({
    name: "atoll_processes_running",
    help: "Process groups (terraform, git, workflow steps) this process has running.",
    registers: [registry],
    collect() {
      this.set(opts.runningProcesses?.() ?? 0);
    },
  });
  new Gauge({
    name: "atoll_locks_held",
    help: "Project locks held (every repo), read from the store at scrape time; NaN when the store does not answer.",
    registers: [registry],
    async collect() {
      this.set(await fromStore(() => opts.store.countLocks()));
    },
  });
  const githubRequests = new Counter({
    name: "atoll_github_requests_total",
    help: "GitHub API requests (after Octokit's own retries), by HTTP method and status class (2xx, 3xx, 4xx, 5xx; error: no response).",
    labelNames: ["method", "status"],
    registers: [registry],
  });
  const rateLimit = new Gauge({
    name: "atoll_github_rate_limit_remaining",
    help: "Requests left in GitHub's rate limit window (x-ratelimit-remaining of the latest response), by installation id (app: the App's own JWT) and resource.",
    labelNames: ["installation", "resource"],
    registers: [registry],
  });

  const instrumented = new WeakSet<object>();
  const observeWebhooks = (run: (event: never) => Promise<void>) =>
    async (event: never): Promise<void> => {
      const started = process.hrtime.bigint();
      const name = webhookEventLabel((event as { name?: string } | undefined)?.name);
      let counted = true;
      try {
        await run(event);
      } catch (error) {
        counted = !refused(error);
        throw error;
      } finally {
        if (counted) {
          webhooks.inc({ event: name });
          webhookLatency.observe({ event: name }, Number(process.hrtime.bigint() - started) / 1e9);
        }
      }
    };

  return {
    registry,
    instrumentWebhooks(target) {
      if (instrumented.has(target)) return;
      instrumented.add(target);
      target.receive = observeWebhooks(target.receive.bind(target));
      target.verifyAndReceive = observeWebhooks(target.verifyAndReceive.bind(target));
    },
    instrumentOctokit(octokit, installation = "app") {
      if (instrumented.has(octokit)) return;
      instrumented.add(octokit);
      const record = (method: string | undefined, status: unknown, headers: Record<string, unknown> | undefined) => {
        const m = (method ?? "").toUpperCase();
        githubRequests.inc({ method: HTTP_METHODS.has(m) ? m : "other", status: statusClass(status) });
        const remaining = Number(header(headers, "x-ratelimit-remaining"));
        if (header(headers, "x-ratelimit-remaining") !== undefined && Number.isFinite(remaining)) {
          const resource = header(headers, "x-ratelimit-resource") ?? "core";
          rateLimit.set({ installation: String(installation), resource: RATE_LIMIT_RESOURCES.has(resource) ? resource : "other" }, remaining);
        }
      };
      octokit.hook.after("request", (response, options) => record(options.method, response.status, response.headers));
      octokit.hook.error("request", (error, options) => {
        const e = error as { status?: unknown; response?: { headers?: Record<string, unknown> } };
        record(options.method, e.response ? e.status : undefined, e.response?.headers);
        throw error;
      });
    },
    jobStarted(spec) {
      const command = jobCommandLabel(spec);
      const started = process.hrtime.bigint();
      jobsRunning.inc();
      let done = false;
      return {
        finish(result) {
          if (done) return;
          done = true;
          jobsRunning.dec();
          jobsFinished.inc({ command, result });
          jobDuration.observe({ command }, Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
    jobFinished(spec, result) {
      jobsFinished.inc({ command: jobCommandLabel(spec), result });
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

export interface MetricsHandlerOptions {
  metrics: Pick<Metrics, "scrape">;
  /** When set, `/metrics` requires `Authorization: Bearer <token>` (ATOLL_METRICS_TOKEN). */
  token?: string;
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** `Authorization: Bearer <token>` matches, compared in constant time (over digests, so lengths do not leak either). */
function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return timingSafeEqual(digest(match?.[1] ?? ""), expected) && match !== null;
}

function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): true {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers }).end(body);
  return true;
}

/** `GET /metrics`: the Prometheus text exposition, behind the bearer token when one is set. */
export function createMetricsHandler(opts: MetricsHandlerOptions): HttpHandler {
  const expected = opts.token ? digest(opts.token) : undefined;
  return async (req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/metrics") return false;
    if (req.method !== "GET" && req.method !== "HEAD") return sendText(res, 405, "use GET /metrics\n", { allow: "GET, HEAD" });
    if (expected && !authorized(req, expected)) {
      const challenge = req.headers.authorization ? 'Bearer realm="atoll", error="invalid_token"' : 'Bearer realm="atoll"';
      return sendText(res, 401, "/metrics needs Authorization: Bearer <ATOLL_METRICS_TOKEN>\n", { "www-authenticate": challenge });
    }
    const { contentType, body } = await opts.metrics.scrape();
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" }).end(req.method === "HEAD" ? undefined : body);
    return true;
  };
}
