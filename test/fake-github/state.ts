/**
 * What the fake GitHub knows: repositories, pull requests, comments, reactions, check runs,
 * statuses, reviews, permissions and the request log, plus the JSON shapes the REST API
 * returns for them.
 *
 * Records are the test-facing view (camelCase, with history); the `*Json` functions turn them
 * into GitHub's response shapes with the fields the OpenAPI description marks as required, so
 * Octokit and the app see what github.com would send.
 */
import type { CommitInfo, Comparison, DiffEntry, FakeRepo } from "./git-repos.js";

export type PermissionLevel = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface PullRecord {
  owner: string;
  repo: string;
  number: number;
  id: number;
  nodeId: string;
  title: string;
  body: string | null;
  author: string;
  headRef: string;
  baseRef: string;
  /** Last synchronised head sha (re-read from the branch while the PR is open). */
  headSha: string;
  baseSha: string;
  draft: boolean;
  state: "open" | "closed";
  merged: boolean;
  mergedAt: string | null;
  closedAt: string | null;
  /**
   * GitHub's `mergeable` as pinned by a test (`updatePull({ mergeable })`); true, false or null
   * ("still computing"). Undefined: computed from git and branch protection on every read.
   */
  mergeable?: boolean | null;
  /** `mergeable_state` pinned by a test; undefined: computed (see `merge-state.ts`). */
  mergeableState?: string;
  /** The next this-many reads of the mergeability answer "still computing" (null / unknown). */
  computingReads: number;
  /** The merge commit, once merged through `mergePull`. */
  mergeCommitSha: string | null;
  mergedBy: string | null;
  /** Head lives in a fork (`<author>/<repo>`); the branch is hidden from the base repo's refs. */
  fork: boolean;
  headRepoFullName: string;
  createdAt: string;
  updatedAt: string;
}

export interface CommentRecord {
  owner: string;
  repo: string;
  issueNumber: number;
  id: number;
  nodeId: string;
  body: string;
  user: string;
  /** Created through the API by the app (as opposed to seeded by a test as a human). */
  byApp: boolean;
  createdAt: string;
  updatedAt: string;
  /** Earlier bodies, oldest first (one entry per PATCH). */
  previousBodies: string[];
  /** Hidden with GraphQL `minimizeComment` (the classifier, lower-cased as GitHub reports it). */
  minimized?: { reason: string };
}

export interface ReactionRecord {
  id: number;
  owner: string;
  repo: string;
  commentId: number;
  content: string;
  user: string;
  createdAt: string;
}

export interface CheckRunOutputRecord {
  title: string | null;
  summary: string | null;
  text: string | null;
}

export interface CheckRunHistoryEntry {
  method: "POST" | "PATCH";
  /** The request body as sent. */
  body: Record<string, unknown>;
  at: string;
  /** Status and conclusion after this request. */
  status: string;
  conclusion: string | null;
}

export interface CheckRunRecord {
  owner: string;
  repo: string;
  id: number;
  nodeId: string;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  externalId: string | null;
  detailsUrl: string | null;
  startedAt: string | null;
  completedAt: string | null;
  output: CheckRunOutputRecord;
  /** Annotations append across requests, like on GitHub. */
  annotations: Record<string, unknown>[];
  actions: Array<{ label: string; description: string; identifier: string }>;
  checkSuiteId: number;
  history: CheckRunHistoryEntry[];
}

export interface StatusRecord {
  id: number;
  owner: string;
  repo: string;
  sha: string;
  state: string;
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: string;
  createdAt: string;
}

export interface ReviewRecord {
  id: number;
  owner: string;
  repo: string;
  pullNumber: number;
  user: string;
  /** APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING */
  state: string;
  body: string;
  commitId: string;
  submittedAt: string;
}

