/**
 * Approvals bound to the plan they saw (src/runner/gates/plan-approvals.ts).
 */
import { bindApprovals, reviewedPlan } from "../../src/runner/gates/plan-approvals.js";
import type { Review } from "../../src/ports/github.js";
import type { PlanHistoryEntry } from "../../src/ports/store.js";

const P = { name: "", dir: "app", workspace: "default" };
const plan = (headSha: string, digest: string, createdAt: string): PlanHistoryEntry => ({ project: P, headSha, digest, changes: {}, createdAt });
const review = (user: string, state: string, commitId: string, submittedAt: string): Review => ({ user, state, commitId, submittedAt });

const history = [
  plan("c1", "D1", "2026-01-01T10:00:00Z"),
  plan("c2", "D1", "2026-01-01T11:00:00Z"), // a push, same change
  plan("c3", "D2", "2026-01-01T12:00:00Z"), // a push, changed plan
  plan("c3", "D3", "2026-01-01T13:00:00Z"), // planned again at the same commit: changed (drift)
];

describe("reviewedPlan", () => {
  test("the latest plan at the review's commit made before it; else the first at that commit; else the latest before it", () => {
    expect(reviewedPlan(history, review("a", "APPROVED", "c3", "2026-01-01T12:30:00Z"))?.digest).toBe("D2");
    expect(reviewedPlan(history, review("a", "APPROVED", "c3", "2026-01-01T13:30:00Z"))?.digest).toBe("D3");
    // Approved before its commit's plan finished: that plan.
    expect(reviewedPlan(history, review("a", "APPROVED", "c3", "2026-01-01T11:30:00Z"))?.digest).toBe("D2");
    // A commit Atoll never planned: the latest plan before the review.
    expect(reviewedPlan(history, review("a", "APPROVED", "cX", "2026-01-01T11:30:00Z"))?.headSha).toBe("c2");
    // Before any plan.
    expect(reviewedPlan(history, review("a", "APPROVED", "cX", "2026-01-01T09:00:00Z"))).toBeUndefined();
    // A few seconds of clock difference still count as seen.
    expect(reviewedPlan(history, review("a", "APPROVED", "c3", "2026-01-01T12:59:57Z"))?.digest).toBe("D3");
  });
});

describe("bindApprovals", () => {
  test("an approval holds across a push that plans the same change, and is stale once the plan changed", () => {
    const reviews = [review("carol", "APPROVED", "c1", "2026-01-01T10:30:00Z")];
    expect(bindApprovals(reviews, "alice", history.slice(0, 2), { headSha: "c2", digest: "D1" })).toEqual({
      approvedBy: ["carol"],
      unchangedSince: [{ user: "carol", sha: "c1" }],
      stale: [],
    });
    expect(bindApprovals(reviews, "alice", history, { headSha: "c3", digest: "D3" })).toEqual({ approvedBy: [], unchangedSince: [], stale: [{ user: "carol", sha: "c1" }] });
  });

  test("an approval of the current plan at its commit is plain; a drifted re-plan at the same commit is not covered", () => {
    const reviews = [review("dave", "APPROVED", "c3", "2026-01-01T12:30:00Z")];
    expect(bindApprovals(reviews, "alice", history.slice(0, 3), { headSha: "c3", digest: "D2" })).toEqual({ approvedBy: ["dave"], unchangedSince: [], stale: [] });
    expect(bindApprovals(reviews, "alice", history, { headSha: "c3", digest: "D3" }).stale).toEqual([{ user: "dave", sha: "c3" }]);
  });

  test("each reviewer's latest review counts; the author, comments and dismissals do not approve; no digest means unbound", () => {
    const reviews = [
      review("carol", "APPROVED", "c1", "2026-01-01T10:30:00Z"),
      review("carol", "DISMISSED", "c1", "2026-01-01T10:40:00Z"),
      review("erin", "APPROVED", "c1", "2026-01-01T10:30:00Z"),
      review("erin", "COMMENTED", "c2", "2026-01-01T11:30:00Z"),
      review("alice", "APPROVED", "c2", "2026-01-01T11:30:00Z"),
    ];
    expect(bindApprovals(reviews, "alice", history.slice(0, 2), { headSha: "c2", digest: "D1" }).approvedBy).toEqual(["erin"]);
    expect(bindApprovals(reviews, "alice", [], { headSha: "c2" })).toEqual({ approvedBy: ["erin"], unchangedSince: [], stale: [] });
    // An approval before any plan of the project does not cover one.
    expect(bindApprovals([review("x", "APPROVED", "c0", "2025-12-31T00:00:00Z")], "alice", history, { headSha: "c1", digest: "D1" }).stale).toEqual([{ user: "x", sha: "c0" }]);
  });
});
