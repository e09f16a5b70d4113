/**
 * Operator settings, read once from the environment at start-up. Every setting is documented in
 * README.md and .env.example; a bad value stops the server with a message naming the variable.
 */
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { DEFAULT_ALLOW_COMMANDS, DEFAULT_BLOCKED_EXTRA_ARGS, KNOWN_COMMANDS } from "./commands/parse-comment.js";
import { parseRequirements, type Requirement } from "./runner/gates/apply-requirements.js";
import type { MergeMethod } from "./ports/github.js";

export interface Settings {
  /** Words a comment may start with to address Atoll (ATOLL_COMMAND_NAMES). */
  commandNames: string[];
  /** `owner/repo` patterns (`*` wildcard) Atoll acts on; empty = every repo the App is installed on (ATOLL_REPO_ALLOWLIST). */
  repoAllowlist: string[];
  /** Where checkouts, plan files and state live (ATOLL_DATA_DIR). Absolute. */
  dataDir: string;
  /** Terraform binary (ATOLL_TERRAFORM_BIN). */
  terraformBin: string;
  /** Kill a terraform/git step after this long (ATOLL_STEP_TIMEOUT, e.g. "30m"). */
  stepTimeoutMs: number;
  /** How many jobs run at once (ATOLL_JOB_CONCURRENCY). */
  jobConcurrency: number;
  /** Jobs waiting beyond this are refused with a "busy" answer (ATOLL_MAX_QUEUED_JOBS). */
  maxQueuedJobs: number;
  /** Autoplan draft pull requests too (ATOLL_AUTOPLAN_DRAFTS). */
  autoplanDrafts: boolean;
  /** Plan pull requests whose head is in a fork (ATOLL_ALLOW_FORK_PRS). Off: plan can run code. */
  allowForkPrs: boolean;
  /**
   * Apply projects whose Terraform state would stay in Atoll's temporary checkout (no backend, or
   * a `local` path inside it) (ATOLL_ALLOW_LOCAL_STATE). Off: such plans carry a warning and
   * their apply is refused, because the state is deleted with the checkout.
   */
  allowLocalState: boolean;
  /** Bytes of a job's log kept (ATOLL_JOB_LOG_MAX_BYTES); beyond it the log says it was cut. */
  jobLogMaxBytes: number;
  /** Job logs are deleted this long after they were written (ATOLL_JOB_LOG_RETENTION). */
  jobLogRetentionMs: number;
  /** Comment commands that are allowed (ATOLL_ALLOW_COMMANDS). */
  allowCommands: string[];
  /** Terraform flags refused after `--` (ATOLL_BLOCKED_EXTRA_ARGS). */
  blockedExtraArgs: string[];
  /** Resource types (globs) counted as stateful on top of the built-in list (ATOLL_STATEFUL_TYPES). */
  statefulTypes: string[];
  /** Hide Atoll's earlier plan comments for the same projects as outdated (ATOLL_HIDE_PREV_PLAN_COMMENTS, default true). */
  hidePrevPlanComments: boolean;
  /** Label pull requests atoll/destroy, atoll/no-changes, atoll/plan-failed (ATOLL_PLAN_LABELS, default false). */
  planLabels: boolean;
  /** On a push, keep the plans of projects whose inputs did not change (ATOLL_CARRY_UNCHANGED_PLANS, default true). */
  carryUnchangedPlans: boolean;
  /** The App's slug, if known in advance; otherwise looked up once with GET /app (ATOLL_APP_SLUG). */
  appSlug?: string;
  /** Apply requirements for every repo (ATOLL_APPLY_REQUIREMENTS): approved, mergeable, undiverged. */
  applyRequirements: Requirement[];
  /** How often locks are checked for closed holder PRs (ATOLL_LOCK_SWEEP_INTERVAL). */
  lockSweepIntervalMs: number;
  /** On SIGTERM, how long running jobs may take to finish (ATOLL_SHUTDOWN_GRACE). */
  shutdownGraceMs: number;
  /** SQLite database file (ATOLL_DATABASE_FILE; default <data dir>/atoll.db), used without `databaseUrl`. */
  databaseFile: string;
  /** PostgreSQL database shared by several replicas (ATOLL_DATABASE_URL, postgres://…); undefined = SQLite. */
  databaseUrl?: string;
  /** Most PostgreSQL connections per process for queries (ATOLL_DATABASE_POOL_SIZE). */
  databasePoolSize: number;
  /** What this process does (ATOLL_ROLE): receive webhooks and run jobs, only receive, or only run jobs. */
  role: Role;
  /** This replica's id, stable across its restarts and unique among running replicas (ATOLL_REPLICA_ID). */
  replicaId: string;
  /** How long a claimed job's lease lasts unless renewed; a dead replica's jobs are reported after it (ATOLL_JOB_LEASE). */
  jobLeaseMs: number;
  /** How often an idle worker looks for jobs it was not told about (ATOLL_JOB_POLL_INTERVAL). */
  jobPollMs: number;
  /** Web address of GitHub, for links (from GHE_HOST / GHE_PROTOCOL; default https://github.com). */
  githubWebUrl: string;
  /** Server policy file (Atlantis's repos.yaml), absolute; undefined = built-in defaults (ATOLL_POLICY_FILE). */
  policyFile?: string;
  /** Directory of terraform/tofu binaries for `terraform_version` (ATOLL_TERRAFORM_VERSIONS_DIR). Absolute. */
  terraformVersionsDir?: string;
  /** Distribution used when a project does not choose one (ATOLL_TERRAFORM_DISTRIBUTION). */
  terraformDistribution: "terraform" | "opentofu";
  /** OpenTofu binary for projects with `terraform_distribution: opentofu` (ATOLL_TOFU_BIN). */
  tofuBin: string;
  /** How many projects of one command run at once with parallel_plan/parallel_apply (ATOLL_PARALLEL_POOL_SIZE). */
  parallelPoolSize: number;
  /** Plan a command's projects in parallel unless the repo config sets parallel_plan (ATOLL_PARALLEL_PLAN). */
  parallelPlan: boolean;
  /** Shared provider plugin cache directory, or undefined when off (ATOLL_PLUGIN_CACHE; <data dir>/plugin-cache). */
  pluginCacheDir?: string;
  /**
   * Plans that finish sooner than this never show "in progress": their results are the first
   * writes (GitHub writes are paced about 1 s apart). 0 = always show progress first
   * (ATOLL_PROGRESS_DELAY).
   */
  progressDelayMs: number;
  /**
   * ATOLL_PROGRESS_DELAY unset: plans expected to outlast GitHub's pacing show progress at once
   * (`runner/progress-timing.ts`). Set: exactly that delay, always.
   */
  progressDelayAuto: boolean;
  /** How repos with `automerge: true` are merged once every plan is applied (ATOLL_AUTOMERGE_METHOD). */
  automergeMethod: MergeMethod;
  /**
   * How much nicer than the server terraform, git and workflow steps run, 0–19 (ATOLL_PROCESS_NICENESS,
   * default 10): webhooks are answered at once however busy the cores are.
   */
  processNiceness: number;
  /**
   * GOGC terraform and its providers start with (ATOLL_TERRAFORM_GOGC, default 400; 100 is Go's
   * default and sets nothing), with a GOMEMLIMIT of a fair share of memory: see go-runtime-env.ts.
   */
  terraformGogc: number;
  /** Public address of this server, without a trailing slash (ATOLL_PUBLIC_URL); the web UI's origin and OAuth callback base. */
  publicUrl?: string;
  /** Secret the web UI's session cookies are sealed with (ATOLL_SESSION_SECRET); unset = derived from the App's private key. */
  sessionSecret?: string;
  /** The App's OAuth client id, for "Sign in with GitHub" (GITHUB_CLIENT_ID, written by the setup wizard). */
  oauthClientId?: string;
  /** The App's OAuth client secret (GITHUB_CLIENT_SECRET, written by the setup wizard). */
  oauthClientSecret?: string;
  /**
   * Bearer token `GET /metrics` requires (ATOLL_METRICS_TOKEN); undefined = `/metrics` is open
   * (keep it off the public network then).
   */
  metricsToken?: string;
}