/** The parts of a branch protection rule the fake models. */
export interface BranchProtection {
  /** Check-run names / status contexts that must pass. */
  requiredChecks: string[];
  /** "Require branches to be up to date before merging" (REST `required_status_checks.strict`). */
  strict: boolean;
  /** "Required approving reviews"; 0 = reviews not required. */
  requiredApprovals: number;
}

/** REST `mergeable` / `mergeable_state` of a PR at one point in time. */
export interface Mergeability {
  mergeable: boolean | null;
  /** clean | unstable | blocked | behind | dirty | draft | has_hooks | unknown */
  mergeableState: string;
}

export interface RequestRecord {
  method: string;
  /** API path without the `/api/v3` prefix (or the raw path for non-API requests). */
  path: string;
  /** OpenAPI template, or null for unknown routes. */
  template: string | null;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** How the request authenticated: none | jwt | token | user | invalid. */
  auth: string;
  /** Arrival time (ISO, with milliseconds). */
  at: string;
  /** Error message of non-2xx responses. */
  error?: string;
}

export interface ViolationRecord {
  method: string;
  path: string;
  template: string | null;
  errors: string[];
  body: unknown;
}

export interface GitRequestRecord {
  path: string;
  service: string | null;
  authorized: boolean;
  /** Arrival time (ISO, with milliseconds). */
  at: string;
}

/** GitHub timestamps have no milliseconds. */
export function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The PR is merged (by `mergedBy`, as `mergeCommitSha`) and therefore closed. */
export function markMerged(p: PullRecord, mergeCommitSha: string, mergedBy: string): void {
  const now = isoNow();
  p.mergeCommitSha = mergeCommitSha;
  p.merged = true;
  p.mergedBy = mergedBy;
  p.mergedAt = now;
  p.state = "closed";
  p.closedAt = now;
  p.updatedAt = now;
}

export class FakeState {
  readonly repos = new Map<string, FakeRepo>();
  readonly pulls = new Map<string, PullRecord>();
  readonly comments: CommentRecord[] = [];
  /** Labels on each issue or pull request (`pullKey`), in the order they were added. */
  readonly issueLabels = new Map<string, string[]>();
  /** Repository labels by `owner/repo` → name → id (GitHub creates one when an issue first gets it). */
  readonly repoLabels = new Map<string, Map<string, number>>();
  readonly reactions: ReactionRecord[] = [];
  readonly checkRuns: CheckRunRecord[] = [];
  readonly statuses: StatusRecord[] = [];
  readonly reviews: ReviewRecord[] = [];
  /** `owner/repo` → login → permission */
  readonly permissions = new Map<string, Map<string, PermissionLevel>>();
  /** `owner/repo` of private repositories (readable only by the owner and users given a permission). */
  readonly privateRepos = new Set<string>();
  /** `owner/repo#branch` (lower-cased repo part) → protection rule */
  readonly protections = new Map<string, BranchProtection>();
  /** `owner/repo` → next issue/PR number */
  readonly nextNumber = new Map<string, number>();
  readonly #userIds = new Map<string, number>();
  readonly #suites = new Map<string, number>();
  #nextId = 10_000_001;

  constructor(
    /** `http://127.0.0.1:PORT` */
    readonly baseUrl: string,
    readonly app: { id: number; slug: string; name: string; ownerLogin: string },
  ) {}

  /** Unique across all object kinds, like GitHub's database ids are in practice. */
  newId(): number {
    return this.#nextId++;
  }

  /** One check suite per (app, head sha), like GitHub's automatic suite creation. */
  suiteId(headSha: string): number {
    let id = this.#suites.get(headSha);
    if (id === undefined) this.#suites.set(headSha, (id = this.newId()));
    return id;
  }

  get apiUrl(): string {
    return `${this.baseUrl}/api/v3`;
  }

  get botLogin(): string {
    return `${this.app.slug}[bot]`;
  }

  repoKey(owner: string, repo: string): string {
    return `${owner}/${repo}`.toLowerCase();
  }

  pullKey(owner: string, repo: string, n: number): string {
    return `${this.repoKey(owner, repo)}#${n}`;
  }

