/**
 * Run an external program (terraform, git) the way Atoll needs it run:
 *
 *  - with an argv through execa, never a shell, and stdin closed (nothing may ever prompt);
 *  - with an explicit, complete environment (callers decide what the child may see);
 *  - stdout and stderr captured interleaved in arrival order, redacted, and capped in memory —
 *    a runaway `run` step or a provider in a debug loop must not take the server down, so only the
 *    tail is kept (the end of a terraform log is where the error is);
 *  - with a timeout that kills the whole process tree: terraform starts provider plugins and `run`
 *    steps start shells, and killing only the direct child would leave those running (and holding
 *    the output pipes open, so the run would never even finish). The child is started in its own
 *    process group so the group can be signalled as a whole: SIGTERM first (terraform then releases
 *    state locks), SIGKILL after a grace period;
 *  - at a lower CPU priority than the server (`niceness`, through `nice(1)`): on a busy machine the
 *    webhooks keep being answered at once while terraform and git take the cores that are left;
 *  - never rejecting: a non-zero exit, a timeout and even a missing binary all resolve with an exit
 *    code and a readable message, because every caller wants to report them, not crash.
 */
import { constants, readFileSync } from "node:fs";
import { access, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { longestSecretLength, redact } from "./redact.js";
import { currentJobLog } from "../logs/job-log.js";

/** Default in-memory cap for the interleaved output. */
export const DEFAULT_MAX_OUTPUT_BYTES = 20 * 1024 * 1024;
/** Default cap for a separately captured stdout (used for `terraform show -json`, which can be big). */
export const DEFAULT_MAX_STDOUT_BYTES = 256 * 1024 * 1024;
/** Default time between SIGTERM and SIGKILL after a timeout. */
export const DEFAULT_KILL_GRACE_MS = 5_000;

/** Exit codes used when the program could not be started (shell conventions). */
export const EXIT_NOT_FOUND = 127;
export const EXIT_NOT_EXECUTABLE = 126;
/** Exit code reported for a timed-out run whose process nevertheless exited 0 (as `timeout(1)`). */
export const EXIT_TIMED_OUT = 124;

export interface RunProcessOptions {
  /** Program to run (absolute path or a name looked up in `env.PATH`). */
  file: string;
  args: readonly string[];
  /** Human name for messages, e.g. "terraform" → "terraform binary not found: …". */
  name?: string;
  cwd?: string;
  /** The complete environment of the child; the parent's environment is NOT added. */
  env: Record<string, string>;
  /** Kill the process tree after this long. Non-positive or non-finite: no timeout. */
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL of the process group after a timeout. */
  killGraceMs?: number;
  /** Strings replaced with `***` in `output` and `stdout`. */
  redact?: readonly string[];
  /** Keep at most this many bytes of interleaved output (the tail). */
  maxOutputBytes?: number;
  /** Also capture stdout alone (e.g. to parse JSON without stderr warnings mixed in). */
  captureStdout?: boolean;
  /** Cap for the separately captured stdout; beyond it `stdout` is undefined and `stdoutTruncated` true. */
  maxStdoutBytes?: number;
  /**
   * Called once the process group exists, so a job can record it: after a crash of Atoll the next
   * start kills the groups its interrupted jobs left running (see `killOrphanedGroup`).
   */
  onSpawn?: (process: SpawnedProcess) => void;
  /**
   * Start the program this much nicer than the server (1–19; 0 or absent: same priority). Needs
   * `nice(1)`; without it the program runs at the server's priority.
   */
  niceness?: number;
  /**
   * Stream the output, redacted, to the running job's log (`logs/job-log.ts`) under this header
   * (the command line; redacted too). Absent: nothing is streamed.
   */
  live?: string;
}

/** A process group leader, identified beyond its pid (pids are reused) by its start time. */
export interface SpawnedProcess {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); "" where /proc is not available. */
  startTime: string;
}

