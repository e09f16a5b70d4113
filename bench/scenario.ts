/**
 * What the benchmark plans: Terraform projects that need no provider download (the built-in
 * `terraform_data` resource, local backend), a monorepo config, a repository with a large
 * history written with `git fast-import`, and installation tokens minted from the fake GitHub.
 */
import { spawn } from "node:child_process";
import { createSign, randomBytes } from "node:crypto";
import type { FakeGitHub, FakeRepo } from "../test/fake-github/server.js";
import { testAppCredentials } from "../test/fake-github/app-credentials.js";
import { isolatedGitEnv } from "../test/fake-github/git-repos.js";

/** One `terraform_data` resource per project; the local backend keeps state in the checkout (empty each time). */
export function projectTf(input: string, count = 1): string {
  const countLine = count === 1 ? "" : `  count = ${count}\n`;
  const value = count === 1 ? input : `${input}-\${count.index}`;
  return `terraform {\n  backend "local" {}\n}\n\nresource "terraform_data" "r" {\n${countLine}  input = "${value}"\n}\n`;
}

export function projectDirs(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `projects/p${String(i + 1).padStart(2, "0")}`);
}

/** `atoll.yaml` for the monorepo: every project listed, planned in parallel. */
export function monorepoConfig(dirs: string[]): string {
  return ["version: 3", "parallel_plan: true", "projects:", ...dirs.map((d) => `  - dir: ${d}`), ""].join("\n");
}

// ------------------------------------------------------------------------------------- tokens

const b64url = (v: string | Buffer) => Buffer.from(v).toString("base64url");

/** An app JWT signed with the test app's key (what the fake verifies). */
export function appJwt(appId: number, privateKey = testAppCredentials().privateKey): string {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ iat: now - 30, exp: now + 540, iss: appId }));
  const sig = createSign("RSA-SHA256").update(`${head}.${body}`).sign(privateKey);
  return `${head}.${body}.${b64url(sig)}`;
}

/** An installation token from the fake, minted exactly as Atoll mints its clone tokens. */
export async function mintInstallationToken(github: FakeGitHub, installationId = 1): Promise<string> {
  const res = await fetch(`${github.apiUrl}/app/installations/${installationId}/access_tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${appJwt(github.appId)}`, accept: "application/vnd.github+json", "user-agent": "atoll-bench" },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 201) throw new Error(`minting an installation token failed: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

// ------------------------------------------------------------------------------------- history

export interface HistoryOptions {
  /** Commits to add on top of the branch tip. */
  commits: number;
  /** Bytes of (incompressible) content written per commit. */
  bytesPerCommit: number;
  /** Distinct files the commits rotate over (the tip tree holds this many). */
  files: number;
  branch?: string;
  /** Commit timestamps start here (seconds since epoch) and advance a minute per commit. */
  startEpoch?: number;
}

/**
 * Append `commits` commits to `branch` of the fake's bare repository with one `git fast-import`
 * (seconds for thousands of commits). Content is random, so the pack really is
 * `commits × bytesPerCommit` large. Returns the pack size added, in bytes (approximate: the
 * stream's data size).
 */
export async function appendHistory(repo: FakeRepo, opts: HistoryOptions): Promise<number> {
  const branch = opts.branch ?? repo.defaultBranch;
  const tip = await repo.tryResolve(`refs/heads/${branch}`);
  const child = spawn("git", ["fast-import", "--quiet", "--done"], {
    env: isolatedGitEnv({ GIT_DIR: repo.path }),
    stdio: ["pipe", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolveExit(code ?? 1));
  });
  const write = (chunk: string | Buffer) =>
    new Promise<void>((resolveWrite, reject) => {
      child.stdin.write(chunk, (e) => (e ? reject(e) : resolveWrite()));
    });

  let epoch = opts.startEpoch ?? 1_600_000_000;
  let bytes = 0;
  for (let i = 0; i < opts.commits; i++) {
    const file = `history/d${String(i % 20).padStart(2, "0")}/f${String(i % opts.files).padStart(4, "0")}.bin`;
    const content = randomBytes(opts.bytesPerCommit);
    const message = `history commit ${i + 1}\n`;
    const parts: Array<string | Buffer> = [
      `commit refs/heads/${branch}\n`,
      `committer Bench <bench@atoll.invalid> ${epoch} +0000\n`,
      `data ${Buffer.byteLength(message)}\n${message}`,
    ];
    if (i === 0 && tip) parts.push(`from ${tip}\n`);
    parts.push(`M 100644 inline ${file}\n`, `data ${content.length}\n`, content, "\n");
    await write(Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p))));
    bytes += content.length;
    epoch += 60;
  }
  await write("done\n");
  child.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${stderr.slice(-2000)}`);
  return bytes;
}

/** Size of the bare repository's object store in bytes (`git count-objects -v`). */
export async function repoSizeBytes(repo: FakeRepo): Promise<{ commits: number; packBytes: number }> {
  const out = await repo.git(["count-objects", "-v"]);
  const kib = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, "m").exec(out)?.[1] ?? 0);
  const commits = Number((await repo.git(["rev-list", "--count", "--all"])).trim());
  return { commits, packBytes: (kib("size-pack") + kib("size")) * 1024 };
}
