/**
 * check_run buttons (requested_action) and "Re-run" (rerequested) on Atoll's own check runs.
 * The PR and project come from `external_id`: fork PRs' check-run payloads list no pull requests.
 */
import type { Probot } from "probot";
import { APPLY_ACTION, PLAN_ACTION, UNLOCK_ACTION } from "../render/check-run-output.js";
import { runApply } from "../runner/apply-command.js";
import { CheckReporter } from "../runner/check-reporter.js";
import { decodeExternalId } from "../runner/check-names.js";
import { findState, runPlan } from "../runner/plan-command.js";
import type { CommandContext } from "../runner/runner-deps.js";
import { runUnlock } from "../runner/unlock-command.js";
import type { Project } from "../projects/project.js";
import { repoAllowed } from "../settings.js";
import { commandContext, enqueuePullJob, type AppEnv } from "./app-env.js";

type ButtonCommand = "plan" | "apply" | "unlock" | "refresh";

/** `-p name`, or `-d dir -w ws` for unnamed projects (the two cannot be combined). */
function targetOf(project: Project | undefined) {
  if (!project) return { dir: "", workspace: "", project: "" };
  return project.name
    ? { dir: "", workspace: "", project: project.name }
    : { dir: project.dir, workspace: project.workspace, project: "" };
}

async function replan(ctx: CommandContext, project: Project | undefined, note: string) {
  const states = project ? await ctx.deps.store.listProjects(ctx.repo, ctx.pullNumber) : [];
  const extraArgs = project ? (findState(states, project)?.extraArgs ?? []) : [];
  await runPlan(ctx, { trigger: "comment", ...targetOf(project), extraArgs, verbose: false, notes: [note] });
}

async function refreshAggregates(ctx: CommandContext) {
  const pull = await ctx.github.getPull(ctx.pullNumber);
  await new CheckReporter(ctx, pull.headSha).refreshAggregates(await ctx.deps.store.listProjects(ctx.repo, pull.number));
}

export function registerCheckRunHandlers(app: Probot, env: AppEnv): void {
  const { settings } = env.deps;
  app.on(["check_run.requested_action", "check_run.rerequested"], async (context) => {
    const run = context.payload.check_run;
    const ref = decodeExternalId(run.external_id);
    if (!ref) return; // not one of Atoll's check runs
    if (!repoAllowed(settings.repoAllowlist, context.payload.repository.full_name)) return;

    let command: ButtonCommand;
    if (context.payload.action === "requested_action") {
      const id = context.payload.requested_action?.identifier;
      if (id === APPLY_ACTION) command = "apply";
      else if (id === PLAN_ACTION) command = "plan";
      else if (id === UNLOCK_ACTION) command = "unlock";
      else return;
    } else {
      // Re-run of a plan check plans again; of a project apply check applies that project's
      // current plan (same checks as a comment); of the aggregate apply check just recomputes it.
      command = ref.kind === "plan" ? "plan" : ref.project ? "apply" : "refresh";
    }
    const user = context.payload.sender.login;
    const ctx = commandContext(env, context, ref.pullNumber, user, settings.commandNames[0]);
    const how = context.payload.action === "requested_action" ? "button" : "re-run";
    const note = `Requested by @${user} with the check run's ${how} on \`${run.name}\`.`;
    enqueuePullJob(env, ctx, `${command} (${how})`, () => {
      switch (command) {
        case "plan":
          return replan(ctx, ref.project, note);
        case "apply":
          return runApply(ctx, {
            ...targetOf(ref.project),
            verbose: false,
            // A button on a plan check run applies exactly the plan that run shows.
            fromCheckRun: ref.kind === "plan" ? { id: run.id, headSha: run.head_sha } : { headSha: run.head_sha },
            notes: [note],
          });
        case "unlock":
          return runUnlock(ctx);
        case "refresh":
          return refreshAggregates(ctx);
      }
    });
  });
}
