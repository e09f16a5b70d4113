/**
 * GitHubPort on a Probot (installation-authenticated) Octokit.
 */
import type { ProbotOctokit } from "probot";
import type {
  ChangedFile,
  CheckRunInput,
  CommitComparison,
  GitHubPort,
  ListedCheckRun,
  MergeBlockers,
  PullComment,
  MergeResult,
  Permission,
  PullRequestInfo,
  Review,
} from "../ports/github.js";
import type { WriteQueue } from "../runner/reporting/write-queue.js";
import type { CloneTokenCache, MintedToken } from "./clone-token-cache.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

function status(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "status" in error
    ? Number((error as { status: unknown }).status)
    : undefined;
}

/** GitHub's own message of a failed request (`error.message` also carries the documentation URL). */
function githubMessage(error: unknown): string {
  const data = typeof error === "object" && error !== null && "response" in error ? (error as { response?: { data?: unknown } }).response?.data : undefined;
  const message = typeof data === "object" && data !== null && "message" in data ? (data as { message: unknown }).message : undefined;
  return typeof message === "string" && message ? message : error instanceof Error ? error.message : String(error);
}

/** The shape both the REST "get a pull request" response and webhook payloads share. */
export interface PullLike {
  number: number;
  state: string;
  merged?: boolean | null;
  merged_at?: string | null;
  draft?: boolean;
  title: string;
  html_url: string;
  user: { login: string } | null;
  head: { sha: string; ref: string; repo: { full_name: string } | null };
  base: { sha: string; ref: string; repo: { full_name: string; clone_url: string } };
  /** Absent from some webhook payloads; null while GitHub computes it. */
  mergeable?: boolean | null;
  mergeable_state?: string;
}

export function toPullRequestInfo(pr: PullLike): PullRequestInfo {
  const headRepo = pr.head.repo?.full_name ?? "";
  return {
    number: pr.number,
    state: pr.state === "closed" ? "closed" : "open",
    merged: Boolean(pr.merged ?? pr.merged_at),
    draft: Boolean(pr.draft),
    title: pr.title,
    htmlUrl: pr.html_url,
    author: pr.user?.login ?? "",
    headSha: pr.head.sha,
    headRef: pr.head.ref,
    headRepoFullName: headRepo,
    baseSha: pr.base.sha,
    baseRef: pr.base.ref,
    // A deleted fork has no head repo; treat it as a fork (untrusted).
    isFork: headRepo.toLowerCase() !== pr.base.repo.full_name.toLowerCase(),
    cloneUrl: pr.base.repo.clone_url,
    // Only when present: some webhook payloads lack them, and an invented value would read as
    // "GitHub computed this" (callers refetch the pull while `mergeable` is null or absent).
    ...(pr.mergeable !== undefined ? { mergeable: pr.mergeable } : {}),
    ...(pr.mergeable_state !== undefined ? { mergeableState: pr.mergeable_state } : {}),
  };
}

/**
 * One GraphQL round trip for what `mergeable_state: blocked` does not say: the review verdict of
 * branch protection and which required checks on the head commit have not passed. Exported so
 * tests and the fake GitHub server can rely on its shape (variables: `owner`, `repo`, `number`).
 *
 * `commits(last: 1)` is the head commit (also for fork PRs, whose `headRef` may be gone).
 * `isRequired(pullRequestNumber:)` asks branch protection / rulesets for this PR's base.
 * Only the first 100 contexts are read; `totalCount` tells when there were more (see
 * `toMergeBlockers`).
 */
export const MERGE_BLOCKERS_QUERY = `query atollMergeBlockers($owner: String!, $repo: String!, $number: Int!) {
  repository(owner: $owner, name: $repo) {
    pullRequest(number: $number) {
      reviewDecision
      commits(last: 1) {
        nodes {
          commit {
            statusCheckRollup {
              contexts(first: 100) {
                totalCount
                nodes {
                  __typename
                  ... on CheckRun { name status conclusion isRequired(pullRequestNumber: $number) }
                  ... on StatusContext { context state isRequired(pullRequestNumber: $number) }
                }
              }
            }
          }
        }
      }
    }
  }
}`;

/** Name reported when a rollup has more contexts than one page: unknown ones must not count as passing. */
export const UNINSPECTED_CHECKS = "(checks beyond the first 100 were not inspected)";

