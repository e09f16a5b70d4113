import {
  evaluateRequirements,
  gatherPullFacts,
  mergeableBackoffMs,
  parseRequirements,
  renderUnmet,
  type PullFacts,
  type Requirement,
} from "../../src/runner/gates/apply-requirements.js";
import type {
  CommitComparison,
  GitHubPort,
  MergeBlockers,
  PullRequestInfo,
  Review,
} from "../../src/ports/github.js";

const r = (user: string, state: string): Review => ({ user, state });

const facts = (overrides: Partial<PullFacts> = {}): PullFacts => ({
  author: "alice",
  reviews: [],
  mergeable: true,
  mergeableState: "clean",
  draft: false,
  ...overrides,
});

const reasonsOf = (required: Requirement[], f: PullFacts) => evaluateRequirements(required, f).unmet.map((u) => u.reason);

describe("parseRequirements", () => {
  test("accepts the three requirements, in order, without duplicates", () => {
    expect(parseRequirements(["undiverged", "approved", "mergeable", "approved"])).toEqual({
      ok: true,
      requirements: ["undiverged", "approved", "mergeable"],
    });
    expect(parseRequirements([])).toEqual({ ok: true, requirements: [] });
  });

  test.each(["policies_passed", "Approved", "", "approved "])("rejects %j with Atlantis's message", (bad) => {
    expect(parseRequirements(["approved", bad])).toEqual({
      ok: false,
      error: `"${bad}" is not a valid apply_requirement, only "approved", "mergeable" and "undiverged" are supported`,
    });
  });
});

