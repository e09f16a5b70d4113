/**
 * `loadRepoConfig(yamlText, options?)`: the one call that turns a repo config file into what Atoll
 * runs with — parse and validate the YAML (`repo-config.ts`), check what it sets against the
 * server policy (`apply-policy.ts`) and resolve it. Pure and synchronous: the server, the
 * `atoll validate` command and library users all get the same messages.
 *
 * ```ts
 * import { loadRepoConfig } from "atoll";
 * const result = loadRepoConfig(text, { fileName: "atlantis.yaml", policy, repo: { owner: "acme", name: "infra" } });
 * if (!result.ok) for (const e of result.errors) console.error(`${e.file}:${e.line}: ${e.path}: ${e.message}`);
 * ```
 */
import type { ConfigIssue, Requirement, ServerPolicy } from "./config-types.js";
import { policyErrors, policyWarnings, resolveRepoConfig, type ResolvedRepoConfig } from "./apply-policy.js";
import { parseRepoConfig } from "./repo-config.js";
import { repoPolicyFor } from "./server-policy.js";

export interface RepoIdentity {
  /** GitHub host for `host/owner/repo` ids; default "github.com". */
  host?: string;
  owner: string;
  name: string;
}

export interface LoadRepoConfigOptions {
  /** Name used in messages; default "atlantis.yaml". */
  fileName?: string;
  /** The operator's policy (parsed with `parseServerPolicy`); default: Atlantis's built-in defaults. */
  policy?: ServerPolicy;
  /** Which repo the file belongs to, to pick the policy's `repos[]` entries. Unknown → only `/regex/` ids that match "host//". */
  repo?: RepoIdentity;
  /** The pull request's base branch (projects with a non-matching `branch` are dropped). */
  baseBranch?: string;
  /** Server-wide apply requirements (ATOLL_APPLY_REQUIREMENTS). */
  applyRequirements?: Requirement[];
  /** Plan in parallel when the repo does not set `parallel_plan` (ATOLL_PARALLEL_PLAN); default false, as in Atlantis. */
  parallelPlanDefault?: boolean;
}

export type LoadRepoConfigResult =
  | { ok: true; config: ResolvedRepoConfig; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[] };

/** The policy entries for a repo; shared by the server and `atoll validate`. */
export function policyForRepo(options: LoadRepoConfigOptions) {
  const repo = options.repo ?? { owner: "", name: "" };
  return repoPolicyFor(
    options.policy,
    { host: repo.host ?? "github.com", owner: repo.owner, name: repo.name, ...(options.baseBranch !== undefined ? { baseBranch: options.baseBranch } : {}) },
    { applyRequirements: options.applyRequirements ?? [] },
  );
}

export function loadRepoConfig(yamlText: string, options: LoadRepoConfigOptions = {}): LoadRepoConfigResult {
  const file = options.fileName ?? "atlantis.yaml";
  const parsed = parseRepoConfig(yamlText, file, options.baseBranch !== undefined ? { baseBranch: options.baseBranch } : {});
  const policy = policyForRepo(options);
  const byLine = (a: ConfigIssue, b: ConfigIssue) => (a.line ?? 0) - (b.line ?? 0);
  if (!parsed.ok) {
    // Every problem at once: what the policy says about the readable part too, in file order.
    const more = parsed.partial ? policyErrors(parsed.partial, policy, file) : [];
    const errors = [...parsed.errors, ...more].sort(byLine);
    return { ok: false, errors };
  }
  const errors = policyErrors(parsed.config, policy, file).sort(byLine);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: resolveRepoConfig(parsed.config, policy, {
      file,
      ...(options.baseBranch !== undefined ? { baseBranch: options.baseBranch } : {}),
      ...(options.parallelPlanDefault !== undefined ? { parallelPlanDefault: options.parallelPlanDefault } : {}),
    }),
    warnings: [...parsed.warnings, ...policyWarnings(parsed.config, policy, file)],
  };
}
