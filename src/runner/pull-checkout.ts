/** The PR head's checkout: reused when it exists (no token minted), fetched otherwise. */
import type { PullRequestInfo } from "../ports/github.js";
import type { Checkout } from "../ports/workspace.js";
import type { CommandContext } from "./runner-deps.js";

export async function pullCheckout(ctx: CommandContext, pull: PullRequestInfo): Promise<Checkout> {
  const { workspaces } = ctx.deps;
  const existing = await workspaces.find(ctx.repo.owner, ctx.repo.repo, pull.number, pull.headSha);
  if (existing) return existing;
  return workspaces.checkout({
    owner: ctx.repo.owner,
    repo: ctx.repo.repo,
    pullNumber: pull.number,
    sha: pull.headSha,
    cloneUrl: pull.cloneUrl,
    token: await ctx.github.createCloneToken(),
  });
}