export const MERGE_METHODS: readonly MergeMethod[] = ["merge", "squash", "rebase"];

/** `all`: receive webhooks and run jobs; `web`: receive, verify, persist jobs, answer; `worker`: run jobs only. */
export type Role = "all" | "web" | "worker";
export const ROLES: readonly Role[] = ["all", "web", "worker"];

/**
 * Default replica id (one process per data dir): with a shared PostgreSQL database, the machine's
 * name and a digest of the data dir; with SQLite (one machine) the data dir alone, so a restart
 * under a new host name (a new container on the same volume) still finds its own jobs.
 */
export function defaultReplicaId(dataDir: string, shared: boolean, hostname = os.hostname()): string {
  const digest = createHash("sha256").update(dataDir).digest("hex").slice(0, 8);
  return shared ? `${hostname}-${digest}` : `local-${digest}`;
}

function databaseUrl(value: string | undefined): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new SettingsError(`ATOLL_DATABASE_URL must be a URL like postgres://user:password@host:5432/atoll`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new SettingsError(`ATOLL_DATABASE_URL must start with postgres:// or postgresql:// (got ${url.protocol}//…); without it Atoll uses SQLite`);
  }
  return v;
}

export class SettingsError extends Error {}

function list(value: string | undefined, fallback: string[]): string[] {
  if (value === undefined || value.trim() === "") return fallback;
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function bool(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === "") return fallback;
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new SettingsError(`${name} must be true or false, got "${value}"`);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new SettingsError(`${name} must be a whole number ≥ 1, got "${value}"`);
  return n;
}

