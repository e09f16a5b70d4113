/**
 * Before planning: each project's lock (`repo_locks: {mode: on_plan}`, the default) is taken, and
 * every project is recorded as being planned — or as queued behind the pull request holding its
 * lock.
 */
import { projectSettings, type ProjectSettings, type ResolvedRepoConfig } from "../../../config/apply-policy.js";
import type { ProjectState } from "../../../ports/store.js";
import { projectKey, sameProject, type Project } from "../../../projects/project.js";
import { acquireLocks, blockedHeadline, type LockOutcome } from "../../gates/project-locks.js";
import type { PlanScope } from "./plan-scope.js";

export type BlockedProject = Extract<LockOutcome, { acquired: false }>;

export interface LockedProjects {
  /** Each project's settings, by `projectKey`. */
  settingsOf: Map<string, ProjectSettings>;
  /** Waiting for another pull request's lock: not planned now. */
  blocked: BlockedProject[];
  /** To plan now. */
  runnable: Project[];
}

export async function lockForPlan(scope: PlanScope, config: ResolvedRepoConfig, projects: Project[]): Promise<LockedProjects> {
  const { ctx, pull, req } = scope;
  const { store } = ctx.deps;
  const now = () => new Date().toISOString();
  // `repo_locks: {mode: on_apply | disabled}` projects take no lock when planned.
  const settingsOf = new Map(projects.map((p) => [projectKey(p), projectSettings(config, p)]));
  const toLock = projects.filter((p) => settingsOf.get(projectKey(p))!.repoLocks === "on_plan");
  const outcomes = await acquireLocks(ctx, pull, toLock);
  const blocked = outcomes.filter((o): o is BlockedProject => !o.acquired);
  const runnable = projects.filter((p) => !blocked.some((b) => sameProject(b.project, p)));
  for (const b of blocked) {
    await store.upsertProject(ctx.repo, pull.number, {
      ...pendingState(b.project, pull.headSha, req.extraArgs, now()),
      plan: "queued",
      headline: blockedHeadline(ctx, b),
    });
  }
  for (const project of runnable) {
    await store.upsertProject(ctx.repo, pull.number, pendingState(project, pull.headSha, req.extraArgs, now()));
  }
  return { settingsOf, blocked, runnable };
}

function pendingState(project: Project, headSha: string, extraArgs: string[], now: string): ProjectState {
  return { project, headSha, plan: "pending", hasChanges: false, apply: "none", extraArgs, headline: "Planning…", output: "", updatedAt: now };
}
