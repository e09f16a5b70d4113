import http from "node:http";
import type { AddressInfo } from "node:net";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import {
  buildGitEnv,
  createGitWorkspace,
  gitCheckoutCommands,
  gitMirrorFetchArgs,
  originConfig,
  sanitizeSegment,
  validateCloneUrl,
} from "../../src/adapters/git-workspace.js";
import { basicAuthValue } from "../../src/adapters/redact.js";
import { createGitHttpHandler } from "../helpers/git-http-backend.js";
import { git, testGitEnv } from "../helpers/test-git.js";

const FAKE_GIT = fileURLToPath(new URL("../fixtures/fake-git.sh", import.meta.url));
const TOKEN = "ghs_TestInstallationToken0123456789abcdef";
const B64 = basicAuthValue(TOKEN);


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
let projectRoot: string;
let bare: string;
let src: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "atoll-git-workspace-"));
  projectRoot = path.join(work, "server");
  bare = path.join(projectRoot, "acme", "infra.git");
  await mkdir(bare, { recursive: true });
  await git(bare, "init", "-q", "--bare");
  // GitHub lets clients fetch any commit by SHA; git's default would refuse.
  await git(bare, "config", "uploadpack.allowAnySHA1InWant", "true");

  src = path.join(work, "src");
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
  token: async () => TOKEN,
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
    // No temporary directory is left behind; the repository's mirror sits next to the PR.
    expect(await readdir(path.join(root, "acme", "infra", "pr-7"))).toEqual([sha1]);
    expect((await readdir(path.join(root, "acme", "infra"))).sort()).toEqual(["mirror.git", "pr-7"]);
    // The working tree borrows the mirror's objects instead of copying them.
    expect((await readFile(path.join(co.dir, ".git", "objects", "info", "alternates"), "utf8")).trim()).toBe(
      path.join(root, "acme", "infra", "mirror.git", "objects"),
    );
    expect(await readdir(path.join(co.dir, ".git", "objects", "pack"))).toEqual([]);
  });

  test("the token is nowhere on disk or in the logs, and no config holds a URL with credentials", async () => {
    const logs: unknown[] = [];
    const logger = { info: (...a: unknown[]) => logs.push(a), warn: (...a: unknown[]) => logs.push(a) };
    const ws = createGitWorkspace({ rootDir: root, logger });
    const co = await ws.checkout(req());
    await ws.checkout(req({ pullNumber: 8, sha: sha2 }));
    expect(await git(co.dir, "remote", "get-url", "origin")).toBe(cloneUrl);
    const gitFiles = await allFiles(path.join(co.dir, ".git"));
    expect(gitFiles).toContain(path.join(co.dir, ".git", "config"));
    expect(await filesContaining(path.join(co.dir, ".git"), [TOKEN, B64])).toEqual([]);
    const mirror = path.join(root, "acme", "infra", "mirror.git");
    expect(await allFiles(mirror)).toContain(path.join(mirror, "config"));
    expect(await filesContaining(mirror, [TOKEN, B64, "x-access-token"])).toEqual([]);
    // The mirror has no remote at all; the checkout's origin is the plain clone URL.
    expect(await readFile(path.join(mirror, "config"), "utf8")).not.toContain("url");
    const urls = (await readFile(path.join(co.dir, ".git", "config"), "utf8")).match(/^\s*url\s*=.*$/gm);
    expect(urls?.map((l) => l.trim())).toEqual([`url = ${cloneUrl}`]);
    expect(await filesContaining(root, [TOKEN, B64, "x-access-token"])).toEqual([]);
    expect(logs).toHaveLength(2);
    const logText = JSON.stringify(logs);
    expect(logText).not.toContain(TOKEN);
    expect(logText).not.toContain(B64);
    expect(logs[0]).toEqual([expect.objectContaining({ pull: 7, sha: sha1, mirror: "created", durationMs: expect.any(Number) }), "git checkout ready"]);
    expect(logs[1]).toEqual([expect.objectContaining({ pull: 8, sha: sha2, mirror: "fetched" }), "git checkout ready"]);
  });

  test("a wrong token fails with a clear error that does not contain the token", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const wrong = "ghs_WrongToken9876543210";
    const asked: Array<boolean | undefined> = [];
    const err = await ws.checkout(req({ token: async (o) => (asked.push(o?.fresh), wrong) })).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^git fetch failed: /);
    expect(err!.message).toContain("the server rejected the installation token");
    expect(err!.message).not.toContain(wrong);
    expect(err!.message).not.toContain(basicAuthValue(wrong));
    expect(requests.some((r) => !r.authorized)).toBe(true);
    // The cached token was tried, then a fresh one, once.
    expect(asked).toEqual([undefined, true]);
    // Nothing half-done is left where find() would look, and the temporary directory is gone.
    expect(await ws.find("acme", "infra", 7, sha1)).toBeNull();
    expect(await readdir(path.join(root, "acme", "infra", "pr-7"))).toEqual([sha1]);
    expect(await readdir(path.join(root, "acme", "infra", "pr-7", sha1))).toEqual(["artifacts"]);
  });

  test("a rejected token is replaced by a fresh one, once", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const asked: Array<boolean | undefined> = [];
    const co = await ws.checkout(req({ token: async (o) => (asked.push(o?.fresh), o?.fresh ? TOKEN : "ghs_Revoked000") }));
    expect(await git(co.dir, "rev-parse", "HEAD")).toBe(sha1);
    expect(asked).toEqual([undefined, true]);
  });

  test("hasRepository: true once the repository has a local cache; the checkout logs its fetch and build times", async () => {
    const logs: Array<Record<string, unknown>> = [];
    const ws = createGitWorkspace({ rootDir: root, logger: { info: (f) => logs.push(f), warn: (f) => logs.push(f) } });
    expect(await ws.hasRepository("acme", "infra")).toBe(false);
    expect(await readdir(root)).toEqual([]);
    await ws.checkout(req());
    expect(await ws.hasRepository("acme", "infra")).toBe(true);
    expect(await ws.hasRepository("acme", "other")).toBe(false);
    expect(logs).toEqual([expect.objectContaining({ pull: 7, mirror: "created", durationMs: expect.any(Number), fetchMs: expect.any(Number), buildMs: expect.any(Number) })]);
    // Not fooled by a directory that is not a complete mirror.
    await mkdir(path.join(root, "acme", "half", "mirror.git"), { recursive: true });
    expect(await ws.hasRepository("acme", "half")).toBe(false);
  });

  test("removePull drops the closed PR's negotiation ref from the mirror", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await ws.checkout(req());
    await ws.checkout(req({ pullNumber: 8, sha: sha2 }));
    const mirror = path.join(root, "acme", "infra", "mirror.git");
    const refs = async () => (await git(mirror, "for-each-ref", "--format=%(refname)", "refs/atoll/pr/")).split("\n").filter(Boolean).sort();
    expect(await refs()).toEqual(["refs/atoll/pr/7", "refs/atoll/pr/8"]);
    await ws.removePull("acme", "infra", 7);
    expect(await refs()).toEqual(["refs/atoll/pr/8"]);
    // Packed refs are found too (an operator may have run `git pack-refs` in the mirror).
    await git(mirror, "pack-refs", "--all");
    await ws.removePull("acme", "infra", 8);
    expect(await refs()).toEqual([]);
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

  test("a working tree whose HEAD moved is rebuilt from the mirror, keeping the artefacts", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    const co = await ws.checkout(req());
    await writeFile(path.join(co.artifactsDir, "default.tfplan"), "plan");
    await writeFile(path.join(co.dir, ".git", "HEAD"), `${sha2}\n`);
    expect(await ws.find("acme", "infra", 7, sha1)).toBeNull();
    const again = await ws.checkout(req());
    expect(again).toEqual({ ...co, reused: false });
    expect(fetches()).toBe(1);
    expect(await git(again.dir, "rev-parse", "HEAD")).toBe(sha1);
    expect(await readFile(path.join(co.artifactsDir, "default.tfplan"), "utf8")).toBe("plan");
  });

  test("removePull deletes every checkout of the PR and is safe when there is none", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await ws.checkout(req());
    await ws.checkout(req({ sha: sha2 }));
    await ws.checkout(req({ pullNumber: 8 }));
    await ws.removePull("acme", "infra", 7);
    expect((await readdir(path.join(root, "acme", "infra"))).sort()).toEqual(["mirror.git", "pr-8"]);
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
    // `new URL` would strip these silently; in .git/config a newline would start a new entry.
    expect(() => validateCloneUrl("https://github.com/a/b.git\n[core]\n\thooksPath = /tmp")).toThrow(/control character/);
    expect(() => validateCloneUrl("https://github.com/a/\tb.git")).toThrow(/control character/);
  });

  test("the origin remote is written as git would read it back, whatever the URL holds", async () => {
    const dir = await mkdtemp(path.join(work, "origin-"));
    await git(dir, "init", "-q", "--template=");
    for (const url of [cloneUrl, 'https://ghe.example/o/r"x.git', "https://ghe.example/o/r;x#y.git", "https://ghe.example/o/r\\x.git"]) {
      await writeFile(path.join(dir, "origin.cfg"), originConfig(url));
      expect(await git(dir, "config", "--file", "origin.cfg", "remote.origin.url")).toBe(url);
      expect(await git(dir, "config", "--file", "origin.cfg", "remote.origin.fetch")).toBe("+refs/heads/*:refs/remotes/origin/*");
    }
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
    const co2 = await ws.checkout(req({ pullNumber: 8, sha: sha2 }));
    expect(await git(co2.dir, "rev-parse", "HEAD")).toBe(sha2);
    const mirror = path.join(root, "acme", "infra", "mirror.git");
    const lines = (await readFile(log, "utf8")).trim().split("\n");
    const [init, checkout] = gitCheckoutCommands(cloneUrl, sha1).map((a) => `ARGV:${a.join(" ")}`);
    const mirrorInit = lines.find((l) => l.startsWith("ARGV:init -q --bare --template= "));
    expect(mirrorInit).toMatch(new RegExp(`^ARGV:init -q --bare --template= ${path.join(root, "acme", "infra")}/\\.mirror-new-\\w+$`));
    expect(lines).toEqual([
      // PR 7: new mirror, fetch, working tree.
      mirrorInit,
      `ARGV:${gitMirrorFetchArgs(cloneUrl, sha1, 7).join(" ")} [auth-header]`,
      `ARGV:cat-file -e ${sha1}^{commit}`,
      init,
      checkout,
      // PR 8: sha2 is not in the mirror yet; only the fetch has the header. Nobody held the lock
      // meanwhile (no second check), and PR 7's ref is live (nothing to prune).
      `ARGV:cat-file -e ${sha2}^{commit}`,
      `ARGV:${gitMirrorFetchArgs(cloneUrl, sha2, 8).join(" ")} [auth-header]`,
      `ARGV:cat-file -e ${sha2}^{commit}`,
      init,
      checkout.replace(sha1, sha2),
    ]);
    expect(lines.join("\n")).not.toContain(TOKEN);
    expect(lines.join("\n")).not.toContain(B64);
    for (const args of [...gitCheckoutCommands(cloneUrl, sha1), gitMirrorFetchArgs(cloneUrl, sha1, 7)]) {
      expect(args.join(" ")).not.toContain(TOKEN);
      expect(args.join(" ")).not.toContain(B64);
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

// ------------------------------------------------------------------------------ the mirror cache

const mirrorOf = (r: string, repo = "infra") => path.join(r, "acme", repo, "mirror.git");

/** Git in the mirror (a bare repository). */
async function mgit(r: string, ...args: string[]): Promise<string> {
  return git(r, `--git-dir=${mirrorOf(r)}`, ...args);
}

let commitCounter = 0;
/** A new commit on top of sha2 that changes main.tf only, pushed to its own branch of the served repository. */
async function newCommit(): Promise<string> {
  const n = ++commitCounter;
  await git(src, "checkout", "-q", "--detach", sha2);
  await writeFile(path.join(src, "main.tf"), `resource "terraform_data" "c${n}" {}\n`);
  await git(src, "commit", "-q", "-am", `change ${n}`);
  const sha = await git(src, "rev-parse", "HEAD");
  await git(src, "push", "-q", bare, `HEAD:refs/heads/change-${n}`);
  return sha;
}

/** Number of objects in each pack of the mirror, by pack name. */
async function packObjectCounts(r: string): Promise<Map<string, number>> {
  const dir = path.join(mirrorOf(r), "objects", "pack");
  const out = new Map<string, number>();
  for (const name of (await readdir(dir)).filter((n) => n.endsWith(".idx"))) {
    const lines = await execa("git", ["show-index"], { inputFile: path.join(dir, name), env: testGitEnv, extendEnv: false });
    out.set(name, lines.stdout.trim().split("\n").length);
  }
  return out;
}

const exists = (p: string) => stat(p).then(
  () => true,
  () => false,
);

describe("createGitWorkspace: the per-repository mirror", () => {
  test("a second PR's checkout fetches nothing the mirror already has, even with the server unreachable", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await ws.checkout(req({ pullNumber: 7, sha: sha2 }));
    expect(fetches()).toBe(1);

    // sha1 is in sha2's history, which the mirror fetched in full.
    requests.length = 0;
    const co = await ws.checkout(req({ pullNumber: 8, sha: sha1 }));
    expect(requests).toEqual([]);
    expect(co.reused).toBe(false);
    expect(await git(co.dir, "rev-parse", "HEAD")).toBe(sha1);
    expect(await readFile(path.join(co.dir, "main.tf"), "utf8")).toBe('resource "terraform_data" "a" {}\n');
    expect(await git(co.dir, "status", "--porcelain")).toBe("");
    // The working tree has the history too (through the mirror), not just one commit.
    expect(await git(co.dir, "log", "--format=%s", sha2)).toBe("second\nfirst");

    // Nothing listens on port 1: any network access would fail the checkout.
    const offline = await ws.checkout(req({ pullNumber: 9, sha: sha2, cloneUrl: "http://127.0.0.1:1/acme/infra.git" }));
    expect(await git(offline.dir, "rev-parse", "HEAD")).toBe(sha2);
    expect(await git(offline.dir, "remote", "get-url", "origin")).toBe("http://127.0.0.1:1/acme/infra.git");

    // Also after a restart (a new adapter over the same data dir).
    const again = await createGitWorkspace({ rootDir: root }).checkout(req({ pullNumber: 10, sha: sha2 }));
    expect(await git(again.dir, "rev-parse", "HEAD")).toBe(sha2);
    expect(requests).toEqual([]);
  });

  test("a new commit is fetched incrementally: only its own objects", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await ws.checkout(req({ pullNumber: 7, sha: sha2 }));
    const before = await packObjectCounts(root);
    expect([...before.values()].reduce((a, b) => a + b, 0)).toBe(8); // 2 commits, 4 trees, 2 main.tf, 1 m.tf − shared tree

    const sha3 = await newCommit();
    requests.length = 0;
    const co = await ws.checkout(req({ pullNumber: 8, sha: sha3 }));
    expect(fetches()).toBe(1);
    expect(await git(co.dir, "rev-parse", "HEAD")).toBe(sha3);
    expect(await git(co.dir, "rev-parse", "HEAD~1")).toBe(sha2);
    const after = await packObjectCounts(root);
    const added = [...after].filter(([name]) => !before.has(name));
    // One new pack with the new commit, its root tree and the new main.tf; nothing already present.
    expect(added.map(([, count]) => count)).toEqual([3]);
  });

  test("concurrent checkouts of different PRs, from two adapters, are all correct", async () => {
    const sha3 = await newCommit();
    const a = createGitWorkspace({ rootDir: root });
    const b = createGitWorkspace({ rootDir: root });
    const results = await Promise.all([
      a.checkout(req({ pullNumber: 1, sha: sha1 })),
      b.checkout(req({ pullNumber: 2, sha: sha2 })),
      a.checkout(req({ pullNumber: 3, sha: sha3 })),
      b.checkout(req({ pullNumber: 4, sha: sha1 })),
      a.checkout(req({ pullNumber: 5, sha: sha3 })),
    ]);
    const want = [sha1, sha2, sha3, sha1, sha3];
    for (const [i, co] of results.entries()) {
      expect(co.reused).toBe(false);
      expect(await git(co.dir, "rev-parse", "HEAD")).toBe(want[i]);
      expect(await git(co.dir, "status", "--porcelain")).toBe("");
    }
    expect(await readFile(path.join(results[1].dir, "main.tf"), "utf8")).toBe('resource "terraform_data" "b" {}\n');
    // Serialised per repository: never more fetches than distinct commits, and no lock left behind.
    expect(fetches()).toBeLessThanOrEqual(3);
    expect((await readdir(path.join(root, "acme", "infra"))).filter((n) => n.includes("lock") || n.startsWith("."))).toEqual([]);
    await git(root, `--git-dir=${mirrorOf(root)}`, "fsck", "--no-progress");
  });

  test("removePull leaves the mirror; a ref left by a PR whose directory is gone is pruned by a later fetch", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await ws.checkout(req({ pullNumber: 7, sha: sha2 }));
    expect(await mgit(root, "for-each-ref", "--format=%(refname) %(objectname)")).toBe(`refs/atoll/last ${sha2}\nrefs/atoll/pr/7 ${sha2}`);
    await ws.removePull("acme", "infra", 7);
    expect(await readdir(path.join(root, "acme", "infra"))).toEqual(["mirror.git"]);
    expect(await mgit(root, "cat-file", "-t", sha2)).toBe("commit");
    expect(await mgit(root, "for-each-ref", "--format=%(refname)")).toBe("refs/atoll/last");

    // The next PR's checkout of a known commit needs no network.
    requests.length = 0;
    await ws.checkout(req({ pullNumber: 8, sha: sha1 }));
    expect(requests).toEqual([]);

    // PR 8's directory disappears without removePull (a crash, an operator): its ref, loose or
    // packed, goes at the next fetch.
    await mgit(root, "update-ref", "refs/atoll/pr/8", sha1);
    await mgit(root, "pack-refs", "--all");
    await rm(path.join(root, "acme", "infra", "pr-8"), { recursive: true, force: true });
    const sha3 = await newCommit();
    await ws.checkout(req({ pullNumber: 9, sha: sha3 }));
    expect(await mgit(root, "for-each-ref", "--format=%(refname)")).toBe("refs/atoll/last\nrefs/atoll/pr/9");
  });

  test("a lock left by a crashed process does not block checkouts", async () => {
    // Same host, dead process: broken at once.
    const child = execa("true");
    const deadPid = child.pid!;
    await child;
    const lockDir = path.join(root, "acme", "infra", "mirror.lock");
    await mkdir(lockDir, { recursive: true });
    const owner = { pid: deadPid, startTime: "", host: hostname(), nonce: "dead", since: "2020-01-01T00:00:00Z" };
    await writeFile(path.join(lockDir, "owner.json"), JSON.stringify(owner));
    const ws = createGitWorkspace({ rootDir: root });
    const co = await ws.checkout(req());
    expect(await git(co.dir, "rev-parse", "HEAD")).toBe(sha1);
    expect(await exists(lockDir)).toBe(false);

    // Another host (so its pid means nothing here) with a heartbeat older than the stale time.
    await mkdir(lockDir);
    await writeFile(path.join(lockDir, "owner.json"), JSON.stringify({ ...owner, pid: process.pid, host: "elsewhere.invalid", nonce: "remote" }));
    const old = new Date(Date.now() - 10_000);
    await utimes(path.join(lockDir, "owner.json"), old, old);
    const started = Date.now();
    const co2 = await createGitWorkspace({ rootDir: root, lockStaleMs: 2_000 }).checkout(req({ pullNumber: 8, sha: sha2 }));
    expect(await git(co2.dir, "rev-parse", "HEAD")).toBe(sha2);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await exists(lockDir)).toBe(false);
  });

  test("what a killed fetch leaves in the mirror does not break the next fetch", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await ws.checkout(req({ pullNumber: 7, sha: sha1 }));
    const m = mirrorOf(root);
    // A ref lock held by a git killed mid-update makes every later update of that ref fail.
    await writeFile(path.join(m, "refs", "atoll", "last.lock"), "");
    await mkdir(path.join(m, "refs", "atoll", "pr"), { recursive: true });
    await writeFile(path.join(m, "refs", "atoll", "pr", "8.lock"), "");
    await writeFile(path.join(m, "objects", "pack", "tmp_pack_abc123"), "half a pack");
    const co = await ws.checkout(req({ pullNumber: 8, sha: sha2 }));
    expect(await git(co.dir, "rev-parse", "HEAD")).toBe(sha2);
    expect(await mgit(root, "rev-parse", "refs/atoll/pr/8", "refs/atoll/last")).toBe(`${sha2}\n${sha2}`);
    expect(await exists(path.join(m, "refs", "atoll", "last.lock"))).toBe(false);
    expect(await exists(path.join(m, "objects", "pack", "tmp_pack_abc123"))).toBe(false);
  });

  test("a half-created or gutted mirror is rebuilt", async () => {
    const cases: Array<{ what: string; existingMirror: boolean; damage: (m: string) => Promise<unknown> }> = [
      { what: "empty directory", existingMirror: false, damage: (m) => mkdir(m, { recursive: true }) },
      {
        what: "killed during init",
        existingMirror: false,
        damage: async (m) => {
          await mkdir(m, { recursive: true });
          await writeFile(path.join(m, "HEAD"), "ref: refs/heads/main\n");
        },
      },
      { what: "objects deleted", existingMirror: true, damage: (m) => rm(path.join(m, "objects"), { recursive: true, force: true }) },
      { what: "HEAD deleted", existingMirror: true, damage: (m) => rm(path.join(m, "HEAD")) },
    ];
    for (const c of cases) {
      root = await mkdtemp(path.join(work, "root-"));
      const m = mirrorOf(root);
      if (c.existingMirror) await createGitWorkspace({ rootDir: root }).checkout(req({ pullNumber: 1, sha: sha1 }));
      await c.damage(m);
      const co = await createGitWorkspace({ rootDir: root }).checkout(req({ pullNumber: 7, sha: sha2 }));
      expect([c.what, await git(co.dir, "rev-parse", "HEAD")]).toEqual([c.what, sha2]);
      expect(await git(co.dir, "show", `${sha1}:main.tf`)).toBe('resource "terraform_data" "a" {}');
      await git(root, `--git-dir=${m}`, "fsck", "--no-progress");
      expect(await exists(path.join(m, "atoll-mirror.json"))).toBe(true);
      expect((await readdir(path.join(root, "acme", "infra"))).filter((n) => n.startsWith("."))).toEqual([]);
    }
  });

  test("a mirror with corrupt objects is detected by fsck and rebuilt", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await ws.checkout(req({ pullNumber: 7, sha: sha2 }));
    // Flip bytes inside the pack (its size and checksum trailer stay, so git opens it).
    const packDir = path.join(mirrorOf(root), "objects", "pack");
    const pack = (await readdir(packDir)).find((n) => n.endsWith(".pack"))!;
    const data = await readFile(path.join(packDir, pack));
    for (let i = 12; i < data.length - 20; i += 7) data[i] ^= 0xff;
    await chmod(path.join(packDir, pack), 0o644);
    await writeFile(path.join(packDir, pack), data);

    const logs: unknown[][] = [];
    const logger = { info: (...a: unknown[]) => logs.push(a), warn: (...a: unknown[]) => logs.push(["warn", ...a]) };
    requests.length = 0;
    const co = await createGitWorkspace({ rootDir: root, logger }).checkout(req({ pullNumber: 8, sha: sha2 }));
    expect(await git(co.dir, "rev-parse", "HEAD")).toBe(sha2);
    expect(await readFile(path.join(co.dir, "main.tf"), "utf8")).toBe('resource "terraform_data" "b" {}\n');
    expect(logs[0]).toEqual(["warn", expect.objectContaining({ pull: 8 }), "git mirror was damaged and has been rebuilt"]);
    // The commit is unreadable, so a fetch was tried (git fails on the corrupt pack), then fsck
    // condemned the mirror and the rebuilt one fetched again.
    expect(fetches()).toBe(2);
    await git(root, `--git-dir=${mirrorOf(root)}`, "fsck", "--no-progress");
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  test("a network failure does not throw the mirror away", async () => {
    const ws = createGitWorkspace({ rootDir: root });
    await ws.checkout(req({ pullNumber: 7, sha: sha1 }));
    const marker = await stat(path.join(mirrorOf(root), "atoll-mirror.json"));
    const sha3 = await newCommit();
    await expect(ws.checkout(req({ pullNumber: 8, sha: sha3, cloneUrl: "http://127.0.0.1:1/acme/infra.git" }))).rejects.toThrow(
      /^git fetch failed: .*(Failed to connect|Could not connect|Connection refused)/s,
    );
    expect((await stat(path.join(mirrorOf(root), "atoll-mirror.json"))).ino).toBe(marker.ino);
    await expect(ws.checkout(req({ pullNumber: 8, sha: sha3, token: async () => "ghs_wrong" }))).rejects.toThrow(/rejected the installation token/);
    expect((await stat(path.join(mirrorOf(root), "atoll-mirror.json"))).ino).toBe(marker.ino);
  });
});

