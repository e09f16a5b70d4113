/** pull_request: autoplan on open / reopen / ready for review / push; clean up on close. */
import type { Probot } from "probot";
import { toPullRequestInfo, type PullLike } from "../adapters/octokit-github.js";
import { runCloseCleanup } from "../runner/close-cleanup.js";
import { runPlan } from "../runner/plan-command.js";
import { repoAllowed } from "../settings.js";
import { commandContext, enqueuePullJob, type AppEnv } from "./app-env.js";

export function registerPullRequestHandlers(app: Probot, env: AppEnv): void {
  const { settings } = env.deps;

  app.on(
    ["pull_request.opened", "pull_request.reopened", "pull_request.ready_for_review", "pull_request.synchronize"],
    async (context) => {
      const pr = context.payload.pull_request;
      const fullName = context.payload.repository.full_name;
      if (!repoAllowed(settings.repoAllowlist, fullName)) {
        context.log.info({ repo: fullName }, "repository not in ATOLL_REPO_ALLOWLIST; not planning");
        return;
      }
      if (pr.draft && !settings.autoplanDrafts) {
        context.log.info({ pull: pr.number }, "draft pull request; autoplan skipped (ATOLL_AUTOPLAN_DRAFTS=false)");
        return;
      }
      const ctx = commandContext(env, context, pr.number, pr.user?.login ?? "", settings.commandNames[0]);
      const pull = toPullRequestInfo(pr as unknown as PullLike);
      enqueuePullJob(env, ctx, "autoplan", () =>
        runPlan(ctx, {
          trigger: "autoplan",
          dir: "",
          workspace: "",
          project: "",
          extraArgs: [],
          verbose: false,
          pull,
          // A fork PR is told why it is not planned when it opens, not on every push.
          quietRefusal: context.payload.action === "synchronize",
        }),
      );
    },
  );

  app.on("pull_request.closed", async (context) => {
    const pr = context.payload.pull_request;
    const ctx = commandContext(env, context, pr.number, context.payload.sender.login, settings.commandNames[0]);
    enqueuePullJob(env, ctx, "cleanup", () => runCloseCleanup(ctx));
  });
}
