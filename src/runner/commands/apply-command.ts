/**
 * `apply`: applies exactly the saved plans of the PR's current head commit. Refuses — never
 * re-plans silently — when there is no plan, when the plan was made for an older commit, or when
 * the user lacks write access.
 *
 * The steps (each in `apply/`): refusals and targets (`apply-targets.ts`), the config, checkout
 * and readiness every project shares (`apply-scope.ts`), each project's checks and terraform
 * (`apply-projects.ts`), the comment, check runs and auto-merge (`report-apply.ts`).
 */
import type { MergeMethod } from "../../ports/github.js";
import { renderPrComment } from "../../render/pr-comment.js";
import { pullGate } from "../gates/pull-gate.js";
import { CheckReporter } from "../reporting/check-reporter.js";
import { postComment, postParts } from "../reporting/comments.js";
import type { CommandContext } from "../runner-deps.js";
import { applyInOrder } from "./apply/apply-projects.js";
import { prepareApply } from "./apply/apply-scope.js";
import { plainRefusal, refused, requestRefusal, targetStates, type ApplyCall } from "./apply/apply-targets.js";
import { reportApply } from "./apply/report-apply.js";

export interface ApplyRequest {
  dir: string;
  workspace: string;
  project: string;
  verbose: boolean;
  /**
   * Set for buttons and re-runs: the commit of the check run that was clicked, and for a plan
   * check run its id — then only the plan that run shows may be applied.
   */
  fromCheckRun?: { id?: number; headSha: string };
  /** Lines added to the end of the apply comment (e.g. who pressed the button). */
  notes?: string[];
  /** `--auto-merge-disabled` / `--auto-merge-method m` of this apply. */
  autoMerge?: { disabled: true } | { method: MergeMethod };
}

export async function runApply(ctx: CommandContext, req: ApplyRequest): Promise<void> {
  const pull = await ctx.github.getPull(ctx.pullNumber);
  const call: ApplyCall = { ctx, req, pull };
  const refusal = pullGate(ctx.deps.settings, pull, "apply") ?? (await requestRefusal(call));
  if (refusal) return postComment(ctx, refusal);

  const states = await ctx.deps.store.listProjects(ctx.repo, pull.number);
  const targets = targetStates(ctx, req, states);
  if (typeof targets === "string") return postComment(ctx, `**Nothing applied:** ${targets}`);

  const checks = new CheckReporter(ctx, pull.headSha);
  // Nothing to do beyond explaining: no need to read the config.
  if (targets.every((t) => plainRefusal(call, t))) {
    const results = targets.map((t) => refused(t, plainRefusal(call, t)!));
    await postParts(ctx, renderPrComment({ command: "apply", name: ctx.name, results, headSha: pull.headSha, notes: req.notes ?? [] }));
    return;
  }
  const scope = await prepareApply(call, checks, targets);
  if (typeof scope === "string") return postComment(ctx, scope);
  const results = await applyInOrder(scope, targets);
  await reportApply(scope, results);
}
