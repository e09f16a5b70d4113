/**
 * Apply readiness from reviews: each reviewer's latest review that is not a plain comment counts
 * (a later approval replaces an earlier "changes requested", a dismissal clears it); the PR author
 * never counts.
 */
import type { Review } from "../../ports/github.js";
import type { Readiness } from "../../render/check-run-output.js";
import { latestReviews } from "./plan-approvals.js";

export type { Readiness };

export function readinessFromReviews(reviews: Review[], author: string): Readiness {
  const approvedBy: string[] = [];
  const changesRequestedBy: string[] = [];
  for (const [user, review] of latestReviews(reviews, author)) {
    const state = review.state.toUpperCase();
    if (state === "APPROVED") approvedBy.push(user);
    else if (state === "CHANGES_REQUESTED") changesRequestedBy.push(user);
  }
  return { approvedBy: approvedBy.sort(), changesRequestedBy: changesRequestedBy.sort() };
}
