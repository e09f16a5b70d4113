/**
 * Atoll's benchmark (issue 5): the built server as a real process, driven through the fake
 * GitHub with signed webhooks, real git and real terraform, side by side with a bare baseline
 * doing the same git and terraform work, alternating the two.
 *
 *   npm run bench               full run (several alternations, larger history, longer load)
 *   npm run bench -- --quick    < 5 minutes on 2 cores
 *
 * Options: --quick, --only=a,b,c,d,e (f comes with a), --iterations=N (a), --log-level=debug,
 * --env=KEY=VALUE (extra server environment, repeatable), --keep (keep temp dirs),
 * --log-file=PATH (write the server's log lines there at the end), --help.
 *
 * Benchmarks are not tests: nothing here fails on a slow number. The run prints a table, writes
 * bench/results/<timestamp>.json and bench/results/latest.json, and ends with one line per
 * target saying met or not met with the measured value. It exits non-zero only when the
 * harness itself broke (a section could not be measured).
 */
import { execFileSync, spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { startFakeGitHub, type FakeGitHub, type FakeRepo, type PullRecord } from "../test/fake-github/server.js";
import type { CommentRecord } from "../test/fake-github/state.js";
import { REPO_ROOT as COMPILED_ROOT, startAtoll, type AtollProcess } from "../test/helpers/atoll-process.js";
import { issueCommentEvent, pullRequestEventFor } from "../test/helpers/events.js";
import { analyzeCalls, type ApiCallReport } from "./api-calls.js";
import { baselinePlan, fullClone, shallowClone, type BaselineResult } from "./baseline.js";
import {
  findRepoRoot,
  installCleanupHandlers,
  linkNodeModules,
  mb,
  onCleanup,
  percentile,
  pollUntil,
  procCpu,
  procMemory,
  removeTempDir,
  resetPeakRss,
  runCleanups,
  sampleDescendants,
  sampleMemory,
  sleep,
  summarize,
  tempDir,
  withTimeout,
  type Summary,
} from "./harness.js";
import type { LoadConfig, LoadResult } from "./load-sender.js";
import { appendHistory, mintInstallationToken, monorepoConfig, projectDirs, projectTf, repoSizeBytes } from "./scenario.js";

const REPO_ROOT = findRepoRoot();
const HERE = dirname(fileURLToPath(import.meta.url));
const OWNER = "acme";

// ============================================================================ options

interface Options {
  mode: "quick" | "full";
  aIterations: number;
  aWarmup: number;
  bIterations: number;
  bWarmup: number;
  bProjects: number;
  cCommits: number;
  cBytesPerCommit: number;
  cFiles: number;
  cIterations: number;
  cNewCommitsPerPr: number;
  dRate: number;
  dSeconds: number;
  eResources: number;
  only: Set<string>;
  logLevel: string;
  serverEnv: Record<string, string>;
  keep: boolean;
  /** Write the server's log lines here at the end (for finding where the time goes). */
  logFile?: string;
  terraformBin: string;
}

const USAGE = `usage: npm run bench [-- --quick] [--only=a,b,c,d,e] [--iterations=N] [--log-level=LEVEL] [--env=KEY=VALUE]… [--keep] [--log-file=PATH]`;

function parseOptions(argv: string[]): Options {
  const quick = argv.includes("--quick");
  const o: Options = {
    mode: quick ? "quick" : "full",
    aIterations: quick ? 2 : 5,
    aWarmup: 1,
    bIterations: quick ? 2 : 3,
    bWarmup: 1, // the first PR on the monorepo creates its mirror: measure the PRs after it, as in (a)
    bProjects: 20,
    cCommits: quick ? 2500 : 6000,
    cBytesPerCommit: quick ? 8 * 1024 : 10 * 1024,
    cFiles: 400,
    cIterations: quick ? 2 : 5,
    cNewCommitsPerPr: 10,
    dRate: 200,
    dSeconds: quick ? 3 : 10,
    eResources: 3000,
    only: new Set(["a", "b", "c", "d", "e", "f"]),
    logLevel: "debug",
    serverEnv: {},
    keep: false,
    terraformBin: process.env.ATOLL_TERRAFORM_BIN?.trim() || "terraform",
  };
  for (const arg of argv) {
    if (arg === "--quick") continue;
    else if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg === "--keep") o.keep = true;
    else if (arg.startsWith("--only=")) {
      o.only = new Set(arg.slice(7).split(",").map((s) => s.trim().toLowerCase()).filter(Boolean));
      if (o.only.has("a")) o.only.add("f");
    } else if (arg.startsWith("--iterations=")) o.aIterations = Math.max(1, Number(arg.slice(13)) || 1);
    else if (arg.startsWith("--log-level=")) o.logLevel = arg.slice(12);
    else if (arg.startsWith("--log-file=")) o.logFile = resolve(arg.slice(11));
    else if (arg.startsWith("--env=")) {
      const kv = arg.slice(6);
      const i = kv.indexOf("=");
      if (i <= 0) throw new Error(`--env needs KEY=VALUE, got ${kv}`);
      o.serverEnv[kv.slice(0, i)] = kv.slice(i + 1);
    } else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return o;
}

// ============================================================================ context

interface Ctx {
  opts: Options;
  github: FakeGitHub;
  atoll: AtollProcess;
  atollExited: boolean;
  dataDir: string;
  db?: Database.Database;
  warnings: string[];
  token(): Promise<string>;
  repoOpts(repo: FakeRepo): { owner: string; repo: string; htmlBase: string; apiBase: string; cloneUrl: string; installationId: number };
}

async function launchAtoll(ctx: Pick<Ctx, "opts" | "github" | "dataDir">): Promise<AtollProcess> {
  const env: Record<string, string> = { LOG_LEVEL: ctx.opts.logLevel, ...ctx.opts.serverEnv };
  if (process.env.ATOLL_TERRAFORM_BIN) env.ATOLL_TERRAFORM_BIN = process.env.ATOLL_TERRAFORM_BIN;
  return startAtoll({ fakeGitHub: ctx.github, dataDir: ctx.dataDir, env, root: REPO_ROOT, readyTimeoutMs: 60_000 });
}

function watchExit(ctx: Ctx): void {
  const me = ctx.atoll;
  void me.exited.then((info) => {
    if (ctx.atoll === me) {
      ctx.atollExited = true;
      ctx.warnings.push(`Atoll exited unexpectedly (code ${info.code}, signal ${info.signal})`);
    }
  });
}

/** Restart Atoll on the same data dir if a section killed it. */
async function ensureAtoll(ctx: Ctx): Promise<void> {
  if (!ctx.atollExited) return;
  ctx.db?.close();
  ctx.db = undefined;
  ctx.atoll = await launchAtoll(ctx);
  ctx.atollExited = false;
  watchExit(ctx);
}

function db(ctx: Ctx): Database.Database | undefined {
  if (ctx.db) return ctx.db;
  const file = join(ctx.dataDir, "atoll.db");
  if (!existsSync(file)) return undefined;
  ctx.db = new Database(file, { readonly: true, fileMustExist: true });
  return ctx.db;
}

function activeJobs(ctx: Ctx): number {
  const d = db(ctx);
  if (!d) return 0;
  const row = d.prepare("SELECT count(*) AS n FROM jobs WHERE status IN ('queued','running')").get() as { n: number };
  return row.n;
}

const logTail = (ctx: Ctx, n = 30) => () => `Atoll log tail:\n${ctx.atoll.logs().slice(-n).join("\n")}\nRecent requests to the fake GitHub:\n${ctx.github.describeRecentRequests(20)}`;

/** No job queued or running and no request to the fake for `quietMs`. */
async function waitIdle(ctx: Ctx, what: string, timeoutMs = 180_000, quietMs = 400): Promise<void> {
  let lastCount = -1;
  let lastChange = performance.now();
  await pollUntil(
    () => {
      const n = ctx.github.requests.length + ctx.github.gitRequests.length;
      if (n !== lastCount) {
        lastCount = n;
        lastChange = performance.now();
      }
      return activeJobs(ctx) === 0 && performance.now() - lastChange >= quietMs;
    },
    { timeoutMs, intervalMs: 50, what: `Atoll to go idle after ${what}`, context: logTail(ctx) },
  );
}

function appComments(ctx: Ctx, repo: string, n: number): CommentRecord[] {
  return ctx.github.comments(OWNER, repo, n).filter((c) => c.byApp);
}

/** The plan comment is complete: it started with "Ran Plan" and its last part has the next steps. */
function planCommentDone(ctx: Ctx, repo: string, n: number): CommentRecord[] | undefined {
  const c = appComments(ctx, repo, n);
  if (!c.some((x) => x.body.startsWith("Ran Plan"))) return undefined;
  return /\b(atoll|atlantis) unlock\b/.test(c[c.length - 1]!.body) ? c : undefined;
}

// ============================================================================ one Atoll autoplan

/** What Atoll and baseline samples of an alternation have in common. */
interface SampleBase {
  iteration: number;
  warmup: boolean;
  /** 0 = ran first in its alternation, 1 = second. */
  order: number;
  ok: boolean;
  error?: string;
  /** The measured wall time. */
  ms: number;
  /** CPU time of the run, ms (see each kind of sample). */
  cpuMs?: number;
}

interface AtollSample extends SampleBase {
  /** ms: webhook sent → plan comment (all parts) posted. */
  /** HTTP response time of the webhook POST. */
  ackMs: number;
  /*
   * cpuMs: CPU time (user + system) Atoll spent from the webhook to the plan comment: the server
   * process and the git and terraform processes it ran (those exited by then).
   */
  /** Milliseconds after the webhook: first/last git request, first check-run POST, comment POST. */
  timeline: { firstGitMs?: number; lastGitMs?: number; firstCheckRunMs?: number; commentPostMs?: number; idleMs?: number };
  api?: ApiCallReport;
}

async function atollAutoplan(
  ctx: Ctx,
  repo: FakeRepo,
  pull: PullRecord,
  nProjects: number,
  meta: { iteration: number; warmup: boolean; order: number },
  timeoutMs: number,
): Promise<AtollSample> {
  await ensureAtoll(ctx);
  const event = pullRequestEventFor("opened", pull, ctx.repoOpts(repo));
  const reqStart = ctx.github.requests.length;
  const gitStart = ctx.github.gitRequests.length;
  const t0Wall = Date.now();
  const cpu0 = procCpu(ctx.atoll.pid);
  const t0 = performance.now();
  const res = await withTimeout(ctx.atoll.send(event), 30_000, "the webhook response");
  const ackMs = performance.now() - t0;
  const sample: AtollSample = { ...meta, ok: false, ms: NaN, ackMs, timeline: {} };
  try {
    if (res.status !== 200) throw new Error(`webhook answered HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    await pollUntil(() => planCommentDone(ctx, repo.name, pull.number), {
      timeoutMs,
      intervalMs: 10,
      what: `the plan comment on ${repo.name}#${pull.number}`,
      context: logTail(ctx),
    });
    sample.ms = performance.now() - t0;
    const cpu1 = procCpu(ctx.atoll.pid);
    if (cpu0 && cpu1) sample.cpuMs = cpu1.selfMs + cpu1.childrenMs - (cpu0.selfMs + cpu0.childrenMs);
    await waitIdle(ctx, `${repo.name}#${pull.number}`);
    sample.timeline.idleMs = performance.now() - t0;
    const runs = ctx.github
      .checkRuns(OWNER, repo.name, { headSha: pull.headSha })
      .filter((r) => r.name.startsWith("atoll/plan: "));
    const bad = runs.filter((r) => r.conclusion !== "success");
    if (runs.length !== nProjects || bad.length) {
      const body = appComments(ctx, repo.name, pull.number).map((c) => c.body).join("\n").slice(0, 1500);
      throw new Error(`expected ${nProjects} successful project plans, got ${runs.length} (${bad.length} not successful). Comment:\n${body}`);
    }
    sample.ok = true;
  } catch (e) {
    sample.error = (e as Error).message;
  }
  const window = ctx.github.requests.slice(reqStart);
  const git = ctx.github.gitRequests.slice(gitStart).map((g) => Date.parse(g.at) - t0Wall);
  if (git.length) {
    sample.timeline.firstGitMs = Math.min(...git);
    sample.timeline.lastGitMs = Math.max(...git);
  }
  const firstCheck = window.find((r) => r.method === "POST" && r.template === "/repos/{owner}/{repo}/check-runs");
  if (firstCheck) sample.timeline.firstCheckRunMs = Date.parse(firstCheck.at) - t0Wall;
  const commentPost = window.filter((r) => r.method === "POST" && r.template === "/repos/{owner}/{repo}/issues/{issue_number}/comments").pop();
  if (commentPost) sample.timeline.commentPostMs = Date.parse(commentPost.at) - t0Wall;
  sample.api = analyzeCalls(window, t0Wall);
  return sample;
}

