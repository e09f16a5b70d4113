/**
 * Apply readiness of planned projects: who approved, and each apply requirement (server default
 * plus the project's own) with whether it is met. Shown on plan check runs, refreshed when a
 * review arrives, and enforced by apply.
 */
import type { PullRequestInfo } from "../../ports/github.js";
import { projectKey, type Project } from "../../projects/project.js";
import { projectSettings, type ResolvedRepoConfig } from "../../config/apply-policy.js";
import { evaluateRequirements, gatherPullFacts, type PullFacts, type Requirement } from "./apply-requirements.js";
import { readinessFromReviews, type Readiness } from "./review-readiness.js";
import { bindApprovals, type CurrentPlan } from "./plan-approvals.js";
import type { ProjectState } from "../../ports/store.js";
import type { CommandContext } from "../runner-deps.js";

const ORDER: Requirement[] = ["approved", "mergeable", "undiverged"];

/**
 * A project's apply (or plan, or import — `import` and `state rm`) requirements: its own list when the server policy lets the repo
 * override them, otherwise the server's (policy file, or ATOLL_APPLY_REQUIREMENTS).
 */
export function effectiveRequirements(config: ResolvedRepoConfig, project: Project, command: "apply" | "plan" | "import" = "apply"): Requirement[] {
  const settings = projectSettings(config, project);
  const list = command === "plan" ? settings.planRequirements : command === "import" ? settings.importRequirements : settings.applyRequirements;
  return ORDER.filter((r) => list.includes(r));
}

export interface ProjectReadiness {
  readiness: Readiness;
  /** Unmet requirements, empty when apply may go ahead. */
  unmet: { requirement: Requirement; reason: string }[];
  /** With `withPlan`: unmet plan requirements, empty when the project may be planned. */
  unmetPlan?: { requirement: Requirement; reason: string }[];
  /** The same facts judged for `current`: a plan made after they were read (approvals bind to it). */
  forPlan(current: CurrentPlan): ProjectReadiness;
}

/**
 * Readiness of several projects of one PR, fetching each fact from GitHub at most once.
 * `plans`: each project's current plan, to which approvals are bound (`plan-approvals.ts`);
 * a project without one counts any approval.
 */
export async function projectsReadiness(
  ctx: CommandContext,
  pull: PullRequestInfo,
  config: ResolvedRepoConfig,
  projects: Project[],
  opts: { withPlan?: boolean; plans?: Map<string, CurrentPlan> } = {},
): Promise<Map<string, ProjectReadiness>> {
  const required = new Map(projects.map((p) => [projectKey(p), effectiveRequirements(config, p, "apply")]));
  const planRequired = new Map(projects.map((p) => [projectKey(p), opts.withPlan ? effectiveRequirements(config, p, "plan") : []]));
  // One round of GitHub requests for everything any project needs.
  const union = ORDER.filter((r) => [...required.values(), ...planRequired.values()].some((list) => list.includes(r)));
  // Reviews are always shown (who approved), whether or not `approved` is required.
  const needs: Requirement[] = union.includes("approved") ? union : ["approved", ...union];
  const [facts, history] = await Promise.all([gatherPullFacts(ctx.github, pull, needs), ctx.deps.store.listPlanHistory(ctx.repo, pull.number)]);
  const reviews = readinessFromReviews(facts.reviews, pull.author);
  const out = new Map<string, ProjectReadiness>();
  for (const project of projects) {
    const key = projectKey(project);
    const list = required.get(key) ?? [];
    const ownHistory = history.filter((h) => projectKey(h.project) === key);
    const judge = (current: CurrentPlan | undefined): ProjectReadiness => {
      const approval = current ? bindApprovals(facts.reviews, pull.author, ownHistory, current) : undefined;
      const verdict = evaluateRequirements(list, approval ? { ...facts, approval } : facts);
      const unmet = new Map(verdict.unmet.map((u) => [u.requirement, u.reason]));
      return {
        readiness: {
          ...reviews,
          ...(approval
            ? {
                approvedBy: approval.approvedBy,
                ...(approval.unchangedSince.length ? { unchangedSince: approval.unchangedSince } : {}),
                ...(approval.stale.length ? { staleApprovals: approval.stale } : {}),
              }
            : {}),
          ...(list.length
            ? { requirements: list.map((r) => ({ requirement: r, met: !unmet.has(r), ...(unmet.has(r) ? { reason: unmet.get(r)! } : {}) })) }
            : {}),
        },
        unmet: verdict.unmet,
        // Plan requirements are judged before there is a plan: any approval counts for them.
        ...(opts.withPlan ? { unmetPlan: evaluateRequirements(planRequired.get(key) ?? [], facts).unmet } : {}),
        forPlan: judge,
      };
    };
    out.set(key, judge(opts.plans?.get(key)));
  }
  return out;
}

/** The current plans of these states, for `projectsReadiness`'s `plans`. */
export function currentPlans(states: ProjectState[]): Map<string, CurrentPlan> {
  return new Map(states.map((s) => [projectKey(s.project), { headSha: s.headSha, ...(s.planDigest ? { digest: s.planDigest } : {}) }]));
}

/** Readiness for the plan check runs, keyed by project key. */
export async function planReadiness(
  ctx: CommandContext,
  pull: PullRequestInfo,
  config: ResolvedRepoConfig,
  projects: Project[],
): Promise<Map<string, Readiness>> {
  const all = await projectsReadiness(ctx, pull, config, projects);
  return new Map([...all].map(([k, v]) => [k, v.readiness]));
}
