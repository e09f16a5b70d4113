/**
 * check_run buttons (requested_action) and "Re-run" (rerequested) on Atoll's own check runs.
 * The PR and project come from `external_id`: fork PRs' check-run payloads list no pull requests.
 */
import type { Probot } from "probot";
import { onWebhook } from "./webhook-guard.js";
import { APPLY_ACTION, PLAN_ACTION, UNLOCK_ACTION } from "../render/check-run-output.js";
import { decodeExternalId } from "../runner/reporting/check-names.js";
import { firstDelivery, jobTarget, type AppEnv, repoAdmitted } from "./app-env.js";

export function registerCheckRunHandlers(app: Probot, env: AppEnv): void {
  const { settings } = env;
  onWebhook(app, ["check_run.requested_action", "check_run.rerequested"], env.guard, async (context) => {
    const run = context.payload.check_run;
    const ref = decodeExternalId(run.external_id);
    if (!ref) return; // not one of Atoll's check runs
    if (!repoAdmitted(env, context.payload.repository.full_name)) return;

    let action: "plan" | "apply" | "unlock" | "refresh";
    if (context.payload.action === "requested_action") {
      const id = context.payload.requested_action?.identifier;
      if (id === APPLY_ACTION) action = "apply";
      else if (id === PLAN_ACTION) action = "plan";
      else if (id === UNLOCK_ACTION) action = "unlock";
      else return;
    } else {
      // Re-run of a plan check plans again; of a project apply check applies that project's
      // current plan (same checks as a comment); of the aggregate apply check just recomputes it.
      action = ref.kind === "plan" ? "plan" : ref.project ? "apply" : "refresh";
    }
    if (!(await firstDelivery(env, context))) return;
    await env.jobs.submit(
      {
        ...jobTarget(context, ref.pullNumber, context.payload.sender.login, settings.commandNames[0]),
        kind: "check-run",
        action,
        via: context.payload.action === "requested_action" ? "button" : "re-run",
        checkRun: { id: run.id, name: run.name, headSha: run.head_sha, isPlanRun: ref.kind === "plan" },
        ...(ref.project ? { project: ref.project } : {}),
      },
      `delivery:${context.id}`,
    );
  });
}
