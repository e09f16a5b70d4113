/**
 * What GitHub derives from a PR's head, its base and the base branch's protection rule: the
 * status check rollup, the review decision and the mergeability (REST `mergeable` /
 * `mergeable_state`, GraphQL `mergeStateStatus`).
 *
 * These used to be static values the tests set by hand; computing them makes the fake answer the
 * way GitHub does when a test only does what a user would (push, review, let checks finish), so
 * Atoll's apply requirements are exercised against consequences rather than against stubs.
 *
 * Precedence of `mergeable_state` is not documented by GitHub; the fake uses
 * draft > dirty > behind > blocked > unstable > clean, which matches what GitHub shows in the
 * common single-cause cases.
 */
import type { CheckRunRecord, FakeState, Mergeability, PullRecord, StatusRecord } from "./state.js";

/** One entry of a commit's status check rollup: the latest check run per name, or the latest status per context. */
export type RollupEntry = { kind: "check"; name: string; run: CheckRunRecord } | { kind: "status"; name: string; status: StatusRecord };

export type ReviewDecision = "APPROVED" | "CHANGES_REQUESTED" | "REVIEW_REQUIRED";

/** Conclusions that satisfy a required check (GitHub lets neutral and skipped through). */
const PASSING_CONCLUSIONS = new Set(["success", "neutral", "skipped"]);

/**
 * Latest check run per name and latest commit status per context on `sha`. Check runs come first
 * (in creation order of their latest run), then statuses, like GitHub's rollup.
 */
export function rollup(state: FakeState, owner: string, repo: string, sha: string): RollupEntry[] {
  const key = state.repoKey(owner, repo);
  const runs = new Map<string, CheckRunRecord>();
  for (const c of state.checkRuns) {
    if (state.repoKey(c.owner, c.repo) !== key || c.headSha !== sha) continue;
    // Re-inserting moves the name to the end: order by the latest run's creation.
    runs.delete(c.name);
    runs.set(c.name, c);
  }
  const statuses = new Map<string, StatusRecord>();
  for (const s of state.statuses) {
    if (state.repoKey(s.owner, s.repo) !== key || s.sha !== sha) continue;
    statuses.delete(s.context);
    statuses.set(s.context, s);
  }
  return [
    ...[...runs.values()].map((run): RollupEntry => ({ kind: "check", name: run.name, run })),
    ...[...statuses.values()].map((status): RollupEntry => ({ kind: "status", name: status.context, status })),
  ];
}

export function isPassing(e: RollupEntry): boolean {
  if (e.kind === "status") return e.status.state === "success";
  return e.run.status === "completed" && PASSING_CONCLUSIONS.has(e.run.conclusion ?? "");
}

function isPending(e: RollupEntry): boolean {
  return e.kind === "status" ? e.status.state === "pending" : e.run.status !== "completed";
}

/** GraphQL `StatusCheckRollup.state`: any failure/error wins over pending, pending over success. */
export function rollupState(entries: RollupEntry[]): "SUCCESS" | "PENDING" | "FAILURE" | "ERROR" {
  if (entries.some((e) => e.kind === "status" && e.status.state === "error")) return "ERROR";
  if (entries.some((e) => !isPassing(e) && !isPending(e))) return "FAILURE";
  if (entries.some(isPending)) return "PENDING";
  return "SUCCESS";
}

/** Names required by the PR's base branch. */
export function requiredChecks(state: FakeState, p: PullRecord): string[] {
  return state.protection(p.owner, p.repo, p.baseRef)?.requiredChecks ?? [];
}

/** Required checks that are missing on the head or have not passed. */
export function requiredNotPassing(state: FakeState, p: PullRecord): string[] {
  const entries = rollup(state, p.owner, p.repo, p.headSha);
  return requiredChecks(state, p).filter((name) => {
    const matching = entries.filter((e) => e.name === name);
    return matching.length === 0 || !matching.some(isPassing);
  });
}

/**
 * GraphQL `reviewDecision`: null when the base branch does not require reviews; otherwise each
 * reviewer's latest opinion (APPROVED, CHANGES_REQUESTED, or DISMISSED, which withdraws it)
 * counts, COMMENTED and PENDING reviews do not. Any standing change request wins.
 */
