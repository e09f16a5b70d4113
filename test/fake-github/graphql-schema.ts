/**
 * The slice of GitHub's GraphQL schema the fake serves, with resolvers over the fake's state.
 *
 * Names, types, nullability and argument lists follow GitHub's public schema
 * (https://docs.github.com/graphql/reference), so a query valid here is valid on GitHub as far
 * as it goes; anything outside the slice is rejected with GitHub's "doesn't exist on type" error
 * and recorded as unhandled, telling the test author to extend this file.
 *
 * Covered: `repository(owner, name) { pullRequest(number) { ... } }` with review decision,
 * merge state, reviews, commits and each commit's status check rollup (check runs and commit
 * statuses, `isRequired` from the fake's branch protection), and the PR's comments with
 * `isMinimized` / `viewerDidAuthor`. The one mutation Atoll sends, `minimizeComment`, is in
 * `graphql-mutations.ts` (the engine here serves queries only).
 */
import type { FakeRepo } from "./git-repos.js";
import { GraphqlFieldError, Schema, type FieldDef, type TypeDef } from "./graphql.js";
import { mergeability, reviewDecision, rollup, rollupState, type RollupEntry } from "./merge-state.js";
import { nodeId, type CommentRecord, type FakeState, type Mergeability, type PullRecord, type ReviewRecord } from "./state.js";

export interface GraphqlContext {
  state: FakeState;
  /** Re-read the PR's head/base from git, as REST reads do. */
  syncPull(p: PullRecord): Promise<void>;
  /**
   * Mergeability per PR for this request: computed (and a "still computing" read consumed) at
   * most once, however many fields of the query ask for it.
   */
  mergeCache: Map<string, Promise<Mergeability>>;
}

type Args = Record<string, unknown>;

interface RepositoryValue {
  repo: FakeRepo;
}
interface PullValue {
  pull: PullRecord;
}
interface CommitValue {
  repo: FakeRepo;
  sha: string;
  /** The PR whose commits list led here (for `isRequired(pullRequestNumber)` defaults and rollups). */
  pull: PullRecord;
}
interface RollupValue {
  commit: CommitValue;
  entries: RollupEntry[];
}
interface ContextValue {
  entry: RollupEntry;
  commit: CommitValue;
}
interface ActorValue {
  login: string;
}

// ---------------------------------------------------------------- connections

const CONNECTION_ARGS = { first: "Int", last: "Int", after: "String", before: "String" } as const;

function cursor(i: number): string {
  return Buffer.from(`cursor:v2:${i}`).toString("base64");
}

function cursorIndex(c: unknown): number {
  const m = typeof c === "string" ? /^cursor:v2:(\d+)$/.exec(Buffer.from(c, "base64").toString("utf8")) : null;
  if (!m) throw new GraphqlFieldError(`\`${String(c)}\` does not appear to be a valid cursor.`, "INVALID_CURSOR_ARGUMENTS");
  return Number(m[1]);
}

