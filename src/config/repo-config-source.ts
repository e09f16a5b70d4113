/**
 * Find, read and resolve the repo config at the PR head through the GitHub API, so a PR that
 * touches no Terraform never needs a checkout: one directory listing, plus one file read when a
 * config exists. The file is `atoll.yaml` or `atlantis.yaml` at the repo root, or the server
 * policy's `repo_config_file` for this repo.
 */
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import type { GitHubPort, PullRequestInfo } from "../ports/github.js";
import type { RepoRef } from "../ports/store.js";
import type { Settings } from "../settings.js";
import { resolveRepoConfig, type ResolvedRepoConfig } from "./apply-policy.js";
import type { ConfigIssue, ServerPolicy } from "./config-types.js";
import { loadRepoConfig, policyForRepo, type LoadRepoConfigOptions } from "./load-repo-config.js";

export const CONFIG_FILES = ["atoll.yaml", "atlantis.yaml"] as const;
const MISSPELLED: Record<string, string> = { "atoll.yml": "atoll.yaml", "atlantis.yml": "atlantis.yaml" };

/**
 * Which config file a repo root holds, by the server's rules: `atoll.yaml` or `atlantis.yaml`;
 * both, or only a `.yml` spelling, is a problem naming the right file. Shared with `atoll validate`.
 */
export function pickConfigFile(rootNames: readonly string[]): { file: string } | { issue: ConfigIssue } | { none: true } {
  const present = CONFIG_FILES.filter((f) => rootNames.includes(f));
  if (present.length > 1) return { issue: { file: present[0], message: `found both ${present.join(" and ")}; keep only one of them` } };
  if (present.length === 1) return { file: present[0] };
  const wrong = Object.keys(MISSPELLED).find((f) => rootNames.includes(f));
  if (wrong) return { issue: { file: wrong, message: `found "${wrong}" as config file; rename it to "${MISSPELLED[wrong]}" (.yaml extension)` } };
  return { none: true };
}

export type LoadedConfig =
  | { kind: "ok"; config: ResolvedRepoConfig; warnings: ConfigIssue[] }
  | { kind: "invalid"; file: string; errors: ConfigIssue[] };

export interface ConfigSourceContext {
  github: GitHubPort;
  repo: RepoRef;
  settings: Pick<Settings, "applyRequirements" | "githubWebUrl" | "parallelPlan">;
  policy?: ServerPolicy;
}

/** The repo identity and options the policy needs for this pull request. */
export function configOptions(ctx: ConfigSourceContext, pull: Pick<PullRequestInfo, "baseRef">): LoadRepoConfigOptions {
  return {
    ...(ctx.policy ? { policy: ctx.policy } : {}),
    repo: { host: new URL(ctx.settings.githubWebUrl).host, owner: ctx.repo.owner, name: ctx.repo.repo },
    ...(pull.baseRef ? { baseBranch: pull.baseRef } : {}),
    applyRequirements: ctx.settings.applyRequirements,
    parallelPlanDefault: ctx.settings.parallelPlan,
  };
}

/** Where the config files are read from: the GitHub API at the head commit, or a checkout. */
export interface ConfigFiles {
  /** Names in the repo root. */
  listRoot(): Promise<string[]>;
  /** A file's text, or null when it does not exist. */
  read(path: string): Promise<string | null>;
}

export function githubConfigFiles(github: GitHubPort, sha: string): ConfigFiles {
  return {
    listRoot: async () => (await github.listDirectory("", sha)) ?? [],
    read: (file) => github.getFileContent(file, sha),
  };
}

/**
 * Files of a checkout, for when pre-workflow hooks may have generated the config. Paths stay
 * inside the checkout (the policy's `repo_config_file` is validated relative, without `..`).
 */
export function checkoutConfigFiles(dir: string): ConfigFiles {
  return {
    listRoot: () => readdir(dir),
    read: async (file) => {
      const full = path.resolve(dir, file);
      if (!full.startsWith(path.resolve(dir) + path.sep)) return null;
      return readFile(full, "utf8").catch(() => null);
    },
  };
}

export async function fetchRepoConfig(
  ctx: ConfigSourceContext,
  pull: Pick<PullRequestInfo, "headSha" | "baseRef">,
  files: ConfigFiles = githubConfigFiles(ctx.github, pull.headSha),
): Promise<LoadedConfig> {
  const options = configOptions(ctx, pull);
  const policy = policyForRepo(options);
  const none = (): LoadedConfig => ({ kind: "ok", config: resolveRepoConfig(undefined, policy, { parallelPlanDefault: ctx.settings.parallelPlan }), warnings: [] });
  const parse = (file: string, text: string): LoadedConfig => {
    const loaded = loadRepoConfig(text, { ...options, fileName: file });
    return loaded.ok ? { kind: "ok", config: loaded.config, warnings: loaded.warnings } : { kind: "invalid", file, errors: loaded.errors };
  };

  if (policy.repoConfigFile) {
    const text = await files.read(policy.repoConfigFile);
    return text === null ? none() : parse(policy.repoConfigFile, text);
  }
  const picked = pickConfigFile(await files.listRoot());
  if ("issue" in picked) return { kind: "invalid", file: picked.issue.file, errors: [picked.issue] };
  if ("none" in picked) return none();
  const file = picked.file;
  const text = await files.read(file);
  return text === null ? none() : parse(file, text);
}