export function reviewDecision(state: FakeState, p: PullRecord): ReviewDecision | null {
  const required = state.protection(p.owner, p.repo, p.baseRef)?.requiredApprovals ?? 0;
  if (required <= 0) return null;
  const key = state.pullKey(p.owner, p.repo, p.number);
  const latest = new Map<string, string>();
  for (const v of state.reviews) {
    if (state.pullKey(v.owner, v.repo, v.pullNumber) !== key) continue;
    if (v.state === "COMMENTED" || v.state === "PENDING") continue;
    latest.set(v.user.toLowerCase(), v.state);
  }
  const opinions = [...latest.values()];
  if (opinions.includes("CHANGES_REQUESTED")) return "CHANGES_REQUESTED";
  return opinions.filter((o) => o === "APPROVED").length >= required ? "APPROVED" : "REVIEW_REQUIRED";
}

/**
 * The PR's mergeability as GitHub would report it now. Closed PRs report null/unknown; pinned
 * values (`updatePull`) win over computed ones; while `computingReads` is positive the read is
 * consumed and answers null/unknown (GitHub's background job still running).
 */
export async function mergeability(state: FakeState, p: PullRecord): Promise<Mergeability> {
  if (p.state !== "open") return { mergeable: null, mergeableState: "unknown" };
  if (p.computingReads > 0) {
    p.computingReads--;
    return { mergeable: null, mergeableState: "unknown" };
  }
  const pinnedState = p.mergeableState;
  if (p.mergeable === null) return { mergeable: null, mergeableState: pinnedState ?? "unknown" };
  if (pinnedState !== undefined && p.mergeable !== undefined) {
    return { mergeable: p.mergeable, mergeableState: p.draft && pinnedState === "clean" ? "draft" : pinnedState };
  }

  const repo = state.repo(p.owner, p.repo);
  if (!repo) throw new Error(`no repository ${p.owner}/${p.repo}`);
  const conflicts = await repo.hasConflicts(p.baseSha, p.headSha);
  const mergeable = p.mergeable ?? !conflicts;
  if (pinnedState !== undefined) return { mergeable, mergeableState: p.draft && pinnedState === "clean" ? "draft" : pinnedState };

  const protection = state.protection(p.owner, p.repo, p.baseRef);
  let mergeableState: string;
  if (p.draft) {
    mergeableState = "draft";
  } else if (!mergeable) {
    mergeableState = "dirty";
  } else if (protection?.strict && ((await repo.compare(p.baseSha, p.headSha))?.behindBy ?? 0) > 0) {
    mergeableState = "behind";
  } else if (requiredNotPassing(state, p).length > 0 || (reviewDecision(state, p) ?? "APPROVED") !== "APPROVED") {
    mergeableState = "blocked";
  } else if (rollup(state, p.owner, p.repo, p.headSha).some((e) => !isPassing(e))) {
    // Non-required checks failing or still running: mergeable, with a warning.
    mergeableState = "unstable";
  } else {
    mergeableState = "clean";
  }
  return { mergeable, mergeableState };
}

/**
 * Why GitHub would refuse to merge the open PR now (the 405 message of `PUT …/merge`), or null.
 * Unlike `mergeability`, it consumes no "still computing" reads: GitHub decides a merge itself.
 */
export async function mergeRefusal(state: FakeState, p: PullRecord): Promise<string | null> {
  if (p.draft) return "Pull Request is still a draft";
  const repo = state.repo(p.owner, p.repo);
  if (!repo) throw new Error(`no repository ${p.owner}/${p.repo}`);
  const pinned = p.mergeableState;
  if (p.mergeable === false || pinned === "dirty" || (await repo.hasConflicts(p.baseSha, p.headSha))) return "Pull Request is not mergeable";
  const protection = state.protection(p.owner, p.repo, p.baseRef);
  if (pinned === "behind" || (protection?.strict && ((await repo.compare(p.baseSha, p.headSha))?.behindBy ?? 0) > 0)) {
    return "Head branch is not up to date with the base branch";
  }
  const decision = reviewDecision(state, p);
  if (decision === "CHANGES_REQUESTED") return "Changes must be addressed: a reviewer with write access requested changes.";
  if (decision === "REVIEW_REQUIRED") {
    const n = protection?.requiredApprovals ?? 1;
    return `At least ${n} approving review${n === 1 ? " is" : "s are"} required by reviewers with write access.`;
  }
  const entries = rollup(state, p.owner, p.repo, p.headSha);
  const [check] = requiredNotPassing(state, p);
  if (check !== undefined) {
    const failed = entries.some((e) => e.name === check && !isPassing(e) && !isPending(e));
    return `Required status check "${check}" is ${failed ? "failing" : "expected"}.`;
  }
  if (pinned === "blocked") return "Pull Request is not mergeable";
  return null;
}
