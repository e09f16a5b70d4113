/**
 * Git for the tests' own set-up and inspection (making fixture repos, reading refs): isolated from
 * the user's and system's configuration (the fake GitHub's `isolatedGitEnv`), with a fixed identity.
 */
import { execa } from "execa";
import { isolatedGitEnv } from "../fake-github/git-repos.js";

export const testGitEnv: Record<string, string> = isolatedGitEnv({
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
});

/** Run git in `cwd`; its trimmed stdout. Rejects on failure. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await execa("git", args, { cwd, env: testGitEnv, extendEnv: false });
  return r.stdout.trim();
}