/**
 * Close the PR the way GitHub reports it (the fake closes it, Atoll gets `pull_request.closed`)
 * and wait until Atoll has released its locks: the next PR plans the same projects.
 */
async function closePr(ctx: Ctx, repo: FakeRepo, pull: PullRecord): Promise<void> {
  await ensureAtoll(ctx);
  const closed = ctx.github.closePull(OWNER, repo.name, pull.number);
  const event = pullRequestEventFor("closed", closed, ctx.repoOpts(repo));
  const res = await withTimeout(ctx.atoll.send(event), 30_000, "the pull_request.closed response");
  if (res.status !== 200) throw new Error(`pull_request.closed answered HTTP ${res.status}`);
  await waitIdle(ctx, `closing ${repo.name}#${pull.number}`);
}

// ============================================================================ baseline sample

/*
 * cpuMs: CPU time of the baseline's git and terraform processes (and of the fake GitHub's git
 * server processes for the clone): the bench process's waited-for children over the run.
 */
interface BaselineSample extends BaselineResult, SampleBase {}

async function baselineSample(
  ctx: Ctx,
  repo: FakeRepo,
  branch: string,
  dirs: string[],
  meta: { iteration: number; warmup: boolean; order: number },
): Promise<BaselineSample> {
  const work = await tempDir("baseline");
  try {
    const token = await ctx.token();
    const cpu0 = procCpu(process.pid);
    const r = await baselinePlan({ terraformBin: ctx.opts.terraformBin, timeoutMs: 300_000 }, { url: repo.cloneUrl, branch, token, dirs, workDir: work });
    const cpu1 = procCpu(process.pid);
    return { ...meta, ...r, ok: true, ms: r.totalMs, ...(cpu0 && cpu1 ? { cpuMs: cpu1.childrenMs - cpu0.childrenMs } : {}) };
  } catch (e) {
    return { ...meta, ok: false, error: (e as Error).message, ms: NaN, totalMs: NaN, cloneMs: NaN, projects: [] };
  } finally {
    if (!ctx.opts.keep) await removeTempDir(work);
  }
}

