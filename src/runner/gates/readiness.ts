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
}

/** Readiness of several projects of one PR, fetching each fact from GitHub at most once. */
export async function projectsReadiness(
  ctx: CommandContext,
  pull: PullRequestInfo,
  config: ResolvedRepoConfig,
  projects: Project[],
  opts: { withPlan?: boolean } = {},
): Promise<Map<string, ProjectReadiness>> {
  const required = new Map(projects.map((p) => [projectKey(p), effectiveRequirements(config, p, "apply")]));
  const planRequired = new Map(projects.map((p) => [projectKey(p), opts.withPlan ? effectiveRequirements(config, p, "plan") : []]));
  // One round of GitHub requests for everything any project needs.
  const union = ORDER.filter((r) => [...required.values(), ...planRequired.values()].some((list) => list.includes(r)));
  // Reviews are always shown (who approved), whether or not `approved` is required.
  const needs: Requirement[] = union.includes("approved") ? union : ["approved", ...union];
  const facts: PullFacts = await gatherPullFacts(ctx.github, pull, needs);
  const reviews = readinessFromReviews(facts.reviews, pull.author);
  const out = new Map<string, ProjectReadiness>();
  for (const project of projects) {
    const list = required.get(projectKey(project)) ?? [];
    const verdict = evaluateRequirements(list, facts);
    const unmet = new Map(verdict.unmet.map((u) => [u.requirement, u.reason]));
    out.set(projectKey(project), {
      readiness: {
        ...reviews,
        ...(list.length
          ? { requirements: list.map((r) => ({ requirement: r, met: !unmet.has(r), ...(unmet.has(r) ? { reason: unmet.get(r)! } : {}) })) }
          : {}),
      },
      unmet: verdict.unmet,
      ...(opts.withPlan ? { unmetPlan: evaluateRequirements(planRequired.get(projectKey(project)) ?? [], facts).unmet } : {}),
    });
  }
  return out;
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