  repo(owner: string, repo: string): FakeRepo | undefined {
    return this.repos.get(this.repoKey(owner, repo));
  }

  pull(owner: string, repo: string, n: number): PullRecord | undefined {
    return this.pulls.get(this.pullKey(owner, repo, n));
  }

  /** The branch's protection rule, or undefined when it has none. */
  protection(owner: string, repo: string, branch: string): BranchProtection | undefined {
    return this.protections.get(`${this.repoKey(owner, repo)}#${branch}`);
  }

  /** The branch's protection rule, created (requiring nothing) when missing. */
  ensureProtection(owner: string, repo: string, branch: string): BranchProtection {
    const key = `${this.repoKey(owner, repo)}#${branch}`;
    let rule = this.protections.get(key);
    if (!rule) this.protections.set(key, (rule = { requiredChecks: [], strict: false, requiredApprovals: 0 }));
    return rule;
  }

  /**
   * What `login` may do in the repository: the `setPermission` entry; else admin for the owner;
   * else read on a public repository and none on a private one.
   */
  permission(owner: string, repo: string, login: string): PermissionLevel {
    const key = this.repoKey(owner, repo);
    const set = this.permissions.get(key)?.get(login.toLowerCase());
    if (set) return set;
    if (login.toLowerCase() === owner.toLowerCase()) return "admin";
    return this.privateRepos.has(key) ? "none" : "read";
  }

  userId(login: string): number {
    let id = this.#userIds.get(login);
    if (id === undefined) {
      id = 500_000 + this.#userIds.size;
      this.#userIds.set(login, id);
    }
    return id;
  }

  // ---------------------------------------------------------------- JSON shapes

  userJson(login: string) {
    const isBot = login.endsWith("[bot]");
    const id = this.userId(login);
    const url = `${this.apiUrl}/users/${encodeURIComponent(login)}`;
    return {
      login,
      id,
      node_id: nodeId(isBot ? "Bot" : "User", id),
      avatar_url: `${this.baseUrl}/avatars/u/${id}`,
      gravatar_id: "",
      url,
      html_url: isBot ? `${this.baseUrl}/apps/${this.app.slug}` : `${this.baseUrl}/${login}`,
      followers_url: `${url}/followers`,
      following_url: `${url}/following{/other_user}`,
      gists_url: `${url}/gists{/gist_id}`,
      starred_url: `${url}/starred{/owner}{/repo}`,
      subscriptions_url: `${url}/subscriptions`,
      organizations_url: `${url}/orgs`,
      repos_url: `${url}/repos`,
      events_url: `${url}/events{/privacy}`,
      received_events_url: `${url}/received_events`,
      type: isBot ? "Bot" : "User",
      site_admin: false,
    };
  }

  appJson() {
    return {
      id: this.app.id,
      slug: this.app.slug,
      node_id: nodeId("Integration", this.app.id),
      client_id: `Iv1.${this.app.id.toString(16).padStart(16, "0")}`,
      owner: this.userJson(this.app.ownerLogin),
      name: this.app.name,
      description: "GitHub App under test",
      external_url: this.baseUrl,
      html_url: `${this.baseUrl}/apps/${this.app.slug}`,
      created_at: "2024-01-01T00:00:00Z",
      updated_at: "2024-01-01T00:00:00Z",
      permissions: { checks: "write", contents: "read", issues: "write", metadata: "read", pull_requests: "write", statuses: "write" },
      events: ["check_run", "check_suite", "issue_comment", "pull_request", "pull_request_review"],
      installations_count: 1,
    };
  }

