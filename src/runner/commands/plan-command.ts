/**
 * `plan`: autoplan on a push, or a comment/button. Finds the projects, discards the plans it
 * replaces, runs terraform in the PR's checkout, saves each plan for a later apply, and reports
 * through one PR comment, a check run per project and the two aggregate check runs.
 *
 * The steps, in order (each in `plan/`): read the repo config (`plan-config.ts`), choose the
 * projects (`choose-projects.ts`), replace earlier plans (`replace-plans.ts`), take locks
 * (`lock-projects.ts`), plan (`plan-projects.ts`, with `plan-progress.ts`), report (`report-plan.ts`).
 */
import type { PullRequestInfo } from "../../ports/github.js";
import type { ProjectState } from "../../ports/store.js";
import { sameProject, type Project } from "../../projects/project.js";
import { pullGate } from "../gates/pull-gate.js";
import { Interrupted } from "../interrupted.js";
import { CheckReporter } from "../reporting/check-reporter.js";
import { postComment } from "../reporting/comments.js";
import type { CommandContext } from "../runner-deps.js";
import { choosePlanProjects } from "./plan/choose-projects.js";
import { lockForPlan } from "./plan/lock-projects.js";
import { readPlanConfig } from "./plan/plan-config.js";
import { planLocked } from "./plan/plan-projects.js";
import { planScope } from "./plan/plan-scope.js";
import { replaceEarlierPlans } from "./plan/replace-plans.js";
import { decideCarry } from "./plan/carry-plans.js";
import { reportNoProjects, reportPlan } from "./plan/report-plan.js";

export interface PlanRequest {
  /** autoplan: a push/open event; comment: someone asked (comment, button, re-run). */
  trigger: "autoplan" | "comment";
  dir: string;
  workspace: string;
  project: string;
  extraArgs: string[];
  verbose: boolean;
  /** The PR as the webhook payload described it (saves a request); fetched when absent. */
  pull?: PullRequestInfo;
  /** Don't comment when the PR may not be planned (autoplan on a push: the PR was told when it opened). */
  quietRefusal?: boolean;
  /** Lines added to the end of the plan comment (e.g. who pressed a button). */
  notes?: string[];
}

export async function runPlan(ctx: CommandContext, req: PlanRequest): Promise<void> {
  const pull = req.pull ?? (await ctx.github.getPull(ctx.pullNumber));
  const refusal = pullGate(ctx.deps.settings, pull, "plan");
  if (refusal) {
    if (!req.quietRefusal) await postComment(ctx, refusal);
    return;
  }
  const checks = new CheckReporter(ctx, pull.headSha);
  try {
    await planPull(ctx, req, pull, checks);
  } catch (error) {
    if (!(error instanceof Interrupted)) {
      await checks.failOpenRuns(`Atoll hit an internal error while planning: ${(error as Error).message}`);
    }
    throw error;
  }
}

async function planPull(ctx: CommandContext, req: PlanRequest, pull: PullRequestInfo, checks: CheckReporter): Promise<void> {
  const scope = planScope(ctx, req, pull, checks);
  const planConfig = await readPlanConfig(scope);
  if (!planConfig) return;
  const projects = await choosePlanProjects(scope, planConfig);
  if (projects === null) return;
  // A push that changed none of a project's inputs keeps its plan (decided before earlier plans are replaced).
  scope.carry = await decideCarry(ctx, planConfig.config, pull, projects, scope.checkout, { autoplan: req.trigger === "autoplan", extraArgs: req.extraArgs });
  const { superseded } = await replaceEarlierPlans(scope, projects);
  if (projects.length === 0) return reportNoProjects(scope, superseded);
  const locked = await lockForPlan(scope, planConfig.config, projects);
  const planned = await planLocked(scope, planConfig.config, locked);
  await reportPlan(scope, planConfig, locked, planned, superseded);
}

export function findState(states: ProjectState[], project: Project): ProjectState | undefined {
  return states.find((s) => sameProject(s.project, project));
}
