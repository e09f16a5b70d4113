/**
 * Atlantis's auto-merge (`automerge: true` in the repo config): after an apply, when every project
 * of the pull request is planned and applied at the current head, merge the pull request with
 * ATOLL_AUTOMERGE_METHOD, and delete its branch when `delete_source_branch_on_merge` says so.
 *
 * - A project counts as done when its plan succeeded at the head commit and it was applied, or its
 *   plan had no changes (and its apply did not fail). Anything else — a failed, queued, pending or
 *   older-commit plan, a failed or missing apply — means no merge, silently: applying project by
 *   project is normal, and the last apply merges.
 * - `apply --auto-merge-disabled` skips it for that apply; `apply --auto-merge-method m` merges
 *   with `m` instead of ATOLL_AUTOMERGE_METHOD (both only matter when automerge is on).
 * - The merge names the head sha it checked, so GitHub refuses when someone pushed meanwhile.
 * - GitHub's refusal (conflicts, branch protection, a method the repo disallows, a moved head) or
 *   any other error is reported as "Automerging failed: <message>", and nothing else changes.
 * - The branch is deleted only after a successful merge, only when every project's effective
 *   `delete_source_branch_on_merge` is true (a project's own allowed value, otherwise the repo's or
 *   server's), and never for a fork, whose branch is not in this repository.
 */
import { projectSettings, type ResolvedRepoConfig } from "../../config/apply-policy.js";
import type { PullRequestInfo } from "../../ports/github.js";
import type { MergeMethod } from "../../ports/github.js";
import type { ProjectState } from "../../ports/store.js";
import type { Settings } from "../../settings.js";
import { postComment } from "../reporting/comments.js";
import type { CommandContext } from "../runner-deps.js";

/** What automerge needs of a command: the PR's GitHub, its log, and the merge method setting. */
export type AutomergeContext = Pick<CommandContext, "github" | "pullNumber" | "log"> & {
  deps: { settings: Pick<Settings, "automergeMethod"> };
};

function done(state: ProjectState, headSha: string): boolean {
  if (state.headSha !== headSha || state.plan !== "success") return false;
  return state.apply === "success" || (!state.hasChanges && state.apply === "none");
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Merge the pull request if the repo asks for it and `states` (every stored project of the PR,
 * read after the apply) are all done. Returns what happened, for the caller's logs and tests.
 */
export async function automergeAfterApply(
  ctx: AutomergeContext,
  pull: Pick<PullRequestInfo, "number" | "headSha" | "headRef" | "isFork">,
  config: ResolvedRepoConfig,
  states: readonly ProjectState[],
  choice?: { disabled: true } | { method: MergeMethod },
): Promise<"merged" | "failed" | "skipped"> {
  if (!config.automerge) return "skipped";
  if (choice && "disabled" in choice) {
    ctx.log.info({ pull: pull.number }, "automerge: disabled for this apply (--auto-merge-disabled)");
    return "skipped";
  }
  const waiting = states.filter((s) => !done(s, pull.headSha));
  if (states.length === 0 || waiting.length > 0) {
    ctx.log.debug({ pull: pull.number, waiting: waiting.map((s) => s.project) }, "automerge: not every project is applied");
    return "skipped";
  }

  const method = choice && "method" in choice ? choice.method : ctx.deps.settings.automergeMethod;
  let result: { merged: boolean; message: string };
  try {
    result = await ctx.github.mergePull(pull.number, { method, sha: pull.headSha });
  } catch (error) {
    result = { merged: false, message: errorMessage(error) };
  }
  if (!result.merged) {
    ctx.log.warn({ pull: pull.number, method, message: result.message }, "automerge: GitHub did not merge");
    await postComment(ctx, `Automerging failed: ${result.message}`);
    return "failed";
  }
  ctx.log.info({ pull: pull.number, method, sha: pull.headSha }, "automerge: merged");

  const lines = ["Automatically merged because all plans were successfully applied."];
  const deleteBranch = states.every((s) => projectSettings(config, s.project).deleteSourceBranchOnMerge);
  if (deleteBranch && !pull.isFork && pull.headRef) {
    try {
      await ctx.github.deleteBranch(pull.headRef);
      lines.push(`Deleted the source branch \`${pull.headRef}\`.`);
    } catch (error) {
      ctx.log.warn({ pull: pull.number, branch: pull.headRef, error: errorMessage(error) }, "automerge: branch not deleted");
      lines.push(`The source branch \`${pull.headRef}\` could not be deleted: ${errorMessage(error)}`);
    }
  }
  await postComment(ctx, lines.join("\n\n"));
  return "merged";
}