// ============================================================================ (a) + (f), (b): alternations

interface Comparison {
  atoll: AtollSample[];
  baseline: BaselineSample[];
  atollSummary: Summary;
  baselineSummary: Summary;
  /** median(atoll) / median(baseline). */
  ratio: number;
  /** CPU time per run (ms), where /proc is readable. */
  atollCpu: Summary;
  baselineCpu: Summary;
  /**
   * The baseline's CPU time spread over every core, as a fraction of its (sequential) wall time:
   * no schedule of the same processes on this machine can finish faster than that.
   */
  cpuFloorRatio: number;
}

async function compare(
  ctx: Ctx,
  label: string,
  repo: FakeRepo,
  dirs: string[],
  iterations: number,
  warmup: number,
  timeoutMs: number,
): Promise<Comparison> {
  const atoll: AtollSample[] = [];
  const baseline: BaselineSample[] = [];
  const total = warmup + iterations;
  for (let i = 0; i < total; i++) {
    const isWarm = i < warmup;
    const branch = `${label}-${i}`;
    const files: Record<string, string> = {};
    for (const d of dirs) files[`${d}/main.tf`] = projectTf(`${label}-${i}-${d}`);
    await repo.commit(branch, files, `${label}: change ${i}`, { from: "main" });
    const pull = await ctx.github.createPull(OWNER, repo.name, { head: branch, author: "alice" });
    // Alternate which side goes first, so neither always gets the warmer caches.
    const atollFirst = i % 2 === 0;
    for (let step = 0; step < 2; step++) {
      const meta = { iteration: i, warmup: isWarm, order: step };
      if ((step === 0) === atollFirst) {
        const s = await atollAutoplan(ctx, repo, pull, dirs.length, meta, timeoutMs);
        atoll.push(s);
        progress(`  ${label} #${i}${isWarm ? " (warm-up)" : ""} atoll    ${fmtS(s.ms)}${s.ok ? "" : `  FAILED: ${firstLine(s.error)}`}`);
      } else {
        const s = await baselineSample(ctx, repo, branch, dirs, meta);
        baseline.push(s);
        progress(`  ${label} #${i}${isWarm ? " (warm-up)" : ""} baseline ${fmtS(s.ms)}${s.ok ? "" : `  FAILED: ${firstLine(s.error)}`}`);
      }
    }
    await closePr(ctx, repo, pull);
  }
  const measured = <T extends { ok: boolean; warmup: boolean }>(xs: T[]) => xs.filter((s) => s.ok && !s.warmup);
  const atollSummary = summarize(measured(atoll).map((s) => s.ms));
  const baselineSummary = summarize(measured(baseline).map((s) => s.ms));
  const cpuOf = (xs: Array<{ cpuMs?: number }>) => summarize(xs.map((s) => s.cpuMs).filter((x): x is number => x !== undefined));
  const atollCpu = cpuOf(measured(atoll));
  const baselineCpu = cpuOf(measured(baseline));
  return {
    atoll,
    baseline,
    atollSummary,
    baselineSummary,
    ratio: atollSummary.median / baselineSummary.median,
    atollCpu,
    baselineCpu,
    cpuFloorRatio: baselineCpu.median / cpus().length / baselineSummary.median,
  };
}

async function sectionA(ctx: Ctx): Promise<Comparison> {
  const repo = await ctx.github.createRepo(OWNER, "one");
  await repo.commit("main", { "README.md": "# one project\n", "app/main.tf": projectTf("initial") }, "initial");
  return compare(ctx, "a", repo, ["app"], ctx.opts.aIterations, ctx.opts.aWarmup, 300_000);
}

interface SectionF {
  /** Calls per autoplan of the measured (non-warm-up) iterations. */
  perAutoplan: Summary;
  /** The last measured autoplan in full. */
  example?: ApiCallReport;
  /** Duplicate reads per iteration (warm-up included, marked). */
  duplicates: Array<{ iteration: number; warmup: boolean; duplicateReads: ApiCallReport["duplicateReads"] }>;
  writeGapsMs: Summary;
  writesPerAutoplan: Summary;
}

function sectionF(a: Comparison): SectionF {
  const measured = a.atoll.filter((s) => s.ok && !s.warmup && s.api);
  return {
    perAutoplan: summarize(measured.map((s) => s.api!.total)),
    example: measured[measured.length - 1]?.api,
    duplicates: a.atoll.filter((s) => s.api).map((s) => ({ iteration: s.iteration, warmup: s.warmup, duplicateReads: s.api!.duplicateReads })),
    writeGapsMs: summarize(measured.flatMap((s) => s.api!.writeGapsMs)),
    writesPerAutoplan: summarize(measured.map((s) => s.api!.writes)),
  };
}

async function monorepo(ctx: Ctx): Promise<{ repo: FakeRepo; dirs: string[] }> {
  const name = "mono";
  const dirs = projectDirs(ctx.opts.bProjects);
  try {
    return { repo: ctx.github.repo(OWNER, name), dirs };
  } catch {
    const repo = await ctx.github.createRepo(OWNER, name);
    const files: Record<string, string> = { "README.md": "# monorepo\n", "atoll.yaml": monorepoConfig(dirs) };
    for (const d of dirs) files[`${d}/main.tf`] = projectTf(`initial-${d}`);
    await repo.commit("main", files, "initial");
    return { repo, dirs };
  }
}

async function sectionB(ctx: Ctx): Promise<Comparison> {
  const { repo, dirs } = await monorepo(ctx);
  return compare(ctx, "b", repo, dirs, ctx.opts.bIterations, ctx.opts.bWarmup, 900_000);
}

// ============================================================================ (c) checkout on a large history

