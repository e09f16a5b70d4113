/**
 * Server-side `pre_workflow_hooks` / `post_workflow_hooks` (Atlantis's repos.yaml): shell commands
 * the operator runs in the repo root of the checkout before and after a command — not per
 * project. The classic use is generating the repo config (terragrunt-atlantis-config), so pre
 * hooks run before the repo config is read, and Atoll then reads it from the checkout.
 *
 * As in Atlantis, a failing hook does not stop the command; unlike Atlantis (which only sets a
 * commit status), its output is shown in the command's comment so the failure is not invisible.
 */
import type { WorkflowHook } from "../../config/config-types.js";
import type { PullRequestInfo } from "../../ports/github.js";
import type { Checkout } from "../../ports/workspace.js";
import type { CommandContext } from "../runner-deps.js";
import { escapeCommentArgs } from "./workflow-env.js";

export interface HookOutcome {
  hook: WorkflowHook;
  ok: boolean;
  exitCode: number;
  timedOut: boolean;
  output: string;
}

/** The hooks that run for `command` (an empty `commands` list means every command). */
export function hooksFor(hooks: readonly WorkflowHook[], command: string): WorkflowHook[] {
  return hooks.filter((h) => h.commands.length === 0 || h.commands.includes(command));
}

export async function runWorkflowHooks(
  ctx: CommandContext,
  hooks: readonly WorkflowHook[],
  command: string,
  checkout: Checkout,
  pull: PullRequestInfo,
  commentArgs: string[] = [],
): Promise<HookOutcome[]> {
  const out: HookOutcome[] = [];
  const [headOwner, headName] = pull.headRepoFullName.split("/", 2);
  for (const hook of hooksFor(hooks, command)) {
    const r = await ctx.deps.shell.run({
      shell: hook.shell,
      shellArgs: hook.shellArgs,
      command: hook.run,
      cwd: checkout.dir,
      env: {
        BASE_REPO_NAME: ctx.repo.repo,
        BASE_REPO_OWNER: ctx.repo.owner,
        HEAD_REPO_NAME: headName ?? ctx.repo.repo,
        HEAD_REPO_OWNER: headOwner ?? ctx.repo.owner,
        HEAD_BRANCH_NAME: pull.headRef,
        HEAD_COMMIT: pull.headSha,
        BASE_BRANCH_NAME: pull.baseRef,
        PULL_NUM: String(pull.number),
        PULL_URL: pull.htmlUrl,
        PULL_AUTHOR: pull.author,
        DIR: checkout.dir,
        USER_NAME: ctx.user,
        COMMENT_ARGS: escapeCommentArgs(commentArgs),
        COMMAND_NAME: command,
      },
      timeoutMs: ctx.deps.settings.stepTimeoutMs,
      ...(ctx.onSpawn ? { onSpawn: ctx.onSpawn } : {}),
    });
    out.push({ hook, ok: r.exitCode === 0 && !r.timedOut, exitCode: r.exitCode, timedOut: r.timedOut, output: r.output });
  }
  return out;
}

/** Notes for the comment about hooks that failed (successful hooks stay quiet, as in Atlantis). */
export function hookNotes(outcomes: readonly HookOutcome[], when: "pre" | "post"): string[] {
  return outcomes
    .filter((o) => !o.ok)
    .map((o) => {
      const what = o.hook.description ? `${when}-workflow hook "${o.hook.description}"` : `${when}-workflow hook \`${o.hook.run}\``;
      const why = o.timedOut ? "timed out" : `failed with exit code ${o.exitCode}`;
      const tail = o.output.length > 4000 ? `…${o.output.slice(-4000)}` : o.output;
      return `The ${what} ${why}; the command went on (as in Atlantis).\n\n\`\`\`\n${tail.trimEnd()}\n\`\`\``;
    });
}
