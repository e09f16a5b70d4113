/** issue_comment.created on a pull request: parse the command and queue it. */
import type { Probot } from "probot";
import { parseComment, type CommandRequest } from "../commands/parse-comment.js";
import { runApply } from "../runner/apply-command.js";
import { postComment } from "../runner/comments.js";
import { runPlan } from "../runner/plan-command.js";
import type { CommandContext } from "../runner/runner-deps.js";
import { runUnlock } from "../runner/unlock-command.js";
import { runVersion } from "../runner/version-command.js";
import { repoAllowed } from "../settings.js";
import { commandContext, enqueuePullJob, enqueueSideJob, type AppEnv } from "./app-env.js";

export const NOT_ALLOWLISTED = "This repository is not on this Atoll server's allowlist (`ATOLL_REPO_ALLOWLIST`), so Atoll does not run commands here.";

export function runCommentCommand(ctx: CommandContext, cmd: CommandRequest): Promise<void> {
  const target = { dir: cmd.dir, workspace: cmd.workspace, project: cmd.project };
  switch (cmd.command) {
    case "plan":
      return runPlan(ctx, { trigger: "comment", ...target, extraArgs: cmd.extraArgs, verbose: cmd.verbose });
    case "apply":
      return runApply(ctx, { ...target, verbose: cmd.verbose });
    case "unlock":
      return runUnlock(ctx);
    case "version":
      return runVersion(ctx, target);
  }
}

export function registerIssueCommentHandler(app: Probot, env: AppEnv): void {
  const { settings } = env.deps;
  app.on("issue_comment.created", async (context) => {
    const { issue, comment, sender, repository } = context.payload;
    if (!issue.pull_request) return; // comments on plain issues are not for Atoll
    // The slug is only needed for `@slug plan` and to recognise our own comments; look it up lazily.
    const mention = /^[\s`]*@/.test(comment.body);
    const slug = settings.appSlug ?? (sender.type === "Bot" || mention ? await env.identity.slug() : undefined);
    if (slug && sender.login.toLowerCase() === `${slug}[bot]`.toLowerCase()) return;

    const parsed = parseComment(comment.body, {
      names: settings.commandNames,
      ...(slug ? { botLogin: `${slug}[bot]` } : {}),
      allowCommands: settings.allowCommands,
      blockedExtraArgs: settings.blockedExtraArgs,
    });
    if (parsed.kind === "ignore") return;

    const name = parsed.kind === "command" ? parsed.name : settings.commandNames[0];
    const ctx = commandContext(env, context, issue.number, sender.login, name);
    enqueueSideJob(env, `reaction:${comment.id}`, "reaction", ctx.log, () => ctx.github.addReaction(comment.id, "eyes"));

    if (!repoAllowed(settings.repoAllowlist, repository.full_name)) {
      enqueueSideJob(env, `reply:${comment.id}`, "reply", ctx.log, () => postComment(ctx, NOT_ALLOWLISTED));
      return;
    }
    if (parsed.kind === "reply") {
      enqueueSideJob(env, `reply:${comment.id}`, "reply", ctx.log, () => postComment(ctx, parsed.body));
      return;
    }
    enqueuePullJob(env, ctx, parsed.command, () => runCommentCommand(ctx, parsed));
  });
}
