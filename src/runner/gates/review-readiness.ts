/**
 * Apply readiness from reviews: each reviewer's latest review that is not a plain comment counts
 * (a later approval replaces an earlier "changes requested", a dismissal clears it); the PR author
 * never counts.
 */
import type { Review } from "../../ports/github.js";
import type { Readiness } from "../../render/check-run-output.js";

export type { Readiness };

export function readinessFromReviews(reviews: Review[], author: string): Readiness {
  const latest = new Map<string, string>();
  for (const r of reviews) {
    if (!r.user || r.user.toLowerCase() === author.toLowerCase()) continue;
    const state = r.state.toUpperCase();
    if (state === "COMMENTED" || state === "PENDING") continue;
    latest.set(r.user, state);
  }
  const approvedBy: string[] = [];
  const changesRequestedBy: string[] = [];
  for (const [user, state] of latest) {
    if (state === "APPROVED") approvedBy.push(user);
    else if (state === "CHANGES_REQUESTED") changesRequestedBy.push(user);
  }
  return { approvedBy: approvedBy.sort(), changesRequestedBy: changesRequestedBy.sort() };
}