type RollupContext =
  | { __typename: "CheckRun"; name: string; status: string; conclusion: string | null; isRequired: boolean }
  | { __typename: "StatusContext"; context: string; state: string; isRequired: boolean }
  | { __typename?: string; isRequired?: boolean };

export interface MergeBlockersResponse {
  repository: {
    pullRequest: {
      reviewDecision: string | null;
      commits: {
        nodes: ({
          commit: {
            statusCheckRollup: { contexts: { totalCount?: number; nodes: (RollupContext | null)[] } } | null;
          };
        } | null)[];
      };
    } | null;
  } | null;
}

const PASSING_CONCLUSIONS = new Set(["SUCCESS", "NEUTRAL", "SKIPPED"]);

/** Whether one rollup context counts as passed; unknown context types never do. */
function contextPassed(c: RollupContext): boolean {
  if (c.__typename === "CheckRun" && "status" in c) {
    return c.status.toUpperCase() === "COMPLETED" && PASSING_CONCLUSIONS.has(String(c.conclusion).toUpperCase());
  }
  if (c.__typename === "StatusContext" && "state" in c) return c.state.toUpperCase() === "SUCCESS";
  return false;
}

function contextName(c: RollupContext): string {
  if ("name" in c) return c.name;
  if ("context" in c) return c.context;
  return `(${c.__typename ?? "unknown"})`;
}

/**
 * Pure mapping of the GraphQL answer. When the rollup has more contexts than were read, a
 * sentinel name is added: a required failing check on page two must not let the `mergeable`
 * requirement conclude "only Atoll's own checks are missing".
 */
export function toMergeBlockers(data: MergeBlockersResponse, pullNumber: number): MergeBlockers {
  const pull = data.repository?.pullRequest;
  if (!pull) throw new Error(`pull request #${pullNumber} not found (GraphQL)`);
  const decision = pull.reviewDecision;
  const reviewDecision =
    decision === "APPROVED" || decision === "CHANGES_REQUESTED" || decision === "REVIEW_REQUIRED" ? decision : null;
  const contexts = pull.commits.nodes.at(-1)?.commit.statusCheckRollup?.contexts;
  if (!contexts) return { reviewDecision, requiredNotPassing: [] };
  const nodes = contexts.nodes.filter((c): c is RollupContext => c !== null);
  const requiredNotPassing = nodes.filter((c) => c.isRequired === true && !contextPassed(c)).map(contextName);
  if (contexts.totalCount !== undefined && contexts.totalCount > nodes.length) requiredNotPassing.push(UNINSPECTED_CHECKS);
  return { reviewDecision, requiredNotPassing };
}

/** A pull request's comments, 100 a page: what hiding outdated plan comments needs. */
export const PULL_COMMENTS_QUERY = `query($owner: String!, $repo: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $repo) {
    pullRequest(number: $number) {
      comments(first: 100, after: $cursor) {
        nodes { id body isMinimized viewerDidAuthor }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}`;

interface PullCommentsResponse {
  repository: {
    pullRequest: {
      comments: {
        nodes: ({ id: string; body: string; isMinimized: boolean; viewerDidAuthor: boolean } | null)[] | null;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      } | null;
    } | null;
  } | null;
}

export const MINIMIZE_COMMENT_MUTATION = `mutation($id: ID!) {
  minimizeComment(input: { subjectId: $id, classifier: OUTDATED }) {
    minimizedComment { isMinimized }
  }
}`;

function checkRunBody(input: Partial<CheckRunInput>) {
  const body: Record<string, unknown> = {};
  if (input.name !== undefined) body.name = input.name;
  if (input.headSha !== undefined) body.head_sha = input.headSha;
  if (input.status !== undefined) body.status = input.status;
  if (input.status === "in_progress") body.started_at = new Date().toISOString();
  if (input.conclusion !== undefined) {
    body.conclusion = input.conclusion;
    body.completed_at = new Date().toISOString();
  }
  if (input.output !== undefined) body.output = input.output;
  if (input.actions !== undefined) body.actions = input.actions;
  if (input.externalId !== undefined) body.external_id = input.externalId;
  if (input.detailsUrl !== undefined) body.details_url = input.detailsUrl;
  return body;
}

