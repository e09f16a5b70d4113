/**
 * Approvals bound to the plan they saw. An approval counts for a project's current plan only if
 * the plan the reviewer saw — the project's latest plan made before the review was submitted,
 * at the commit the review was made on — has the same digest (`planDigestOf`: the same change,
 * whatever the commit). So a push that plans the same change keeps the approval ("plan unchanged
 * since approval by @x"), and a plan that changed after the last approval needs a new one.
 * Pure: the plan history comes from the store, the reviews from GitHub.
 */
import type { Review } from "../../ports/github.js";
import type { PlanHistoryEntry } from "../../ports/store.js";

/** The project's current plan: what an approval must match. */
export interface CurrentPlan {
  headSha: string;
  /** Absent when the plan has none (an older plan, or `show -json` failed): approvals are not bound then. */
  digest?: string;
}

export interface ApprovalBinding {
  /** Reviewers whose approval counts for the current plan. */
  approvedBy: string[];
  /** Of those, the ones who approved it at an earlier commit (the plan is unchanged since). */
  unchangedSince: { user: string; sha: string }[];
  /** Reviewers who approved another plan: the plan changed after their approval (`sha`: where they approved). */
  stale: { user: string; sha?: string }[];
}

/** GitHub's and Atoll's clocks may differ a little: a plan this close after a review counts as seen. */
const CLOCK_TOLERANCE_MS = 5_000;

/** Each reviewer's latest review that is not a plain comment; the author never counts. */
export function latestReviews(reviews: Review[], author: string): Map<string, Review> {
  const latest = new Map<string, Review>();
  for (const r of reviews) {
    if (!r.user || r.user.toLowerCase() === author.toLowerCase()) continue;
    const state = r.state.toUpperCase();
    if (state === "COMMENTED" || state === "PENDING") continue;
    latest.set(r.user, r);
  }
  return latest;
}

/** The plan a review saw: the latest before it at its commit, else the first at its commit, else the latest before it. */
export function reviewedPlan(history: PlanHistoryEntry[], review: Review): PlanHistoryEntry | undefined {
  const until = review.submittedAt ? Date.parse(review.submittedAt) + CLOCK_TOLERANCE_MS : Number.POSITIVE_INFINITY;
  const before = (e: PlanHistoryEntry) => Date.parse(e.createdAt) <= until;
  const commit = review.commitId?.toLowerCase();
  const atCommit = commit ? history.filter((e) => e.headSha.toLowerCase() === commit) : [];
  return atCommit.filter(before).at(-1) ?? atCommit[0] ?? history.filter(before).at(-1);
}

/** Which approvals count for `current`, given the project's plan history (oldest first). */
export function bindApprovals(reviews: Review[], author: string, history: PlanHistoryEntry[], current: CurrentPlan): ApprovalBinding {
  const out: ApprovalBinding = { approvedBy: [], unchangedSince: [], stale: [] };
  for (const [user, review] of latestReviews(reviews, author)) {
    if (review.state.toUpperCase() !== "APPROVED") continue;
    if (current.digest === undefined) {
      out.approvedBy.push(user);
      continue;
    }
    const seen = reviewedPlan(history, review);
    if (seen?.digest === current.digest) {
      out.approvedBy.push(user);
      if (seen.headSha.toLowerCase() !== current.headSha.toLowerCase()) out.unchangedSince.push({ user, sha: seen.headSha });
    } else {
      out.stale.push({ user, ...(seen ? { sha: seen.headSha } : review.commitId ? { sha: review.commitId } : {}) });
    }
  }
  const byUser = (a: { user: string }, b: { user: string }) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0);
  out.approvedBy.sort();
  out.unchangedSince.sort(byUser);
  out.stale.sort(byUser);
  return out;
}
