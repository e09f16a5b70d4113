/** issue_comment.created on a pull request: parse the command and queue it (plus an eyes reaction). */
import type { Probot } from "probot";
import { onWebhook } from "./webhook-guard.js";
import { parseComment } from "../commands/parse-comment.js";
import { firstDelivery, jobTarget, type AppEnv, repoAdmitted } from "./app-env.js";

export const NOT_ALLOWLISTED = "This repository is not on this Atoll server's allowlist (`ATOLL_REPO_ALLOWLIST`, or the `repo_allowlist` of its policy file), so Atoll does not run commands here.";

export function registerIssueCommentHandler(app: Probot, env: AppEnv): void {
  const { settings } = env;
  onWebhook(app, "issue_comment.created", env.guard, async (context) => {
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
    if (!(await firstDelivery(env, context))) return;

    const target = jobTarget(context, issue.number, sender.login, parsed.kind === "command" ? parsed.name : settings.commandNames[0]);
    await env.jobs.submit({ ...target, kind: "react", commentId: comment.id }, `react:${comment.id}`);

    // One job per comment id: a comment is never run twice, whatever happens to deliveries.
    const once = `comment:${comment.id}`;
    if (!repoAdmitted(env, repository.full_name)) {
      await env.jobs.submit({ ...target, kind: "reply", commentId: comment.id, body: NOT_ALLOWLISTED }, once);
    } else if (parsed.kind === "reply") {
      await env.jobs.submit({ ...target, kind: "reply", commentId: comment.id, body: parsed.body }, once);
    } else {
      // `cancel` is never refused for a full queue: that is when it is needed most.
      const backlog = parsed.command === "cancel" ? 0 : await env.jobs.backlog();
      if (backlog >= settings.maxQueuedJobs) {
        const busy = `**Atoll is busy** (${backlog} jobs waiting), so \`${parsed.command}\` was not queued. Please try again in a few minutes.`;
        await env.jobs.submit({ ...target, kind: "reply", commentId: comment.id, body: busy }, once);
      } else {
        await env.jobs.submit({ ...target, kind: "command", commentId: comment.id, command: parsed }, once);
      }
    }
  });
}
