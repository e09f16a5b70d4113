/**
 * Apply requirements (`apply_requirements: [approved, mergeable, undiverged]` in atlantis.yaml /
 * repo config): what must be true of a pull request before Atoll applies one of its projects.
 *
 * Split in three so the rules stay pure and testable: `gatherPullFacts` asks GitHub only what the
 * configured requirements need, `evaluateRequirements` decides, `renderUnmet` explains.
 *
 * Semantics (documented for users):
 *
 * - `approved` — **stricter than Atlantis**, which accepts any APPROVED review ever submitted.
 *   Atoll takes each reviewer's latest review that is not COMMENTED or PENDING, ignoring the
 *   PR author. The requirement is met when at least one of those is APPROVED and none is
 *   CHANGES_REQUESTED. A dismissed latest review counts as neither, so dismissing an approval
 *   withdraws it and dismissing a "changes requested" lifts it. An approval counts only for the
 *   plan it saw (`plan-approvals.ts`): a push that plans the same change keeps it, a changed plan
 *   needs a new one.
 *
 * - `mergeable` — not a draft, and GitHub's `mergeable_state` is `clean`, `unstable` (only
 *   non-required checks fail) or `has_hooks` (GHES pre-receive hooks). `blocked` is met only
 *   when the blockers Atoll can see are Atoll's own apply checks: the required checks that have
 *   not passed are all `atoll/apply` or `atoll/apply: …` (and there is at least one — a PR that
 *   is blocked with every required check passing is blocked by something else, e.g. unresolved
 *   conversations), and branch protection's review decision is neither REVIEW_REQUIRED nor
 *   CHANGES_REQUESTED. This is what lets a repository require `atoll/apply` in branch
 *   protection and still apply — Atlantis's classic deadlock (#811, #1316). `dirty` (merge
 *   conflicts), `behind` (branch protection requires an up-to-date branch), `draft`, and
 *   `unknown` / `mergeable: null` (GitHub has not finished computing; Atoll refetches the pull
 *   a few times first) are unmet.
 *
 * - `undiverged` — the base branch is contained in the PR head: GitHub's compare of
 *   `base...head` says `ahead` or `identical`. `behind` or `diverged` is unmet: merge or rebase.
 */
import type { CommitComparison, GitHubPort, MergeBlockers, PullRequestInfo, Review } from "../../ports/github.js";
import { APPLY_CHECK } from "../reporting/check-names.js";
import { readinessFromReviews } from "./review-readiness.js";
import type { ApprovalBinding } from "./plan-approvals.js";

export type Requirement = "approved" | "mergeable" | "undiverged";

export const REQUIREMENTS: readonly Requirement[] = ["approved", "mergeable", "undiverged"];

function isRequirement(value: string): value is Requirement {
  return (REQUIREMENTS as readonly string[]).includes(value);
}

/**
 * Validates a configured list, with Atlantis's error text for the first unknown entry.
 * Duplicates are dropped (order of first appearance kept).
 */
export function parseRequirements(
  list: string[],
): { ok: true; requirements: Requirement[] } | { ok: false; error: string } {
  const requirements: Requirement[] = [];
  for (const item of list) {
    if (!isRequirement(item)) {
      return {
        ok: false,
        error: `"${item}" is not a valid apply_requirement, only "approved", "mergeable" and "undiverged" are supported`,
      };
    }
    if (!requirements.includes(item)) requirements.push(item);
  }
  return { ok: true, requirements };
}

/** What the requirements are judged on; optional parts are only fetched when needed. */
export interface PullFacts {
  author: string;
  reviews: Review[];
  /** null: GitHub has not finished computing mergeability (or was not asked). */
  mergeable: boolean | null;
  mergeableState: string;
  /** Only fetched when `mergeable` is required and the state is `blocked`. */
  blockers?: MergeBlockers;
  /** Only fetched when `undiverged` is required. */
  comparison?: CommitComparison;
  draft: boolean;
  /** A project's approvals bound to its current plan (`plan-approvals.ts`); without it, any approval counts. */
  approval?: ApprovalBinding;
}

export interface UnmetRequirement {
  requirement: Requirement;
  reason: string;
}

export interface RequirementsVerdict {
  met: boolean;
  unmet: UnmetRequirement[];
}

const mention = (users: string[]) => users.map((u) => `@${u}`).join(", ");

function approvedReason(facts: PullFacts): string | null {
  const reviews = readinessFromReviews(facts.reviews, facts.author);
  if (reviews.changesRequestedBy.length > 0) return `changes requested by ${mention(reviews.changesRequestedBy)}`;
  const approvedBy = facts.approval ? facts.approval.approvedBy : reviews.approvedBy;
  if (approvedBy.length > 0) return null;
  const stale = facts.approval?.stale ?? [];
  if (stale.length > 0) {
    return `the plan changed after ${mention(stale.map((s) => s.user))} approved it, so that approval does not cover this plan: approve again`;
  }
  return "no approving review from someone other than the author";
}

/** `atoll/apply` or a per-project `atoll/apply: …` check. */
export function isAtollApplyCheck(name: string): boolean {
  return name === APPLY_CHECK || name.startsWith(`${APPLY_CHECK}:`);
}

