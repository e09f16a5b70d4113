/** The PR head's checkout. */
import type { PullRequestInfo } from "../ports/github.js";
import type { Checkout, CheckoutRequest } from "../ports/workspace.js";
import type { CommandContext } from "./runner-deps.js";

function checkoutRequest(ctx: CommandContext, pull: PullRequestInfo): CheckoutRequest {
  return {
    owner: ctx.repo.owner,
    repo: ctx.repo.repo,
    pullNumber: pull.number,
    sha: pull.headSha,
    cloneUrl: pull.cloneUrl,
    // Asked for only when the commit has to be fetched.
    token: (opts) => ctx.github.cloneToken(opts),
  };
}

/** The PR head's checkout: reused when it exists, built otherwise (fetching only what is missing). */
export async function pullCheckout(ctx: CommandContext, pull: PullRequestInfo): Promise<Checkout> {
  const { workspaces } = ctx.deps;
  const existing = await workspaces.find(ctx.repo.owner, ctx.repo.repo, pull.number, pull.headSha);
  if (existing) return existing;
  return workspaces.checkout(checkoutRequest(ctx, pull));
}
