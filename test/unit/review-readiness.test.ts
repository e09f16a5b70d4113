import { readinessFromReviews } from "../../src/runner/gates/review-readiness.js";

const r = (user: string, state: string) => ({ user, state });

describe("readinessFromReviews", () => {
  test.each([
    [[], { approvedBy: [], changesRequestedBy: [] }],
    [[r("a", "APPROVED")], { approvedBy: ["a"], changesRequestedBy: [] }],
    [[r("a", "CHANGES_REQUESTED"), r("a", "APPROVED")], { approvedBy: ["a"], changesRequestedBy: [] }],
    [[r("a", "APPROVED"), r("a", "CHANGES_REQUESTED")], { approvedBy: [], changesRequestedBy: ["a"] }],
    [[r("a", "APPROVED"), r("a", "COMMENTED")], { approvedBy: ["a"], changesRequestedBy: [] }],
    [[r("a", "APPROVED"), r("a", "DISMISSED")], { approvedBy: [], changesRequestedBy: [] }],
    [[r("author", "APPROVED")], { approvedBy: [], changesRequestedBy: [] }],
    [[r("Author", "APPROVED")], { approvedBy: [], changesRequestedBy: [] }],
    [[r("b", "approved"), r("a", "APPROVED"), r("c", "changes_requested")], { approvedBy: ["a", "b"], changesRequestedBy: ["c"] }],
  ])("%j", (reviews, expected) => expect(readinessFromReviews(reviews, "author")).toEqual(expected));
});
