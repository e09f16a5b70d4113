/**
 * Store: Atoll's own state about pull requests — per-project plan/apply status, saved plans and
 * the ids of the check runs Atoll owns. Today's implementation is in memory
 * (`src/adapters/memory-store.ts`): it is lost on restart. A durable implementation (SQLite, then
 * PostgreSQL for several replicas) plugs in here without touching the runner.
 */
import type { Project } from "../projects/project.js";
import type { PlanSummary } from "../terraform/plan-summary-types.js";

export interface RepoRef {
  owner: string;
  repo: string;
}

export type PlanState = "pending" | "success" | "failed";
export type ApplyState = "none" | "pending" | "success" | "failed";

/** What Atoll knows about one project of one pull request. */
export interface ProjectState {
  project: Project;
  /** Head commit the plan was made for. */
  headSha: string;
  plan: PlanState;
  hasChanges: boolean;
  apply: ApplyState;
  /** Saved plan file, while it exists and has not been applied or discarded. */
  planFile?: string;
  /** Extra terraform args the plan was made with (re-plan suggestions keep them). */
  extraArgs: string[];
  summary?: PlanSummary;
  /** One-line result of the last plan. */
  headline: string;
  /** Output of the last plan, kept (cut to GitHub's check-run limit) to re-render its check run. */
  output: string;
  /** The check run showing this plan; its Apply button applies exactly this plan. */
  planCheckRunId?: number;
  updatedAt: string;
}

export interface CheckRunRecord {
  id: number;
  status: "queued" | "in_progress" | "completed";
}

export interface Store {
  listProjects(repo: RepoRef, pullNumber: number): Promise<ProjectState[]>;
  /** Insert or replace the state of `state.project` for the PR. */
  upsertProject(repo: RepoRef, pullNumber: number, state: ProjectState): Promise<void>;
  /** Remove the given projects' states (all of the PR's when `projects` is omitted); returns what was removed. */
  removeProjects(repo: RepoRef, pullNumber: number, projects?: Project[]): Promise<ProjectState[]>;
  /** The latest check run Atoll created with this name on this commit. */
  getCheckRun(repo: RepoRef, headSha: string, name: string): Promise<CheckRunRecord | undefined>;
  setCheckRun(repo: RepoRef, headSha: string, name: string, record: CheckRunRecord): Promise<void>;
  /** Forget everything about the PR. */
  deletePull(repo: RepoRef, pullNumber: number): Promise<void>;
}
