/**
 * GitHubPort: everything Atoll asks of GitHub for one repository of one installation.
 * The real implementation is `src/adapters/octokit-github.ts`; tests use it behind nock, or a fake.
 */
import type { WriteQueue } from "../runner/reporting/write-queue.js";

export interface PullRequestInfo {
  number: number;
  state: "open" | "closed";
  merged: boolean;
  draft: boolean;
  title: string;
  htmlUrl: string;
  author: string;
  headSha: string;
  headRef: string;
  /** `owner/repo` of the head repository; differs from the base for fork PRs. */
  headRepoFullName: string;
  baseSha: string;
  baseRef: string;
  /** True when the head repository is not the base repository. */
  isFork: boolean;
  /** HTTPS clone URL of the base repository (the PR head is fetchable from it). */
  cloneUrl: string;
  /** GitHub's `mergeable`: null while GitHub is still computing it (webhook payloads often have null). */
  mergeable?: boolean | null;
  /** GitHub's `mergeable_state`: clean, unstable, has_hooks, blocked, behind, dirty, draft, unknown. */
  mergeableState?: string;
}

/** Why GitHub blocks merging, beyond `mergeable_state` (GraphQL). */
export interface MergeBlockers {
  /** Branch protection's review verdict; null when no review is required. */
  reviewDecision: "APPROVED" | "CHANGES_REQUESTED" | "REVIEW_REQUIRED" | null;
  /** Names of required checks (check runs and commit statuses) on the head that have not passed. */
  requiredNotPassing: string[];
}

/** How a head commit relates to a base commit (compare API `status`). */
export type CommitComparison = "ahead" | "behind" | "diverged" | "identical";

export interface ChangedFile {
  filename: string;
  /** added | removed | modified | renamed | copied | changed | unchanged */
  status: string;
  previousFilename?: string;
}

export type Permission = "admin" | "write" | "read" | "none";

/** Write, maintain (reported as write) or admin: who may apply, import, `state rm` and unlock from the web UI. */
export function canWrite(permission: Permission): boolean {
  return permission === "admin" || permission === "write";
}

export interface Review {
  user: string;
  /** Upper case, as the REST API returns it: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING. */
  state: string;
  submittedAt?: string;
  /** The head commit the review was made on. */
  commitId?: string;
}

export type CheckStatus = "queued" | "in_progress" | "completed";
export type CheckConclusion =
  | "success"
  | "failure"
  | "neutral"
  | "cancelled"
  | "skipped"
  | "timed_out"
  | "action_required";

export interface CheckAction {
  /** ≤ 20 characters */
  label: string;
  /** ≤ 40 characters */
  description: string;
  /** ≤ 20 characters */
  identifier: string;
}

export interface CheckRunOutput {
  title: string;
  /** ≤ 65535 UTF-8 bytes */
  summary: string;
  /** ≤ 65535 UTF-8 bytes */
  text?: string;
  /**
   * Lines of the diff to mark ("Files changed"). GitHub takes at most 50 per request and adds
   * those of later updates to the run's; the check reporter sends more in batches.
   */
  annotations?: CheckAnnotation[];
}

/** A check-run annotation, as GitHub's REST API names its fields. */
export interface CheckAnnotation {
  /** Path from the repository root. */
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "notice" | "warning" | "failure";
  /** ≤ 64 KB */
  message: string;
  /** ≤ 255 characters */
  title?: string;
}

export interface CheckRunInput {
  name: string;
  headSha: string;
  status: CheckStatus;
  /** Required when status is completed. */
  conclusion?: CheckConclusion;
  output: CheckRunOutput;
  /** ≤ 3 */
  actions?: CheckAction[];
  externalId?: string;
  detailsUrl?: string;
}

/** A pull request comment as `listPullComments` returns it. */
export interface PullComment {
  /** GraphQL node id (for `minimizeComment`). */
  nodeId: string;
  body: string;
  isMinimized: boolean;
  /** Written by this App (GraphQL `viewerDidAuthor`). */
  byApp: boolean;
}

