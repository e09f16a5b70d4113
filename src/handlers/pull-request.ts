/** pull_request: autoplan on open / reopen / ready for review / push; clean up on close. */
import type { Probot } from "probot";
import { onWebhook } from "./webhook-guard.js";
import { toPullRequestInfo, type PullLike } from "../adapters/octokit-github.js";
import { firstDelivery, jobTarget, type AppEnv, repoAdmitted } from "./app-env.js";

export function registerPullRequestHandlers(app: Probot, env: AppEnv): void {
  const { settings } = env;

  onWebhook(
    app,
    ["pull_request.opened", "pull_request.reopened", "pull_request.ready_for_review", "pull_request.synchronize"],
    env.guard,
    async (context) => {
      const pr = context.payload.pull_request;
      const fullName = context.payload.repository.full_name;
      if (!repoAdmitted(env, fullName)) {
        context.log.info({ repo: fullName }, "repository not in ATOLL_REPO_ALLOWLIST or the policy repo_allowlist; not planning");
        return;
      }
      if (pr.draft && !settings.autoplanDrafts) {
        context.log.info({ pull: pr.number }, "draft pull request; autoplan skipped (ATOLL_AUTOPLAN_DRAFTS=false)");
        return;
      }
      if (!(await firstDelivery(env, context))) return;
      await env.jobs.submit(
        {
          ...jobTarget(context, pr.number, pr.user?.login ?? "", settings.commandNames[0]),
          kind: "autoplan",
          pull: toPullRequestInfo(pr as unknown as PullLike),
          // A fork PR is told why it is not planned when it opens, not on every push.
          quietRefusal: context.payload.action === "synchronize",
        },
        `delivery:${context.id}`,
      );
    },
  );

  onWebhook(app, "pull_request.closed", env.guard, async (context) => {
    if (!(await firstDelivery(env, context))) return;
    const pr = context.payload.pull_request;
    await env.jobs.submit(
      {
        ...jobTarget(context, pr.number, context.payload.sender.login, settings.commandNames[0]),
        kind: "cleanup",
        merged: Boolean(pr.merged),
      },
      `delivery:${context.id}`,
    );
  });
}