/** Check names inside inline code; a backtick in a name would end the span early. */
const code = (names: string[]) => names.map((n) => `\`${n.replaceAll("`", "'")}\``).join(", ");

function blockedReason(blockers: MergeBlockers | undefined): string | null {
  if (!blockers) return "the pull request is blocked by branch protection";
  if (blockers.reviewDecision === "CHANGES_REQUESTED") return "branch protection: changes were requested";
  if (blockers.reviewDecision === "REVIEW_REQUIRED") return "branch protection requires an approving review";
  const others = blockers.requiredNotPassing.filter((name) => !isAtollApplyCheck(name));
  if (others.length > 0) return `required checks have not passed: ${code(others)}`;
  if (blockers.requiredNotPassing.length === 0) {
    return "the pull request is blocked by branch protection for a reason other than required checks or reviews (e.g. unresolved conversations)";
  }
  return null;
}

function mergeableReason(facts: PullFacts): string | null {
  if (facts.draft) return "the pull request is a draft";
  if (facts.mergeable === null) return "GitHub has not finished computing mergeability; try again in a moment";
  if (facts.mergeable === false || facts.mergeableState === "dirty") return "the pull request has merge conflicts";
  switch (facts.mergeableState) {
    case "clean":
    case "unstable":
    case "has_hooks":
      return null;
    case "blocked":
      return blockedReason(facts.blockers);
    case "behind":
      return "the pull request is behind the base branch";
    case "draft":
      return "the pull request is a draft";
    case "unknown":
      return "GitHub has not finished computing mergeability; try again in a moment";
    default:
      return `GitHub reports the pull request as not mergeable (state "${facts.mergeableState}")`;
  }
}

function undivergedReason(facts: PullFacts): string | null {
  if (facts.comparison === "ahead" || facts.comparison === "identical") return null;
  if (facts.comparison === undefined) return "the pull request could not be compared with the base branch";
  return "the base branch has commits this pull request does not have; merge or rebase it";
}

const REASONS: Record<Requirement, (facts: PullFacts) => string | null> = {
  approved: approvedReason,
  mergeable: mergeableReason,
  undiverged: undivergedReason,
};

/** Judges every required requirement (see the module comment for the rules). */
export function evaluateRequirements(required: Requirement[], facts: PullFacts): RequirementsVerdict {
  const unmet: UnmetRequirement[] = [];
  for (const requirement of new Set(required)) {
    const reason = REASONS[requirement](facts);
    if (reason !== null) unmet.push({ requirement, reason });
  }
  return { met: unmet.length === 0, unmet };
}

export interface GatherOptions {
  /** Injectable so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** How many times to refetch the pull while `mergeable` is null (default 5). */
  maxMergeableRetries?: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Delay before refetch number `attempt` (0-based): none for the first, then 0.5 s, 1 s, 2 s, 4 s … */
export function mergeableBackoffMs(attempt: number): number {
  return attempt === 0 ? 0 : 500 * 2 ** (attempt - 1);
}

/**
 * Asks GitHub only what `required` needs — nothing at all for an empty list:
 * reviews for `approved`; for `mergeable`, the pull again while `mergeable` is null (webhook
 * payloads and fresh pulls often carry null while GitHub computes it in the background), then the
 * blockers only when the state is `blocked` (and not a draft, which is unmet anyway); the compare
 * of `pull.baseRef...pull.headSha` for `undiverged`. Calls are sequential, in that order.
 */
export async function gatherPullFacts(
  github: GitHubPort,
  pull: PullRequestInfo,
  required: Requirement[],
  opts: GatherOptions = {},
): Promise<PullFacts> {
  const sleep = opts.sleep ?? defaultSleep;
  const maxRetries = opts.maxMergeableRetries ?? 5;
  const need = new Set(required);
  const facts: PullFacts = {
    author: pull.author,
    reviews: [],
    mergeable: pull.mergeable ?? null,
    mergeableState: pull.mergeableState ?? "unknown",
    draft: pull.draft,
  };

  if (need.has("approved")) facts.reviews = await github.listReviews(pull.number);

  if (need.has("mergeable")) {
    let current = pull;
    for (let attempt = 0; (current.mergeable ?? null) === null && attempt < maxRetries; attempt++) {
      const delay = mergeableBackoffMs(attempt);
      if (delay > 0) await sleep(delay);
      current = await github.getPull(pull.number);
    }
    facts.mergeable = current.mergeable ?? null;
    facts.mergeableState = current.mergeableState ?? "unknown";
    facts.draft = current.draft;
    if (facts.mergeable !== null && facts.mergeableState === "blocked" && !facts.draft) {
      facts.blockers = await github.getMergeBlockers(pull.number);
    }
  }

  if (need.has("undiverged")) facts.comparison = await github.compareCommits(pull.baseRef, pull.headSha);

  return facts;
}

/** Markdown bullet list of unmet requirements, for refusal comments and check-run output. */
export function renderUnmet(unmet: UnmetRequirement[]): string {
  return unmet.map((u) => `- **${u.requirement}**: ${u.reason}`).join("\n");
}
