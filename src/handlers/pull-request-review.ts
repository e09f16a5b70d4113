/** pull_request_review.submitted: refresh the apply readiness shown on the plan check runs. */
import type { Probot } from "probot";
import { runReviewRefresh } from "../runner/review-refresh.js";
import { repoAllowed } from "../settings.js";
import { commandContext, enqueuePullJob, type AppEnv } from "./app-env.js";

export function registerPullRequestReviewHandler(app: Probot, env: AppEnv): void {
  const { settings } = env.deps;
  app.on("pull_request_review.submitted", async (context) => {
    if (!repoAllowed(settings.repoAllowlist, context.payload.repository.full_name)) return;
    const pr = context.payload.pull_request;
    const ctx = commandContext(env, context, pr.number, context.payload.sender.login, settings.commandNames[0]);
    enqueuePullJob(env, ctx, "review refresh", () => runReviewRefresh(ctx));
  });
}