describe("evaluateRequirements", () => {
  test("nothing required is always met", () => {
    expect(evaluateRequirements([], facts({ draft: true, mergeable: null, mergeableState: "dirty" }))).toEqual({
      met: true,
      unmet: [],
    });
  });

  describe("approved", () => {
    test.each([
      [[r("bob", "APPROVED")], []],
      [[r("bob", "approved")], []],
      [[r("bob", "CHANGES_REQUESTED"), r("bob", "APPROVED")], []],
      [[r("bob", "APPROVED"), r("bob", "COMMENTED")], []],
      [[r("bob", "APPROVED"), r("carol", "PENDING")], []],
      [[], ["no approving review from someone other than the author"]],
      [[r("alice", "APPROVED")], ["no approving review from someone other than the author"]],
      [[r("ALICE", "APPROVED")], ["no approving review from someone other than the author"]],
      [[r("bob", "COMMENTED")], ["no approving review from someone other than the author"]],
      // A dismissed approval no longer counts (Atlantis would still accept it).
      [[r("bob", "APPROVED"), r("bob", "DISMISSED")], ["no approving review from someone other than the author"]],
      // A dismissed "changes requested" is lifted.
      [[r("bob", "APPROVED"), r("carol", "CHANGES_REQUESTED"), r("carol", "DISMISSED")], []],
      // Stricter than Atlantis: an approval does not outweigh a pending "changes requested".
      [[r("bob", "APPROVED"), r("carol", "CHANGES_REQUESTED")], ["changes requested by @carol"]],
      [[r("bob", "APPROVED"), r("bob", "CHANGES_REQUESTED")], ["changes requested by @bob"]],
      [[r("dave", "CHANGES_REQUESTED"), r("carol", "CHANGES_REQUESTED")], ["changes requested by @carol, @dave"]],
    ])("%j → %j", (reviews, expected) => {
      expect(reasonsOf(["approved"], facts({ reviews }))).toEqual(expected);
    });
  });

  describe("mergeable", () => {
    const blockers = (requiredNotPassing: string[], reviewDecision: MergeBlockers["reviewDecision"] = null): MergeBlockers => ({
      reviewDecision,
      requiredNotPassing,
    });

    test.each(["clean", "unstable", "has_hooks"])("%s is met", (mergeableState) => {
      expect(evaluateRequirements(["mergeable"], facts({ mergeableState }))).toEqual({ met: true, unmet: [] });
    });

    test.each([
      [{ draft: true }, "the pull request is a draft"],
      [{ mergeableState: "draft" }, "the pull request is a draft"],
      [{ mergeable: false, mergeableState: "dirty" }, "the pull request has merge conflicts"],
      [{ mergeableState: "behind" }, "the pull request is behind the base branch"],
      [{ mergeable: null, mergeableState: "unknown" }, "GitHub has not finished computing mergeability; try again in a moment"],
      [{ mergeable: null, mergeableState: "clean" }, "GitHub has not finished computing mergeability; try again in a moment"],
      [{ mergeableState: "unknown" }, "GitHub has not finished computing mergeability; try again in a moment"],
      [{ mergeableState: "weird" }, 'GitHub reports the pull request as not mergeable (state "weird")'],
      // A draft is reported as such even when clean otherwise.
      [{ draft: true, mergeableState: "clean" }, "the pull request is a draft"],
    ] as [Partial<PullFacts>, string][])("%j → %s", (overrides, reason) => {
      expect(evaluateRequirements(["mergeable"], facts(overrides))).toEqual({
        met: false,
        unmet: [{ requirement: "mergeable", reason }],
      });
    });

    describe("blocked", () => {
      const blocked = (b?: MergeBlockers) => facts({ mergeableState: "blocked", ...(b ? { blockers: b } : {}) });

      test.each([
        [["atoll/apply"], null],
        [["atoll/apply", "atoll/apply: week2", "atoll/apply: network (workspace staging)"], "APPROVED"],
        [["atoll/apply: week2"], null],
      ] as [string[], MergeBlockers["reviewDecision"]][])(
        "only Atoll's own apply checks missing (%j, review %s) is met: the branch-protection deadlock",
        (names, decision) => {
          expect(evaluateRequirements(["mergeable"], blocked(blockers(names, decision)))).toEqual({ met: true, unmet: [] });
        },
      );

      test.each([
        [undefined, "the pull request is blocked by branch protection"],
        [blockers(["atoll/apply", "test"]), "required checks have not passed: `test`"],
        [blockers(["atoll/plan", "ci/`x`"]), "required checks have not passed: `atoll/plan`, `ci/'x'`"],
        // Lookalikes of Atoll's check are someone else's.
        [blockers(["atoll/applyx", "atoll/apply"]), "required checks have not passed: `atoll/applyx`"],
        [blockers(["atoll/apply"], "REVIEW_REQUIRED"), "branch protection requires an approving review"],
        [blockers(["atoll/apply"], "CHANGES_REQUESTED"), "branch protection: changes were requested"],
        [
          blockers([]),
          "the pull request is blocked by branch protection for a reason other than required checks or reviews (e.g. unresolved conversations)",
        ],
      ])("%j is unmet", (b, reason) => {
        expect(evaluateRequirements(["mergeable"], blocked(b))).toEqual({
          met: false,
          unmet: [{ requirement: "mergeable", reason }],
        });
      });
    });
  });

  describe("undiverged", () => {
    test.each([
      ["ahead", true],
      ["identical", true],
      ["behind", false],
      ["diverged", false],
    ] as [CommitComparison, boolean][])("%s → met %s", (comparison, met) => {
      const verdict = evaluateRequirements(["undiverged"], facts({ comparison }));
      expect(verdict.met).toBe(met);
      expect(verdict.unmet).toEqual(
        met ? [] : [{ requirement: "undiverged", reason: "the base branch has commits this pull request does not have; merge or rebase it" }],
      );
    });

    test("missing comparison is unmet", () => {
      expect(reasonsOf(["undiverged"], facts())).toEqual(["the pull request could not be compared with the base branch"]);
    });
  });

  test("every unmet requirement is reported, in the configured order, once", () => {
    const verdict = evaluateRequirements(
      ["undiverged", "mergeable", "approved", "undiverged"],
      facts({ comparison: "diverged", mergeableState: "behind" }),
    );
    expect(verdict.met).toBe(false);
    expect(verdict.unmet.map((u) => u.requirement)).toEqual(["undiverged", "mergeable", "approved"]);
  });

  test("met requirements are left out of unmet", () => {
    const verdict = evaluateRequirements(
      ["approved", "mergeable", "undiverged"],
      facts({ reviews: [r("bob", "APPROVED")], comparison: "ahead", mergeableState: "dirty", mergeable: false }),
    );
    expect(verdict).toEqual({ met: false, unmet: [{ requirement: "mergeable", reason: "the pull request has merge conflicts" }] });
  });
});

describe("renderUnmet", () => {
  test("one bullet per unmet requirement", () => {
    expect(
      renderUnmet([
        { requirement: "approved", reason: "changes requested by @bob" },
        { requirement: "undiverged", reason: "the base branch has commits this pull request does not have; merge or rebase it" },
      ]),
    ).toBe(
      "- **approved**: changes requested by @bob\n" +
        "- **undiverged**: the base branch has commits this pull request does not have; merge or rebase it",
    );
    expect(renderUnmet([])).toBe("");
  });
});

