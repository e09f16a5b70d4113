/** What one project's plan, apply or version came to: the shape every report (comment, check run) renders. */
import type { Project } from "../../projects/project.js";
import type { PlanSummary } from "../../terraform/plan-summary-types.js";
import type { CheckAnnotation } from "../../ports/github.js";
import type { PlanDelta } from "../../terraform/plan-delta.js";

export type ProjectCommand = "plan" | "apply" | "version" | "import" | "state_rm";

/**
 * How one project's command ended.
 * - success: terraform succeeded.
 * - failed: terraform (or the checkout/init/workspace step before it) failed.
 * - timed_out: a step exceeded the configured step timeout and was killed.
 * - refused: Atoll did not run terraform (no plan, stale plan, lock held, …); `headline` says why.
 * - cancelled: `cancel` stopped the command before this project started; `headline` says who.
 */
export type ProjectOutcome = "success" | "failed" | "timed_out" | "refused" | "cancelled";

export interface ProjectResult {
  project: Project;
  command: ProjectCommand;
  outcome: ProjectOutcome;
  /**
   * One line shown outside any fold: "Plan: 1 to add, 0 to change, 0 to destroy.",
   * "No changes. Your infrastructure matches the configuration.", "Apply complete! Resources: …",
   * "terraform plan failed (exit code 1)", "timed out after 600s during terraform plan", or the
   * refusal reason.
   */
  headline: string;
  /** Combined terraform output (stdout and stderr in order), colourless; "" when nothing ran. */
  output: string;
  /** Plan commands only: the summary from `terraform show -json`, when it could be produced. */
  plan?: PlanSummary;
  /** Plan commands only: whether the saved plan would change anything. */
  hasChanges?: boolean;
  /** Plan commands only: a `-destroy` plan (`atoll destroy`, `plan -- -destroy`); applied only when named. */
  destroyPlan?: boolean;
  /** Markdown warnings shown above the result (e.g. the state would stay in the checkout). */
  warnings?: string[];
  /** Plan commands only: what changed in the plan since the previous push's (absent for a first plan). */
  sincePush?: PlanDelta;
  /** Plan commands only: the commit this plan was made at, when it was carried to this one unchanged. */
  carriedFrom?: string;
  /** Plan commands only: why the project is in the plan (trigger provenance), shown in its check run. */
  why?: string;
  /** Plan commands only: the plan's digest (`planDigestOf`), shown in its check run. */
  planDigest?: string;
  /** Plan commands only: annotations on the declarations of destroyed and replaced resources. */
  annotations?: CheckAnnotation[];
  durationMs?: number;
}