  repoJson(r: FakeRepo, fullNameOverride?: string) {
    const fullName = fullNameOverride ?? r.fullName;
    const [owner, name] = fullName.split("/");
    const url = `${this.apiUrl}/repos/${fullName}`;
    const isFork = fullNameOverride !== undefined && fullNameOverride !== r.fullName;
    return {
      id: isFork ? r.id + 1 : r.id,
      node_id: nodeId("Repository", isFork ? r.id + 1 : r.id),
      name,
      full_name: fullName,
      private: this.privateRepos.has(this.repoKey(r.owner, r.name)),
      owner: this.userJson(owner),
      html_url: `${this.baseUrl}/${fullName}`,
      description: null,
      fork: isFork,
      url,
      clone_url: `${this.baseUrl}/${fullName}.git`,
      git_url: `git://127.0.0.1/${fullName}.git`,
      ssh_url: `git@127.0.0.1:${fullName}.git`,
      svn_url: `${this.baseUrl}/${fullName}`,
      pulls_url: `${url}/pulls{/number}`,
      issues_url: `${url}/issues{/number}`,
      contents_url: `${url}/contents/{+path}`,
      // The remaining hypermedia templates, counters and flags GitHub always sends.
      archive_url: `${url}/{archive_format}{/ref}`,
      assignees_url: `${url}/assignees{/user}`,
      blobs_url: `${url}/git/blobs{/sha}`,
      branches_url: `${url}/branches{/branch}`,
      collaborators_url: `${url}/collaborators{/collaborator}`,
      comments_url: `${url}/comments{/number}`,
      commits_url: `${url}/commits{/sha}`,
      compare_url: `${url}/compare/{base}...{head}`,
      contributors_url: `${url}/contributors`,
      deployments_url: `${url}/deployments`,
      downloads_url: `${url}/downloads`,
      events_url: `${url}/events`,
      forks_url: `${url}/forks`,
      git_commits_url: `${url}/git/commits{/sha}`,
      git_refs_url: `${url}/git/refs{/sha}`,
      git_tags_url: `${url}/git/tags{/sha}`,
      hooks_url: `${url}/hooks`,
      issue_comment_url: `${url}/issues/comments{/number}`,
      issue_events_url: `${url}/issues/events{/number}`,
      keys_url: `${url}/keys{/key_id}`,
      labels_url: `${url}/labels{/name}`,
      languages_url: `${url}/languages`,
      merges_url: `${url}/merges`,
      milestones_url: `${url}/milestones{/number}`,
      notifications_url: `${url}/notifications{?since,all,participating}`,
      releases_url: `${url}/releases{/id}`,
      stargazers_url: `${url}/stargazers`,
      statuses_url: `${url}/statuses/{sha}`,
      subscribers_url: `${url}/subscribers`,
      subscription_url: `${url}/subscription`,
      tags_url: `${url}/tags`,
      teams_url: `${url}/teams`,
      trees_url: `${url}/git/trees{/sha}`,
      mirror_url: null,
      homepage: null,
      language: "HCL",
      license: null,
      size: 0,
      forks: 0,
      forks_count: 0,
      stargazers_count: 0,
      watchers: 0,
      watchers_count: 0,
      open_issues: 0,
      open_issues_count: 0,
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: true,
      default_branch: r.defaultBranch,
      visibility: this.privateRepos.has(this.repoKey(r.owner, r.name)) ? "private" : "public",
      archived: false,
      disabled: false,
      created_at: "2024-01-01T00:00:00Z",
      updated_at: "2024-01-01T00:00:00Z",
      pushed_at: isoNow(),
    };
  }