/** Parse "90", "90s", "15m", "1h", "1h30m" into milliseconds. */
export function parseDuration(name: string, value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v) && Number(v) > 0) return Number(v) * 1000;
  const re = /(\d+)(h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of v.matchAll(re)) {
    total += Number(m[1]) * (m[2] === "h" ? 3600_000 : m[2] === "m" ? 60_000 : 1000);
    consumed += m[0].length;
  }
  if (consumed !== v.length || total <= 0) {
    throw new SettingsError(`${name} must be a duration like 600, 90s, 15m or 1h30m, got "${value}"`);
  }
  return total;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Settings {
  const commandNames = list(env.ATOLL_COMMAND_NAMES, ["atoll", "atlantis"]).map((n) => n.toLowerCase());
  for (const n of commandNames) {
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(n)) {
      throw new SettingsError(`ATOLL_COMMAND_NAMES entries must be single words, got "${n}"`);
    }
  }
  // `all` allows every command, as Atlantis's `--allow-commands=all` does.
  let allowCommands = list(env.ATOLL_ALLOW_COMMANDS, [...DEFAULT_ALLOW_COMMANDS]).map((c) => c.toLowerCase());
  if (allowCommands.includes("all")) allowCommands = [...KNOWN_COMMANDS];
  for (const c of allowCommands) {
    if (!KNOWN_COMMANDS.includes(c)) {
      throw new SettingsError(`ATOLL_ALLOW_COMMANDS: unknown command "${c}" (known: all, ${KNOWN_COMMANDS.join(", ")})`);
    }
  }
  const repoAllowlist = list(env.ATOLL_REPO_ALLOWLIST, []);
  for (const p of repoAllowlist) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(p)) {
      throw new SettingsError(`ATOLL_REPO_ALLOWLIST entries look like owner/repo or owner/*, got "${p}"`);
    }
  }
  const appSlug = env.ATOLL_APP_SLUG?.trim() || undefined;
  const requirements = parseRequirements(list(env.ATOLL_APPLY_REQUIREMENTS, []));
  if (!requirements.ok) throw new SettingsError(`ATOLL_APPLY_REQUIREMENTS: ${requirements.error}`);
  const dataDir = path.resolve(cwd, env.ATOLL_DATA_DIR?.trim() || "data");
  const gheHost = env.GHE_HOST?.trim();
  const distribution = (env.ATOLL_TERRAFORM_DISTRIBUTION?.trim() || "terraform").toLowerCase();
  if (distribution !== "terraform" && distribution !== "opentofu") {
    throw new SettingsError(`ATOLL_TERRAFORM_DISTRIBUTION must be terraform or opentofu, got "${env.ATOLL_TERRAFORM_DISTRIBUTION}"`);
  }
  const automergeMethod = (env.ATOLL_AUTOMERGE_METHOD?.trim() || "merge").toLowerCase();
  if (!(MERGE_METHODS as readonly string[]).includes(automergeMethod)) {
    throw new SettingsError(`ATOLL_AUTOMERGE_METHOD must be merge, squash or rebase, got "${env.ATOLL_AUTOMERGE_METHOD}"`);
  }
  const role = (env.ATOLL_ROLE?.trim() || "all").toLowerCase();
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new SettingsError(`ATOLL_ROLE must be all, web or worker, got "${env.ATOLL_ROLE}"`);
  }
  const dbUrl = databaseUrl(env.ATOLL_DATABASE_URL);
  const replicaId = env.ATOLL_REPLICA_ID?.trim() || defaultReplicaId(dataDir, dbUrl !== undefined);
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(replicaId) || replicaId.length > 200) {
    throw new SettingsError(`ATOLL_REPLICA_ID may hold letters, digits and . _ : - (at most 200), got "${replicaId}"`);
  }
  const jobLeaseMs = parseDuration("ATOLL_JOB_LEASE", env.ATOLL_JOB_LEASE?.trim() || "30s");
  if (jobLeaseMs < 3000) throw new SettingsError(`ATOLL_JOB_LEASE must be at least 3s, got "${env.ATOLL_JOB_LEASE}"`);
  const jobPollMs = parseDuration("ATOLL_JOB_POLL_INTERVAL", env.ATOLL_JOB_POLL_INTERVAL?.trim() || "1s");
  const policyFile = env.ATOLL_POLICY_FILE?.trim();
  const versionsDir = env.ATOLL_TERRAFORM_VERSIONS_DIR?.trim();
  const metricsToken = env.ATOLL_METRICS_TOKEN?.trim();
  // Sent as `Authorization: Bearer <token>`: a header value, so no spaces or control characters.
  if (metricsToken && !/^[\x21-\x7e]+$/.test(metricsToken)) {
    throw new SettingsError("ATOLL_METRICS_TOKEN may hold printable ASCII characters without spaces only");
  }
  return {
    commandNames,
    repoAllowlist,
    dataDir,
    terraformBin: env.ATOLL_TERRAFORM_BIN?.trim() || "terraform",
    stepTimeoutMs: parseDuration("ATOLL_STEP_TIMEOUT", env.ATOLL_STEP_TIMEOUT?.trim() || "30m"),
    jobConcurrency: positiveInt("ATOLL_JOB_CONCURRENCY", env.ATOLL_JOB_CONCURRENCY, 2),
    maxQueuedJobs: positiveInt("ATOLL_MAX_QUEUED_JOBS", env.ATOLL_MAX_QUEUED_JOBS, 500),
    autoplanDrafts: bool("ATOLL_AUTOPLAN_DRAFTS", env.ATOLL_AUTOPLAN_DRAFTS, false),
    allowForkPrs: bool("ATOLL_ALLOW_FORK_PRS", env.ATOLL_ALLOW_FORK_PRS, false),
    allowLocalState: bool("ATOLL_ALLOW_LOCAL_STATE", env.ATOLL_ALLOW_LOCAL_STATE, false),
    jobLogMaxBytes: positiveInt("ATOLL_JOB_LOG_MAX_BYTES", env.ATOLL_JOB_LOG_MAX_BYTES, 2 * 1024 * 1024),
    jobLogRetentionMs: parseDuration("ATOLL_JOB_LOG_RETENTION", env.ATOLL_JOB_LOG_RETENTION?.trim() || "336h"),
    allowCommands,
    blockedExtraArgs: list(env.ATOLL_BLOCKED_EXTRA_ARGS, [...DEFAULT_BLOCKED_EXTRA_ARGS]),
    statefulTypes: list(env.ATOLL_STATEFUL_TYPES, []),
    hidePrevPlanComments: bool("ATOLL_HIDE_PREV_PLAN_COMMENTS", env.ATOLL_HIDE_PREV_PLAN_COMMENTS, true),
    planLabels: bool("ATOLL_PLAN_LABELS", env.ATOLL_PLAN_LABELS, false),
    carryUnchangedPlans: bool("ATOLL_CARRY_UNCHANGED_PLANS", env.ATOLL_CARRY_UNCHANGED_PLANS, true),
    appSlug,
    applyRequirements: requirements.requirements,
    lockSweepIntervalMs: parseDuration("ATOLL_LOCK_SWEEP_INTERVAL", env.ATOLL_LOCK_SWEEP_INTERVAL?.trim() || "10m"),
    shutdownGraceMs: parseDuration("ATOLL_SHUTDOWN_GRACE", env.ATOLL_SHUTDOWN_GRACE?.trim() || "5m"),
    databaseFile: path.resolve(dataDir, env.ATOLL_DATABASE_FILE?.trim() || "atoll.db"),
    ...(dbUrl ? { databaseUrl: dbUrl } : {}),
    databasePoolSize: positiveInt("ATOLL_DATABASE_POOL_SIZE", env.ATOLL_DATABASE_POOL_SIZE, 10),
    role: role as Role,
    replicaId,
    jobLeaseMs,
    jobPollMs,
    githubWebUrl: gheHost ? `${env.GHE_PROTOCOL?.trim() || "https"}://${gheHost}` : "https://github.com",
    ...(policyFile ? { policyFile: path.resolve(cwd, policyFile) } : {}),
    ...(versionsDir ? { terraformVersionsDir: path.resolve(cwd, versionsDir) } : {}),
    terraformDistribution: distribution,
    tofuBin: env.ATOLL_TOFU_BIN?.trim() || "tofu",
    parallelPoolSize: positiveInt("ATOLL_PARALLEL_POOL_SIZE", env.ATOLL_PARALLEL_POOL_SIZE, 4),
    parallelPlan: bool("ATOLL_PARALLEL_PLAN", env.ATOLL_PARALLEL_PLAN, true),
    progressDelayMs: env.ATOLL_PROGRESS_DELAY?.trim() === "0" ? 0 : parseDuration("ATOLL_PROGRESS_DELAY", env.ATOLL_PROGRESS_DELAY?.trim() || "2s"),
    progressDelayAuto: !env.ATOLL_PROGRESS_DELAY?.trim(),
    ...(bool("ATOLL_PLUGIN_CACHE", env.ATOLL_PLUGIN_CACHE, true) ? { pluginCacheDir: path.join(dataDir, "plugin-cache") } : {}),
    automergeMethod: automergeMethod as MergeMethod,
    processNiceness: niceness(env.ATOLL_PROCESS_NICENESS),
    terraformGogc: gogc(env.ATOLL_TERRAFORM_GOGC),
    ...optional("publicUrl", publicUrl(env.ATOLL_PUBLIC_URL)),
    ...optional("sessionSecret", sessionSecret(env.ATOLL_SESSION_SECRET)),
    ...optional("oauthClientId", env.GITHUB_CLIENT_ID?.trim() || undefined),
    ...optional("oauthClientSecret", env.GITHUB_CLIENT_SECRET?.trim() || undefined),
    ...(metricsToken ? { metricsToken } : {}),
  };
}

