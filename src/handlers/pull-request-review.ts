/** pull_request_review.submitted: refresh the apply readiness shown on the check runs. */
import type { Probot } from "probot";
import { onWebhook } from "./webhook-guard.js";
import { firstDelivery, jobTarget, type AppEnv, repoAdmitted } from "./app-env.js";

export function registerPullRequestReviewHandler(app: Probot, env: AppEnv): void {
  const { settings } = env;
  onWebhook(app, "pull_request_review.submitted", env.guard, async (context) => {
    if (!repoAdmitted(env, context.payload.repository.full_name)) return;
    if (!(await firstDelivery(env, context))) return;
    const pr = context.payload.pull_request;
    await env.jobs.submit(
      { ...jobTarget(context, pr.number, context.payload.sender.login, settings.commandNames[0]), kind: "review" },
      `delivery:${context.id}`,
    );
  });
}