interface SectionC {
  method: "server log" | "direct createGitWorkspace call";
  methodNote: string;
  history: { commits: number; packBytes: number; importMs: number; tipFiles: number };
  /** Checkout of the 2nd, 3rd… PR (the measured figure). */
  checkout: Summary;
  checkoutSamples: number[];
  /** First PR's checkout (cold). */
  firstCheckoutMs?: number;
  /** Bare `git clone --depth=1` of the same branches, alternated with the checkouts. */
  shallowClone: Summary;
  /** One full `git clone` of the repository, for scale. */
  fullCloneMs?: number;
  /** Webhook → plan comment through the server for PR 1 and PR 2 (informational). */
  serverPlanMs: number[];
  /** Log lines found that mention a checkout duration. */
  logLines: string[];
}

/** A JSON log line about a checkout/fetch with a duration field, for PR `n`. */
function checkoutLogDuration(lines: string[], pullNumber: number): { ms: number; line: string } | undefined {
  for (const line of lines) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line.replace(/^\[stderr\] /, "")) as Record<string, unknown>;
    } catch {
      continue;
    }
    const msg = String(o.msg ?? "");
    if (!/checkout|clone|fetch|worktree|mirror/i.test(msg)) continue;
    const pr = o.pull ?? o.pullNumber ?? o.pr;
    if (pr !== undefined && Number(pr) !== pullNumber) continue;
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === "number" && /^(duration(Ms)?|elapsed(Ms)?|ms|took(Ms)?|checkoutMs|durationMs)$/i.test(k)) return { ms: v, line };
    }
  }
  return undefined;
}

async function sectionC(ctx: Ctx): Promise<SectionC> {
  const o = ctx.opts;
  const repo = await ctx.github.createRepo(OWNER, "history");
  await repo.commit("main", { "README.md": "# large history\n", "app/main.tf": projectTf("initial") }, "initial");
  const t = performance.now();
  await appendHistory(repo, { commits: o.cCommits, bytesPerCommit: o.cBytesPerCommit, files: o.cFiles });
  const importMs = performance.now() - t;
  const size = await repoSizeBytes(repo);
  progress(`  history: ${size.commits} commits, ${(size.packBytes / 1048576).toFixed(1)} MB packed, imported in ${fmtS(importMs)}`);

  let epoch = 1_700_000_000;
  const newPr = async (k: number): Promise<PullRecord> => {
    // New commits land on main between PRs: the second PR's checkout has something new to fetch.
    if (k > 1) await appendHistory(repo, { commits: o.cNewCommitsPerPr, bytesPerCommit: o.cBytesPerCommit, files: o.cFiles, startEpoch: (epoch += 100_000) });
    await repo.commit(`c-${k}`, { "app/main.tf": projectTf(`c-${k}`) }, `c: change ${k}`, { from: "main" });
    return ctx.github.createPull(OWNER, repo.name, { head: `c-${k}`, author: "alice" });
  };

  // Through the server: PR 1 warms whatever cache Atoll keeps, PR 2 is the measured "second PR".
  const serverPlanMs: number[] = [];
  const logStart = ctx.atoll.logs().length;
  const p1 = await newPr(1);
  const s1 = await atollAutoplan(ctx, repo, p1, 1, { iteration: 1, warmup: true, order: 0 }, 300_000);
  await closePr(ctx, repo, p1);
  const p2 = await newPr(2);
  const s2 = await atollAutoplan(ctx, repo, p2, 1, { iteration: 2, warmup: false, order: 0 }, 300_000);
  await closePr(ctx, repo, p2);
  for (const s of [s1, s2]) {
    if (!s.ok) throw new Error(`planning the large-history PR failed: ${s.error}`);
    serverPlanMs.push(s.ms);
  }
  progress(`  server: webhook → plan comment, PR 1 ${fmtS(s1.ms)}, PR 2 ${fmtS(s2.ms)}`);
  const logs = ctx.atoll.logs().slice(logStart);
  const fromLog = checkoutLogDuration(logs, p2.number);
  const logLines = logs.filter((l) => /checkout|clone|fetch|mirror|worktree/i.test(l)).slice(0, 20);

  const token = await ctx.token();
  const shallow: number[] = [];
  let fullCloneMs: number | undefined;
  {
    const w = await tempDir("fullclone");
    fullCloneMs = await fullClone(repo.cloneUrl, join(w, "repo"), token, 600_000);
    if (!o.keep) await removeTempDir(w);
  }

  if (fromLog) {
    // The server logs its checkout durations: that is the measurement (PR 2 plus any later ones).
    const samples = [fromLog.ms];
    for (let k = 3; k < 3 + o.cIterations - 1; k++) {
      const p = await newPr(k);
      const before = ctx.atoll.logs().length;
      const s = await atollAutoplan(ctx, repo, p, 1, { iteration: k, warmup: false, order: 0 }, 300_000);
      await closePr(ctx, repo, p);
      if (!s.ok) throw new Error(`planning large-history PR ${k} failed: ${s.error}`);
      const d = checkoutLogDuration(ctx.atoll.logs().slice(before), p.number);
      if (d) samples.push(d.ms);
      const w = await tempDir("shallow");
      shallow.push(await shallowClone(repo.cloneUrl, `c-${k}`, join(w, "repo"), token, 600_000));
      if (!o.keep) await removeTempDir(w);
    }
    return {
      method: "server log",
      methodNote:
        "durationMs of Atoll's \"git checkout ready\" log line: the mirror fetch (fetchMs) plus building the working tree (buildMs) " +
        `(${firstLine(fromLog.line).slice(0, 160)})`,
      history: { ...size, importMs, tipFiles: o.cFiles + 2 },
      checkout: summarize(samples),
      checkoutSamples: samples,
      shallowClone: summarize(shallow),
      fullCloneMs,
      serverPlanMs,
      logLines,
    };
  }

  // No checkout duration in the server log: time WorkspacePort.checkout directly, with the same
  // adapter the server uses (lib/adapters/git-workspace.js), against the fake's clone URL.
  const mod = (await import(join(REPO_ROOT, "lib", "adapters", "git-workspace.js"))) as {
    createGitWorkspace: (o: { rootDir: string }) => {
      checkout(req: { owner: string; repo: string; pullNumber: number; sha: string; cloneUrl: string; token: () => Promise<string> }): Promise<{ dir: string; reused: boolean }>;
    };
  };
  const root = await tempDir("workspaces");
  const ws = mod.createGitWorkspace({ rootDir: root });
  const timeCheckout = async (p: PullRecord): Promise<number> => {
    const started = performance.now();
    const c = await withTimeout(
      ws.checkout({ owner: OWNER, repo: repo.name, pullNumber: p.number, sha: p.headSha, cloneUrl: repo.cloneUrl, token: () => ctx.token() }),
      600_000,
      `checkout of ${repo.name}#${p.number}`,
    );
    const ms = performance.now() - started;
    if (c.reused) throw new Error(`checkout of #${p.number} was reused; expected a fresh one`);
    return ms;
  };
  // Server PRs 1 and 2 are already taken; the direct workspace has its own data dir.
  const firstCheckoutMs = await timeCheckout(p1);
  const samples: number[] = [];
  for (let k = 3; k < 3 + o.cIterations; k++) {
    const p = await newPr(k);
    const checkoutFirst = k % 2 === 1;
    for (let step = 0; step < 2; step++) {
      if ((step === 0) === checkoutFirst) samples.push(await timeCheckout(p));
      else {
        const w = await tempDir("shallow");
        shallow.push(await shallowClone(repo.cloneUrl, `c-${k}`, join(w, "repo"), token, 600_000));
        if (!o.keep) await removeTempDir(w);
      }
    }
    progress(`  checkout #${p.number}: ${fmtS(samples[samples.length - 1]!)}  (shallow clone ${fmtS(shallow[shallow.length - 1]!)})`);
  }
  if (!o.keep) await removeTempDir(root);
  return {
    method: "direct createGitWorkspace call",
    methodNote:
      "Atoll logs no checkout duration, so WorkspacePort.checkout of lib/adapters/git-workspace.js was timed directly (same adapter as the server, " +
      "fresh root dir, token minted from the fake); the first PR's checkout warms it, later PRs (with new commits on main in between) are measured",
    history: { ...size, importMs, tipFiles: o.cFiles + 2 },
    checkout: summarize(samples),
    checkoutSamples: samples,
    firstCheckoutMs,
    shallowClone: summarize(shallow),
    fullCloneMs,
    serverPlanMs,
    logLines,
  };
}

