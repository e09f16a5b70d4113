/**
 * Find and parse the repo config at the PR head through the GitHub API, so a PR that touches no
 * Terraform never needs a checkout. One directory listing, plus one file read when a config exists.
 */
import type { GitHubPort } from "../ports/github.js";
import { parseRepoConfig, type ConfigIssue, type RepoConfig } from "./repo-config.js";

export const CONFIG_FILES = ["atoll.yaml", "atlantis.yaml"] as const;
const MISSPELLED: Record<string, string> = { "atoll.yml": "atoll.yaml", "atlantis.yml": "atlantis.yaml" };

export type LoadedConfig =
  | { kind: "none" }
  | { kind: "ok"; file: string; config: RepoConfig; warnings: ConfigIssue[] }
  | { kind: "invalid"; file: string; errors: ConfigIssue[] };

export async function loadRepoConfig(github: GitHubPort, sha: string): Promise<LoadedConfig> {
  const root = (await github.listDirectory("", sha)) ?? [];
  const present = CONFIG_FILES.filter((f) => root.includes(f));
  if (present.length > 1) {
    return {
      kind: "invalid",
      file: present.join(" and "),
      errors: [{ file: present[0], message: `found both ${present.join(" and ")}; keep only one of them` }],
    };
  }
  if (present.length === 0) {
    const wrong = Object.keys(MISSPELLED).find((f) => root.includes(f));
    if (wrong) {
      return {
        kind: "invalid",
        file: wrong,
        errors: [{ file: wrong, message: `found "${wrong}" as config file; rename it to "${MISSPELLED[wrong]}" (.yaml extension)` }],
      };
    }
    return { kind: "none" };
  }
  const file = present[0];
  const text = await github.getFileContent(file, sha);
  if (text === null) return { kind: "none" };
  const parsed = parseRepoConfig(text, file);
  return parsed.ok
    ? { kind: "ok", file, config: parsed.config, warnings: parsed.warnings }
    : { kind: "invalid", file, errors: parsed.errors };
}
