/**
 * Plumbing for the benchmark: where the repository is, child processes with timeouts that are
 * always reaped, temp dirs that are always removed, statistics, and /proc memory readings.
 *
 * Nothing here knows about Atoll; see run.ts for the scenarios.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// ------------------------------------------------------------------------------------- paths

/** The repository root: the nearest ancestor with Atoll's package.json (works compiled or not). */
export function findRepoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "atoll") return dir;
      } catch {
        // not ours
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`bench: cannot find Atoll's package.json above ${from}`);
    dir = up;
  }
}

/**
 * test/helpers/atoll-process.ts locates probot as `<two dirs above itself>/node_modules/probot`.
 * Compiled to build/bench/test/helpers/, "two dirs above" is build/bench: give it a node_modules
 * there (a symlink to the real one) instead of changing the test helper.
 */
export function linkNodeModules(compiledRoot: string, repoRoot: string): void {
  if (resolve(compiledRoot) === resolve(repoRoot)) return;
  const link = join(compiledRoot, "node_modules");
  try {
    lstatSync(link);
    return; // already there
  } catch {
    symlinkSync(join(repoRoot, "node_modules"), link, "dir");
  }
}

// ------------------------------------------------------------------------------------- cleanup

type Cleanup = () => void | Promise<void>;
const cleanups: Cleanup[] = [];
const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let handlersInstalled = false;
let cleaning: Promise<void> | undefined;

/** Register something to undo when the bench ends (normally, on error or on a signal). LIFO. */
export function onCleanup(fn: Cleanup): void {
  cleanups.push(fn);
}

export function runCleanups(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop()!;
      try {
        await withTimeout(Promise.resolve(fn()), 30_000, "a cleanup step");
      } catch (e) {
        process.stderr.write(`bench: cleanup step failed: ${(e as Error).message}\n`);
      }
    }
    killAllChildren();
    for (const d of tempDirs) await rm(d, { recursive: true, force: true }).catch(() => undefined);
    tempDirs.clear();
  })();
  return cleaning;
}

function killAllChildren(): void {
  for (const c of liveChildren) {
    if (c.pid !== undefined) {
      try {
        process.kill(-c.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  liveChildren.clear();
}

/** SIGINT/SIGTERM/uncaught errors run the cleanups; `exit` kills children and removes temp dirs synchronously. */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const bail = (why: string, code: number) => {
    process.stderr.write(`\nbench: ${why}; cleaning up…\n`);
    void runCleanups().finally(() => process.exit(code));
  };
  process.once("SIGINT", () => bail("interrupted (SIGINT)", 130));
  process.once("SIGTERM", () => bail("terminated (SIGTERM)", 143));
  process.on("uncaughtException", (e) => bail(`uncaught exception: ${e.stack ?? e}`, 1));
  process.on("unhandledRejection", (e) => bail(`unhandled rejection: ${(e as Error)?.stack ?? e}`, 1));
  process.on("exit", () => {
    killAllChildren();
    for (const d of tempDirs) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}

/** A temp dir removed at the end of the bench (or earlier with the returned function). */
export async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `atoll-bench-${prefix}-`));
  tempDirs.add(d);
  return d;
}

export async function removeTempDir(d: string): Promise<void> {
  await rm(d, { recursive: true, force: true });
  tempDirs.delete(d);
}

// ------------------------------------------------------------------------------------- processes

export interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  input?: string | Buffer;
  /** Keep stdout (default true; false discards it, e.g. for big `show -json`). */
  captureStdout?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stdoutBytes: number;
  stderr: string;
  ms: number;
}

/**
 * Run a command in its own process group; kill the group on timeout. Rejects on a non-zero exit
 * or a timeout, with the command, cwd and the tail of its output in the message.
 */
export function run(file: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const capture = opts.captureStdout ?? true;
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    liveChildren.add(child);
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = "";
    child.stdout!.on("data", (d: Buffer) => {
      outBytes += d.length;
      if (capture) out.push(d);
    });
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString("utf8");
      if (err.length > 64 * 1024) err = err.slice(-32 * 1024);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(new Error(`${file} could not be started: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      const ms = performance.now() - started;
      const stdout = Buffer.concat(out).toString("utf8");
      const what = `\`${[file, ...args].join(" ")}\` in ${opts.cwd}`;
      if (timedOut) return reject(new Error(`${what} timed out after ${Math.round(opts.timeoutMs / 1000)} s. stderr tail:\n${err.slice(-2000)}`));
      if (code !== 0) return reject(new Error(`${what} exited with ${code}. stderr tail:\n${err.slice(-2000)}\nstdout tail:\n${stdout.slice(-2000)}`));
      resolveRun({ code: code ?? 0, stdout, stdoutBytes: outBytes, stderr: err, ms });
    });
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(opts.input ?? "");
  });
}

