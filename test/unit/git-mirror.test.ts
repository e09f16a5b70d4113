import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { acquireDirLock, GitCommandError, GitMirror, withRepoLock, type GitRunner } from "../../src/adapters/git-mirror.js";
import { processStartTime } from "../../src/adapters/run-process.js";
import { git, testGitEnv } from "../helpers/test-git.js";


const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Resolves to "pending" if `p` has not settled within `ms`. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p.then(() => "settled" as const), new Promise<"pending">((r) => setTimeout(() => r("pending"), ms))]);

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "atoll-git-mirror-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("acquireDirLock", () => {
  test("holds a directory with its owner while held, and removes it on release", async () => {
    const lockDir = path.join(work, "repo", "mirror.lock");
    const lock = await acquireDirLock(lockDir);
    const owner = JSON.parse(await readFile(path.join(lockDir, "owner.json"), "utf8"));
    expect(owner).toEqual(expect.objectContaining({ pid: process.pid, host: hostname(), nonce: expect.any(String) }));
    await lock.release();
    await lock.release(); // idempotent
    expect(await readdir(path.join(work, "repo"))).toEqual([]);
  });

  test("a second acquirer waits for the release", async () => {
    const lockDir = path.join(work, "mirror.lock");
    const first = await acquireDirLock(lockDir);
    const second = acquireDirLock(lockDir, { pollMs: 5 });
    expect(await within(second, 300)).toBe("pending");
    await first.release();
    const lock = await second;
    expect(await exists(lockDir)).toBe(true);
    await lock.release();
  });

  test("a live holder keeps its lock beyond the stale time thanks to the heartbeat; waiters time out", async () => {
    const lockDir = path.join(work, "mirror.lock");
    const first = await acquireDirLock(lockDir, { staleMs: 200 });
    const waiter = acquireDirLock(lockDir, { staleMs: 200, timeoutMs: 1_000, pollMs: 10 });
    await expect(waiter).rejects.toThrow(new RegExp(`timed out waiting for the lock .*held by pid ${process.pid}`));
    const owner = JSON.parse(await readFile(path.join(lockDir, "owner.json"), "utf8"));
    await first.release();
    expect(await exists(lockDir)).toBe(false);
    expect(owner.pid).toBe(process.pid);
  });

  test("a lock whose holder process died is broken at once; a live other process is waited for", async () => {
    const lockDir = path.join(work, "mirror.lock");
    const child = execa("node", ["-e", "setTimeout(() => {}, 60000)"], { reject: false });
    const pid = child.pid!;
    await mkdir(lockDir);
    await writeFile(
      path.join(lockDir, "owner.json"),
      JSON.stringify({ pid, startTime: (await processStartTime(pid)) ?? "", host: hostname(), nonce: "child", since: "x" }),
    );
    const waiter = acquireDirLock(lockDir, { pollMs: 5 });
    expect(await within(waiter, 400)).toBe("pending");
    child.kill("SIGKILL");
    await child;
    const lock = await waiter;
    expect(JSON.parse(await readFile(path.join(lockDir, "owner.json"), "utf8")).pid).toBe(process.pid);
    await lock.release();
  });

  test("a lock from another host is broken only once its heartbeat is stale; an ownerless one once old", async () => {
    const lockDir = path.join(work, "mirror.lock");
    await mkdir(lockDir);
    const ownerFile = path.join(lockDir, "owner.json");
    await writeFile(ownerFile, JSON.stringify({ pid: 1, startTime: "", host: "elsewhere.invalid", nonce: "far", since: "x" }));
    await expect(acquireDirLock(lockDir, { staleMs: 5_000, timeoutMs: 300 })).rejects.toThrow(/timed out/);
    const old = new Date(Date.now() - 60_000);
    await utimes(ownerFile, old, old);
    await (await acquireDirLock(lockDir, { staleMs: 5_000 })).release();

    // An empty directory is simply taken over (rename replaces it); a non-empty one without an
    // owner (made by hand, or by something else) is waited for until it is old.
    await mkdir(lockDir);
    await (await acquireDirLock(lockDir, { staleMs: 5_000, timeoutMs: 300 })).release();
    await mkdir(lockDir);
    await writeFile(path.join(lockDir, "something"), "");
    await expect(acquireDirLock(lockDir, { staleMs: 5_000, timeoutMs: 300 })).rejects.toThrow(/timed out/);
    await utimes(lockDir, old, old);
    await (await acquireDirLock(lockDir, { staleMs: 5_000 })).release();
    expect(await readdir(work)).toEqual([]);
  });

  test("releasing a lock that was broken and re-acquired by another does not remove the other's", async () => {
    const lockDir = path.join(work, "mirror.lock");
    const first = await acquireDirLock(lockDir);
    await rename(lockDir, path.join(work, "moved-away")); // as if broken by a waiter
    const second = await acquireDirLock(lockDir);
    await first.release();
    expect(await exists(lockDir)).toBe(true);
    await second.release();
    expect(await exists(lockDir)).toBe(false);
  });
});