// ------------------------------------------------------------------------ a repository with history

/** A fast-import stream of `commits` commits over `files` files, each commit changing three of them. */
function historyStream(commits: number, files: number): string {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const text = (n: number) => {
    let s = "";
    while (s.length < n) s += rand().toString(36);
    return s.slice(0, n) + "\n";
  };
  const out: string[] = [];
  for (let i = 1; i <= commits; i++) {
    const msg = `commit ${i}\n`;
    out.push(`commit refs/heads/main`, `mark :${i}`, `committer Test <test@example.com> ${1_600_000_000 + i * 60} +0000`, `data ${msg.length}`, msg);
    if (i > 1) out.push(`from :${i - 1}`);
    const touched = i === 1 ? Array.from({ length: files }, (_, k) => k) : [rand() % files, rand() % files, rand() % files];
    for (const k of touched) {
      const body = `# file ${k}, commit ${i}\n` + text(1500);
      out.push(`M 100644 inline stacks/s${k % 20}/f${k}.tf`, `data ${Buffer.byteLength(body)}`, body);
    }
    out.push("");
  }
  return out.join("\n");
}

describe("createGitWorkspace on a repository with a long history", () => {
  test("the second PR's checkout only fetches the new commit", async () => {
    const history = path.join(projectRoot, "acme", "history.git");
    await mkdir(history, { recursive: true });
    await git(history, "init", "-q", "--bare");
    await git(history, "config", "uploadpack.allowAnySHA1InWant", "true");
    let t = performance.now();
    await execa("git", ["fast-import", "--quiet"], { cwd: history, env: testGitEnv, extendEnv: false, input: historyStream(3000, 400) });
    const importMs = performance.now() - t;
    const tip = await git(history, "rev-parse", "main");
    const packKb = Number(/size-pack: (\d+)/.exec(await git(history, "count-objects", "-v"))![1]);
    const historyUrl = cloneUrl.replace("/infra.git", "/history.git");
    const hreq = (pullNumber: number, sha: string) => ({ ...req({ pullNumber, sha, cloneUrl: historyUrl }), repo: "history" });

    const ws = createGitWorkspace({ rootDir: root });
    t = performance.now();
    const first = await ws.checkout(hreq(1, `${await git(history, "rev-parse", "main~1")}`));
    const firstMs = performance.now() - t;

    // A new commit on main, then a second PR based on it.
    const wt = path.join(work, "history-wt");
    await git(work, "clone", "-q", "--shared", "--branch", "main", history, wt);
    await writeFile(path.join(wt, "stacks", "s1", "f1.tf"), "# the second PR\n");
    await git(wt, "commit", "-q", "-am", "second PR");
    const prSha = await git(wt, "rev-parse", "HEAD");
    await git(wt, "push", "-q", history, "HEAD:refs/heads/pr-2");

    requests.length = 0;
    t = performance.now();
    const second = await ws.checkout(hreq(2, prSha));
    const secondMs = performance.now() - t;
    expect(fetches()).toBe(1);
    expect(await git(second.dir, "rev-parse", "HEAD~1")).toBe(tip);
    expect(await readFile(path.join(second.dir, "stacks", "s1", "f1.tf"), "utf8")).toBe("# the second PR\n");
    expect(await git(second.dir, "status", "--porcelain")).toBe("");

    requests.length = 0;
    t = performance.now();
    const third = await ws.checkout(hreq(3, tip));
    const thirdMs = performance.now() - t;
    expect(requests).toEqual([]);
    expect(await git(third.dir, "rev-parse", "HEAD")).toBe(tip);
    expect(await git(first.dir, "rev-list", "--count", "HEAD")).toBe("2999");

    console.log(
      `history: 3000 commits, 400 files, ${(packKb / 1024).toFixed(1)} MB packed (fast-import ${importMs.toFixed(0)} ms)\n` +
        `checkout PR 1 (cold mirror, full history): ${firstMs.toFixed(0)} ms\n` +
        `checkout PR 2 (one new commit fetched): ${secondMs.toFixed(0)} ms\n` +
        `checkout PR 3 (commit already in the mirror, no network): ${thirdMs.toFixed(0)} ms`,
    );
  }, 120_000);
});
