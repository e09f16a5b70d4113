/**
 * What every step of one plan shares: the command, the request, the pull request, its check runs,
 * its checkout (made once, when first needed) and its changed files (read while the repo config
 * is, for a full plan).
 */
import type { ChangedFile, PullRequestInfo } from "../../../ports/github.js";
import type { Checkout } from "../../../ports/workspace.js";
import { truncateUtf8 } from "../../../render/truncate-utf8.js";
import { pullCheckout } from "../../pull-checkout.js";
import type { CheckReporter } from "../../reporting/check-reporter.js";
import { postComment } from "../../reporting/comments.js";
import type { CommandContext } from "../../runner-deps.js";
import type { PlanRequest } from "../plan-command.js";
import { noCarry, type CarryDecision } from "./carry-plans.js";

export interface PlanScope {
  ctx: CommandContext;
  req: PlanRequest;
  pull: PullRequestInfo;
  checks: CheckReporter;
  /** `owner/repo`, for logs and plan timings. */
  repoName: string;
  /** The request names projects: only their earlier plans are replaced. */
  targeted: boolean;
  /** The PR head's checkout, made on first use; rejects with `CheckoutFailed`. */
  checkout: () => Promise<Checkout>;
  /** The PR's changed files (a full plan's read started with the scope). */
  changedFiles: () => Promise<ChangedFile[]>;
  /** Why each chosen project is planned (by `projectKey`), set when the projects are chosen. */
  why: Map<string, string>;
  /** Inputs fingerprints, and the projects that keep their previous plan (`carry-plans.ts`). */
  carry: CarryDecision;
}

/** A checkout (or the token for it) could not be made; reported as such, not as an internal error. */
export class CheckoutFailed extends Error {}

/** The scope of one plan. A full plan starts reading the changed files at once. */
export function planScope(ctx: CommandContext, req: PlanRequest, pull: PullRequestInfo, checks: CheckReporter): PlanScope {
  let checkout: Checkout | undefined;
  const getCheckout = async (): Promise<Checkout> => {
    if (checkout) return checkout;
    try {
      checkout = await pullCheckout(ctx, pull);
      return checkout;
    } catch (error) {
      throw new CheckoutFailed((error as Error).message);
    }
  };
  // A full plan needs the changed files: read them while the config is read.
  const targeted = Boolean(req.dir || req.workspace || req.project);
  const filesRead = targeted ? undefined : ctx.github.listChangedFiles(pull.number);
  filesRead?.catch(() => undefined); // awaited in chooseProjects; unused when the config is invalid
  const changedFiles = () => filesRead ?? ctx.github.listChangedFiles(pull.number);
  const repoName = `${ctx.repo.owner}/${ctx.repo.repo}`;
  return { ctx, req, pull, checks, repoName, targeted, checkout: getCheckout, changedFiles, why: new Map(), carry: noCarry() };
}

/** No terraform ran because the checkout failed: say so on the PR and on `atoll/plan`. */
export async function reportCheckoutFailure(scope: PlanScope, message: string): Promise<void> {
  const { ctx, checks } = scope;
  await postComment(ctx, `**Atoll could not check out this pull request**, so no Terraform ran.\n\n\`\`\`\n${message}\n\`\`\``);
  await checks.setAggregate("plan", {
    status: "completed",
    conclusion: "failure",
    output: { title: "Checkout failed", summary: truncateUtf8(message, 60_000) },
  });
}