// ============================================================================ (d) webhook acknowledgement under load

interface SectionD {
  rate: number;
  seconds: number;
  sent: number;
  completed: number;
  errors: number;
  errorSamples: string[];
  statuses: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  achievedRate: number;
  maxSenderLagMs: number;
  /** Jobs queued or running when the load ended (plans were running during the load). */
  jobsActiveAtStart: number;
  jobsActiveAtEnd: number;
  planCommentBeforeLoadEnd: boolean;
  /** Share of 100 ms samples during the load with a terraform process of the server running, and the most at once. */
  terraformDuringLoad: { samples: number; withAny: number; max: number };
  mix: string;
}

async function sectionD(ctx: Ctx): Promise<SectionD> {
  const o = ctx.opts;
  const { repo, dirs } = await monorepo(ctx);
  const files: Record<string, string> = {};
  for (const d of dirs) files[`${d}/main.tf`] = projectTf(`d-${d}`);
  await repo.commit("d-load", files, "d: plans to run during the load", { from: "main" });
  const pull = await ctx.github.createPull(OWNER, repo.name, { head: "d-load", author: "alice" });
  const opened = pullRequestEventFor("opened", pull, ctx.repoOpts(repo));
  const chatter = issueCommentEvent({ ...ctx.repoOpts(repo), number: pull.number, user: "bob", body: "Looks good to me, thanks!", commentId: 777000001, author: pull.author });
  const cfgFile = join(await tempDir("load"), "load.json");
  const cfg: LoadConfig = {
    url: ctx.atoll.webhookUrl,
    secret: ctx.github.webhookSecret,
    rate: o.dRate,
    durationMs: o.dSeconds * 1000,
    timeoutMs: 30_000,
    templates: [
      // A PR comment that is not a command: verified, parsed, ignored.
      { event: "issue_comment", body: JSON.stringify(chatter.payload), vary: "777000001" },
      // A redelivery of the PR's `opened` webhook: verified, looked up, answered as a duplicate.
      { event: "pull_request", body: JSON.stringify(opened.payload), deliveryId: opened.id },
    ],
  };
  await writeFile(cfgFile, JSON.stringify(cfg));

  // The PR's webhook starts its plans and the load follows at once (the sender needs ~0.1 s to
  // start), so it covers the checkout, the terraform runs and the GitHub writes that follow. The
  // redeliveries in the load reuse this webhook's delivery id, so they must come after it.
  const tf = sampleDescendants(ctx.atoll.pid, "terraform", 100);
  let tfSeen: ReturnType<ReturnType<typeof sampleDescendants>["stop"]> | undefined;
  let jobsActiveAtStart = 0;
  let result: LoadResult;
  try {
    const res = await ctx.atoll.send(opened);
    if (res.status !== 200) throw new Error(`webhook answered HTTP ${res.status}`);
    result = await runLoadSender(cfgFile, o.dSeconds * 1000 + 60_000, async () => {
      jobsActiveAtStart = activeJobs(ctx);
    });
  } finally {
    tfSeen = tf.stop();
  }
  const jobsActiveAtEnd = activeJobs(ctx);
  const planCommentBeforeLoadEnd = planCommentDone(ctx, repo.name, pull.number) !== undefined;
  progress(`  load done: ${result.completed}/${result.sent} answered; plans still running: ${jobsActiveAtEnd > 0 ? "yes" : "no"}`);
  await pollUntil(() => planCommentDone(ctx, repo.name, pull.number), { timeoutMs: 900_000, intervalMs: 100, what: "the load PR's plan comment", context: logTail(ctx) });
  await waitIdle(ctx, "the load PR");
  await closePr(ctx, repo, pull);
  const l = result.latenciesMs;
  return {
    rate: o.dRate,
    seconds: o.dSeconds,
    sent: result.sent,
    completed: result.completed,
    errors: result.errors,
    errorSamples: result.errorSamples,
    statuses: result.statuses,
    p50: percentile(l, 50),
    p95: percentile(l, 95),
    p99: percentile(l, 99),
    max: Math.max(...l),
    achievedRate: result.achievedRate,
    maxSenderLagMs: result.maxLagMs,
    jobsActiveAtStart,
    jobsActiveAtEnd,
    planCommentBeforeLoadEnd,
    terraformDuringLoad: tfSeen!,
    mix: "50% issue_comment (not a command → ignored), 50% redelivered pull_request.opened (→ duplicate), during a 20-project plan",
  };
}