export interface RunProcessResult {
  exitCode: number;
  /** Signal that ended the process, if any. */
  signal?: string;
  /** stdout and stderr interleaved in arrival order, redacted, possibly cut at the front. */
  output: string;
  /** stdout alone, redacted; only with `captureStdout` and when it fit in `maxStdoutBytes`. */
  stdout?: string;
  stdoutTruncated?: boolean;
  timedOut: boolean;
  durationMs: number;
  /** Set when the program could not be started at all (ENOENT, EACCES, missing cwd …). */
  spawnError?: string;
}

/**
 * A byte buffer that keeps only the last `max` bytes. Chunks are kept as received and only joined
 * once at the end, so memory stays near `max` however much the child writes.
 */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  dropped = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const first = this.chunks[0];
      const excess = this.size - this.max;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        // Copy so the dropped head of a large chunk can be garbage-collected.
        this.chunks[0] = Buffer.from(first.subarray(excess));
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** A byte buffer that gives up (and frees its memory) once it would exceed `max`. */
class BoundedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  overflowed = false;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    if (this.overflowed) return;
    this.size += chunk.length;
    if (this.size > this.max) {
      this.overflowed = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(chunk);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * Turn the kept tail into text. When the front was cut, the first bytes may be half a UTF-8
 * character, half a line — or the second half of a secret, which `redact` could no longer
 * recognise. So drop at least as many characters as the longest secret, then up to the next line
 * break, and say how much was omitted.
 */
function renderTail(buf: TailBuffer, secrets: readonly string[] | undefined): string {
  let text = buf.toBuffer().toString("utf8");
  if (buf.dropped === 0) return redact(text, secrets);
  const minSkip = longestSecretLength(secrets);
  let skip = Math.min(minSkip, text.length);
  const nl = text.indexOf("\n", skip);
  if (nl >= 0 && nl - skip < 4096) skip = nl + 1;
  const omitted = buf.dropped + Buffer.byteLength(text.slice(0, skip), "utf8");
  text = text.slice(skip);
  return `[output truncated: the first ${omitted} bytes were omitted]\n` + redact(text, secrets);
}

/**
 * Is any live process left in process group `pgid`?
 *
 * `kill(-pgid, 0)` alone is not enough: an orphaned descendant that was killed stays a zombie until
 * init reaps it, and in containers init often never does — zombies still count as group members
 * for `kill`. So on Linux, read /proc and ignore zombies; elsewhere fall back to `kill`.
 */
async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const line = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Format: "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses.
    const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
    if (fields.length >= 3 && Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone. EPERM cannot happen for our own children.
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Wait for a process group to disappear, escalating to SIGKILL when `graceUntil` passes. Bounded:
 * after SIGKILL only unkillable (uninterruptible-sleep) processes can remain, and we stop waiting
 * for those after a few seconds rather than hang the caller.
 */
async function reapGroup(pgid: number, graceUntil: number): Promise<void> {
  while ((await groupAlive(pgid)) && Date.now() < graceUntil) await sleep(50);
  if (!(await groupAlive(pgid))) return;
  killGroup(pgid, "SIGKILL");
  const giveUpAt = Date.now() + 5_000;
  while ((await groupAlive(pgid)) && Date.now() < giveUpAt) await sleep(25);
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Start time of a process (see SpawnedProcess), or undefined when it does not exist. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  // Read synchronously: /proc is in memory, and a promise-based read costs more than the read.
  let line: string | undefined;
  try {
    line = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    line = undefined;
  }
  if (line === undefined) {
    try {
      process.kill(pid, 0);
      return "";
    } catch {
      return undefined;
    }
  }
  return line.slice(line.lastIndexOf(")") + 2).split(" ")[19] ?? "";
}

/** Process groups started by this process and still running: pid → stop function. */
const running = new Map<number, (graceMs: number) => Promise<void>>();

/** How many process groups (terraform, git, workflow steps) this process has running now (metrics). */
export function runningProcessGroups(): number {
  return running.size;
}

/** Stop every process group this process started (SIGTERM, then SIGKILL after `graceMs`). */
export async function stopAllProcessGroups(graceMs: number): Promise<number> {
  const stops = [...running.values()];
  await Promise.all(stops.map((stop) => stop(graceMs)));
  return stops.length;
}

/**
 * Kill a process group left behind by an earlier run of Atoll (crash or kill -9), if its leader
 * is still the same process (same start time). Returns whether something was killed.
 */
export async function killOrphanedGroup(p: SpawnedProcess, graceMs = 5_000): Promise<boolean> {
  const now = await processStartTime(p.pid);
  if (now === undefined || (p.startTime !== "" && now !== p.startTime)) return false;
  if (!(await groupAlive(p.pid))) return false;
  killGroup(p.pid, "SIGTERM");
  await reapGroup(p.pid, Date.now() + graceMs);
  return true;
}

/** Where `name` resolves in the directories of `pathEnv` (as execvp would), or the reason it does not. */
async function resolveExecutable(file: string, pathEnv: string | undefined): Promise<{ path: string } | { code: "ENOENT" | "EACCES" }> {
  const candidates = file.includes("/") ? [file] : (pathEnv ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, file));
  let denied = false;
  for (const candidate of candidates) {
    const st = await stat(candidate).catch(() => null);
    if (!st?.isFile()) continue;
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return { path: candidate };
    denied = true;
  }
  return { code: denied ? "EACCES" : "ENOENT" };
}

/**
 * Resolved programs by PATH and name: every terraform and git run would otherwise stat the PATH
 * directories again. A program removed later fails to start with ENOENT, reported as before.
 */
const resolved = new Map<string, string>();
async function resolveCached(file: string, pathEnv: string | undefined): ReturnType<typeof resolveExecutable> {
  const key = `${pathEnv ?? ""}\u0000${file}`;
  const hit = resolved.get(key);
  if (hit) return { path: hit };
  const r = await resolveExecutable(file, pathEnv);
  if ("path" in r) {
    if (resolved.size >= 256) resolved.clear();
    resolved.set(key, r.path);
  }
  return r;
}

/** `nice(1)` of the server's PATH, looked up once; null when there is none. */
let niceBinary: Promise<string | null> | undefined;
function findNice(): Promise<string | null> {
  return (niceBinary ??= resolveExecutable("nice", process.env.PATH).then((r) => ("path" in r ? r.path : null)));
}

/** The argv to start: `[file, args]`, or through `nice -n N` when asked and possible. */
async function withNiceness(opts: RunProcessOptions): Promise<{ file: string; args: string[] } | { code: "ENOENT" | "EACCES" }> {
  const n = Math.min(19, Math.max(0, Math.trunc(opts.niceness ?? 0)));
  const nice = n > 0 ? await findNice() : null;
  if (!nice) return { file: opts.file, args: [...opts.args] };
  // Resolved here, so a missing binary is reported as such and not as nice's exit code 127.
  const target = await resolveCached(opts.file, opts.env.PATH);
  if (!("path" in target)) return target;
  return { file: nice, args: ["-n", String(n), target.path, ...opts.args] };
}

/** Run a program; see the module comment. Never rejects. */
export async function runProcess(opts: RunProcessOptions): Promise<RunProcessResult> {
  const started = Date.now();
  const name = opts.name ?? opts.file;
  const elapsed = () => Date.now() - started;

  const failSpawn = (exitCode: number, message: string): RunProcessResult => ({
    exitCode,
    output: redact(message, opts.redact) + "\n",
    stdout: opts.captureStdout ? "" : undefined,
    timedOut: false,
    durationMs: elapsed(),
    spawnError: redact(message, opts.redact),
  });

  // Node reports a missing cwd as ENOENT of the *binary*; check first so the message is right.
  if (opts.cwd !== undefined) {
    const st = await stat(opts.cwd).catch(() => null);
    if (!st?.isDirectory()) return failSpawn(EXIT_NOT_FOUND, `working directory does not exist: ${opts.cwd}`);
  }

  const output = new TailBuffer(opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  const stdout = opts.captureStdout ? new BoundedBuffer(opts.maxStdoutBytes ?? DEFAULT_MAX_STDOUT_BYTES) : null;

  const argv = await withNiceness(opts);
  if ("code" in argv) {
    return argv.code === "ENOENT"
      ? failSpawn(EXIT_NOT_FOUND, `${name} binary not found: ${opts.file}`)
      : failSpawn(EXIT_NOT_EXECUTABLE, `${name} binary is not executable: ${opts.file}`);
  }
  const subprocess = execa(argv.file, argv.args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    stdin: "ignore",
    buffer: false,
    reject: false,
    // Own process group (pgid = pid), so a timeout can signal the whole tree.
    detached: true,
    // execa's own cleanup-on-exit does not apply to detached children; be explicit anyway.
    cleanup: false,
    windowsHide: true,
  });

  const tap = opts.live !== undefined ? currentJobLog()?.process(opts.live, opts.redact) : undefined;
  subprocess.stdout?.on("data", (chunk: Buffer) => {
    output.push(chunk);
    stdout?.push(chunk);
    tap?.write(chunk);
  });
  subprocess.stderr?.on("data", (chunk: Buffer) => {
    output.push(chunk);
    tap?.write(chunk);
  });

  const pid = subprocess.pid;
  if (pid !== undefined) {
    const startTime = (await processStartTime(pid)) ?? "";
    opts.onSpawn?.({ pid, startTime });
    running.set(pid, async (graceMs) => {
      killGroup(pid, "SIGTERM");
      await reapGroup(pid, Date.now() + graceMs);
    });
  }
  let timedOut = false;
  let graceUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  if (pid !== undefined && Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      const grace = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
      graceUntil = Date.now() + grace;
      killGroup(pid, "SIGTERM");
      // Escalate even while the leader is still alive (it may ignore SIGTERM).
      killTimer = setTimeout(() => killGroup(pid, "SIGKILL"), grace);
    }, opts.timeoutMs);
  }

  const result = await subprocess;
  if (pid !== undefined) running.delete(pid);
  clearTimeout(timer);
  // After a timeout the leader may be gone while descendants that ignored SIGTERM live on; the
  // caller was promised the tree is dead, so wait out the grace period and SIGKILL the rest.
  if (timedOut && pid !== undefined) await reapGroup(pid, graceUntil);
  clearTimeout(killTimer);

  if (result.failed && result.exitCode === undefined && result.signal === undefined) {
    // Could not spawn at all.
    const code = (result as { code?: string }).code;
    if (code === "ENOENT") return failSpawn(EXIT_NOT_FOUND, `${name} binary not found: ${opts.file}`);
    if (code === "EACCES") return failSpawn(EXIT_NOT_EXECUTABLE, `${name} binary is not executable: ${opts.file}`);
    return failSpawn(1, `${name} could not be started: ${result.originalMessage || result.message}`);
  }

  let exitCode: number;
  if (typeof result.exitCode === "number") exitCode = result.exitCode;
  else if (result.signal) exitCode = 128 + (SIGNAL_NUMBERS[result.signal] ?? 0);
  else exitCode = 1;
  // Callers that only look at the exit code must not mistake a killed run for a success.
  if (timedOut && (exitCode === 0 || exitCode === 2)) exitCode = EXIT_TIMED_OUT;

  tap?.end(timedOut ? `timed out after ${opts.timeoutMs} ms and was killed` : `exit ${exitCode}, ${(elapsed() / 1000).toFixed(1)} s`);
  let text = renderTail(output, opts.redact);
  if (timedOut) {
    text += `${text === "" || text.endsWith("\n") ? "" : "\n"}[${name} timed out after ${opts.timeoutMs} ms and was killed]\n`;
  }

  return {
    exitCode,
    signal: result.signal,
    output: text,
    stdout: stdout && !stdout.overflowed ? redact(stdout.toBuffer().toString("utf8"), opts.redact) : undefined,
    stdoutTruncated: stdout ? stdout.overflowed : undefined,
    timedOut,
    durationMs: elapsed(),
  };
}
