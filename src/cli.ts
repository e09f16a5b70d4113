#!/usr/bin/env node
/**
 * `atoll` command line: offline checks for pre-commit hooks and CI.
 *
 *   npx atoll validate [path] [--policy <file>] [--repo <owner/name>] [--branch <base>]
 *
 * `path` is a repo directory (default `.`; its `atoll.yaml` or `atlantis.yaml` is checked with
 * the server's rules: both present, or a `.yml` spelling, is an error; with `--policy`, the
 * policy's `repo_config_file` for the repo instead, when it sets one) or a config file. With
 * `--policy`, the repo config is also checked against that server policy file (as the server
 * would for `--repo`); the policy file itself is always validated. Messages are the ones the
 * server posts on pull requests, one per line as `file:line: key.path: message`.
 *
 * Exit codes: 0 valid, 1 invalid, 2 usage error or unreadable input.
 */
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CONFIG_FILES, pickConfigFile } from "./config/repo-config-source.js";
import type { ConfigIssue } from "./config/config-types.js";
import { loadRepoConfig, policyForRepo } from "./config/load-repo-config.js";
import { loadServerPolicyFile } from "./config/server-policy.js";
import { formatConfigIssue } from "./config/yaml-reader.js";

const USAGE = `Usage: atoll validate [path] [--policy <file>] [--repo <owner/name>] [--branch <base-branch>]

Checks a repo's atoll.yaml / atlantis.yaml (path: a repo directory, default ".", or the file itself),
optionally against a server policy file, with the same messages Atoll posts on pull requests.

Options:
  --policy <file>       server policy file (ATOLL_POLICY_FILE) to check the repo config against
  --repo <owner/name>   which repo the config belongs to (picks the policy's repos[] entries)
  --host <host>         GitHub host for policy ids (default github.com)
  --branch <name>       base branch (drops projects whose 'branch' does not match)
  -q, --quiet           print only problems
  -h, --help            show this help`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Find the config file in a directory with the server's rules. */
async function findConfig(dir: string): Promise<{ file: string } | { issue: ConfigIssue } | { none: true }> {
  const picked = pickConfigFile(await readdir(dir));
  return "file" in picked ? { file: path.join(dir, picked.file) } : picked;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        policy: { type: "string" },
        repo: { type: "string" },
        host: { type: "string" },
        branch: { type: "string" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    io.err(`atoll: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [command, target = ".", ...rest] = positionals;
  if (command !== "validate" || rest.length > 0) {
    io.err(command ? `atoll: unknown command or extra arguments: ${positionals.join(" ")}\n\n${USAGE}` : USAGE);
    return 2;
  }
  let repo: { owner: string; name: string; host?: string } | undefined;
  if (values.repo !== undefined) {
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(values.repo);
    if (!m) {
      io.err(`atoll: --repo must look like owner/name, got "${values.repo}"`);
      return 2;
    }
    repo = { owner: m[1], name: m[2], ...(values.host ? { host: values.host } : {}) };
  }

  const problems: string[] = [];
  let policy;
  if (values.policy !== undefined) {
    const loaded = await loadServerPolicyFile(values.policy);
    if (!loaded.ok) {
      for (const e of loaded.errors) io.err(formatConfigIssue(e));
      io.err(`${values.policy}: invalid server policy (${loaded.errors.length} problem${loaded.errors.length === 1 ? "" : "s"})`);
      return 1;
    }
    for (const w of loaded.warnings) io.err(`warning: ${formatConfigIssue(w)}`);
    policy = loaded.policy;
  }

  // The policy's `repo_config_file` for this repo replaces the usual names, as on the server.
  const configFile = policy
    ? policyForRepo({ policy, ...(repo ? { repo } : {}), ...(values.branch !== undefined ? { baseBranch: values.branch } : {}) }).repoConfigFile
    : undefined;
  let file: string;
  try {
    const info = await stat(target);
    if (info.isDirectory() && configFile !== undefined) {
      file = path.join(target, configFile);
      if (!(await stat(file).then((s) => s.isFile(), () => false))) {
        if (!values.quiet) io.out(`${target}: no ${configFile} found (the policy's repo_config_file); Atoll discovers projects from changed files.`);
        return 0;
      }
    } else if (info.isDirectory()) {
      const found = await findConfig(target);
      if ("issue" in found) {
        io.err(formatConfigIssue(found.issue));
        return 1;
      }
      if ("none" in found) {
        if (!values.quiet) io.out(`${target}: no ${CONFIG_FILES.join(" or ")} found; Atoll discovers projects from changed files.`);
        return 0;
      }
      file = found.file;
    } else file = target;
  } catch (e) {
    io.err(`atoll: cannot read ${target}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`);
    return 2;
  }
  const text = await readFile(file, "utf8");
  const result = loadRepoConfig(text, {
    fileName: file,
    ...(policy ? { policy } : {}),
    ...(repo ? { repo } : {}),
    ...(values.branch !== undefined ? { baseBranch: values.branch } : {}),
  });
  if (!result.ok) {
    for (const e of result.errors) problems.push(formatConfigIssue(e));
    for (const p of problems) io.err(p);
    io.err(`${file}: invalid (${problems.length} problem${problems.length === 1 ? "" : "s"})`);
    return 1;
  }
  for (const w of result.warnings) io.err(`warning: ${formatConfigIssue(w)}`);
  if (!values.quiet) {
    const projects = result.config.projects.length;
    const workflows = Object.keys(result.config.repo?.workflows ?? {}).length;
    io.out(`${file}: valid (${projects} project${projects === 1 ? "" : "s"}, ${workflows} custom workflow${workflows === 1 ? "" : "s"})`);
  }
  return 0;
}

/** Executed directly (the bin entry, possibly through a symlink), not imported by tests. */
function isMain(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  runCli(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) }).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`atoll: ${(e as Error).stack ?? String(e)}`);
      process.exit(2);
    },
  );
}
