import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ATOLL_SECRET_ENV_NAMES, gitTokenSecrets, redact, withoutAtollSecrets } from "../../src/adapters/redact.js";
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_TIMED_OUT, runProcess } from "../../src/adapters/run-process.js";

import { alive } from "../helpers/process-alive.js";

const FAKE = fileURLToPath(new URL("../fixtures/fake-terraform.sh", import.meta.url));

let work: string;

/** Kill whatever a "tree" run left behind (only matters when the code under test is broken). */
async function killLeftovers(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!pid) return;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  for (const target of [pgid ? -pgid : 0, pid]) {
    if (!target) continue;
    try {
      process.kill(target, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "atoll-run-process-"));
});

afterEach(async () => {
  // Never leave a sleeping process behind, even when an assertion failed.
  await killLeftovers(path.join(work, "child.pid"));
  await rm(work, { recursive: true, force: true });
});

function fakeEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", ...extra };
}

async function readPid(file: string): Promise<number> {
  return Number((await readFile(file, "utf8")).trim());
}

describe("runProcess", () => {
  test("interleaves stdout and stderr in arrival order", async () => {
    const r = await runProcess({ file: FAKE, args: [], env: fakeEnv({ FAKE_MODE: "interleave" }), timeoutMs: 10_000 });
    expect(r.exitCode).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.output).toBe("out-1\nerr-1\nout-2\nerr-2\n");
  });

  test("a non-zero exit resolves with that exit code", async () => {
    const r = await runProcess({ file: FAKE, args: [], env: fakeEnv({ FAKE_MODE: "exit", FAKE_EXIT: "3" }), timeoutMs: 10_000 });
    expect(r.exitCode).toBe(3);
    expect(r.output).toBe("exiting with 3\n");
    expect(r.spawnError).toBeUndefined();
  });

  test("passes argv verbatim, without a shell", async () => {
    const r = await runProcess({
      file: FAKE,
      args: ["a b", "$HOME", "'q'", ";", "x"],
      env: fakeEnv({ FAKE_MODE: "env" }),
      timeoutMs: 10_000,
    });
    expect(r.output.split("\n")[0]).toBe("ARGV:a b $HOME 'q' ; x");
  });

  test("the child gets exactly the given environment", async () => {
    const r = await runProcess({ file: FAKE, args: [], env: fakeEnv({ FAKE_MODE: "env", ONLY_THIS: "yes" }), timeoutMs: 10_000 });
    expect(r.output).toMatch(/^ONLY_THIS=yes$/m);
    // HOME is set in the test runner's environment but was not passed.
    expect(process.env.HOME).toBeDefined();
    expect(r.output).not.toMatch(/^HOME=/m);
  });

  test("a missing binary resolves with 127 and a readable message", async () => {
    const missing = path.join(work, "no-such-terraform");
    const r = await runProcess({ file: missing, name: "terraform", args: ["version"], env: fakeEnv({}), timeoutMs: 10_000 });
    expect(r.exitCode).toBe(EXIT_NOT_FOUND);
    expect(r.output).toBe(`terraform binary not found: ${missing}\n`);
    expect(r.spawnError).toBe(`terraform binary not found: ${missing}`);
    expect(r.timedOut).toBe(false);
  });

  test("niceness: the program runs that much nicer than the server, its pid is the group's, argv unchanged", async () => {
    // nice(1) without arguments prints its own niceness: started through `nice -n 7`, it is 7 more.
    const base = Number((await runProcess({ file: "nice", args: [], env: fakeEnv({}), timeoutMs: 10_000 })).output.trim());
    let spawned = 0;
    const r = await runProcess({ file: "nice", args: [], env: fakeEnv({}), timeoutMs: 10_000, niceness: 7, onSpawn: (p) => (spawned = p.pid) });
    expect(Number(r.output.trim())).toBe(Math.min(19, base + 7));
    expect(spawned).toBeGreaterThan(0);
    const argv = await runProcess({ file: FAKE, args: ["a b", "$HOME"], env: fakeEnv({ FAKE_MODE: "env" }), timeoutMs: 10_000, niceness: 7 });
    expect(argv.output.split("\n")[0]).toBe("ARGV:a b $HOME");
  });

  test("niceness keeps the messages of a missing or not executable binary", async () => {
    const missing = path.join(work, "no-such-git");
    const r = await runProcess({ file: missing, name: "git", args: [], env: fakeEnv({}), timeoutMs: 10_000, niceness: 10 });
    expect(r.exitCode).toBe(EXIT_NOT_FOUND);
    expect(r.output).toBe(`git binary not found: ${missing}\n`);
    const onPath = await runProcess({ file: "no-such-binary-on-path", name: "terraform", args: [], env: fakeEnv({}), timeoutMs: 10_000, niceness: 10 });
    expect(onPath.exitCode).toBe(EXIT_NOT_FOUND);
    const file = path.join(work, "not-executable-nice");
    await writeFile(file, "#!/bin/sh\necho hi\n");
    await chmod(file, 0o644);
    const denied = await runProcess({ file, name: "terraform", args: [], env: fakeEnv({}), timeoutMs: 10_000, niceness: 10 });
    expect(denied.exitCode).toBe(EXIT_NOT_EXECUTABLE);
  });

  test("a missing working directory is reported as such, not as a missing binary", async () => {
    const cwd = path.join(work, "gone");
    const r = await runProcess({ file: FAKE, name: "terraform", args: [], cwd, env: fakeEnv({ FAKE_MODE: "exit", FAKE_EXIT: "0" }), timeoutMs: 10_000 });
    expect(r.exitCode).toBe(EXIT_NOT_FOUND);
    expect(r.output).toBe(`working directory does not exist: ${cwd}\n`);
  });

  test("a binary without execute permission resolves with 126", async () => {
    const file = path.join(work, "not-executable");
    await writeFile(file, "#!/bin/sh\necho hi\n");
    await chmod(file, 0o644);
    const r = await runProcess({ file, name: "terraform", args: [], env: fakeEnv({}), timeoutMs: 10_000 });
    expect(r.exitCode).toBe(EXIT_NOT_EXECUTABLE);
    expect(r.output).toContain("not executable");
  });

  test("a timeout kills the whole process tree and keeps the partial output", async () => {
    const pidFile = path.join(work, "child.pid");
    const r = await runProcess({
      file: FAKE,
      name: "terraform",
      args: [],
      env: fakeEnv({ FAKE_MODE: "tree", FAKE_PID_FILE: pidFile }),
      timeoutMs: 1_500,
      killGraceMs: 2_000,
    });
    const child = await readPid(pidFile);
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toContain(`started child ${child}`);
    expect(r.output).toContain("[terraform timed out after 1500 ms and was killed]");
    expect(await alive(child)).toBe(false);
  });

  test("processes that ignore SIGTERM are killed with SIGKILL after the grace period", async () => {
    const pidFile = path.join(work, "child.pid");
    const r = await runProcess({
      file: FAKE,
      args: [],
      env: fakeEnv({ FAKE_MODE: "tree", FAKE_PID_FILE: pidFile, FAKE_IGNORE_TERM: "1" }),
      timeoutMs: 1_500,
      killGraceMs: 300,
    });
    const child = await readPid(pidFile);
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    expect(r.exitCode).toBe(137);
    expect(await alive(child)).toBe(false);
  });

  test("a descendant that outlives the leader and holds the output pipe is killed too", async () => {
    const pidFile = path.join(work, "child.pid");
    const r = await runProcess({
      file: FAKE,
      args: [],
      env: fakeEnv({ FAKE_MODE: "orphan", FAKE_PID_FILE: pidFile }),
      timeoutMs: 1_500,
      killGraceMs: 300,
    });
    const child = await readPid(pidFile);
    expect(r.timedOut).toBe(true);
    // The leader itself exited 0; a killed run must still not look successful.
    expect(r.exitCode).toBe(EXIT_TIMED_OUT);
    expect(r.output).toContain("leader leaving");
    expect(await alive(child)).toBe(false);
  });

  test("redacts secrets in output and in separately captured stdout", async () => {
    const r = await runProcess({
      file: FAKE,
      args: [],
      env: fakeEnv({ FAKE_MODE: "show", FAKE_SECRET: "s3cr3t-value" }),
      timeoutMs: 10_000,
      redact: ["s3cr3t-value"],
      captureStdout: true,
    });
    expect(r.output).toContain('"secret":"***"');
    expect(r.output).toContain("Warning: something on stderr");
    expect(r.output).not.toContain("s3cr3t-value");
    expect(r.stdout).toBe('{"format_version":"1.2","secret":"***"}\n');
  });

  test("caps the output, keeps the tail, marks the cut and leaves no fragment of a secret", async () => {
    const secret = "TOPSECRET-abcdefghijklmnopqrstuvwxyz";
    const r = await runProcess({
      file: FAKE,
      args: [],
      env: fakeEnv({ FAKE_MODE: "flood", FAKE_LINES: "20000", FAKE_SECRET_LINE: secret }),
      timeoutMs: 30_000,
      redact: [secret],
      maxOutputBytes: 4096,
    });
    expect(r.exitCode).toBe(0);
    const lines = r.output.split("\n");
    expect(lines[0]).toMatch(/^\[output truncated: the first \d+ bytes were omitted\]$/);
    const omitted = Number(/(\d+)/.exec(lines[0])![1]);
    const totalBytes = Array.from({ length: 20000 }, (_, i) => `line ${i + 1} ${secret}\n`).join("").length + "THE END\n".length;
    // What was omitted plus what was kept is everything the process wrote.
    expect(omitted + Buffer.byteLength(r.output.slice(lines[0].length + 1).split("***").join(secret))).toBe(totalBytes);
    expect(r.output.length).toBeLessThanOrEqual(4096 + 100);
    expect(r.output.endsWith("line 20000 ***\nTHE END\n")).toBe(true);
    // Every kept line is whole and redacted: the first, possibly partial, line was dropped.
    for (const line of lines.slice(1, -2)) expect(line).toMatch(/^line \d+ \*\*\*$/);
    expect(r.output).not.toContain("TOPSECRET");
    expect(r.output).not.toContain("xyz");
  });

  test("separately captured stdout gives up beyond its own cap", async () => {
    const r = await runProcess({
      file: FAKE,
      args: [],
      env: fakeEnv({ FAKE_MODE: "flood", FAKE_LINES: "1000" }),
      timeoutMs: 30_000,
      captureStdout: true,
      maxStdoutBytes: 1000,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBeUndefined();
    expect(r.stdoutTruncated).toBe(true);
    expect(r.output.endsWith("THE END\n")).toBe(true);
  });
});

describe("redact", () => {
  test("replaces every occurrence, longest secret first, and ignores empty secrets", () => {
    expect(redact("a tok b tok-longer c", ["tok", "tok-longer", ""])).toBe("a *** b *** c");
    expect(redact("nothing here", [])).toBe("nothing here");
    expect(redact("nothing here", undefined)).toBe("nothing here");
  });

  test("gitTokenSecrets covers the token and its Basic auth form", () => {
    const [token, b64] = gitTokenSecrets("ghs_abc");
    expect(token).toBe("ghs_abc");
    expect(Buffer.from(b64, "base64").toString()).toBe("x-access-token:ghs_abc");
    expect(redact(`Authorization: Basic ${b64}`, gitTokenSecrets("ghs_abc"))).toBe("Authorization: Basic ***");
    expect(gitTokenSecrets("")).toEqual([]);
  });

  test("withoutAtollSecrets drops Atoll's credentials and the extra names, keeps the rest", () => {
    const env: NodeJS.ProcessEnv = { KEEP: "1", EXTRA: "x", UNDEF: undefined };
    for (const name of ATOLL_SECRET_ENV_NAMES) env[name] = "secret";
    expect(withoutAtollSecrets(env, ["EXTRA"])).toEqual({ KEEP: "1" });
    expect(ATOLL_SECRET_ENV_NAMES).toEqual(
      expect.arrayContaining(["PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "GITHUB_CLIENT_SECRET", "GITHUB_CLIENT_ID", "APP_ID"]),
    );
  });
});