  /**
   * `merge` is the mergeability computed for this response (REST GET pull); without it the
   * pinned values (or GitHub's webhook-style "not computed yet") are reported.
   */
  pullJson(p: PullRecord, merge?: Mergeability) {
    const r = this.repo(p.owner, p.repo)!;
    const url = `${this.apiUrl}/repos/${r.fullName}/pulls/${p.number}`;
    const issueUrl = `${this.apiUrl}/repos/${r.fullName}/issues/${p.number}`;
    const htmlUrl = `${this.baseUrl}/${r.fullName}/pull/${p.number}`;
    const headOwner = p.headRepoFullName.split("/")[0];
    const m: Mergeability =
      p.state !== "open"
        ? { mergeable: null, mergeableState: "unknown" }
        : (merge ?? { mergeable: p.mergeable ?? null, mergeableState: p.mergeableState ?? "unknown" });
    return {
      url,
      id: p.id,
      node_id: p.nodeId,
      html_url: htmlUrl,
      diff_url: `${htmlUrl}.diff`,
      patch_url: `${htmlUrl}.patch`,
      issue_url: issueUrl,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      review_comment_url: `${this.apiUrl}/repos/${r.fullName}/pulls/comments{/number}`,
      comments_url: `${issueUrl}/comments`,
      statuses_url: `${this.apiUrl}/repos/${r.fullName}/statuses/${p.headSha}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: this.userJson(p.author),
      body: p.body,
      labels: [],
      milestone: null,
      active_lock_reason: null,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      closed_at: p.closedAt,
      merged_at: p.mergedAt,
      merge_commit_sha: p.mergeCommitSha,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      head: {
        label: `${headOwner}:${p.headRef}`,
        ref: p.headRef,
        sha: p.headSha,
        user: this.userJson(headOwner),
        repo: this.repoJson(r, p.headRepoFullName),
      },
      base: {
        label: `${r.owner}:${p.baseRef}`,
        ref: p.baseRef,
        sha: p.baseSha,
        user: this.userJson(r.owner),
        repo: this.repoJson(r),
      },
      _links: {
        self: { href: url },
        html: { href: htmlUrl },
        issue: { href: issueUrl },
        comments: { href: `${issueUrl}/comments` },
        review_comments: { href: `${url}/comments` },
        review_comment: { href: `${this.apiUrl}/repos/${r.fullName}/pulls/comments{/number}` },
        commits: { href: `${url}/commits` },
        statuses: { href: `${this.apiUrl}/repos/${r.fullName}/statuses/${p.headSha}` },
      },
      author_association: this.authorAssociation(p.owner, p.repo, p.author),
      auto_merge: null,
      draft: p.draft,
      merged: p.merged,
      mergeable: m.mergeable,
      rebaseable: m.mergeable,
      mergeable_state: m.mergeableState,
      merged_by: p.merged ? this.userJson(p.mergedBy ?? p.author) : null,
      comments: this.comments.filter((c) => this.repoKey(c.owner, c.repo) === this.repoKey(p.owner, p.repo) && c.issueNumber === p.number).length,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: 1,
      additions: 0,
      deletions: 0,
      changed_files: 0,
    };
  }

  authorAssociation(owner: string, repo: string, login: string): string {
    if (login.toLowerCase() === owner.toLowerCase()) return "OWNER";
    const perm = this.permissions.get(this.repoKey(owner, repo))?.get(login.toLowerCase());
    return perm && perm !== "none" && perm !== "read" ? "COLLABORATOR" : "CONTRIBUTOR";
  }

  labelJson(owner: string, repo: string, name: string) {
    const key = this.repoKey(owner, repo);
    const labels = this.repoLabels.get(key) ?? this.repoLabels.set(key, new Map()).get(key)!;
    const id = labels.get(name.toLowerCase()) ?? labels.set(name.toLowerCase(), this.newId()).get(name.toLowerCase())!;
    return {
      id,
      node_id: nodeId("Label", id),
      url: `${this.apiUrl}/repos/${owner}/${repo}/labels/${encodeURIComponent(name)}`,
      name,
      description: null,
      color: "ededed",
      default: false,
    };
  }

  commentJson(c: CommentRecord) {
    const r = this.repo(c.owner, c.repo)!;
    const kind = this.pull(c.owner, c.repo, c.issueNumber) ? "pull" : "issues";
    const reactions = this.reactions.filter((x) => x.commentId === c.id);
    const count = (content: string) => reactions.filter((x) => x.content === content).length;
    return {
      id: c.id,
      node_id: c.nodeId,
      url: `${this.apiUrl}/repos/${r.fullName}/issues/comments/${c.id}`,
      html_url: `${this.baseUrl}/${r.fullName}/${kind}/${c.issueNumber}#issuecomment-${c.id}`,
      issue_url: `${this.apiUrl}/repos/${r.fullName}/issues/${c.issueNumber}`,
      body: c.body,
      user: this.userJson(c.user),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      author_association: c.byApp ? "NONE" : this.authorAssociation(c.owner, c.repo, c.user),
      performed_via_github_app: c.byApp ? this.appJson() : null,
      reactions: {
        url: `${this.apiUrl}/repos/${r.fullName}/issues/comments/${c.id}/reactions`,
        total_count: reactions.length,
        "+1": count("+1"),
        "-1": count("-1"),
        laugh: count("laugh"),
        confused: count("confused"),
        heart: count("heart"),
        hooray: count("hooray"),
        eyes: count("eyes"),
        rocket: count("rocket"),
      },
    };
  }

