import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import {
  buildGitEnv,
  createGitWorkspace,
  gitCheckoutCommands,
  sanitizeSegment,
  validateCloneUrl,
} from "../../src/adapters/git-workspace.js";
import { basicAuthValue } from "../../src/adapters/redact.js";
import { createGitHttpHandler } from "../helpers/git-http-backend.js";

const FAKE_GIT = fileURLToPath(new URL("../fixtures/fake-git.sh", import.meta.url));
const TOKEN = "ghs_TestInstallationToken0123456789abcdef";
const B64 = basicAuthValue(TOKEN);

/** Environment for the git commands the tests themselves run (fixture set-up, inspection). */
const testGitEnv = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
};

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await execa("git", args, { cwd, env: testGitEnv, extendEnv: false });
  return r.stdout.trim();
}

/** Every file below `dir`, recursively. */
async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await allFiles(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

async function filesContaining(dir: string, needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const file of await allFiles(dir)) {
    const content = await readFile(file);
    if (needles.some((n) => content.includes(n))) hits.push(file);
  }
  return hits;
}

let work: string;
let server: http.Server;
let cloneUrl: string;
let requests: Array<{ path: string; authorized: boolean }>;
let sha1: string;
let sha2: string;
let root: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "atoll-git-workspace-"));
  const projectRoot = path.join(work, "server");
  const bare = path.join(projectRoot, "acme", "infra.git");
  await mkdir(bare, { recursive: true });
  await git(bare, "init", "-q", "--bare");
  // GitHub lets clients fetch any commit by SHA; git's default would refuse.
  await git(bare, "config", "uploadpack.allowAnySHA1InWant", "true");

  const src = path.join(work, "src");
  await mkdir(path.join(src, "modules"), { recursive: true });
  await git(src, "init", "-q");
  await writeFile(path.join(src, "main.tf"), 'resource "terraform_data" "a" {}\n');
  await writeFile(path.join(src, "modules", "m.tf"), "# module\n");
  await git(src, "add", "-A");
  await git(src, "commit", "-q", "-m", "first");
  sha1 = await git(src, "rev-parse", "HEAD");
  await writeFile(path.join(src, "main.tf"), 'resource "terraform_data" "b" {}\n');
  await git(src, "commit", "-q", "-am", "second");
  sha2 = await git(src, "rev-parse", "HEAD");
  await git(src, "push", "-q", bare, "HEAD:refs/heads/main");

  requests = [];
  const handler = createGitHttpHandler({
    projectRoot,
    isAuthorized: (h) => h === `Basic ${B64}`,
    onRequest: (info) => requests.push({ path: info.path, authorized: info.authorized }),
  });
  server = http.createServer((req, res) => {
    if (!handler(req, res)) {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cloneUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/acme/infra.git`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  requests.length = 0;
  root = await mkdtemp(path.join(work, "root-"));
});

const req = (over: Partial<Parameters<ReturnType<typeof createGitWorkspace>["checkout"]>[0]> = {}) => ({
  owner: "acme",
  repo: "infra",
  pullNumber: 7,
  sha: sha1,
  cloneUrl,
  token: TOKEN,
  ...over,
});

const fetches = () => requests.filter((r) => r.path.endsWith("/info/refs")).length;

describe("createGitWorkspace", () => {
  test("checks out the PR head at the right SHA in the documented layout", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const co = await ws.checkout(req());
    expect(co).toEqual({
      dir: path.join(root, "acme", "infra", "pr-7", sha1, "repo"),
      artifactsDir: path.join(root, "acme", "infra", "pr-7", sha1, "artifacts"),
      sha: sha1,
      reused: false,
    });
    expect(await readFile(path.join(co.dir, "main.tf"), "utf8")).toBe('resource "terraform_data" "a" {}\n');
    expect(await readFile(path.join(co.dir, "modules", "m.tf"), "utf8")).toBe("# module\n");
    expect(await git(co.dir, "rev-parse", "HEAD")).toBe(sha1);
    expect(await git(co.dir, "status", "--porcelain")).toBe("");
    expect(await readdir(co.artifactsDir)).toEqual([]);
    // Every request carried the right credentials, and one fetch was enough.
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((r) => r.authorized)).toBe(true);
    expect(fetches()).toBe(1);
    // No temporary directory is left behind.
    expect(await readdir(path.join(root, "acme", "infra", "pr-7"))).toEqual([sha1]);
  });

  test("the token is nowhere on disk and the remote URL has no credentials", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const co = await ws.checkout(req());
    expect(await git(co.dir, "remote", "get-url", "origin")).toBe(cloneUrl);
    const gitFiles = await allFiles(path.join(co.dir, ".git"));
    expect(gitFiles).toContain(path.join(co.dir, ".git", "config"));
    expect(await filesContaining(path.join(co.dir, ".git"), [TOKEN, B64])).toEqual([]);
    expect(await filesContaining(root, [TOKEN, B64, "x-access-token"])).toEqual([]);
  });

  test("a wrong token fails with a clear error that does not contain the token", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const wrong = "ghs_WrongToken9876543210";
    const err = await ws.checkout(req({ token: wrong })).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^git fetch failed: /);
    expect(err!.message).toContain("the server rejected the installation token");
    expect(err!.message).not.toContain(wrong);
    expect(err!.message).not.toContain(basicAuthValue(wrong));
    expect(requests.some((r) => !r.authorized)).toBe(true);
    // Nothing half-done is left where find() would look, and the temporary directory is gone.
    expect(await ws.find("acme", "infra", 7, sha1)).toBeNull();
    expect(await readdir(path.join(root, "acme", "infra", "pr-7"))).toEqual([sha1]);
    expect(await readdir(path.join(root, "acme", "infra", "pr-7", sha1))).toEqual(["artifacts"]);
  });

  test("a second checkout at the same SHA is reused without touching the server", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const first = await ws.checkout(req());
    const count = requests.length;
    const second = await ws.checkout(req());
    expect(second).toEqual({ ...first, reused: true });
    expect(requests.length).toBe(count);

    // Also after a restart (a new adapter over the same directory).
    const third = await createGitWorkspace({ rootDir: root }).checkout(req());
    expect(third).toEqual({ ...first, reused: true });
    expect(requests.length).toBe(count);
  });

  test("a second SHA gets its own directory", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const a = await ws.checkout(req());
    const b = await ws.checkout(req({ sha: sha2 }));
    expect(b.dir).toBe(path.join(root, "acme", "infra", "pr-7", sha2, "repo"));
    expect(b.reused).toBe(false);
    expect(await readFile(path.join(b.dir, "main.tf"), "utf8")).toBe('resource "terraform_data" "b" {}\n');
    expect(await readFile(path.join(a.dir, "main.tf"), "utf8")).toBe('resource "terraform_data" "a" {}\n');
    expect(fetches()).toBe(2);
  });

  test("concurrent checkouts of the same PR and SHA fetch once", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const results = await Promise.all([ws.checkout(req()), ws.checkout(req()), ws.checkout(req())]);
    expect(fetches()).toBe(1);
    expect(new Set(results.map((r) => r.dir)).size).toBe(1);
    expect(results.filter((r) => !r.reused)).toHaveLength(1);
    expect(await git(results[0].dir, "rev-parse", "HEAD")).toBe(sha1);
  });

  test("find returns existing checkouts only, without network", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    expect(await ws.find("acme", "infra", 7, sha1)).toBeNull();
    const co = await ws.checkout(req());
    const count = requests.length;
    expect(await ws.find("acme", "infra", 7, sha1)).toEqual({ ...co, reused: true });
    expect(await ws.find("acme", "infra", 7, sha1.toUpperCase())).toEqual({ ...co, reused: true });
    expect(await ws.find("acme", "infra", 7, sha2)).toBeNull();
    expect(await ws.find("acme", "infra", 8, sha1)).toBeNull();
    expect(requests.length).toBe(count);
  });

  test("a working tree whose HEAD moved is fetched again, keeping the artefacts", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const co = await ws.checkout(req());
    await writeFile(path.join(co.artifactsDir, "default.tfplan"), "plan");
    await writeFile(path.join(co.dir, ".git", "HEAD"), `${sha2}\n`);
    expect(await ws.find("acme", "infra", 7, sha1)).toBeNull();
    const again = await ws.checkout(req());
    expect(again).toEqual({ ...co, reused: false });
    expect(fetches()).toBe(2);
    expect(await git(again.dir, "rev-parse", "HEAD")).toBe(sha1);
    expect(await readFile(path.join(co.artifactsDir, "default.tfplan"), "utf8")).toBe("plan");
  });

  test("removePull deletes every checkout of the PR and is safe when there is none", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await ws.checkout(req());
    await ws.checkout(req({ sha: sha2 }));
    await ws.checkout(req({ pullNumber: 8 }));
    await ws.removePull("acme", "infra", 7);
    expect(await readdir(path.join(root, "acme", "infra"))).toEqual(["pr-8"]);
    expect(await ws.find("acme", "infra", 7, sha1)).toBeNull();
    expect(await ws.find("acme", "infra", 8, sha1)).not.toBeNull();
    await expect(ws.removePull("acme", "infra", 7)).resolves.toBeUndefined();
    await expect(ws.removePull("nobody", "nothing", 1)).resolves.toBeUndefined();
  });

  test("a clone URL with credentials is refused before any request", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const withUserinfo = cloneUrl.replace("http://", `http://x-access-token:${TOKEN}@`);
    const err = await ws.checkout(req({ cloneUrl: withUserinfo })).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/must not contain credentials/);
    expect(err?.message).not.toContain(TOKEN);
    expect(requests).toEqual([]);
    expect(() => validateCloneUrl("https://user@github.com/a/b.git")).toThrow(/credentials/);
    expect(() => validateCloneUrl("ext::sh -c touch% /tmp/pwned")).toThrow();
    expect(() => validateCloneUrl("file:///etc")).toThrow(/scheme/);
  });

  test("invalid SHAs and pull numbers are rejected; names cannot escape the root", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await expect(ws.checkout(req({ sha: "--upload-pack=evil" }))).rejects.toThrow(/invalid commit SHA/);
    await expect(ws.checkout(req({ pullNumber: -1 }))).rejects.toThrow(/invalid pull request number/);
    expect(sanitizeSegment("..")).not.toBe("..");
    expect(sanitizeSegment("a/../b")).toBe("a_.._b");
    expect(sanitizeSegment("my-org.io_x")).toBe("my-org.io_x");
    expect(requests).toEqual([]);
  });

  test("the token never appears in git's argv and only the fetch gets the header", async () => {
    const log = path.join(work, `argv-${Date.now()}.log`);
    const ws = createGitWorkspace({
      rootDir: root,
      gitBinary: FAKE_GIT,
      baseEnv: { ...testGitEnv, FAKE_GIT_LOG: log },
    });
    const co = await ws.checkout(req());
    expect(await git(co.dir, "rev-parse", "HEAD")).toBe(sha1);
    const lines = (await readFile(log, "utf8")).trim().split("\n");
    expect(lines).toEqual([
      "ARGV:init -q",
      `ARGV:remote add origin ${cloneUrl}`,
      `ARGV:fetch -q --depth=1 --no-tags --no-recurse-submodules origin ${sha1} [auth-header]`,
      "ARGV:checkout -q --detach FETCH_HEAD",
    ]);
    for (const cmd of gitCheckoutCommands(cloneUrl, sha1)) {
      expect(cmd.args.join(" ")).not.toContain(TOKEN);
      expect(cmd.args.join(" ")).not.toContain(B64);
    }
  });

  test("git's error output is redacted", async () => {
    const log = path.join(work, `argv-fail-${Date.now()}.log`);
    const ws = createGitWorkspace({
      rootDir: root,
      gitBinary: FAKE_GIT,
      baseEnv: { ...testGitEnv, FAKE_GIT_LOG: log, FAKE_GIT_FAIL_FETCH: "1" },
    });
    const err = await ws.checkout(req()).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^git fetch failed: /);
    expect(err?.message).toContain("simulated fetch failure");
    // The fake git printed its environment, header included; it must come out redacted.
    expect(err?.message).toContain("=Authorization: Basic ***");
    expect(err?.message).not.toContain(TOKEN);
    expect(err?.message).not.toContain(B64);
  });

  test("buildGitEnv: no prompts, no system config, no stray GIT_* or Atoll secrets", () => {
    const env = buildGitEnv(
      { PATH: "/bin", GIT_DIR: "/elsewhere", GIT_TRACE_CURL: "1", GIT_SSL_CAINFO: "/ca.pem", PRIVATE_KEY: "k", WEBHOOK_SECRET: "w" },
      TOKEN,
    );
    expect(env.GIT_DIR).toBeUndefined();
    expect(env.GIT_TRACE_CURL).toBeUndefined();
    expect(env.PRIVATE_KEY).toBeUndefined();
    expect(env.WEBHOOK_SECRET).toBeUndefined();
    expect(env.GIT_SSL_CAINFO).toBe("/ca.pem");
    expect(env.GIT_TERMINAL_PROMPT).toBe("0");
    expect(env.GIT_ASKPASS).toBe("");
    expect(env.GIT_CONFIG_NOSYSTEM).toBe("1");
    const config = Array.from({ length: Number(env.GIT_CONFIG_COUNT) }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`], env[`GIT_CONFIG_VALUE_${i}`]]);
    expect(config).toContainEqual(["http.extraHeader", `Authorization: Basic ${B64}`]);
    expect(config).toContainEqual(["credential.helper", ""]);
    const noToken = buildGitEnv({ PATH: "/bin" });
    expect(Object.values(noToken).some((v) => v.includes("Authorization"))).toBe(false);
  });
});