describe("withRepoLock", () => {
  test("serialises holders in one process, in order, also when one fails", async () => {
    const lockDir = path.join(work, "mirror.lock");
    const events: string[] = [];
    let inside = 0;
    const run = (name: string, fail = false) =>
      withRepoLock(lockDir, {}, async () => {
        inside++;
        expect(inside).toBe(1);
        events.push(`in ${name}`);
        await new Promise((r) => setTimeout(r, 20));
        events.push(`out ${name}`);
        inside--;
        if (fail) throw new Error(`${name} failed`);
        return name;
      });
    const results = await Promise.allSettled([run("a"), run("b", true), run("c"), run("d")]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual(["a", "b failed", "c", "d"]);
    expect(events).toEqual(["in a", "out a", "in b", "out b", "in c", "out c", "in d", "out d"]);
    expect(await exists(lockDir)).toBe(false);
  });
});

describe("GitMirror", () => {
  /** A runner like the workspace's, without the token handling (local file URLs need none). */
  const runner: GitRunner = async (args, { cwd, gitDir, config }) => {
    const env: Record<string, string> = { ...testGitEnv, GIT_CONFIG_COUNT: String(config?.length ?? 0) };
    config?.forEach(([k, v], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = k;
      env[`GIT_CONFIG_VALUE_${i}`] = v;
    });
    if (gitDir) env.GIT_DIR = gitDir;
    const r = await execa("git", args, { cwd, env, extendEnv: false, reject: false });
    return r.exitCode === 0
      ? { ok: true, stdout: r.stdout, error: null }
      : { ok: false, stdout: "", error: new GitCommandError(args[0], r.all ?? r.stderr, false) };
  };

  test("consolidates packs without dropping objects that no ref reaches any more", async () => {
    const origin = path.join(work, "origin");
    await mkdir(origin);
    await git(origin, "init", "-q");
    const shas: string[] = [];
    for (let i = 0; i < 8; i++) {
      await writeFile(path.join(origin, `f${i}.tf`), `# ${i}\n`);
      await git(origin, "add", "-A");
      await git(origin, "commit", "-q", "-m", `c${i}`);
      shas.push(await git(origin, "rev-parse", "HEAD"));
    }
    // Also a commit no branch reaches, like a force-pushed PR head.
    await git(origin, "checkout", "-q", "--detach", shas[3]);
    await writeFile(path.join(origin, "orphan.tf"), "# orphan\n");
    await git(origin, "add", "-A");
    await git(origin, "commit", "-q", "-m", "orphan");
    const orphan = await git(origin, "rev-parse", "HEAD");

    const mirror = new GitMirror({ dir: path.join(work, "repo", "mirror.git"), git: runner, maxPacks: 3, isLivePull: async () => false });
    const url = `file://${origin}`;
    const sources = [];
    sources.push(await mirror.ensureCommit({ cloneUrl: url, token: async () => "t", sha: orphan, pullNumber: 1 }));
    for (const [i, sha] of shas.entries()) sources.push(await mirror.ensureCommit({ cloneUrl: url, token: async () => "t", sha, pullNumber: i + 2 }));
    // The orphan brought its ancestors c0..c3 along.
    expect(sources).toEqual(["created", "hit", "hit", "hit", "hit", "fetched", "fetched", "fetched", "fetched"]);

    const packs = (await readdir(path.join(mirror.dir, "objects", "pack"))).filter((n) => n.endsWith(".pack"));
    expect(packs.length).toBeLessThanOrEqual(4);
    // Refs of "closed" PRs were pruned at each fetch, so the orphan is unreachable, yet kept.
    const refs = await git(work, `--git-dir=${mirror.dir}`, "for-each-ref", "--format=%(refname)");
    expect(refs).toBe("refs/atoll/last\nrefs/atoll/pr/9");
    for (const sha of [orphan, ...shas]) expect(await mirror.hasCommit(sha)).toBe(true);
    await git(work, `--git-dir=${mirror.dir}`, "fsck", "--no-progress", "--no-dangling", orphan);
    // Auto gc is off in the mirror's own config too.
    expect(await git(work, `--git-dir=${mirror.dir}`, "config", "gc.auto")).toBe("0");
    expect(await mirror.repair()).toBe(false);
  });
});