/** Run load-sender.js on `cfgFile`; `onStarted` runs (concurrently) once it has begun sending. */
function runLoadSender(cfgFile: string, timeoutMs: number, onStarted: () => Promise<void>): Promise<LoadResult> {
  return new Promise((resolveLoad, reject) => {
    const child = spawn(process.execPath, [join(HERE, "load-sender.js"), cfgFile], { stdio: ["ignore", "pipe", "pipe"] });
    onCleanup(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let out = "";
    let err = "";
    let started: Promise<void> | undefined;
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      if (!started && err.includes("load-sender: started")) {
        started = onStarted();
        started.catch(() => undefined);
      }
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`load sender did not finish within ${Math.round(timeoutMs / 1000)} s: ${err.slice(-1000)}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`load sender exited with ${code}: ${err.slice(-2000)}`));
      if (!started) return reject(new Error(`load sender never started: ${err.slice(-1000)}`));
      let parsed: LoadResult;
      try {
        parsed = JSON.parse(out) as LoadResult;
      } catch (e) {
        return reject(new Error(`load sender printed no result: ${(e as Error).message}; stderr: ${err.slice(-1000)}`));
      }
      started.then(() => resolveLoad(parsed), reject);
    });
  });
}

// ============================================================================ (e) memory

interface SectionE {
  idleFreshMb: number;
  idleAfterWorkMb?: number;
  peakMb: number;
  peakSampledMb: number;
  peakHwmMb?: number;
  hwmReset: boolean;
  planMs: number;
  commentParts: number;
  resources: number;
}

async function idleRss(pid: number, ms = 2000): Promise<number> {
  const values: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const m = procMemory(pid);
    if (m) values.push(m.rssKb);
    await sleep(100);
  }
  return mb(summarize(values).median);
}

async function sectionE(ctx: Ctx, idleFreshMb: number): Promise<SectionE> {
  await ensureAtoll(ctx);
  await waitIdle(ctx, "earlier sections", 600_000, 1000);
  const idleAfterWorkMb = await idleRss(ctx.atoll.pid);
  const repo = await ctx.github.createRepo(OWNER, "big");
  await repo.commit("main", { "README.md": "# big\n" }, "initial");
  await repo.commit("big", { "big/main.tf": projectTf("value", ctx.opts.eResources) }, `${ctx.opts.eResources} resources`, { from: "main" });
  const pull = await ctx.github.createPull(OWNER, repo.name, { head: "big", author: "alice" });
  const hwmReset = resetPeakRss(ctx.atoll.pid);
  const sampler = sampleMemory(ctx.atoll.pid, 50);
  let stats: ReturnType<ReturnType<typeof sampleMemory>["stop"]> | undefined;
  const s = await atollAutoplan(ctx, repo, pull, 1, { iteration: 0, warmup: false, order: 0 }, 600_000).finally(() => {
    stats = sampler.stop();
  });
  if (!s.ok) throw new Error(`the ${ctx.opts.eResources}-resource plan failed: ${s.error}`);
  const hwm = stats!.last?.hwmKb;
  const peakSampledMb = mb(stats!.maxRssKb);
  const peakHwmMb = hwmReset && hwm ? mb(hwm) : undefined;
  return {
    idleFreshMb,
    idleAfterWorkMb,
    peakMb: Math.max(peakSampledMb, peakHwmMb ?? 0),
    peakSampledMb,
    ...(peakHwmMb !== undefined ? { peakHwmMb } : {}),
    hwmReset,
    planMs: s.ms,
    commentParts: appComments(ctx, repo.name, pull.number).length,
    resources: ctx.opts.eResources,
  };
}

// ============================================================================ reporting

interface Target {
  id: string;
  met: boolean | null;
  line: string;
}

interface Results {
  meta: Record<string, unknown>;
  idleFreshMb?: number;
  a?: Comparison;
  b?: Comparison;
  c?: SectionC;
  d?: SectionD;
  e?: SectionE;
  f?: SectionF;
  errors: Record<string, string>;
  warnings: string[];
  targets: Target[];
}

const fmtS = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? "n/a" : `${(ms / 1000).toFixed(2)} s`);
const fmtMs = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? "n/a" : ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);
const fmtRange = (s: Summary, f = fmtS) => (s.n ? `${f(s.median)} [${f(s.min)} – ${f(s.max)}]` : "n/a");
const firstLine = (s: string | undefined) => (s ?? "").split("\n")[0] ?? "";

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

function targets(r: Results, o: Options): Target[] {
  const t: Target[] = [];
  const err = (id: string) => r.errors[id] ? ` (not measured: ${firstLine(r.errors[id])})` : " (not run)";
  if (r.a && r.a.atollSummary.n && r.a.baselineSummary.n) {
    const met = r.a.ratio <= 1.15;
    t.push({ id: "a", met, line: `(a) ${met ? "met" : "not met"}: one project, webhook → plan comment ${fmtS(r.a.atollSummary.median)} vs bare git clone + init + plan + show ${fmtS(r.a.baselineSummary.median)} = ${r.a.ratio.toFixed(2)}× (target ≤ 1.15×)` });
  } else t.push({ id: "a", met: null, line: `(a) not met: no measurement${err("a")}` });
  if (r.b && r.b.atollSummary.n && r.b.baselineSummary.n) {
    const met = r.b.ratio <= 0.6;
    // On few cores the target can be out of reach for any scheduler: say so with the numbers.
    const floor = r.b.baselineCpu.n && r.b.cpuFloorRatio > 0.6 ? ` — on ${cpus().length} cores the baseline's own CPU time (${fmtS(r.b.baselineCpu.median)}) allows no less than ${r.b.cpuFloorRatio.toFixed(2)}×` : "";
    t.push({ id: "b", met, line: `(b) ${met ? "met" : "not met"}: ${o.bProjects} projects, webhook → plan comment ${fmtS(r.b.atollSummary.median)} vs sequential baseline ${fmtS(r.b.baselineSummary.median)} = ${r.b.ratio.toFixed(2)}× (target ≤ 0.6×)${floor}` });
  } else t.push({ id: "b", met: null, line: `(b) not met: no measurement${err("b")}` });
  if (r.c && r.c.checkout.n) {
    const met = r.c.checkout.median < 2000;
    t.push({ id: "c", met, line: `(c) ${met ? "met" : "not met"}: checkout of a second PR on a ${r.c.history.commits}-commit, ${(r.c.history.packBytes / 1048576).toFixed(0)} MB repo ${fmtS(r.c.checkout.median)} (max ${fmtS(r.c.checkout.max)}; ${r.c.method}) (target < 2 s)` });
  } else t.push({ id: "c", met: null, line: `(c) not met: no measurement${err("c")}` });
  if (r.d) {
    const met = r.d.p95 < 50 && r.d.errors === 0;
    t.push({ id: "d", met, line: `(d) ${met ? "met" : "not met"}: webhook ack at ${r.d.rate}/s while plans run: p50 ${fmtMs(r.d.p50)}, p95 ${fmtMs(r.d.p95)}, p99 ${fmtMs(r.d.p99)}${r.d.errors ? `, ${r.d.errors} errors` : ""} (target p95 < 50 ms)` });
  } else t.push({ id: "d", met: null, line: `(d) not met: no measurement${err("d")}` });
  if (r.e) {
    const idle = Math.max(r.e.idleFreshMb, r.e.idleAfterWorkMb ?? 0);
    const met = idle <= 120 && r.e.peakMb < 300;
    t.push({ id: "e", met, line: `(e) ${met ? "met" : "not met"}: idle RSS ${r.e.idleFreshMb.toFixed(0)} MB fresh / ${(r.e.idleAfterWorkMb ?? NaN).toFixed(0)} MB after the other sections, peak ${r.e.peakMb.toFixed(0)} MB rendering a ${r.e.resources}-resource plan (target idle ≤ 120 MB, peak < 300 MB)` });
  } else t.push({ id: "e", met: null, line: `(e) not met: no measurement${err("e")}` });
  if (r.f && r.f.perAutoplan.n) {
    const dups = r.f.duplicates.filter((d) => !d.warmup).flatMap((d) => d.duplicateReads);
    const coldDups = r.f.duplicates.filter((d) => d.warmup).flatMap((d) => d.duplicateReads);
    const met = dups.length === 0;
    const dupText = dups.length ? `; made twice: ${[...new Set(dups.map((d) => `${d.call.slice(0, 120)} ×${d.count}`))].join("; ")}` : "; no read made twice";
    const coldText = coldDups.length ? ` (first autoplan after start: ${coldDups.map((d) => `${d.call.slice(0, 80)} ×${d.count}`).join("; ")})` : "";
    t.push({ id: "f", met, line: `(f) ${met ? "met" : "not met"}: ${r.f.perAutoplan.median} GitHub API calls per autoplan of one project (${r.f.example?.reads ?? "?"} reads, ${r.f.example?.writes ?? "?"} writes)${dupText}${coldText}` });
  } else t.push({ id: "f", met: null, line: `(f) not met: no measurement${err("a")}` });
  return t;
}

function table(r: Results, o: Options): string {
  const rows: string[][] = [["", "measure", "Atoll median [min – max]", "baseline median [min – max]", "ratio", "n"]];
  if (r.a) rows.push(["(a)", "1 project: webhook → plan comment", fmtRange(r.a.atollSummary), fmtRange(r.a.baselineSummary), `${r.a.ratio.toFixed(2)}×`, String(r.a.atollSummary.n)]);
  if (r.b) rows.push(["(b)", `${o.bProjects} projects (parallel_plan): webhook → plan comment`, fmtRange(r.b.atollSummary), `${fmtRange(r.b.baselineSummary)} sequential`, `${r.b.ratio.toFixed(2)}×`, String(r.b.atollSummary.n)]);
  if (r.c)
    rows.push([
      "(c)",
      `checkout, 2nd PR, ${r.c.history.commits} commits / ${(r.c.history.packBytes / 1048576).toFixed(0)} MB`,
      fmtRange(r.c.checkout),
      `${fmtRange(r.c.shallowClone)} clone --depth=1`,
      `${(r.c.checkout.median / r.c.shallowClone.median).toFixed(2)}×`,
      String(r.c.checkout.n),
    ]);
  if (r.d) rows.push(["(d)", `webhook ack @ ${r.d.rate}/s for ${r.d.seconds} s, plans running`, `p50 ${fmtMs(r.d.p50)}  p95 ${fmtMs(r.d.p95)}  p99 ${fmtMs(r.d.p99)}  max ${fmtMs(r.d.max)}`, "", "", String(r.d.completed)]);
  if (r.e) rows.push(["(e)", `RSS idle (fresh / after work), peak @ ${r.e.resources}-resource plan`, `${r.e.idleFreshMb.toFixed(0)} / ${(r.e.idleAfterWorkMb ?? NaN).toFixed(0)} MB, peak ${r.e.peakMb.toFixed(0)} MB`, "", "", "1"]);
  if (r.f) rows.push(["(f)", "GitHub API calls per autoplan (1 project)", `${fmtRange(r.f.perAutoplan, (x) => String(x))} (writes ${r.f.writesPerAutoplan.median})`, "", "", String(r.f.perAutoplan.n)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

function details(r: Results): string {
  const out: string[] = [];
  const timeline = (c: Comparison) => {
    const m = c.atoll.filter((s) => s.ok && !s.warmup);
    const med = (f: (s: AtollSample) => number | undefined) => fmtS(summarize(m.map(f).filter((x): x is number => x !== undefined)).median);
    return `Atoll timeline (median, from the webhook): first git request ${med((s) => s.timeline.firstGitMs)}, first check run ${med((s) => s.timeline.firstCheckRunMs)}, comment POST ${med((s) => s.timeline.commentPostMs)}, idle ${med((s) => s.timeline.idleMs)}; webhook ack ${fmtMs(summarize(m.map((s) => s.ackMs)).median)}`;
  };
  const baseSteps = (c: Comparison) => {
    const m = c.baseline.filter((s) => s.ok && !s.warmup);
    const sum = (f: (p: BaselineResult["projects"][number]) => number) => summarize(m.map((s) => s.projects.reduce((a, p) => a + f(p), 0))).median;
    return `baseline steps (median): clone ${fmtS(summarize(m.map((s) => s.cloneMs)).median)}, init ${fmtS(sum((p) => p.initMs))}, plan ${fmtS(sum((p) => p.planMs))}, show -json ${fmtS(sum((p) => p.showMs))}`;
  };
  const cpu = (c: Comparison) =>
    c.atollCpu.n && c.baselineCpu.n
      ? `CPU time (median): Atoll ${fmtS(c.atollCpu.median)} (server + its git and terraform), baseline ${fmtS(c.baselineCpu.median)}; ` +
        `the baseline's CPU alone over ${cpus().length} cores takes ≥ ${fmtS(c.baselineCpu.median / cpus().length)} = ${c.cpuFloorRatio.toFixed(2)}× its sequential time`
      : "CPU time: not readable (/proc)";
  if (r.a) out.push(`(a) ${timeline(r.a)}`, `    ${baseSteps(r.a)}`, `    ${cpu(r.a)}`);
  if (r.b) out.push(`(b) ${timeline(r.b)}`, `    ${baseSteps(r.b)}`, `    ${cpu(r.b)}`);
  if (r.f) {
    out.push(
      `(f) writes per autoplan ${r.f.writesPerAutoplan.median}; gap between consecutive writes: median ${fmtMs(r.f.writeGapsMs.median)}, min ${fmtMs(r.f.writeGapsMs.min)}`,
    );
    if (r.f.example) {
      out.push(`    calls of the last measured autoplan (ms after the webhook):`);
      for (const c of r.f.example.calls) out.push(`      ${String(Math.round(c.atMs)).padStart(6)}  ${c.kind === "read" ? "R" : "W"} ${c.status} ${c.method} ${c.path}`);
      if (r.f.example.repeatedWrites.length) out.push(`    repeated writes (by design?): ${r.f.example.repeatedWrites.map((w) => `${w.call} ×${w.count}`).join("; ")}`);
    }
  }
  if (r.c) {
    out.push(
      `(c) ${r.c.method}: ${r.c.methodNote}.`,
      `    history ${r.c.history.commits} commits, ${(r.c.history.packBytes / 1048576).toFixed(1)} MB, imported in ${fmtS(r.c.history.importMs)}; first PR checkout ${fmtS(r.c.firstCheckoutMs)}; full git clone ${fmtS(r.c.fullCloneMs)}; server webhook → plan comment PR 1 / PR 2: ${r.c.serverPlanMs.map((x) => fmtS(x)).join(" / ")}`,
    );
  }
  if (r.d) {
    out.push(
      `(d) ${r.d.mix}; sent ${r.d.sent} (${r.d.achievedRate.toFixed(0)}/s achieved, sender lag max ${fmtMs(r.d.maxSenderLagMs)}), answered ${r.d.completed}, statuses ${JSON.stringify(r.d.statuses)}; jobs active at load start/end ${r.d.jobsActiveAtStart}/${r.d.jobsActiveAtEnd}; terraform running in ${r.d.terraformDuringLoad.withAny}/${r.d.terraformDuringLoad.samples} samples (max ${r.d.terraformDuringLoad.max} at once)${r.d.planCommentBeforeLoadEnd ? " (WARNING: the plan had finished before the load ended)" : ""}`,
    );
  }
  if (r.e) out.push(`(e) peak: sampled every 50 ms ${r.e.peakSampledMb.toFixed(0)} MB${r.e.peakHwmMb !== undefined ? `, VmHWM ${r.e.peakHwmMb.toFixed(0)} MB (reset before the plan)` : " (VmHWM could not be reset)"}; the plan took ${fmtS(r.e.planMs)} webhook → last comment part (${r.e.commentParts} parts)`);
  const fake = r.meta.fakeGitHub as { violations: number; unhandled: string[]; internalErrors: number } | undefined;
  if (fake) out.push(`fake GitHub: ${fake.violations} contract violations, ${fake.unhandled.length} unhandled requests${fake.unhandled.length ? ` (${fake.unhandled.slice(0, 5).join(", ")})` : ""}, ${fake.internalErrors} internal errors`);
  for (const [k, v] of Object.entries(r.errors)) out.push(`ERROR in (${k}): ${v.split("\n").slice(0, 12).join("\n    ")}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join("\n");
}

function versionOf(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", env: { ...process.env, TF_CLI_CONFIG_FILE: "" }, stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0]!.trim();
  } catch {
    return "unknown";
  }
}

function gitHead(): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: REPO_ROOT, encoding: "utf8" }).trim() !== "";
    return dirty ? `${sha} + uncommitted changes in src/` : sha;
  } catch {
    return "unknown";
  }
}

// ============================================================================ main

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  installCleanupHandlers();
  linkNodeModules(COMPILED_ROOT, REPO_ROOT);
  if (!existsSync(join(REPO_ROOT, "lib", "index.js"))) throw new Error("lib/index.js is missing: run `npm run build` (npm run bench does)");
  const started = Date.now();
  const results: Results = {
    meta: {
      startedAt: new Date(started).toISOString(),
      mode: opts.mode,
      options: { ...opts, only: [...opts.only] },
      host: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryMb: Math.round(totalmem() / 1048576), node: process.version },
      git: versionOf("git", ["--version"]),
      terraform: versionOf(opts.terraformBin, ["version"]),
      atoll: gitHead(),
      // Atoll runs with its defaults (job concurrency, parallel pool, plugin cache…) except these.
      serverEnv: { LOG_LEVEL: opts.logLevel, ...opts.serverEnv },
    },
    errors: {},
    warnings: [],
    targets: [],
  };
  progress(`Atoll benchmark (${opts.mode}) — ${results.meta.host && cpus().length} CPUs, ${results.meta.terraform}, ${results.meta.git}`);

  const github = await startFakeGitHub();
  onCleanup(() => github.close());
  const dataDir = await tempDir("data");
  let token: { value: string; at: number } | undefined;
  const partial = { opts, github, dataDir };
  const atoll = await launchAtoll(partial);
  const ctx: Ctx = {
    ...partial,
    atoll,
    atollExited: false,
    warnings: results.warnings,
    async token() {
      if (!token || Date.now() - token.at > 30 * 60_000) token = { value: await mintInstallationToken(github), at: Date.now() };
      return token.value;
    },
    repoOpts: (repo) => ({ owner: OWNER, repo: repo.name, htmlBase: github.url, apiBase: github.apiUrl, cloneUrl: repo.cloneUrl, installationId: 1 }),
  };
  watchExit(ctx);
  onCleanup(async () => {
    ctx.db?.close();
    await ctx.atoll.stop("SIGTERM", 5000).catch(() => undefined);
  });
  if (opts.keep) progress(`  keeping temp dirs (data dir ${dataDir})`);

  // Idle memory of a fresh server (settled for a few seconds after it answered /ping).
  await sleep(3000);
  results.idleFreshMb = await idleRss(ctx.atoll.pid);
  progress(`  idle RSS (fresh): ${results.idleFreshMb.toFixed(0)} MB`);

  const section = async <T>(id: string, title: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!opts.only.has(id)) return undefined;
    progress(`\n${title}`);
    const t = performance.now();
    try {
      return await fn();
    } catch (e) {
      results.errors[id] = (e as Error).stack ?? String(e);
      progress(`  ERROR: ${(e as Error).message.split("\n").slice(0, 6).join("\n  ")}`);
      await waitIdle(ctx, `the failed section ${id}`, 300_000).catch(() => undefined);
      return undefined;
    } finally {
      progress(`  (${id} took ${fmtS(performance.now() - t)})`);
    }
  };

  results.a = await section("a", `(a)+(f) one project, ${opts.aWarmup} warm-up + ${opts.aIterations} alternations`, () => sectionA(ctx));
  if (results.a) results.f = sectionF(results.a);
  results.b = await section("b", `(b) ${opts.bProjects} projects, ${opts.bWarmup} warm-up + ${opts.bIterations} alternations`, () => sectionB(ctx));
  results.d = await section("d", `(d) webhook acks at ${opts.dRate}/s for ${opts.dSeconds} s while plans run`, () => sectionD(ctx));
  results.c = await section("c", `(c) checkout on a large history (${opts.cCommits} commits)`, () => sectionC(ctx));
  results.e = await section("e", `(e) memory: idle and a ${opts.eResources}-resource plan`, () => sectionE(ctx, results.idleFreshMb!));

  results.targets = targets(results, opts);
  results.meta.durationMs = Date.now() - started;
  results.meta.fakeGitHub = {
    violations: github.violations.length,
    unhandled: github.unhandled.map((u) => `${u.method} ${u.path}`),
    internalErrors: github.internalErrors.length,
  };

  if (opts.logFile) await writeFile(opts.logFile, `${ctx.atoll.logs().join("\n")}\n`);
  const resultsDir = join(REPO_ROOT, "bench", "results");
  await mkdir(resultsDir, { recursive: true });
  const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
  const file = join(resultsDir, `${stamp}-${opts.mode}.json`);
  const json = JSON.stringify(results, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2);
  await writeFile(file, json);
  await writeFile(join(resultsDir, "latest.json"), json);

  process.stdout.write(`\nAtoll benchmark (${opts.mode}), ${results.meta.startedAt}, ${cpus().length} CPUs, ${results.meta.terraform}, ${results.meta.git}, Atoll ${results.meta.atoll}\n\n`);
  process.stdout.write(`${table(results, opts)}\n\n${details(results)}\n\n`);
  process.stdout.write(`results: ${file} (and bench/results/latest.json); took ${fmtS(Date.now() - started)}\n\n`);
  process.stdout.write(`${results.targets.map((t) => t.line).join("\n")}\n`);
  return Object.keys(results.errors).length ? 1 : 0;
}

main()
  .then(async (code) => {
    await runCleanups();
    process.exit(code);
  })
  .catch(async (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
    await runCleanups();
    process.exit(1);
  });