/** `{ [key]: value }` when value is defined, else `{}` (optional settings stay absent, not undefined). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function publicUrl(value: string | undefined): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new SettingsError(`ATOLL_PUBLIC_URL must be a URL like https://atoll.example.com, got "${value}"`);
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password || url.search || url.hash) {
    throw new SettingsError(`ATOLL_PUBLIC_URL must be an http(s) address without credentials, query or fragment, like https://atoll.example.com, got "${value}"`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

function sessionSecret(value: string | undefined): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (v.length < 32) throw new SettingsError(`ATOLL_SESSION_SECRET must be at least 32 characters (e.g. \`openssl rand -base64 32\`), got ${v.length}`);
  return v;
}

function niceness(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return 10;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 19) throw new SettingsError(`ATOLL_PROCESS_NICENESS must be a whole number from 0 to 19, got "${value}"`);
  return n;
}

function gogc(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return 400;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 50 || n > 1000) {
    throw new SettingsError(`ATOLL_TERRAFORM_GOGC must be a whole number from 50 to 1000 (100 is Go's default), got "${value}"`);
  }
  return n;
}

/** Whether `owner/repo` is allowed by the allowlist (empty list = all). Case-insensitive, `*` matches within a segment. */
export function repoAllowed(allowlist: string[], fullName: string): boolean {
  if (allowlist.length === 0) return true;
  const name = fullName.toLowerCase();
  return allowlist.some((pattern) => {
    const re = new RegExp(
      "^" +
        pattern
          .toLowerCase()
          .split("*")
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join("[^/]*") +
        "$",
    );
    return re.test(name);
  });
}
