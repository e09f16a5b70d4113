/**
 * Store: Atoll's own durable state — per-project plan/apply status and saved plans, project locks
 * and their queues, jobs, processed webhook deliveries, and the ids of the check runs Atoll owns.
 *
 * The queries are in `src/adapters/kysely-store.ts`, shared by the two databases: an SQLite file
 * in the data dir (`sqlite-store.ts`, one server) and PostgreSQL (`postgres-store.ts`, several
 * replicas sharing one database). Every method is atomic; those that read-then-write (tryLock,
 * createJob, claimJob, recordDelivery, addWaiter) are single statements, so two callers — in one
 * process or on different replicas — can never both win.
 */
import type { Project } from "../projects/project.js";
import type { PlanSummary } from "../terraform/plan-summary-types.js";
import type { JobSpec } from "../jobs/job-spec.js";
import type { BlobStore } from "./blobs.js";
import type { PlanDelta } from "../terraform/plan-delta.js";

export interface RepoRef {
  owner: string;
  repo: string;
}

/** queued: waiting for another PR's lock on the project. */
export type PlanState = "pending" | "queued" | "success" | "failed";
export type ApplyState = "none" | "pending" | "success" | "failed";

/** What Atoll knows about one project of one pull request. */
export interface ProjectState {
  project: Project;
  /** Head commit the plan was made for. */
  headSha: string;
  /** Base branch commit when the plan was made. */
  baseSha?: string;
  plan: PlanState;
  hasChanges: boolean;
  apply: ApplyState;
  /**
   * Key of the saved plan file in the blob store (`BlobStore`), while it has not been applied or
   * discarded — so any replica can apply it.
   */
  planBlob?: string;
  /** sha256 of `terraform show -json <plan file>`; apply refuses a plan file that no longer matches. */
  planDigest?: string;
  /** Extra terraform args the plan was made with (re-plan suggestions keep them). */
  extraArgs: string[];
  summary?: PlanSummary;
  /** One-line result of the last plan. */
  headline: string;
  /** Output of the last plan, kept (cut to GitHub's check-run limit) to re-render its check run. */
  output: string;
  /** The check run showing this plan; its Apply button applies exactly this plan. */
  planCheckRunId?: number;
  /** Why the project was planned (trigger provenance). */
  why?: string;
  /** What changed in the plan since the previous push's. */
  sincePush?: PlanDelta;
  /** Fingerprint of the project's inputs when it was planned (`carry-plans.ts`). */
  fingerprint?: string;
  /** The commit the plan was made at, when it was carried to `headSha` unchanged. */
  carriedFrom?: string;
  updatedAt: string;
}

export interface CheckRunRecord {
  id: number;
  status: "queued" | "in_progress" | "completed";
}

/** A project lock: one pull request owns a project (dir + workspace + name) of a repo. */
export interface LockRecord {
  repo: RepoRef;
  project: Project;
  pullNumber: number;
  /** Installation that owns the repo, to check the holder PR later (sweeps). */
  installationId: number;
  /** Who ran the plan that took the lock. */
  user: string;
  lockedAt: string;
}

export type TryLockResult = { acquired: true; lock: LockRecord } | { acquired: false; holder: LockRecord };

/** A pull request waiting for a project lock. */
export interface WaiterRecord {
  repo: RepoRef;
  project: Project;
  pullNumber: number;
  installationId: number;
  user: string;
  queuedAt: string;
}

/** A process group a job started (pid and start time identify it; `host` is the machine's name). */
export interface JobProcess {
  pid: number;
  startTime: string;
  host?: string;
}

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "interrupted" | "cancelled";

export interface JobRecord {
  id: number;
  spec: JobSpec;
  status: JobStatus;
  /** Unique when set (e.g. "comment:123"): a second job with the same key is not created. */
  dedupeKey?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why it failed or was interrupted. */
  error?: string;
  /** Process groups (terraform, git) the job started and that may still be alive. */
  processes: JobProcess[];
  /** Jobs with the same key (one pull request) run one after another, in id order. */
  key: string;
  /** The replica that claimed it (`ATOLL_REPLICA_ID`). */
  replica?: string;
  /** The process holding its lease (one run of a replica). */
  worker?: string;
  /** The lease runs out then unless its worker renews it; then another replica reports the job interrupted. */
  leaseExpiresAt?: string;
  /** Who asked this running job to stop (`cancel`): it starts no further execution-order group. */
  cancelRequestedBy?: string;
}

