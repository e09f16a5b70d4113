/**
 * Destroy plans (`atoll destroy`, or `plan -- -destroy`) are applied only when named: a bare
 * `apply` of every plan of the pull request skips them and says why, so "apply everything" can
 * never tear down a project by surprise. Applying one by name (`apply -p x`, `apply -d dir`, or
 * the Apply button of its check run) goes through the usual apply requirements.
 */
import type { ProjectState } from "../../ports/store.js";
import { projectFlags, projectLabel } from "../../projects/project.js";

/** Whether terraform plan arguments make a destroy plan (`-destroy`, `-destroy=true`, `--destroy`). */
export function isDestroyPlanArgs(args: readonly string[]): boolean {
  let destroy = false;
  for (const arg of args) {
    const m = /^--?destroy(?:=(.*))?$/.exec(arg);
    if (m) destroy = m[1] === undefined || /^(1|t|true)$/i.test(m[1]);
  }
  return destroy;
}

/** The plan arguments of `atoll destroy`: the user's, plus `-destroy` unless they gave it. */
export function destroyArgs(extraArgs: readonly string[]): string[] {
  return isDestroyPlanArgs(extraArgs) ? [...extraArgs] : [...extraArgs, "-destroy"];
}

/** Why a bare apply skips this state; undefined when it is not a destroy plan. */
export function destroySkipReason(state: ProjectState, name: string): string | undefined {
  if (!isDestroyPlanArgs(state.extraArgs)) return undefined;
  return (
    `Skipped: the plan of \`${projectLabel(state.project)}\` is a destroy plan, which is only applied when named. ` +
    `Comment \`${name} apply ${projectFlags(state.project)}\` (or use its check run's Apply button) to destroy its resources.`
  );
}