  reactionJson(x: ReactionRecord) {
    return {
      id: x.id,
      node_id: nodeId("Reaction", x.id),
      user: this.userJson(x.user),
      content: x.content,
      created_at: x.createdAt,
    };
  }

  checkRunJson(c: CheckRunRecord) {
    const r = this.repo(c.owner, c.repo)!;
    const url = `${this.apiUrl}/repos/${r.fullName}/check-runs/${c.id}`;
    // Like GitHub, only PRs whose head is in this repository are linked (fork PRs never are).
    const pulls = [...this.pulls.values()].filter(
      (p) => this.repoKey(p.owner, p.repo) === this.repoKey(c.owner, c.repo) && p.state === "open" && !p.fork && p.headSha === c.headSha,
    );
    const repoRef = { id: r.id, url: `${this.apiUrl}/repos/${r.fullName}`, name: r.name };
    return {
      id: c.id,
      node_id: c.nodeId,
      head_sha: c.headSha,
      external_id: c.externalId,
      url,
      html_url: `${this.baseUrl}/${r.fullName}/runs/${c.id}`,
      details_url: c.detailsUrl ?? `${this.baseUrl}/${r.fullName}/runs/${c.id}`,
      status: c.status,
      conclusion: c.conclusion,
      started_at: c.startedAt,
      completed_at: c.completedAt,
      output: {
        title: c.output.title,
        summary: c.output.summary,
        text: c.output.text,
        annotations_count: c.annotations.length,
        annotations_url: `${url}/annotations`,
      },
      name: c.name,
      check_suite: { id: c.checkSuiteId },
      app: this.appJson(),
      pull_requests: pulls.map((p) => ({
        id: p.id,
        number: p.number,
        url: `${this.apiUrl}/repos/${r.fullName}/pulls/${p.number}`,
        head: { ref: p.headRef, sha: p.headSha, repo: repoRef },
        base: { ref: p.baseRef, sha: p.baseSha, repo: repoRef },
      })),
    };
  }

  statusJson(s: StatusRecord) {
    return {
      url: `${this.apiUrl}/repos/${s.owner}/${s.repo}/statuses/${s.sha}`,
      avatar_url: `${this.baseUrl}/avatars/u/${this.app.id}`,
      id: s.id,
      node_id: nodeId("StatusContext", s.id),
      state: s.state,
      description: s.description,
      target_url: s.targetUrl,
      context: s.context,
      created_at: s.createdAt,
      updated_at: s.createdAt,
      creator: this.userJson(s.creator),
    };
  }

