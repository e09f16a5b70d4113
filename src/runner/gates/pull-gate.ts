/** Refusals that apply to a whole pull request before any project is looked at. */
import type { PullRequestInfo } from "../../ports/github.js";
import type { Settings } from "../../settings.js";

export const FORK_REFUSAL =
  "Atoll does not run Terraform for pull requests from forks: `terraform plan` can execute code " +
  "from the pull request (external data sources, providers, local-exec in modules), with this " +
  "server's credentials. The operator can allow fork pull requests with `ATOLL_ALLOW_FORK_PRS=true`.";

export const CLOSED_REFUSAL = "Atoll commands can't be run on closed pull requests.";

/** Why `command` may not run on this pull request, or null when it may. */
export function pullGate(settings: Settings, pull: PullRequestInfo, command: string): string | null {
  if (command === "unlock") return null;
  if (pull.state === "closed") return CLOSED_REFUSAL;
  if (pull.isFork && !settings.allowForkPrs) return FORK_REFUSAL;
  return null;
}