/** One successful plan of a project, as `plan_history` keeps it. */
export interface PlanHistoryEntry {
  project: Project;
  headSha: string;
  /** `planDigestOf` the plan (without its timestamp): equal digests are the same plan. */
  digest: string;
  /** Address → action (`create`, `update`, `delete`, `replace`, …) of what the plan changes. */
  changes: Record<string, string>;
  createdAt: string;
}

/** Which repositories `forgetRepositories` forgets: these, and with `installationId` every one of that installation. */
export interface ForgetScope {
  repos: RepoRef[];
  installationId?: number;
}

/** What `forgetRepositories` removed. */
export interface ForgetResult {
  locks: LockRecord[];
  waiters: WaiterRecord[];
  /** Project states (plans) forgotten; their saved plan files are the caller's to delete. */
  projects: ProjectState[];
  /** Queued jobs marked cancelled. */
  cancelledJobs: number[];
  /** Running jobs asked to stop (`cancel_requested_by` set to `stopBy`). */
  stoppingJobs: number[];
}

/** What `renameRepository` moved to the new name. */
export interface RenameResult {
  locks: number;
  waiters: number;
  projects: number;
  jobs: number;
}

/** Who claims a job: the replica and one run (process) of it. */
export interface WorkerRef {
  replica: string;
  worker: string;
}

/** Running jobs to take over: a replica's (left by a previous run of it), or those whose lease ran out. */
export type AdoptFilter = { replica: string } | { leaseExpiredBefore: string };

export interface Store {
  // --- per-PR project state and saved plans ---
  listProjects(repo: RepoRef, pullNumber: number): Promise<ProjectState[]>;
  /** Insert or replace the state of `state.project` for the PR. */
  upsertProject(repo: RepoRef, pullNumber: number, state: ProjectState): Promise<void>;
  /** Remove the given projects' states (all of the PR's when `projects` is omitted); returns what was removed. */
  removeProjects(repo: RepoRef, pullNumber: number, projects?: Project[]): Promise<ProjectState[]>;
  /** Every PR (of every repo) with a project in one of these plan/apply states — for crash recovery. */
  listPendingProjects(): Promise<{ repo: RepoRef; pullNumber: number; state: ProjectState }[]>;

  // --- check runs Atoll created ---
  /** The latest check run Atoll created with this name on this commit. */
  getCheckRun(repo: RepoRef, headSha: string, name: string): Promise<CheckRunRecord | undefined>;
  setCheckRun(repo: RepoRef, headSha: string, name: string, record: CheckRunRecord): Promise<void>;

  // --- project locks ---
  /** Take the lock for `lock.project`, or keep it when the same PR already holds it (re-entrant). */
  tryLock(lock: LockRecord): Promise<TryLockResult>;
  getLock(repo: RepoRef, project: Project): Promise<LockRecord | undefined>;
  /** Release one project's lock if `pullNumber` holds it; returns the released lock. */
  releaseLock(repo: RepoRef, project: Project, pullNumber: number): Promise<LockRecord | undefined>;
  /** Release every lock the PR holds; returns them. */
  releasePullLocks(repo: RepoRef, pullNumber: number): Promise<LockRecord[]>;
  /** Every lock (of one repo, or all). */
  listLocks(repo?: RepoRef): Promise<LockRecord[]>;
  /** How many locks are held, over every repo (one cheap query: metrics). */
  countLocks(): Promise<number>;

  // --- queue of PRs waiting for a lock (FIFO per project) ---
  /** Queue the PR for the project (idempotent: keeps its place); returns its 1-based position. */
  addWaiter(waiter: WaiterRecord): Promise<number>;
  /** Waiting PRs for a project, first in line first. */
  listWaiters(repo: RepoRef, project: Project): Promise<WaiterRecord[]>;
  removeWaiter(repo: RepoRef, project: Project, pullNumber: number): Promise<void>;
  /** Remove the PR from every queue (closed PR, unlock); returns what was removed. */
  removePullWaits(repo: RepoRef, pullNumber: number): Promise<WaiterRecord[]>;

