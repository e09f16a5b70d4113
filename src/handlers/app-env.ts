/**
 * What every webhook handler needs. Handlers stay thin and fast: they check the delivery was not
 * seen before, turn the event into a job spec, store it and return — the webhook is answered
 * before any GitHub call or terraform run.
 */
import type { Context } from "probot";
import type { AppIdentity } from "../app-identity.js";
import type { JobTarget } from "../jobs/job-spec.js";
import type { JobSubmitter } from "../jobs/job-service.js";
import type { Store } from "../ports/store.js";
import { repoAllowed, type Settings } from "../settings.js";
import type { ServerPolicy } from "../config/config-types.js";
import { allowlistAdmits } from "../config/server-policy.js";
import type { WebhookGuard } from "./webhook-guard.js";

export interface AppEnv {
  settings: Settings;
  /** The operator's server policy, whose `repo_allowlist` also limits the repos Atoll acts on. */
  policy?: ServerPolicy;
  store: Store;
  /** `backlog`: jobs waiting in the store (every replica's). */
  jobs: JobSubmitter & { backlog(): Promise<number> };
  identity: AppIdentity;
  /** Failures and the per-delivery hook every handler runs behind (`webhook-guard.ts`). */
  guard: WebhookGuard;
}

type RepoContext = Context<"pull_request" | "issue_comment" | "pull_request_review" | "check_run">;

/** The job target (installation, repo, PR, user) of an event; the guard made sure it names an installation. */
export function jobTarget(context: RepoContext, pullNumber: number, user: string, name: string): JobTarget {
  const { repository, installation } = context.payload as { repository: { name: string; owner: { login: string } }; installation: { id: number } };
  return { installationId: installation.id, owner: repository.owner.login, repo: repository.name, pullNumber, user, name };
}

/**
 * A redelivered webhook (same X-GitHub-Delivery id) is ignored: GitHub's "Redeliver" and retries
 * by proxies must not run a command twice.
 */
export async function firstDelivery(env: AppEnv, context: RepoContext): Promise<boolean> {
  if (await env.store.recordDelivery(context.id, context.name)) return true;
  context.log.info({ delivery: context.id }, "webhook delivery seen before; ignored");
  return false;
}

/** Whether Atoll acts on this repo: ATOLL_REPO_ALLOWLIST and the policy's `repo_allowlist` must both admit it. */
export function repoAdmitted(env: Pick<AppEnv, "settings" | "policy">, fullName: string): boolean {
  if (!repoAllowed(env.settings.repoAllowlist, fullName)) return false;
  const [owner = "", name = ""] = fullName.split("/", 2);
  return allowlistAdmits(env.policy?.repoAllowlist, { host: new URL(env.settings.githubWebUrl).host, owner, name });
}
