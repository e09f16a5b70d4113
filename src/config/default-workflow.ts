/**
 * Atlantis's built-in `default` workflow and the default steps of each stage. A workflow stage
 * that is missing, or whose `steps:` is null, gets these; `steps: []` runs nothing.
 */
import type { StageName, Workflow, WorkflowStep } from "./config-types.js";

const builtin = (name: "init" | "plan" | "apply" | "show" | "import" | "state_rm" | "policy_check"): WorkflowStep => ({
  kind: "builtin",
  name,
  extraArgs: [],
});

/** Fresh copies every call, so no caller can mutate the defaults. */
export function defaultStageSteps(stage: StageName): WorkflowStep[] {
  switch (stage) {
    case "plan":
      return [builtin("init"), builtin("plan")];
    case "apply":
      return [builtin("apply")];
    case "policy_check":
      return [builtin("show"), builtin("policy_check")];
    case "import":
      return [builtin("init"), builtin("import")];
    case "state_rm":
      return [builtin("init"), builtin("state_rm")];
  }
}

export const STAGE_NAMES: readonly StageName[] = ["plan", "apply", "import", "state_rm", "policy_check"];

/** A workflow whose every stage has its default steps. */
export function defaultWorkflow(name = "default"): Workflow {
  return {
    name,
    plan: defaultStageSteps("plan"),
    apply: defaultStageSteps("apply"),
    import: defaultStageSteps("import"),
    state_rm: defaultStageSteps("state_rm"),
    policy_check: defaultStageSteps("policy_check"),
  };
}