/** A check run as listed on a commit (any app's). */
export interface ListedCheckRun {
  id: number;
  name: string;
  /** GitHub Actions runs can also be "waiting", "requested" or "pending". */
  status: CheckStatus | "waiting" | "requested" | "pending";
  externalId: string | null;
}

export type MergeMethod = "merge" | "squash" | "rebase";

/** GitHub's answer to a merge request: `merged: false` when GitHub refused (405 not mergeable, 409 head moved). */
export interface MergeResult {
  merged: boolean;
  /** GitHub's message, e.g. "Pull Request successfully merged" or "Head branch was modified. Review and try the merge again." */
  message: string;
}

export interface CommentRef {
  id: number;
  nodeId?: string;
}

export interface GitHubPort {
  readonly owner: string;
  readonly repo: string;
  /**
   * Where comment and check-run writes wait their turn (see `runner/write-queue.ts`): one per
   * installation, as GitHub's pacing is. Absent in fakes: each port object then gets its own.
   */
  readonly writeQueue?: WriteQueue;
  getPull(pullNumber: number): Promise<PullRequestInfo>;
  /** All files of the PR (paginated; GitHub stops at 3000). */
  listChangedFiles(pullNumber: number): Promise<ChangedFile[]>;
  /** Text content of a file at a ref, or null when it does not exist. */
  getFileContent(path: string, ref: string): Promise<string | null>;
  /** Names of the entries of a directory at a ref ("" = repo root), or null when it does not exist. */
  listDirectory(path: string, ref: string): Promise<string[] | null>;
  createComment(issueNumber: number, body: string): Promise<CommentRef>;
  addReaction(commentId: number, content: "eyes" | "+1" | "-1" | "rocket" | "confused"): Promise<void>;
  createCheckRun(input: CheckRunInput): Promise<{ id: number }>;
  updateCheckRun(checkRunId: number, input: Partial<CheckRunInput>): Promise<void>;
  /** The latest check run of each name on a commit, of every app (paginated). */
  listCheckRuns(headSha: string): Promise<ListedCheckRun[]>;
  /** Collaborator permission; maintain counts as write, triage as read. */
  getPermission(username: string): Promise<Permission>;
  listReviews(pullNumber: number): Promise<Review[]>;
  /**
   * An installation token for git over HTTPS with at least 10 minutes left, reused across jobs
   * while it lasts; `fresh` asks for a new one (the server rejected the last). Never log it.
   */
  cloneToken(opts?: { fresh?: boolean }): Promise<string>;
  /** Required checks that have not passed and the review decision (for the `mergeable` requirement). */
  getMergeBlockers(pullNumber: number): Promise<MergeBlockers>;
  /** The pull request's comments (GraphQL, oldest first, up to 1,000): id, body, hidden or not, written by this App or not. */
  listPullComments(pullNumber: number): Promise<PullComment[]>;
  /** Hide a comment as outdated (GraphQL `minimizeComment`, classifier OUTDATED). */
  minimizeComment(nodeId: string): Promise<void>;
  /** The names of the labels on an issue or pull request. */
  listLabels(issueNumber: number): Promise<string[]>;
  /** Add labels (GitHub creates a repository label the first time one is used). */
  addLabels(issueNumber: number, names: string[]): Promise<void>;
  /** Remove one label; a label that is not there is fine. */
  removeLabel(issueNumber: number, name: string): Promise<void>;
  /** Compare `base...head` (for the `undiverged` requirement): "ahead"/"identical" = base is contained in head. */
  compareCommits(base: string, head: string): Promise<CommitComparison>;
  /**
   * Merge the pull request, only if its head is still `sha` (GitHub refuses otherwise). A refusal
   * (405 not mergeable, 409 head moved) is a result with GitHub's message; other errors throw.
   * Needs the App's `contents: write` permission.
   */
  mergePull(pullNumber: number, opts: { method: MergeMethod; sha: string }): Promise<MergeResult>;
  /** Delete a branch of this repository (`ref` without `refs/heads/`); an already deleted one is fine. */
  deleteBranch(ref: string): Promise<void>;
}