  /**
   * A commit as the REST API lists it (compare, PR commits). `author`/`committer` are GitHub
   * accounts matched by e-mail; the fake has no e-mail → login mapping, so they are null, as for
   * commits by unknown e-mail addresses on GitHub.
   */
  commitJson(r: FakeRepo, c: CommitInfo) {
    const url = `${this.apiUrl}/repos/${r.fullName}/commits/${c.sha}`;
    return {
      sha: c.sha,
      node_id: Buffer.from(`06:Commit${r.id}:${c.sha}`).toString("base64").replace(/=+$/, ""),
      commit: {
        author: c.author,
        committer: c.committer,
        message: c.message,
        tree: { sha: c.tree, url: `${this.apiUrl}/repos/${r.fullName}/git/trees/${c.tree}` },
        url: `${this.apiUrl}/repos/${r.fullName}/git/commits/${c.sha}`,
        comment_count: 0,
        verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
      },
      url,
      html_url: `${this.baseUrl}/${r.fullName}/commit/${c.sha}`,
      comments_url: `${url}/comments`,
      author: null,
      committer: null,
      parents: c.parents.map((sha) => ({
        sha,
        url: `${this.apiUrl}/repos/${r.fullName}/commits/${sha}`,
        html_url: `${this.baseUrl}/${r.fullName}/commit/${sha}`,
      })),
    };
  }

  /** A file entry of a compare or PR-files response. */
  diffEntryJson(r: FakeRepo, ref: string, d: DiffEntry) {
    return {
      sha: d.sha,
      filename: d.filename,
      status: d.status,
      additions: d.additions,
      deletions: d.deletions,
      changes: d.additions + d.deletions,
      blob_url: `${this.baseUrl}/${r.fullName}/blob/${ref}/${d.filename}`,
      raw_url: `${this.baseUrl}/${r.fullName}/raw/${ref}/${d.filename}`,
      contents_url: `${this.apiUrl}/repos/${r.fullName}/contents/${d.filename}?ref=${ref}`,
      ...(d.previousFilename !== undefined ? { previous_filename: d.previousFilename } : {}),
    };
  }

  /** `GET /repos/{o}/{r}/compare/{basehead}` (commit-comparison). */
  compareJson(
    r: FakeRepo,
    basehead: string,
    cmp: Comparison,
    commits: { base: CommitInfo; mergeBase: CommitInfo; list: CommitInfo[] },
    files: DiffEntry[],
  ) {
    const html = `${this.baseUrl}/${r.fullName}/compare/${basehead}`;
    return {
      url: `${this.apiUrl}/repos/${r.fullName}/compare/${basehead}`,
      html_url: html,
      permalink_url: `${this.baseUrl}/${r.fullName}/compare/${r.owner}:${cmp.baseSha}...${r.owner}:${cmp.headSha}`,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      base_commit: this.commitJson(r, commits.base),
      merge_base_commit: this.commitJson(r, commits.mergeBase),
      status: cmp.status,
      ahead_by: cmp.aheadBy,
      behind_by: cmp.behindBy,
      total_commits: cmp.aheadBy,
      commits: commits.list.map((c) => this.commitJson(r, c)),
      files: files.map((d) => this.diffEntryJson(r, cmp.headSha, d)),
    };
  }

  reviewJson(v: ReviewRecord) {
    const fullName = this.repo(v.owner, v.repo)!.fullName;
    const prUrl = `${this.apiUrl}/repos/${fullName}/pulls/${v.pullNumber}`;
    const html = `${this.baseUrl}/${fullName}/pull/${v.pullNumber}#pullrequestreview-${v.id}`;
    return {
      id: v.id,
      node_id: nodeId("PullRequestReview", v.id),
      user: this.userJson(v.user),
      body: v.body,
      state: v.state,
      html_url: html,
      pull_request_url: prUrl,
      _links: { html: { href: html }, pull_request: { href: prUrl } },
      submitted_at: v.submittedAt,
      commit_id: v.commitId,
      author_association: this.authorAssociation(v.owner, v.repo, v.user),
    };
  }
}

/** Opaque GraphQL-style node id. */
export function nodeId(type: string, id: number): string {
  return Buffer.from(`0:${type}${id}`).toString("base64").replace(/=+$/, "");
}