// ------------------------------------------------------------------------------------- timing

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${Math.round(ms / 1000)} s waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Poll `fn` every `intervalMs` until it returns a value; throw with `what` (and `context()`) on timeout. */
export async function pollUntil<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { timeoutMs: number; intervalMs?: number; what: string; context?: () => string },
): Promise<T> {
  const deadline = performance.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 10;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${opts.what}${opts.context ? `\n${opts.context()}` : ""}`);
    }
    await sleep(interval);
  }
}

// ------------------------------------------------------------------------------------- statistics

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  mean: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) return { n: 0, median: NaN, min: NaN, max: NaN, mean: NaN };
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { n: s.length, median, min: s[0], max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(s.length, rank) - 1];
}

// ------------------------------------------------------------------------------------- CPU

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`; 100 on Linux unless configured otherwise). */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcCpu {
  /** CPU time (user + system) of the process itself, ms. */
  selfMs: number;
  /** CPU time of its children that have exited and been waited for, ms. */
  childrenMs: number;
}

/** A file of /proc/<pid>, or null when the process is gone (or there is no /proc). */
function readProc(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return null;
  }
}

/** utime+stime and cutime+cstime of a process from /proc/<pid>/stat, or null (gone, not Linux). */
export function procCpu(pid: number): ProcCpu | null {
  const text = readProc(pid, "stat");
  if (text === null) return null;
  // Fields after the command name (which is in parentheses and may hold spaces): state is field 3.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const ms = (i: number) => (Number(f[i - 3]) * 1000) / ticksPerSecond();
  return { selfMs: ms(14) + ms(15), childrenMs: ms(16) + ms(17) };
}

// ------------------------------------------------------------------------------------- memory

export interface ProcMemory {
  /** Current resident set size, KiB. */
  rssKb: number;
  /** Peak resident set size since start (or the last clear_refs 5), KiB. */
  hwmKb: number;
}

/** VmRSS / VmHWM of a process from /proc/<pid>/status, or null if it is gone. */
export function procMemory(pid: number): ProcMemory | null {
  const text = readProc(pid, "status");
  if (text === null) return null;
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(text)?.[1] ?? NaN);
  return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
}

/** Reset a process's VmHWM to its current RSS (`echo 5 > /proc/<pid>/clear_refs`). False if not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Samples a process's memory every `intervalMs` until stopped; keeps the max RSS seen. */
export function sampleMemory(pid: number, intervalMs = 50): { stop(): { maxRssKb: number; samples: number; last: ProcMemory | null } } {
  let maxRssKb = 0;
  let samples = 0;
  let last: ProcMemory | null = null;
  const tick = () => {
    const m = procMemory(pid);
    if (m) {
      last = m;
      samples++;
      if (m.rssKb > maxRssKb) maxRssKb = m.rssKb;
    }
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { maxRssKb, samples, last };
    },
  };
}

export const mb = (kb: number): number => kb / 1024;

// ------------------------------------------------------------------------------------- descendants

/** `comm` of every descendant of `root` (children, grandchildren…), from /proc. */
export function descendantNames(root: number): string[] {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, "utf8");
    } catch {
      continue;
    }
    // "pid (comm) state ppid …" — comm may contain spaces and parentheses.
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    parent.set(Number(e), Number(fields[1]));
    comm.set(Number(e), stat.slice(stat.indexOf("(") + 1, close));
  }
  const out: string[] = [];
  for (const [pid, name] of comm) {
    let p = parent.get(pid);
    for (let hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
      if (p === root) {
        out.push(name);
        break;
      }
      p = parent.get(p);
    }
  }
  return out;
}

/** Samples how many descendants of `root` named `name` run, every `intervalMs`. */
export function sampleDescendants(root: number, name: string, intervalMs = 100): { stop(): { samples: number; withAny: number; max: number } } {
  let samples = 0;
  let withAny = 0;
  let max = 0;
  const tick = () => {
    const n = descendantNames(root).filter((c) => c === name).length;
    samples++;
    if (n > 0) withAny++;
    if (n > max) max = n;
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return { samples, withAny, max };
    },
  };
}