describe("mergeableBackoffMs", () => {
  test("first refetch is immediate, then doubling from 500 ms", () => {
    expect([0, 1, 2, 3, 4].map(mergeableBackoffMs)).toEqual([0, 500, 1000, 2000, 4000]);
  });
});

describe("gatherPullFacts", () => {
  const HEAD = "c".repeat(40);
  const pull = (overrides: Partial<PullRequestInfo> = {}): PullRequestInfo => ({
    number: 7,
    state: "open",
    merged: false,
    draft: false,
    title: "t",
    htmlUrl: "https://github.com/o/r/pull/7",
    author: "alice",
    headSha: HEAD,
    headRef: "changes",
    headRepoFullName: "o/r",
    baseSha: "b".repeat(40),
    baseRef: "main",
    isFork: false,
    cloneUrl: "https://github.com/o/r.git",
    ...overrides,
  });

  /**
   * A plain GitHubPort that records every call; methods not given in `impl` throw, so an
   * unexpected call fails the test (and shows up in `calls` even if a rejection were swallowed).
   */
  function fakeGitHub(impl: Partial<Omit<GitHubPort, "owner" | "repo">>): { github: GitHubPort; calls: string[] } {
    const calls: string[] = [];
    const method =
      <K extends keyof Omit<GitHubPort, "owner" | "repo">>(name: K) =>
      (...args: unknown[]) => {
        calls.push(`${name}(${args.map((a) => JSON.stringify(a)).join(", ")})`);
        const fn = impl[name] as ((...a: unknown[]) => unknown) | undefined;
        if (!fn) throw new Error(`unexpected call: ${name}`);
        return fn(...args);
      };
    const github = {
      owner: "o",
      repo: "r",
      getPull: method("getPull"),
      listChangedFiles: method("listChangedFiles"),
      getFileContent: method("getFileContent"),
      listDirectory: method("listDirectory"),
      createComment: method("createComment"),
      addReaction: method("addReaction"),
      createCheckRun: method("createCheckRun"),
      updateCheckRun: method("updateCheckRun"),
      getPermission: method("getPermission"),
      listReviews: method("listReviews"),
      cloneToken: method("cloneToken"),
      getMergeBlockers: method("getMergeBlockers"),
      compareCommits: method("compareCommits"),
    } as GitHubPort;
    return { github, calls };
  }

  const noSleep = () => {
    const slept: number[] = [];
    return { slept, sleep: async (ms: number) => void slept.push(ms) };
  };

  test("nothing required: no GitHub call at all", async () => {
    const { github, calls } = fakeGitHub({});
    const f = await gatherPullFacts(github, pull({ mergeable: true, mergeableState: "clean" }), []);
    expect(calls).toEqual([]);
    expect(f).toEqual({ author: "alice", reviews: [], mergeable: true, mergeableState: "clean", draft: false });
  });

  test("approved: only the reviews", async () => {
    const reviews = [r("bob", "APPROVED")];
    const { github, calls } = fakeGitHub({ listReviews: async () => reviews });
    const f = await gatherPullFacts(github, pull(), ["approved"]);
    expect(calls).toEqual(["listReviews(7)"]);
    expect(f.reviews).toEqual(reviews);
    expect(f.blockers).toBeUndefined();
    expect(f.comparison).toBeUndefined();
  });

  test("undiverged: compares the base branch with the head sha", async () => {
    const { github, calls } = fakeGitHub({ compareCommits: async () => "diverged" });
    const f = await gatherPullFacts(github, pull(), ["undiverged"]);
    expect(calls).toEqual([`compareCommits("main", "${HEAD}")`]);
    expect(f.comparison).toBe("diverged");
  });

  test("mergeable already known and clean: no call", async () => {
    const { github, calls } = fakeGitHub({});
    const f = await gatherPullFacts(github, pull({ mergeable: true, mergeableState: "unstable" }), ["mergeable"]);
    expect(calls).toEqual([]);
    expect(f).toMatchObject({ mergeable: true, mergeableState: "unstable" });
  });

  test("mergeable null: refetches with backoff until GitHub knows", async () => {
    const answers = [pull({ mergeable: null }), pull({ mergeable: null, mergeableState: "unknown" }), pull({ mergeable: false, mergeableState: "dirty" })];
    const { github, calls } = fakeGitHub({ getPull: async () => answers.shift()! });
    const { slept, sleep } = noSleep();
    const f = await gatherPullFacts(github, pull({ mergeable: null, mergeableState: "unknown" }), ["mergeable"], { sleep });
    expect(calls).toEqual(["getPull(7)", "getPull(7)", "getPull(7)"]);
    expect(slept).toEqual([500, 1000]);
    expect(f).toMatchObject({ mergeable: false, mergeableState: "dirty" });
    expect(evaluateRequirements(["mergeable"], f).unmet[0].reason).toBe("the pull request has merge conflicts");
  });

  test("mergeable absent (webhook payload) counts as unknown", async () => {
    const { github, calls } = fakeGitHub({ getPull: async () => pull({ mergeable: true, mergeableState: "clean" }) });
    const f = await gatherPullFacts(github, pull(), ["mergeable"], noSleep());
    expect(calls).toEqual(["getPull(7)"]);
    expect(f).toMatchObject({ mergeable: true, mergeableState: "clean" });
  });

  test("mergeable still null after the retries: gives up, unmet", async () => {
    const { github, calls } = fakeGitHub({ getPull: async () => pull({ mergeable: null, mergeableState: "unknown" }) });
    const { slept, sleep } = noSleep();
    const f = await gatherPullFacts(github, pull({ mergeable: null }), ["mergeable"], { sleep });
    expect(calls).toHaveLength(5);
    expect(slept).toEqual([500, 1000, 2000, 4000]);
    expect(f.mergeable).toBeNull();
    expect(evaluateRequirements(["mergeable"], f).met).toBe(false);
  });

  test("maxMergeableRetries bounds the refetches", async () => {
    const { github, calls } = fakeGitHub({ getPull: async () => pull({ mergeable: null }) });
    await gatherPullFacts(github, pull({ mergeable: null }), ["mergeable"], { ...noSleep(), maxMergeableRetries: 2 });
    expect(calls).toEqual(["getPull(7)", "getPull(7)"]);
  });

  test("the refetched pull's draft flag is used", async () => {
    const { github } = fakeGitHub({ getPull: async () => pull({ draft: true, mergeable: true, mergeableState: "draft" }) });
    const f = await gatherPullFacts(github, pull({ mergeable: null }), ["mergeable"], noSleep());
    expect(f.draft).toBe(true);
  });

  test("blocked: asks for the blockers", async () => {
    const blockers: MergeBlockers = { reviewDecision: null, requiredNotPassing: ["atoll/apply"] };
    const { github, calls } = fakeGitHub({ getMergeBlockers: async () => blockers });
    const f = await gatherPullFacts(github, pull({ mergeable: true, mergeableState: "blocked" }), ["mergeable"]);
    expect(calls).toEqual(["getMergeBlockers(7)"]);
    expect(f.blockers).toEqual(blockers);
    expect(evaluateRequirements(["mergeable"], f).met).toBe(true);
  });

  test("blocked draft: no blockers call (a draft is unmet anyway)", async () => {
    const { github, calls } = fakeGitHub({});
    await gatherPullFacts(github, pull({ draft: true, mergeable: true, mergeableState: "blocked" }), ["mergeable"]);
    expect(calls).toEqual([]);
  });

  test("everything required: each fact once, in order", async () => {
    const { github, calls } = fakeGitHub({
      listReviews: async () => [r("bob", "APPROVED")],
      getPull: async () => pull({ mergeable: true, mergeableState: "blocked" }),
      getMergeBlockers: async () => ({ reviewDecision: "APPROVED", requiredNotPassing: ["atoll/apply: week2"] }),
      compareCommits: async () => "ahead",
    });
    const f = await gatherPullFacts(github, pull(), ["approved", "mergeable", "undiverged"], noSleep());
    expect(calls).toEqual(["listReviews(7)", "getPull(7)", "getMergeBlockers(7)", `compareCommits("main", "${HEAD}")`]);
    expect(evaluateRequirements(["approved", "mergeable", "undiverged"], f)).toEqual({ met: true, unmet: [] });
  });

  test("a failing GitHub call rejects (the caller decides; no silent pass)", async () => {
    const { github } = fakeGitHub({
      getMergeBlockers: async () => {
        throw new Error("graphql down");
      },
    });
    await expect(gatherPullFacts(github, pull({ mergeable: true, mergeableState: "blocked" }), ["mergeable"])).rejects.toThrow(
      "graphql down",
    );
  });
});
