/**
 * Fixtures shared by the store tests (`store-contract.test.ts`, `sqlite-store.test.ts`,
 * `postgres-store.test.ts`): repos, projects, project states with every / no optional field,
 * locks, waiters, job specs and claim times.
 */
import type { JobSpec, JobTarget } from "../../src/jobs/job-spec.js";
import type { Project } from "../../src/projects/project.js";
import type { LockRecord, ProjectState, RepoRef, WaiterRecord, WorkerRef } from "../../src/ports/store.js";
import type { PlanSummary } from "../../src/terraform/plan-summary-types.js";


export const REPO: RepoRef = { owner: "Acme", repo: "Infra" };
export const OTHER_REPO: RepoRef = { owner: "acme", repo: "network" };
export const PROD: Project = { name: "", dir: "envs/prod", workspace: "default" };
export const STAGING: Project = { name: "", dir: "envs/staging", workspace: "default" };
export const NAMED: Project = { name: "core", dir: "core", workspace: "blue" };

export function summary(): PlanSummary {
  return {
    add: 2,
    change: 1,
    destroy: 1,
    replace: 1,
    import: 1,
    move: 2,
    forget: 1,
    destroyed: ["aws_s3_bucket.old"],
    replaced: [{ address: "aws_instance.web", reason: "cannot update in place" }, { address: "null_resource.x" }],
    outputChanges: true,
    hasChanges: true,
  };
}

/** A state with every optional field set. */
export function fullState(project: Project, overrides: Partial<ProjectState> = {}): ProjectState {
  return {
    project: { ...project },
    headSha: "a".repeat(40),
    baseSha: "b".repeat(40),
    plan: "success",
    hasChanges: true,
    apply: "none",
    planBlob: `plans/acme/infra/12/${"a".repeat(40)}/${encodeURIComponent(project.dir)}.tfplan`,
    planDigest: "c".repeat(64),
    extraArgs: ["-var", "x=1", "-target=module.a[\"k\"]"],
    summary: summary(),
    headline: "Plan: 2 to add, 1 to change, 1 to destroy.",
    output: "Terraform will perform the following actions:\n  ✓ ünïcødé\n",
    planCheckRunId: 9_007_199_254_740,
    updatedAt: "2025-01-02T03:04:05.006Z",
    why: "`envs/prod/main.tf` changed and matches `*.tf` (`when_modified` of this project); planned automatically",
    sincePush: { sinceSha: "d".repeat(40), added: [{ address: "terraform_data.n", action: "create" }], changed: [{ address: "terraform_data.c", from: "update", to: "replace" }], dropped: [] },
    fingerprint: "f".repeat(64),
    carriedFrom: "e".repeat(40),
    ...overrides,
  };
}

/** A state with no optional field. */
export function bareState(project: Project, overrides: Partial<ProjectState> = {}): ProjectState {
  return {
    project: { ...project },
    headSha: "d".repeat(40),
    plan: "pending",
    hasChanges: false,
    apply: "none",
    extraArgs: [],
    headline: "",
    output: "",
    updatedAt: "2025-01-02T03:04:05.006Z",
    ...overrides,
  };
}

export function lock(pullNumber: number, overrides: Partial<LockRecord> = {}): LockRecord {
  return {
    repo: REPO,
    project: PROD,
    pullNumber,
    installationId: 77,
    user: `user${pullNumber}`,
    lockedAt: `2025-01-01T00:00:${String(pullNumber % 60).padStart(2, "0")}.000Z`,
    ...overrides,
  };
}

export function waiter(pullNumber: number, queuedAt: string, overrides: Partial<WaiterRecord> = {}): WaiterRecord {
  return { repo: REPO, project: PROD, pullNumber, installationId: 77, user: `user${pullNumber}`, queuedAt, ...overrides };
}

export const TARGET = { installationId: 77, owner: "Acme", repo: "Infra", pullNumber: 12, user: "alice", name: "atoll" };
/** jobKey(TARGET) */
export const TARGET_KEY = "acme/infra#12";

export const COMMAND_SPEC: JobSpec = {
  ...TARGET,
  kind: "command",
  commentId: 4242,
  command: {
    kind: "command",
    command: "plan",
    dir: "envs/prod",
    workspace: "",
    project: "",
    extraArgs: ["-var", "a=b"],
    verbose: true,
    name: "atoll",
  },
};

export const AUTOPLAN_SPEC: JobSpec = {
  ...TARGET,
  kind: "autoplan",
  quietRefusal: true,
  pull: {
    number: 12,
    state: "open",
    merged: false,
    draft: false,
    title: "Add bucket",
    htmlUrl: "https://github.com/Acme/Infra/pull/12",
    author: "alice",
    headSha: "a".repeat(40),
    headRef: "feature",
    headRepoFullName: "Acme/Infra",
    baseSha: "b".repeat(40),
    baseRef: "main",
    isFork: false,
    cloneUrl: "https://github.com/Acme/Infra.git",
    mergeable: null,
  },
};

export const REVIEW_SPEC: JobSpec = { ...TARGET, kind: "review" };

/** A job of pull request `pullNumber` (key `acme/infra#<n>` unless the target says otherwise). */
export function pullJob(pullNumber: number, target: Partial<JobTarget> = {}): JobSpec {
  return { ...TARGET, pullNumber, ...target, kind: "review" };
}

export const STARTED = "2025-05-01T00:00:00.000Z";
export const LEASE = "2025-05-01T00:01:00.000Z";
export const CLAIM_TIMES = { startedAt: STARTED, leaseUntil: LEASE };
export const FINISHED_AT = "2025-05-01T00:00:30.000Z";

export function worker(replica: string, run = "w"): WorkerRef {
  return { replica, worker: `${replica}/${run}` };
}

export const byId = (a: number, b: number) => a - b;