  // --- jobs ---
  /** Persist a queued job; undefined when `dedupeKey` was used before (the job exists already). */
  createJob(spec: JobSpec, dedupeKey?: string): Promise<JobRecord | undefined>;
  getJob(id: number): Promise<JobRecord | undefined>;
  updateJob(
    id: number,
    patch: Partial<Pick<JobRecord, "status" | "startedAt" | "finishedAt" | "error" | "processes">>,
  ): Promise<void>;
  listJobs(statuses: JobStatus[]): Promise<JobRecord[]>;
  countJobs(statuses: JobStatus[]): Promise<number>;
  /**
   * Claim the oldest queued job that may run now — no job with its key is running, and none with
   * its key is queued ahead of it — as running, with a lease until `leaseUntil`. Exactly one of
   * several replicas claiming at once gets each job. Undefined when nothing can run.
   */
  claimJob(by: WorkerRef, times: { startedAt: string; leaseUntil: string }): Promise<JobRecord | undefined>;
  /** Extend the leases of these jobs if `worker` still holds them; returns the ids it holds. */
  renewLeases(worker: string, ids: number[], leaseUntil: string): Promise<number[]>;
  /**
   * Finish a job `worker` holds; false (and nothing changed) when it no longer holds it — another
   * replica found its lease run out and reported it interrupted.
   */
  finishJob(
    id: number,
    worker: string,
    outcome: { status: "succeeded" | "failed" | "interrupted" | "cancelled"; finishedAt: string; error?: string },
  ): Promise<boolean>;
  /** Mark a job that is still queued cancelled (it never runs); false when it is no longer queued. */
  cancelQueuedJob(id: number, outcome: { finishedAt: string; error: string }): Promise<boolean>;
  /** Ask a running job to stop before its next execution-order group; false when it is not running. */
  requestJobCancel(id: number, by: string): Promise<boolean>;
  /**
   * Take over running jobs whose worker is gone (a previous run of this replica, or a lease that
   * ran out): `worker` now holds them, with a lease until `leaseUntil`, so it can report them
   * interrupted and then finish them. They stay running meanwhile, so the pull request's next
   * job waits for the report. Each job is handed to exactly one caller; `replica` keeps naming
   * the replica that ran it.
   */
  adoptJobs(filter: AdoptFilter, worker: string, leaseUntil: string): Promise<JobRecord[]>;
  /**
   * Call `listener` when a job may have become claimable on another replica's doing (PostgreSQL:
   * LISTEN/NOTIFY). Absent where only this process writes jobs. Returns the unsubscribe.
   */
  watchJobs?(listener: () => void): Promise<() => Promise<void>>;

  // --- webhook deliveries ---
  /** Remember a delivery id; false when it was seen before (a redelivery). */
  recordDelivery(deliveryId: string, event: string): Promise<boolean>;
  /** Forget deliveries and finished jobs older than this (housekeeping). */
  prune(olderThan: Date): Promise<void>;

  // --- job logs (what terraform printed, for the web UI) ---
  /** Store one chunk of a job's log; chunks are numbered from 1 by the writer. */
  appendJobLog(jobId: number, seq: number, text: string): Promise<void>;
  /** A job's log chunks after `afterSeq` (default 0: from the start), oldest first, at most `maxChunks`. */
  readJobLog(jobId: number, afterSeq?: number, maxChunks?: number): Promise<{ seq: number; text: string }[]>;
  /** Forget log chunks written before this (ATOLL_JOB_LOG_RETENTION). */
  pruneJobLogs(olderThan: Date): Promise<void>;
  /** The newest jobs, newest first (the web UI's job list). */
  recentJobs(limit: number): Promise<JobRecord[]>;

  // --- repositories: GitHub's id is a repository's identity; the name follows it ---
  /**
   * Remember the repository's current name under GitHub's id. Returns the name recorded before
   * when it differs (a rename or transfer), so the caller can move what Atoll holds under it.
   */
  noteRepository(id: number, repo: RepoRef): Promise<RepoRef | undefined>;
  /** The repository was renamed or transferred: its locks, queues, plans, check runs and open jobs follow it. */
  renameRepository(from: RepoRef, to: RepoRef): Promise<RenameResult>;
  /**
   * The App can no longer reach these repositories (removed from the installation, deleted, or
   * the installation deleted or suspended): release their locks and queues, forget their plans
   * and check runs, cancel their queued jobs and ask their running ones to stop (marked `stopBy`).
   */
  forgetRepositories(scope: ForgetScope, outcome: { at: string; reason: string; stopBy: string }): Promise<ForgetResult>;

  // --- plan history (approvals bound to plans, changes since the last push) ---
  recordPlanHistory(repo: RepoRef, pullNumber: number, entry: PlanHistoryEntry): Promise<void>;
  /** The PR's plans, oldest first. */
  listPlanHistory(repo: RepoRef, pullNumber: number): Promise<PlanHistoryEntry[]>;

  /** Forget everything about the PR except locks and queues (callers release those explicitly). */
  deletePull(repo: RepoRef, pullNumber: number): Promise<void>;

  /** Files later jobs need (saved plans), in the same database: any replica can read them. */
  readonly blobs: BlobStore;
  /** Throws unless the database answers and has exactly this version's migrations (`/readyz`). */
  checkReady(): Promise<void>;
  close(): Promise<void>;
}