interface Page<T> {
  nodes: T[];
  edges: Array<{ node: T; cursor: string }>;
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/**
 * Relay pagination as GitHub enforces it: `first` or `last` is mandatory and at most 100.
 */
function paginateConnection<T>(items: T[], args: Args, field: string): Page<T> {
  const first = args.first as number | null | undefined;
  const last = args.last as number | null | undefined;
  if ((first === null || first === undefined) && (last === null || last === undefined)) {
    throw new GraphqlFieldError(`You must provide a \`first\` or \`last\` value to properly paginate the \`${field}\` connection.`, "MISSING_PAGINATION_BOUNDARIES");
  }
  for (const [name, n] of [["first", first], ["last", last]] as const) {
    if (typeof n === "number" && n > 100) {
      throw new GraphqlFieldError(`Requesting ${n} records on the \`${field}\` connection exceeds the \`${name}\` limit of 100 records.`, "EXCESSIVE_PAGINATION");
    }
    if (typeof n === "number" && n < 0) throw new GraphqlFieldError(`\`${name}\` on the \`${field}\` connection cannot be less than zero.`);
  }
  let start = 0;
  let end = items.length;
  if (args.after !== null && args.after !== undefined) start = Math.max(start, cursorIndex(args.after) + 1);
  if (args.before !== null && args.before !== undefined) end = Math.min(end, cursorIndex(args.before));
  if (typeof first === "number") end = Math.min(end, start + first);
  if (typeof last === "number") start = Math.max(start, end - last);
  const slice = items.slice(start, Math.max(start, end));
  const edges = slice.map((node, i) => ({ node, cursor: cursor(start + i) }));
  return {
    nodes: slice,
    edges,
    totalCount: items.length,
    pageInfo: {
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

function connectionTypes(name: string, nodeType: string): TypeDef<GraphqlContext>[] {
  return [
    {
      kind: "OBJECT",
      name: `${name}Connection`,
      fields: {
        nodes: { type: `[${nodeType}]` },
        edges: { type: `[${name}Edge]` },
        totalCount: { type: "Int!" },
        pageInfo: { type: "PageInfo!" },
      },
    },
    { kind: "OBJECT", name: `${name}Edge`, fields: { node: { type: nodeType }, cursor: { type: "String!" } } },
  ];
}

// ---------------------------------------------------------------- helpers

function mergeOnce(ctx: GraphqlContext, p: PullRecord): Promise<Mergeability> {
  const key = ctx.state.pullKey(p.owner, p.repo, p.number);
  let m = ctx.mergeCache.get(key);
  if (!m) ctx.mergeCache.set(key, (m = mergeability(ctx.state, p)));
  return m;
}

/** `isRequired(pullRequestId:, pullRequestNumber:)`: required by the base branch of that PR. */
function isRequired(ctx: GraphqlContext, v: ContextValue, args: Args): boolean {
  let pull: PullRecord | undefined;
  if (typeof args.pullRequestNumber === "number") {
    pull = ctx.state.pull(v.commit.repo.owner, v.commit.repo.name, args.pullRequestNumber);
  } else if (args.pullRequestId !== undefined && args.pullRequestId !== null) {
    pull = [...ctx.state.pulls.values()].find((p) => p.nodeId === String(args.pullRequestId));
  } else {
    throw new GraphqlFieldError("Either pullRequestId or pullRequestNumber must be provided.");
  }
  if (!pull) throw new GraphqlFieldError("Could not resolve to a PullRequest with the given argument.", "NOT_FOUND");
  const required = ctx.state.protection(pull.owner, pull.repo, pull.baseRef)?.requiredChecks ?? [];
  return required.includes(v.entry.name);
}

/** GraphQL spells REST's lower-case enums in upper case. */
const upper = (s: string | null | undefined): string | null => (s ? s.toUpperCase() : null);

function htmlBase(ctx: GraphqlContext, repo: FakeRepo): string {
  return `${ctx.state.baseUrl}/${repo.fullName}`;
}

// ---------------------------------------------------------------- schema

const ACTOR_FIELDS: Record<string, FieldDef<GraphqlContext>> = {
  // GraphQL names a bot without REST's "[bot]" suffix.
  login: { type: "String!", resolve: (a: ActorValue) => a.login.replace(/\[bot\]$/, "") },
  avatarUrl: { type: "URI!", args: { size: "Int" }, resolve: (a: ActorValue, _args, ctx) => `${ctx.state.baseUrl}/avatars/u/${ctx.state.userId(a.login)}` },
  url: { type: "URI!", resolve: (a: ActorValue, _args, ctx) => `${ctx.state.baseUrl}/${a.login}` },
  resourcePath: { type: "URI!", resolve: (a: ActorValue) => `/${a.login}` },
};

const STATUS_CONTEXT_STATE = ["ERROR", "EXPECTED", "FAILURE", "PENDING", "SUCCESS"];

const types: TypeDef<GraphqlContext>[] = [
  { kind: "SCALAR", name: "URI", accepts: ["string"] },
  { kind: "SCALAR", name: "DateTime", accepts: ["string"] },
  { kind: "SCALAR", name: "GitObjectID", accepts: ["string"] },
  { kind: "ENUM", name: "PullRequestState", values: ["CLOSED", "MERGED", "OPEN"] },
  { kind: "ENUM", name: "PullRequestReviewDecision", values: ["APPROVED", "CHANGES_REQUESTED", "REVIEW_REQUIRED"] },
  { kind: "ENUM", name: "PullRequestReviewState", values: ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"] },
  { kind: "ENUM", name: "MergeStateStatus", values: ["BEHIND", "BLOCKED", "CLEAN", "DIRTY", "DRAFT", "HAS_HOOKS", "UNKNOWN", "UNSTABLE"] },
  { kind: "ENUM", name: "MergeableState", values: ["CONFLICTING", "MERGEABLE", "UNKNOWN"] },
  { kind: "ENUM", name: "StatusState", values: STATUS_CONTEXT_STATE },
  { kind: "ENUM", name: "CheckStatusState", values: ["COMPLETED", "IN_PROGRESS", "PENDING", "QUEUED", "REQUESTED", "WAITING"] },
  {
    kind: "ENUM",
    name: "CheckConclusionState",
    values: ["ACTION_REQUIRED", "CANCELLED", "FAILURE", "NEUTRAL", "SKIPPED", "STALE", "STARTUP_FAILURE", "SUCCESS", "TIMED_OUT"],
  },
  {
    kind: "OBJECT",
    name: "PageInfo",
    fields: { hasNextPage: { type: "Boolean!" }, hasPreviousPage: { type: "Boolean!" }, startCursor: { type: "String" }, endCursor: { type: "String" } },
  },

  {
    kind: "OBJECT",
    name: "Query",
    fields: {
      repository: {
        type: "Repository",
        args: { owner: "String!", name: "String!", followRenames: "Boolean" },
        resolve(_parent, args, ctx): RepositoryValue {
          const repo = ctx.state.repo(String(args.owner), String(args.name));
          if (!repo) throw new GraphqlFieldError(`Could not resolve to a Repository with the name '${String(args.owner)}/${String(args.name)}'.`, "NOT_FOUND");
          return { repo };
        },
      },
    },
  },

  {
    kind: "OBJECT",
    name: "Repository",
    fields: {
      id: { type: "ID!", resolve: (v: RepositoryValue) => nodeId("Repository", v.repo.id) },
      databaseId: { type: "Int", resolve: (v: RepositoryValue) => v.repo.id },
      name: { type: "String!", resolve: (v: RepositoryValue) => v.repo.name },
      nameWithOwner: { type: "String!", resolve: (v: RepositoryValue) => v.repo.fullName },
      url: { type: "URI!", resolve: (v: RepositoryValue, _a, ctx) => htmlBase(ctx, v.repo) },
      pullRequest: {
        type: "PullRequest",
        args: { number: "Int!" },
        async resolve(v: RepositoryValue, args, ctx): Promise<PullValue> {
          const pull = ctx.state.pull(v.repo.owner, v.repo.name, Number(args.number));
          if (!pull) throw new GraphqlFieldError(`Could not resolve to a PullRequest with the number of ${String(args.number)}.`, "NOT_FOUND");
          await ctx.syncPull(pull);
          return { pull };
        },
      },
    },
  },

  {
    kind: "OBJECT",
    name: "PullRequest",
    fields: {
      id: { type: "ID!", resolve: (v: PullValue) => v.pull.nodeId },
      databaseId: { type: "Int", resolve: (v: PullValue) => v.pull.id },
      number: { type: "Int!", resolve: (v: PullValue) => v.pull.number },
      title: { type: "String!", resolve: (v: PullValue) => v.pull.title },
      body: { type: "String!", resolve: (v: PullValue) => v.pull.body ?? "" },
      url: { type: "URI!", resolve: (v: PullValue, _a, ctx) => `${ctx.state.baseUrl}/${v.pull.owner}/${v.pull.repo}/pull/${v.pull.number}` },
      state: { type: "PullRequestState!", resolve: (v: PullValue) => (v.pull.merged ? "MERGED" : v.pull.state === "open" ? "OPEN" : "CLOSED") },
      isDraft: { type: "Boolean!", resolve: (v: PullValue) => v.pull.draft },
      closed: { type: "Boolean!", resolve: (v: PullValue) => v.pull.state === "closed" },
      merged: { type: "Boolean!", resolve: (v: PullValue) => v.pull.merged },
      mergedAt: { type: "DateTime", resolve: (v: PullValue) => v.pull.mergedAt },
      closedAt: { type: "DateTime", resolve: (v: PullValue) => v.pull.closedAt },
      createdAt: { type: "DateTime!", resolve: (v: PullValue) => v.pull.createdAt },
      updatedAt: { type: "DateTime!", resolve: (v: PullValue) => v.pull.updatedAt },
      author: { type: "Actor", resolve: (v: PullValue): ActorValue => ({ login: v.pull.author }) },
      headRefName: { type: "String!", resolve: (v: PullValue) => v.pull.headRef },
      headRefOid: { type: "GitObjectID!", resolve: (v: PullValue) => v.pull.headSha },
      baseRefName: { type: "String!", resolve: (v: PullValue) => v.pull.baseRef },
      baseRefOid: { type: "GitObjectID!", resolve: (v: PullValue) => v.pull.baseSha },
      isCrossRepository: { type: "Boolean!", resolve: (v: PullValue) => v.pull.fork },
      reviewDecision: {
        type: "PullRequestReviewDecision",
        resolve: (v: PullValue, _a, ctx) => reviewDecision(ctx.state, v.pull),
      },
      mergeStateStatus: {
        type: "MergeStateStatus!",
        resolve: async (v: PullValue, _a, ctx) => (await mergeOnce(ctx, v.pull)).mergeableState.toUpperCase(),
      },
      mergeable: {
        type: "MergeableState!",
        async resolve(v: PullValue, _a, ctx) {
          const m = (await mergeOnce(ctx, v.pull)).mergeable;
          return m === null ? "UNKNOWN" : m ? "MERGEABLE" : "CONFLICTING";
        },
      },
      commits: {
        type: "PullRequestCommitConnection!",
        args: CONNECTION_ARGS,
        async resolve(v: PullValue, args, ctx) {
          const repo = ctx.state.repo(v.pull.owner, v.pull.repo)!;
          // The PR's commits: what the head has that the base had when the PR was last updated.
          const shas = (await repo.git(["rev-list", "--reverse", `${v.pull.baseSha}..${v.pull.headSha}`])).split("\n").filter(Boolean);
          const all: CommitValue[] = shas.map((sha) => ({ repo, sha, pull: v.pull }));
          return paginateConnection(all, args, "commits");
        },
      },
      comments: {
        type: "IssueCommentConnection!",
        args: CONNECTION_ARGS,
        resolve(v: PullValue, args, ctx) {
          const key = ctx.state.pullKey(v.pull.owner, v.pull.repo, v.pull.number);
          const all = ctx.state.comments.filter((c) => ctx.state.pullKey(c.owner, c.repo, c.issueNumber) === key);
          return paginateConnection(all, args, "comments");
        },
      },
      reviews: {
        type: "PullRequestReviewConnection",
        args: { ...CONNECTION_ARGS, states: "[PullRequestReviewState!]", author: "String" },
        resolve(v: PullValue, args, ctx) {
          const key = ctx.state.pullKey(v.pull.owner, v.pull.repo, v.pull.number);
          const states = Array.isArray(args.states) ? (args.states as string[]) : args.states ? [String(args.states)] : null;
          const all = ctx.state.reviews.filter(
            (r) =>
              ctx.state.pullKey(r.owner, r.repo, r.pullNumber) === key &&
              (!states || states.includes(r.state)) &&
              (typeof args.author !== "string" || r.user.toLowerCase() === args.author.toLowerCase()),
          );
          return paginateConnection(all, args, "reviews");
        },
      },
    },
  },

  ...connectionTypes("PullRequestCommit", "PullRequestCommit"),
  {
    kind: "OBJECT",
    name: "PullRequestCommit",
    fields: {
      id: { type: "ID!", resolve: (v: CommitValue) => Buffer.from(`PullRequestCommit:${v.pull.id}:${v.sha}`).toString("base64") },
      url: { type: "URI!", resolve: (v: CommitValue, _a, ctx) => `${ctx.state.baseUrl}/${v.repo.fullName}/pull/${v.pull.number}/commits/${v.sha}` },
      commit: { type: "Commit!", resolve: (v: CommitValue) => v },
    },
  },

  {
    kind: "OBJECT",
    name: "Commit",
    fields: {
      id: { type: "ID!", resolve: (v: CommitValue) => Buffer.from(`Commit:${v.repo.id}:${v.sha}`).toString("base64") },
      oid: { type: "GitObjectID!", resolve: (v: CommitValue) => v.sha },
      abbreviatedOid: { type: "String!", resolve: (v: CommitValue) => v.sha.slice(0, 7) },
      url: { type: "URI!", resolve: (v: CommitValue, _a, ctx) => `${htmlBase(ctx, v.repo)}/commit/${v.sha}` },
      message: { type: "String!", resolve: async (v: CommitValue) => (await v.repo.commitInfo([v.sha]))[0].message },
      messageHeadline: { type: "String!", resolve: async (v: CommitValue) => (await v.repo.commitInfo([v.sha]))[0].message.split("\n")[0] },
      committedDate: { type: "DateTime!", resolve: async (v: CommitValue) => (await v.repo.commitInfo([v.sha]))[0].committer.date },
      statusCheckRollup: {
        type: "StatusCheckRollup",
        // GitHub has no rollup (null) for a commit without any check run or status.
        resolve(v: CommitValue, _a, ctx): RollupValue | null {
          const entries = rollup(ctx.state, v.repo.owner, v.repo.name, v.sha);
          return entries.length ? { commit: v, entries } : null;
        },
      },
    },
  },

  {
    kind: "OBJECT",
    name: "StatusCheckRollup",
    fields: {
      id: { type: "ID!", resolve: (v: RollupValue) => Buffer.from(`StatusCheckRollup:${v.commit.sha}`).toString("base64") },
      state: { type: "StatusState!", resolve: (v: RollupValue) => rollupState(v.entries) },
      commit: { type: "Commit", resolve: (v: RollupValue) => v.commit },
      contexts: {
        type: "StatusCheckRollupContextConnection!",
        args: CONNECTION_ARGS,
        resolve: (v: RollupValue, args) =>
          paginateConnection(
            v.entries.map((entry): ContextValue => ({ entry, commit: v.commit })),
            args,
            "contexts",
          ),
      },
    },
  },
  ...connectionTypes("StatusCheckRollupContext", "StatusCheckRollupContext"),
  {
    kind: "UNION",
    name: "StatusCheckRollupContext",
    types: ["CheckRun", "StatusContext"],
    resolveType: (v) => ((v as ContextValue).entry.kind === "check" ? "CheckRun" : "StatusContext"),
  },

  {
    kind: "OBJECT",
    name: "CheckRun",
    fields: {
      id: { type: "ID!", resolve: (v: ContextValue) => (v.entry.kind === "check" ? v.entry.run.nodeId : "") },
      databaseId: { type: "Int", resolve: (v: ContextValue) => (v.entry.kind === "check" ? v.entry.run.id : null) },
      name: { type: "String!", resolve: (v: ContextValue) => v.entry.name },
      status: { type: "CheckStatusState!", resolve: (v: ContextValue) => (v.entry.kind === "check" ? upper(v.entry.run.status) : null) },
      conclusion: { type: "CheckConclusionState", resolve: (v: ContextValue) => (v.entry.kind === "check" ? upper(v.entry.run.conclusion) : null) },
      isRequired: { type: "Boolean!", args: { pullRequestId: "ID", pullRequestNumber: "Int" }, resolve: (v: ContextValue, args, ctx) => isRequired(ctx, v, args) },
      startedAt: { type: "DateTime", resolve: (v: ContextValue) => (v.entry.kind === "check" ? v.entry.run.startedAt : null) },
      completedAt: { type: "DateTime", resolve: (v: ContextValue) => (v.entry.kind === "check" ? v.entry.run.completedAt : null) },
      detailsUrl: {
        type: "URI",
        resolve: (v: ContextValue, _a, ctx) =>
          v.entry.kind === "check" ? (v.entry.run.detailsUrl ?? `${htmlBase(ctx, v.commit.repo)}/runs/${v.entry.run.id}`) : null,
      },
      url: { type: "URI!", resolve: (v: ContextValue, _a, ctx) => `${htmlBase(ctx, v.commit.repo)}/runs/${v.entry.kind === "check" ? v.entry.run.id : 0}` },
      title: { type: "String", resolve: (v: ContextValue) => (v.entry.kind === "check" ? v.entry.run.output.title : null) },
      summary: { type: "String", resolve: (v: ContextValue) => (v.entry.kind === "check" ? v.entry.run.output.summary : null) },
      text: { type: "String", resolve: (v: ContextValue) => (v.entry.kind === "check" ? v.entry.run.output.text : null) },
    },
  },

  {
    kind: "OBJECT",
    name: "StatusContext",
    fields: {
      id: { type: "ID!", resolve: (v: ContextValue) => (v.entry.kind === "status" ? nodeId("StatusContext", v.entry.status.id) : "") },
      context: { type: "String!", resolve: (v: ContextValue) => v.entry.name },
      state: { type: "StatusState!", resolve: (v: ContextValue) => (v.entry.kind === "status" ? upper(v.entry.status.state) : null) },
      description: { type: "String", resolve: (v: ContextValue) => (v.entry.kind === "status" ? v.entry.status.description : null) },
      targetUrl: { type: "URI", resolve: (v: ContextValue) => (v.entry.kind === "status" ? v.entry.status.targetUrl : null) },
      createdAt: { type: "DateTime!", resolve: (v: ContextValue) => (v.entry.kind === "status" ? v.entry.status.createdAt : null) },
      isRequired: { type: "Boolean!", args: { pullRequestId: "ID", pullRequestNumber: "Int" }, resolve: (v: ContextValue, args, ctx) => isRequired(ctx, v, args) },
    },
  },

  ...connectionTypes("IssueComment", "IssueComment"),
  {
    kind: "OBJECT",
    name: "IssueComment",
    fields: {
      id: { type: "ID!", resolve: (c: CommentRecord) => c.nodeId },
      databaseId: { type: "Int", resolve: (c: CommentRecord) => c.id },
      body: { type: "String!" },
      createdAt: { type: "DateTime!" },
      author: { type: "Actor", resolve: (c: CommentRecord): ActorValue => ({ login: c.user }) },
      isMinimized: { type: "Boolean!", resolve: (c: CommentRecord) => c.minimized !== undefined },
      minimizedReason: { type: "String", resolve: (c: CommentRecord) => c.minimized?.reason ?? null },
      // The fake's GraphQL callers are the app (installation tokens): the viewer is the app.
      viewerDidAuthor: { type: "Boolean!", resolve: (c: CommentRecord) => c.byApp },
    },
  },

  ...connectionTypes("PullRequestReview", "PullRequestReview"),
  {
    kind: "OBJECT",
    name: "PullRequestReview",
    fields: {
      id: { type: "ID!", resolve: (r: ReviewRecord) => nodeId("PullRequestReview", r.id) },
      databaseId: { type: "Int", resolve: (r: ReviewRecord) => r.id },
      state: { type: "PullRequestReviewState!" },
      body: { type: "String!" },
      submittedAt: { type: "DateTime" },
      author: { type: "Actor", resolve: (r: ReviewRecord): ActorValue => ({ login: r.user }) },
      commit: {
        type: "Commit",
        resolve: (r: ReviewRecord, _a, ctx): CommitValue | null => {
          const repo = ctx.state.repo(r.owner, r.repo)!;
          const pull = ctx.state.pull(r.owner, r.repo, r.pullNumber)!;
          return { repo, sha: r.commitId, pull };
        },
      },
    },
  },

  {
    kind: "INTERFACE",
    name: "Actor",
    fields: ACTOR_FIELDS,
    resolveType: (v) => ((v as ActorValue).login.endsWith("[bot]") ? "Bot" : "User"),
  },
  { kind: "OBJECT", name: "User", interfaces: ["Actor"], fields: { ...ACTOR_FIELDS, name: { type: "String", resolve: () => null } } },
  { kind: "OBJECT", name: "Bot", interfaces: ["Actor"], fields: ACTOR_FIELDS },
];

export const githubSchema = new Schema<GraphqlContext>(types);