/** Installation tokens with less than this left are not used for a fetch. */
const MIN_TOKEN_REMAINING_MS = 10 * 60_000;

export function createOctokitGitHub(
  octokit: Octokit,
  repoRef: { owner: string; repo: string; installationId: number },
  /** Where clone tokens are kept between jobs; without it every job mints its own. */
  cloneTokens?: CloneTokenCache,
  /** The installation's write queue (shared by its jobs, as Octokit's pacing is). */
  writeQueue?: WriteQueue,
): GitHubPort {
  const { owner, repo, installationId } = repoRef;
  const baseUrl = String(octokit.request.endpoint.DEFAULTS.baseUrl ?? "https://api.github.com").replace(/\/+$/, "");
  return {
    owner,
    repo,
    ...(writeQueue ? { writeQueue } : {}),

    async getPull(pullNumber) {
      // GitHub sometimes answers 404 for a PR right after the webhook about it; retry briefly.
      for (let attempt = 0; ; attempt++) {
        try {
          const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: pullNumber });
          return toPullRequestInfo(data as PullLike);
        } catch (error) {
          if (status(error) !== 404 || attempt >= 3) throw error;
          await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
        }
      }
    },

    async listChangedFiles(pullNumber) {
      const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
        owner,
        repo,
        pull_number: pullNumber,
        per_page: 100,
      });
      return files.map(
        (f): ChangedFile => ({
          filename: f.filename,
          status: f.status,
          ...(f.previous_filename ? { previousFilename: f.previous_filename } : {}),
        }),
      );
    },

    async getFileContent(path, ref) {
      try {
        const { data } = await octokit.rest.repos.getContent({ owner, repo, path, ref });
        if (Array.isArray(data) || data.type !== "file") return null;
        const content = "content" in data ? data.content : "";
        return Buffer.from(content, "base64").toString("utf8");
      } catch (error) {
        if (status(error) === 404) return null;
        throw error;
      }
    },

    async listDirectory(path, ref) {
      try {
        const { data } = await octokit.rest.repos.getContent({ owner, repo, path, ref });
        return Array.isArray(data) ? data.map((e) => e.name) : null;
      } catch (error) {
        if (status(error) === 404) return null;
        throw error;
      }
    },

    async createComment(issueNumber, body) {
      const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
      return { id: data.id, nodeId: data.node_id };
    },

    async addReaction(commentId, content) {
      await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: commentId, content });
    },

    async createCheckRun(input) {
      const { data } = await octokit.request("POST /repos/{owner}/{repo}/check-runs", {
        owner,
        repo,
        ...(checkRunBody(input) as { name: string; head_sha: string }),
      });
      return { id: Number(data.id) };
    },

    async updateCheckRun(checkRunId, input) {
      const { head_sha: _ignored, ...body } = checkRunBody(input);
      await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
        owner,
        repo,
        check_run_id: checkRunId,
        ...body,
      });
    },

    async listCheckRuns(headSha) {
      const runs = await octokit.paginate("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
        owner,
        repo,
        ref: headSha,
        filter: "latest",
        per_page: 100,
      });
      return runs.map((r) => ({ id: Number(r.id), name: r.name, status: r.status as ListedCheckRun["status"], externalId: r.external_id ?? null }));
    },

    async getPermission(username): Promise<Permission> {
      try {
        const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username });
        const role = (data as { role_name?: string }).role_name;
        if (role === "maintain") return "write";
        const p = data.permission;
        return p === "admin" || p === "write" || p === "read" ? p : "none";
      } catch (error) {
        // 404: not a collaborator (or no such user).
        if (status(error) === 404) return "none";
        throw error;
      }
    },

    async listReviews(pullNumber): Promise<Review[]> {
      const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, {
        owner,
        repo,
        pull_number: pullNumber,
        per_page: 100,
      });
      return reviews.map((r) => ({
        user: r.user?.login ?? "",
        state: String(r.state).toUpperCase(),
        ...(r.submitted_at ? { submittedAt: r.submitted_at } : {}),
        ...(r.commit_id ? { commitId: r.commit_id } : {}),
      }));
    },

    async cloneToken(opts = {}) {
      if (baseUrl === "https://api.github.com") {
        // The token Probot already holds for this installation's API calls (from its cache, so
        // usually no request at all); a new one when it is close to expiry or was rejected.
        type Auth = { token: string; expiresAt?: string };
        let auth = (await octokit.auth({ type: "installation", ...(opts.fresh ? { refresh: true } : {}) })) as Auth;
        const left = Date.parse(auth.expiresAt ?? "") - Date.now();
        if (!opts.fresh && !(left >= MIN_TOKEN_REMAINING_MS)) auth = (await octokit.auth({ type: "installation", refresh: true })) as Auth;
        return auth.token;
      }
      // GitHub Enterprise (and the fake GitHub of the end-to-end tests): `octokit.auth(…)` would
      // ask api.github.com for the token (shared/reference/github-platform.md §1.1a), so mint one
      // at the configured host and keep it for later jobs.
      const mint = async (): Promise<MintedToken> => {
        const { data } = await octokit.rest.apps.createInstallationAccessToken({ installation_id: installationId });
        return { token: data.token, expiresAt: data.expires_at };
      };
      return cloneTokens ? cloneTokens.get(`${baseUrl}#${installationId}`, mint, opts) : (await mint()).token;
    },

    async listPullComments(pullNumber): Promise<PullComment[]> {
      const out: PullComment[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const data: PullCommentsResponse = await octokit.graphql<PullCommentsResponse>(PULL_COMMENTS_QUERY, { owner, repo, number: pullNumber, cursor });
        const comments = data.repository?.pullRequest?.comments;
        if (!comments) break;
        for (const c of comments.nodes ?? []) {
          if (c) out.push({ nodeId: c.id, body: c.body, isMinimized: c.isMinimized, byApp: c.viewerDidAuthor });
        }
        if (!comments.pageInfo.hasNextPage) break;
        cursor = comments.pageInfo.endCursor;
      }
      return out;
    },

    async minimizeComment(nodeId) {
      await octokit.graphql(MINIMIZE_COMMENT_MUTATION, { id: nodeId });
    },

    async listLabels(issueNumber) {
      const labels = await octokit.paginate(octokit.rest.issues.listLabelsOnIssue, { owner, repo, issue_number: issueNumber, per_page: 100 });
      return labels.map((l) => l.name);
    },

    async addLabels(issueNumber, names) {
      await octokit.rest.issues.addLabels({ owner, repo, issue_number: issueNumber, labels: names });
    },

    async removeLabel(issueNumber, name) {
      try {
        await octokit.rest.issues.removeLabel({ owner, repo, issue_number: issueNumber, name });
      } catch (error) {
        if ((error as { status?: number }).status !== 404) throw error;
      }
    },

    async getMergeBlockers(pullNumber): Promise<MergeBlockers> {
      const data = await octokit.graphql<MergeBlockersResponse>(MERGE_BLOCKERS_QUERY, {
        owner,
        repo,
        number: pullNumber,
      });
      return toMergeBlockers(data, pullNumber);
    },

    async compareCommits(base, head): Promise<CommitComparison> {
      // per_page: 1 — only `status` is needed, not the commit list or the files.
      const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
        owner,
        repo,
        basehead: `${base}...${head}`,
        per_page: 1,
      });
      return data.status;
    },

    async mergePull(pullNumber, { method, sha }): Promise<MergeResult> {
      try {
        // No retries: GitHub's 405/409 are decisions (the retry plugin would repeat them for ~14 s),
        // and repeating a merge whose answer was lost would only meet "not mergeable".
        const { data } = await octokit.rest.pulls.merge({ owner, repo, pull_number: pullNumber, merge_method: method, sha, request: { retries: 0 } });
        return { merged: data.merged, message: data.message };
      } catch (error) {
        // 405: not mergeable (conflicts, branch protection, method not allowed); 409: head moved.
        const code = status(error);
        if (code === 405 || code === 409) return { merged: false, message: githubMessage(error) };
        throw error;
      }
    },

    async deleteBranch(ref) {
      try {
        await octokit.rest.git.deleteRef({ owner, repo, ref: `heads/${ref}` });
      } catch (error) {
        // Already gone (GitHub's "Reference does not exist"): the outcome wanted.
        if (status(error) === 422 && /reference does not exist/i.test(githubMessage(error))) return;
        throw error;
      }
    },
  };
}
