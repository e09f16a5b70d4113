/**
 * Atoll's benchmark (issue 5): the built server as a real process, driven through the fake
 * GitHub with signed webhooks, real git and real terraform, side by side with a bare baseline
 * doing the same git and terraform work, alternating the two.
 *
 *   npm run bench               full run (several alternations, larger history, longer load)
 *   npm run bench -- --quick    < 5 minutes on 2 cores
 *
 * Options: --quick, --only=a,b,c,d,e,g (f comes with a), --store=sqlite|postgres|both (the
 * server's store; (a), (b), (d) run on each, the rest on the first; full runs do both, quick runs
 * SQLite), --iterations=N (a), --log-level=debug, --env=KEY=VALUE (extra server environment,
 * repeatable), --keep (keep temp dirs), --log-file=PATH (write the server's log lines there at
 * the end; `.postgres` is appended for the second store), --cpu-prof=DIR (V8 CPU profiles of
 * the server, written when it stops), --node-arg=ARG (an option for the server's node, repeatable),
 * --help.
 *
 * (g) is monorepo scale: a repository of 2,000 projects listed in atlantis.yaml and PRs changing
 * up to 300 files, webhook → "projects chosen" → comment, next to a bare script's discovery.
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
import pg from "pg";
import { Minimatch } from "minimatch";
import { parse as parseYaml } from "yaml";
import { posix } from "node:path";
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
import { startPostgres } from "../test/helpers/postgres.js";
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
  /** Resources per project of (d)'s plan, so that it outlasts the load. */
  dResources: number;
  eResources: number;
  only: Set<string>;
  logLevel: string;
  serverEnv: Record<string, string>;
  keep: boolean;
  /** Write the server's log lines here at the end (for finding where the time goes). */
  logFile?: string;
  /** Write V8 CPU profiles of the server here (`node --cpu-prof`), one per server process, when it stops. */
  cpuProfDir?: string;
  /** More options for the server's node (`--node-arg=--trace-gc`, repeatable). */
  nodeArgs: string[];
  terraformBin: string;
  /** Stores the server runs on: (a), (b), (d) are measured on each; the other sections on the first. */
  stores: StoreKind[];
  /** (g) monorepo scale: [configured projects, changed files] per PR. */
  gSizes: Array<[number, number]>;
  /** (g) projects the changed files fall in (and are planned). */
  gTouched: number;
}

type StoreKind = "sqlite" | "postgres";

const USAGE = `usage: npm run bench [-- --quick] [--only=a,b,c,d,e,g] [--store=sqlite|postgres|both] [--iterations=N] [--log-level=LEVEL] [--env=KEY=VALUE]… [--keep] [--log-file=PATH] [--cpu-prof=DIR] [--node-arg=ARG]…`;

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
    dResources: quick ? 150 : 500,
    eResources: 3000,
    only: new Set(["a", "b", "c", "d", "e", "f", "g"]),
    logLevel: "debug",
    serverEnv: {},
    nodeArgs: [],
    keep: false,
    terraformBin: process.env.ATOLL_TERRAFORM_BIN?.trim() || "terraform",
    stores: quick ? ["sqlite"] : ["sqlite", "postgres"],
    gSizes: quick ? [[2000, 300]] : [[500, 300], [1000, 300], [2000, 300], [2000, 75], [2000, 150]],
    gTouched: 10,
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
    } else if (arg.startsWith("--store=")) {
      const v = arg.slice(8);
      if (v !== "sqlite" && v !== "postgres" && v !== "both") throw new Error(`--store must be sqlite, postgres or both, got ${v}`);
      o.stores = v === "both" ? ["sqlite", "postgres"] : [v];
    } else if (arg.startsWith("--iterations=")) o.aIterations = Math.max(1, Number(arg.slice(13)) || 1);
    else if (arg.startsWith("--log-level=")) o.logLevel = arg.slice(12);
    else if (arg.startsWith("--log-file=")) o.logFile = resolve(arg.slice(11));
    else if (arg.startsWith("--cpu-prof=")) o.cpuProfDir = resolve(arg.slice(11));
    else if (arg.startsWith("--node-arg=")) o.nodeArgs.push(arg.slice(11));
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
  /** Set when the bench stops the server itself (its exit is then expected). */
  stopping?: boolean;
  dataDir: string;
  /** Where the server keeps its state (and jobs): its SQLite file, or a PostgreSQL database. */
  store: StoreKind;
  /** With the PostgreSQL store: its URL (ATOLL_DATABASE_URL) and a client pool for the bench's reads. */
  pg?: { url: string; pool: pg.Pool };
  db?: Database.Database;
  warnings: string[];
  token(): Promise<string>;
  repoOpts(repo: FakeRepo): { owner: string; repo: string; htmlBase: string; apiBase: string; cloneUrl: string; installationId: number };
}

async function launchAtoll(ctx: Pick<Ctx, "opts" | "github" | "dataDir" | "pg">): Promise<AtollProcess> {
  const env: Record<string, string> = { LOG_LEVEL: ctx.opts.logLevel, ...ctx.opts.serverEnv, ...(ctx.pg ? { ATOLL_DATABASE_URL: ctx.pg.url } : {}) };
  if (process.env.ATOLL_TERRAFORM_BIN) env.ATOLL_TERRAFORM_BIN = process.env.ATOLL_TERRAFORM_BIN;
  const nodeArgs = [...(ctx.opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${ctx.opts.cpuProfDir}`] : []), ...ctx.opts.nodeArgs];
  return startAtoll({ fakeGitHub: ctx.github, dataDir: ctx.dataDir, env, root: REPO_ROOT, readyTimeoutMs: 60_000, nodeArgs });
}

function watchExit(ctx: Ctx): void {
  const me = ctx.atoll;
  void me.exited.then((info) => {
    if (ctx.atoll === me && !ctx.stopping) {
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

const ACTIVE_JOBS = "SELECT count(*) AS n FROM jobs WHERE status IN ('queued','running')";

async function activeJobs(ctx: Ctx): Promise<number> {
  if (ctx.pg) {
    const { rows } = await ctx.pg.pool.query<{ n: string }>(ACTIVE_JOBS).catch(() => ({ rows: [{ n: "0" }] }));
    return Number(rows[0]?.n ?? 0);
  }
  const d = db(ctx);
  if (!d) return 0;
  const row = d.prepare(ACTIVE_JOBS).get() as { n: number };
  return row.n;
}

const logTail = (ctx: Ctx, n = 30) => () => `Atoll log tail:\n${ctx.atoll.logs().slice(-n).join("\n")}\nRecent requests to the fake GitHub:\n${ctx.github.describeRecentRequests(20)}`;

/** No job queued or running and no request to the fake for `quietMs`. */
async function waitIdle(ctx: Ctx, what: string, timeoutMs = 180_000, quietMs = 400): Promise<void> {
  let lastCount = -1;
  let lastChange = performance.now();
  await pollUntil(
    async () => {
      const n = ctx.github.requests.length + ctx.github.gitRequests.length;
      if (n !== lastCount) {
        lastCount = n;
        lastChange = performance.now();
      }
      return performance.now() - lastChange >= quietMs && (await activeJobs(ctx)) === 0;
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
  /** Of cpuMs: the server process alone. */
  serverCpuMs?: number;
  /** Milliseconds after the webhook: first/last git request, first check-run POST, comment POST. */
  timeline: {
    firstGitMs?: number;
    lastGitMs?: number;
    firstCheckRunMs?: number;
    commentPostMs?: number;
    idleMs?: number;
    /** The last write to GitHub (every check run final): ms after the webhook. */
    lastWriteMs?: number;
    /** Writes made (comment parts and check-run creates/updates). */
    writes?: number;
  };
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
    if (cpu0 && cpu1) {
      sample.cpuMs = cpu1.selfMs + cpu1.childrenMs - (cpu0.selfMs + cpu0.childrenMs);
      sample.serverCpuMs = cpu1.selfMs - cpu0.selfMs;
    }
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
  const writes = sample.api.calls.filter((c) => c.kind === "write");
  sample.timeline.writes = writes.length;
  if (writes.length) sample.timeline.lastWriteMs = Math.max(...writes.map((c) => c.atMs));
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

// ============================================================================ (g) monorepo scale

interface ScaleSample {
  projects: number;
  files: number;
  /** Projects the PR touches (and Atoll plans). */
  touched: number;
  ok: boolean;
  error?: string;
  /** Webhook → Atoll's "projects chosen" log line. */
  chosenMs?: number;
  /** Atoll's own figures from that line: the checkout the config is read from, reading the repo config, choosing. */
  checkoutMs?: number;
  configMs?: number;
  chooseMs?: number;
  /** Webhook → plan comment. */
  commentMs?: number;
  /** The same discovery by a bare script: list the PR's files and read atlantis.yaml (API), parse, match. */
  bare?: { totalMs: number; apiMs: number; parseMs: number; matchMs: number; chosen: number };
}

interface SectionG {
  repoDirs: number;
  samples: ScaleSample[];
  /** chooseMs per (project × file), ns, for each size: flat or falling = linear or better. */
  nsPerPair: number[];
}

const SCALE_PATTERNS = ["**/*.tf*", "**/terragrunt.hcl", "**/.terraform.lock.hcl"];
const scaleDir = (i: number) => `stacks/team${String(i % 40).padStart(2, "0")}/p${String(i).padStart(4, "0")}`;

/**
 * The bare script: what a one-off script would do to pick the projects of a PR — list its files
 * and read atlantis.yaml through the API, parse the YAML, and match every file against every
 * project's patterns (each compiled once).
 */
async function bareDiscovery(ctx: Ctx, repo: FakeRepo, pull: PullRecord): Promise<NonNullable<ScaleSample["bare"]>> {
  const token = await ctx.token();
  const headers = { authorization: `token ${token}`, accept: "application/vnd.github+json" };
  const t0 = performance.now();
  const files: string[] = [];
  for (let page = 1; ; page++) {
    const res = await fetch(`${ctx.github.apiUrl}/repos/${OWNER}/${repo.name}/pulls/${pull.number}/files?per_page=100&page=${page}`, { headers });
    if (!res.ok) throw new Error(`bare: list files answered ${res.status}`);
    const batch = (await res.json()) as { filename: string }[];
    files.push(...batch.map((f) => f.filename));
    if (batch.length < 100) break;
  }
  const res = await fetch(`${ctx.github.apiUrl}/repos/${OWNER}/${repo.name}/contents/atlantis.yaml?ref=${pull.headSha}`, { headers });
  if (!res.ok) throw new Error(`bare: atlantis.yaml answered ${res.status}`);
  const text = Buffer.from(((await res.json()) as { content: string }).content, "base64").toString("utf8");
  const t1 = performance.now();
  const config = parseYaml(text) as { projects: { dir: string; autoplan?: { when_modified?: string[] } }[] };
  const t2 = performance.now();
  const compiled = new Map<string, Minimatch>();
  const glob = (p: string) => compiled.get(p) ?? compiled.set(p, new Minimatch(p, { dot: true })).get(p)!;
  const chosen = config.projects.filter((p) =>
    files.some((f) => {
      const rel = posix.relative(`/${p.dir}`, `/${f}`);
      return (p.autoplan?.when_modified ?? SCALE_PATTERNS).some((pattern) => glob(pattern).match(rel));
    }),
  );
  const t3 = performance.now();
  return { totalMs: t3 - t0, apiMs: t1 - t0, parseMs: t2 - t1, matchMs: t3 - t2, chosen: chosen.length };
}

/** Atoll's "projects chosen" line for PR `n`, with its time (pino's epoch ms). */
function chosenLine(lines: string[], repo: string, n: number): { time: number; checkoutMs: number; configMs: number; chooseMs: number; projects: number } | undefined {
  for (const line of lines) {
    if (!line.includes('"projects chosen"')) continue;
    try {
      const o = JSON.parse(line.replace(/^\[stderr\] /, "")) as Record<string, number | string>;
      if (o.repo === `${OWNER}/${repo}` && o.pull === n) {
        return { time: Number(o.time), checkoutMs: Number(o.checkoutMs ?? 0), configMs: Number(o.configMs), chooseMs: Number(o.chooseMs), projects: Number(o.projects) };
      }
    } catch {
      // not JSON
    }
  }
  return undefined;
}

async function sectionG(ctx: Ctx): Promise<SectionG> {
  const o = ctx.opts;
  const repoDirs = Math.max(...o.gSizes.map(([p]) => p));
  const repo = await ctx.github.createRepo(OWNER, "scale");
  const base: Record<string, string> = { "README.md": "# 2,000 projects\n" };
  for (let i = 0; i < repoDirs; i++) base[`${scaleDir(i)}/main.tf`] = projectTf(`initial-${i}`);
  const t = performance.now();
  await repo.commit("main", base, "initial");
  progress(`  repository: ${repoDirs} project dirs committed in ${fmtS(performance.now() - t)}`);
  const samples: ScaleSample[] = [];
  // A warm-up PR first: it makes the repository's first checkout (later PRs read the config from
  // the checkout, as on a monorepo Atoll has seen before); it is not reported.
  const sizes: Array<[number, number, boolean]> = [[o.gSizes[0]![0], o.gSizes[0]![1], true], ...o.gSizes.map(([p, f]): [number, number, boolean] => [p, f, false])];
  for (const [k, [projects, nFiles, warmup]] of sizes.entries()) {
    // atlantis.yaml lists `projects` projects; the changed files fall in `gTouched` of them, spread over the list.
    const yaml = ["version: 3", "parallel_plan: true", "projects:"];
    for (let i = 0; i < projects; i++) yaml.push(`  - name: p${i}`, `    dir: ${scaleDir(i)}`, `    autoplan: {when_modified: [${SCALE_PATTERNS.map((x) => JSON.stringify(x)).join(", ")}]}`);
    const touched = Array.from({ length: o.gTouched }, (_, j) => Math.floor(((j + 0.5) * projects) / o.gTouched));
    const files: Record<string, string> = { "atlantis.yaml": `${yaml.join("\n")}\n` };
    for (let f = 0; f < nFiles - 1; f++) {
      const i = touched[f % touched.length]!;
      files[`${scaleDir(i)}/extra-${k}-${f}.tf`] = `locals {\n  extra_${k}_${f} = "${f}"\n}\n`;
    }
    const branch = `g-${k}`;
    await repo.commit(branch, files, `g: ${nFiles} files over ${touched.length} of ${projects} projects`, { from: "main" });
    const pull = await ctx.github.createPull(OWNER, repo.name, { head: branch, author: "alice" });
    const sample: ScaleSample = { projects, files: nFiles, touched: touched.length, ok: false };
    try {
      sample.bare = await bareDiscovery(ctx, repo, pull);
      if (sample.bare.chosen !== touched.length) throw new Error(`bare discovery chose ${sample.bare.chosen} projects, expected ${touched.length}`);
      await ensureAtoll(ctx);
      const event = pullRequestEventFor("opened", pull, ctx.repoOpts(repo));
      const t0Wall = Date.now();
      const t0 = performance.now();
      const res = await ctx.atoll.send(event);
      if (res.status !== 200) throw new Error(`webhook answered HTTP ${res.status}`);
      await pollUntil(() => planCommentDone(ctx, repo.name, pull.number), { timeoutMs: 600_000, intervalMs: 20, what: `the plan comment on scale#${pull.number}`, context: logTail(ctx) });
      sample.commentMs = performance.now() - t0;
      const line = chosenLine(ctx.atoll.logs(), repo.name, pull.number);
      if (!line) throw new Error('no "projects chosen" log line (run with --log-level=info or lower)');
      if (line.projects !== touched.length) throw new Error(`Atoll chose ${line.projects} projects, expected ${touched.length}`);
      Object.assign(sample, { chosenMs: line.time - t0Wall, checkoutMs: line.checkoutMs, configMs: line.configMs, chooseMs: line.chooseMs });
      await waitIdle(ctx, `scale#${pull.number}`);
      sample.ok = true;
    } catch (e) {
      sample.error = (e as Error).message;
    }
    if (!warmup) samples.push(sample);
    progress(
      `  ${projects} projects × ${nFiles} files${warmup ? " (warm-up)" : ""}: ${sample.ok ? `webhook → chosen ${fmtS(sample.chosenMs)} (checkout ${fmtMs(sample.checkoutMs)}, config ${fmtMs(sample.configMs)}, choose ${fmtMs(sample.chooseMs)}), → comment ${fmtS(sample.commentMs)}; bare ${fmtMs(sample.bare?.totalMs)} (match ${fmtMs(sample.bare?.matchMs)})` : `FAILED: ${firstLine(sample.error)}`}`,
    );
    await closePr(ctx, repo, pull).catch(() => undefined);
  }
  const nsPerPair = samples.filter((x) => x.ok).map((x) => ((x.configMs! + x.chooseMs!) * 1e6) / (x.projects * x.files));
  return { repoDirs, samples, nsPerPair };
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
  // Enough resources per project that terraform is still running when the load ends (a
  // 20-project plan of one resource each is over in about a second).
  for (const d of dirs) files[`${d}/main.tf`] = projectTf(`d-${d}`, o.dResources);
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
      jobsActiveAtStart = await activeJobs(ctx);
    });
  } finally {
    tfSeen = tf.stop();
  }
  const jobsActiveAtEnd = await activeJobs(ctx);
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

/** The sections measured on one store. */
interface SectionSet {
  a?: Comparison;
  b?: Comparison;
  d?: SectionD;
}

interface Results extends SectionSet {
  meta: Record<string, unknown>;
  idleFreshMb?: number;
  c?: SectionC;
  e?: SectionE;
  f?: SectionF;
  g?: SectionG;
  /** (a), (b), (d) again with ATOLL_DATABASE_URL (PostgreSQL store). */
  postgres?: SectionSet;
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
  t.push(...storeTargets(r, o, "", err));
  if (o.stores.length > 1) t.push(...storeTargets(r.postgres, o, o.stores[1]!, err));
  if (r.c && r.c.checkout.n) {
    const met = r.c.checkout.median < 2000;
    t.push({ id: "c", met, line: `(c) ${met ? "met" : "not met"}: checkout of a second PR on a ${r.c.history.commits}-commit, ${(r.c.history.packBytes / 1048576).toFixed(0)} MB repo ${fmtS(r.c.checkout.median)} (max ${fmtS(r.c.checkout.max)}; ${r.c.method}) (target < 2 s)` });
  } else t.push({ id: "c", met: null, line: `(c) not met: no measurement${err("c")}` });
  if (r.g && r.g.samples.some((x) => x.ok)) {
    const ok = r.g.samples.filter((x) => x.ok);
    const largest = ok.reduce((a, b) => (a.projects * a.files >= b.projects * b.files ? a : b));
    const discovery = largest.configMs! + largest.chooseMs!;
    // Linear or better: the cost per (project × file) of the largest size is no more than that of the smallest.
    const perPair = r.g.nsPerPair;
    const linear = perPair.length < 2 || perPair[perPair.length - 1]! <= Math.max(...perPair.slice(0, -1)) * 1.25 || perPair.every((x) => x <= perPair[0]! * 1.25);
    const met = discovery < 1000 && linear;
    t.push({
      id: "g",
      met,
      line: `(g) ${met ? "met" : "not met"}: ${largest.projects} projects × ${largest.files} files: project discovery ${fmtMs(discovery)} (config ${fmtMs(largest.configMs)} + choose ${fmtMs(largest.chooseMs)}), webhook → projects chosen ${fmtS(largest.chosenMs)} (of which the checkout the config is read from ${fmtMs(largest.checkoutMs)}), → comment ${fmtS(largest.commentMs)}; bare script ${fmtMs(largest.bare?.totalMs)}; per project × file ${perPair.map((x) => `${x.toFixed(0)} ns`).join(" / ")} (target discovery < 1 s, linear or better)`,
    });
  } else t.push({ id: "g", met: null, line: `(g) not met: no measurement${err("g")}` });
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

/** (a), (b) with its "every check run final" row, and (d) of one store ("" = the first store). */
function storeTargets(set: SectionSet | undefined, o: Options, store: string, err: (id: string) => string): Target[] {
  const t: Target[] = [];
  const tag = store ? ` [${store}]` : "";
  const id = (x: string) => (store ? `${store}:${x}` : x);
  if (set?.a && set.a.atollSummary.n && set.a.baselineSummary.n) {
    const met = set.a.ratio <= 1.15;
    t.push({ id: id("a"), met, line: `(a)${tag} ${met ? "met" : "not met"}: one project, webhook → plan comment ${fmtS(set.a.atollSummary.median)} vs bare git clone + init + plan + show ${fmtS(set.a.baselineSummary.median)} = ${set.a.ratio.toFixed(2)}× (target ≤ 1.15×)` });
  } else t.push({ id: id("a"), met: null, line: `(a)${tag} not met: no measurement${err(id("a"))}` });
  if (set?.b && set.b.atollSummary.n && set.b.baselineSummary.n) {
    const b = set.b;
    const measured = b.atoll.filter((s) => s.ok && !s.warmup);
    const ratios = alternationRatios(b);
    const met = b.ratio <= 0.6 && ratios.every((x) => x <= 0.6);
    // On few cores the target can be out of reach for any scheduler: say so with the numbers.
    const floor = b.baselineCpu.n && b.cpuFloorRatio > 0.6 ? ` — on ${cpus().length} cores the baseline's own CPU time (${fmtS(b.baselineCpu.median)}) allows no less than ${b.cpuFloorRatio.toFixed(2)}×` : "";
    t.push({ id: id("b"), met, line: `(b)${tag} ${met ? "met" : "not met"}: ${o.bProjects} projects, webhook → plan comment ${fmtS(b.atollSummary.median)} vs sequential baseline ${fmtS(b.baselineSummary.median)} = ${b.ratio.toFixed(2)}×; per alternation ${ratios.map((x) => `${x.toFixed(2)}×`).join(", ")} (target ≤ 0.6× in every alternation)${floor}` });
    const final = summarize(measured.map((s) => s.timeline.lastWriteMs).filter((x): x is number => x !== undefined));
    const writes = summarize(measured.map((s) => s.timeline.writes).filter((x): x is number => x !== undefined));
    if (final.n) {
      t.push({ id: id("b-final"), met: null, line: `(b)${tag} every check run final ${fmtS(final.median)} after the webhook; floor ${writes.median} writes × 1 s pacing = ${fmtS(writes.median * 1000)}` });
    }
  } else t.push({ id: id("b"), met: null, line: `(b)${tag} not met: no measurement${err(id("b"))}` });
  if (set?.d) {
    const met = set.d.p95 < 50 && set.d.p99 < 150 && set.d.errors === 0;
    t.push({ id: id("d"), met, line: `(d)${tag} ${met ? "met" : "not met"}: webhook ack at ${set.d.rate}/s while plans run: p50 ${fmtMs(set.d.p50)}, p95 ${fmtMs(set.d.p95)}, p99 ${fmtMs(set.d.p99)}, max ${fmtMs(set.d.max)}${set.d.errors ? `, ${set.d.errors} errors` : ""} (target p95 < 50 ms, p99 < 150 ms)` });
  } else t.push({ id: id("d"), met: null, line: `(d)${tag} not met: no measurement${err(id("d"))}` });
  return t;
}

/** Atoll / baseline of each measured alternation (same iteration). */
function alternationRatios(c: Comparison): number[] {
  const out: number[] = [];
  for (const a of c.atoll.filter((s) => s.ok && !s.warmup)) {
    const b = c.baseline.find((x) => x.ok && x.iteration === a.iteration);
    if (b) out.push(a.ms / b.ms);
  }
  return out;
}

function table(r: Results, o: Options): string {
  const rows: string[][] = [["", "measure", "Atoll median [min – max]", "baseline median [min – max]", "ratio", "n"]];
  const storeRows = (set: SectionSet | undefined, tag: string) => {
    if (set?.a) rows.push([`(a)${tag}`, "1 project: webhook → plan comment", fmtRange(set.a.atollSummary), fmtRange(set.a.baselineSummary), `${set.a.ratio.toFixed(2)}×`, String(set.a.atollSummary.n)]);
    if (set?.b) {
      const b = set.b;
      rows.push([`(b)${tag}`, `${o.bProjects} projects (parallel_plan): webhook → plan comment`, fmtRange(b.atollSummary), `${fmtRange(b.baselineSummary)} sequential`, `${b.ratio.toFixed(2)}×`, String(b.atollSummary.n)]);
      const m = b.atoll.filter((x) => x.ok && !x.warmup);
      const final = summarize(m.map((x) => x.timeline.lastWriteMs).filter((x): x is number => x !== undefined));
      const writes = summarize(m.map((x) => x.timeline.writes).filter((x): x is number => x !== undefined));
      if (final.n) rows.push([`(b)${tag}`, `  … every check run final (${writes.median} writes)`, fmtRange(final), `${fmtS(writes.median * 1000)} floor (writes × 1 s)`, `${(final.median / (writes.median * 1000)).toFixed(2)}×`, String(final.n)]);
    }
    if (set?.d) rows.push([`(d)${tag}`, `webhook ack @ ${set.d.rate}/s for ${set.d.seconds} s, plans running`, `p50 ${fmtMs(set.d.p50)}  p95 ${fmtMs(set.d.p95)}  p99 ${fmtMs(set.d.p99)}  max ${fmtMs(set.d.max)}`, "", "", String(set.d.completed)]);
  };
  storeRows(r, o.stores.length > 1 ? ` ${o.stores[0]}` : "");
  if (o.stores.length > 1) storeRows(r.postgres, ` ${o.stores[1]}`);
  for (const x of r.g?.samples ?? []) {
    rows.push([
      "(g)",
      `${x.projects} projects × ${x.files} files: webhook → chosen / → comment`,
      x.ok ? `${fmtS(x.chosenMs)} / ${fmtS(x.commentMs)} (discovery ${fmtMs(x.configMs! + x.chooseMs!)}, checkout ${fmtMs(x.checkoutMs)})` : `FAILED: ${firstLine(x.error).slice(0, 60)}`,
      x.bare ? `${fmtMs(x.bare.totalMs)} bare script (match ${fmtMs(x.bare.matchMs)})` : "",
      x.ok && x.bare ? `${((x.configMs! + x.chooseMs!) / x.bare.totalMs).toFixed(2)}×` : "",
      "1",
    ]);
  }
  if (r.c)
    rows.push([
      "(c)",
      `checkout, 2nd PR, ${r.c.history.commits} commits / ${(r.c.history.packBytes / 1048576).toFixed(0)} MB`,
      fmtRange(r.c.checkout),
      `${fmtRange(r.c.shallowClone)} clone --depth=1`,
      `${(r.c.checkout.median / r.c.shallowClone.median).toFixed(2)}×`,
      String(r.c.checkout.n),
    ]);
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
    return `Atoll timeline (median, from the webhook): first git request ${med((s) => s.timeline.firstGitMs)}, first check run ${med((s) => s.timeline.firstCheckRunMs)}, comment POST ${med((s) => s.timeline.commentPostMs)}, last write ${med((s) => s.timeline.lastWriteMs)}, idle ${med((s) => s.timeline.idleMs)}; webhook ack ${fmtMs(summarize(m.map((s) => s.ackMs)).median)}`;
  };
  const baseSteps = (c: Comparison) => {
    const m = c.baseline.filter((s) => s.ok && !s.warmup);
    const sum = (f: (p: BaselineResult["projects"][number]) => number) => summarize(m.map((s) => s.projects.reduce((a, p) => a + f(p), 0))).median;
    return `baseline steps (median): clone ${fmtS(summarize(m.map((s) => s.cloneMs)).median)}, init ${fmtS(sum((p) => p.initMs))}, plan ${fmtS(sum((p) => p.planMs))}, show -json ${fmtS(sum((p) => p.showMs))}`;
  };
  const cpu = (c: Comparison) =>
    c.atollCpu.n && c.baselineCpu.n
      ? `CPU time (median): Atoll ${fmtS(c.atollCpu.median)} (server ${fmtS(summarize(c.atoll.filter((s) => s.ok && !s.warmup).map((s) => s.serverCpuMs).filter((x): x is number => x !== undefined)).median)} + its git and terraform), baseline ${fmtS(c.baselineCpu.median)}; ` +
        `the baseline's CPU alone over ${cpus().length} cores takes ≥ ${fmtS(c.baselineCpu.median / cpus().length)} = ${c.cpuFloorRatio.toFixed(2)}× its sequential time`
      : "CPU time: not readable (/proc)";
  if (r.a) out.push(`(a) ${timeline(r.a)}`, `    ${baseSteps(r.a)}`, `    ${cpu(r.a)}`);
  if (r.b) out.push(`(b) ${timeline(r.b)}`, `    ${baseSteps(r.b)}`, `    ${cpu(r.b)}`);
  const pgSet = r.postgres;
  if (pgSet?.a) out.push(`(a) [postgres] ${timeline(pgSet.a)}`, `    ${cpu(pgSet.a)}`);
  if (pgSet?.b) out.push(`(b) [postgres] ${timeline(pgSet.b)}`, `    ${cpu(pgSet.b)}`);
  if (pgSet?.d) out.push(`(d) [postgres] sent ${pgSet.d.sent}, answered ${pgSet.d.completed}, statuses ${JSON.stringify(pgSet.d.statuses)}; terraform running in ${pgSet.d.terraformDuringLoad.withAny}/${pgSet.d.terraformDuringLoad.samples} samples`);
  if (r.g) {
    out.push(`(g) one repository with ${r.g.repoDirs} project dirs; each PR changes atlantis.yaml (listing the first N projects) and .tf files in 10 of them, which Atoll then plans; "discovery" = reading the repo config + choosing the projects (Atoll's "projects chosen" log line; the checkout the config is read from, for a repository checked out before, is reported apart); the bare script lists the PR's files and reads atlantis.yaml through the API, parses it and matches every file against every project.`);
    for (const x of r.g.samples.filter((y) => y.bare)) out.push(`    ${x.projects} × ${x.files}: bare API ${fmtMs(x.bare!.apiMs)}, parse ${fmtMs(x.bare!.parseMs)}, match ${fmtMs(x.bare!.matchMs)}`);
  }
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

  const pgServer = opts.stores.includes("postgres") ? await startPostgres() : undefined;
  if (pgServer) onCleanup(() => pgServer.stop());
  const fakes: FakeGitHub[] = [];
  for (const [passIndex, store] of opts.stores.entries()) {
    // Each store gets a fresh fake GitHub, data dir and server: the passes share nothing.
    const github = await startFakeGitHub();
    fakes.push(github);
    const dataDir = await tempDir(`data-${store}`);
    let pgRef: Ctx["pg"];
    if (store === "postgres") {
      await pgServer!.createDatabase("atoll_bench");
      const url = pgServer!.connString("atoll_bench");
      pgRef = { url, pool: new pg.Pool({ connectionString: url, max: 2 }) };
    }
    let token: { value: string; at: number } | undefined;
    const partial = { opts, github, dataDir, ...(pgRef ? { pg: pgRef } : {}) };
    const atoll = await launchAtoll(partial);
    const ctx: Ctx = {
      ...partial,
      store,
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
    const stopPass = async () => {
      ctx.stopping = true;
      ctx.db?.close();
      ctx.db = undefined;
      await ctx.atoll.stop("SIGTERM", 5000).catch(() => undefined);
      await ctx.pg?.pool.end().catch(() => undefined);
      await github.close();
    };
    onCleanup(stopPass);
    progress(`\n=== store: ${store}${store === "postgres" ? ` (PostgreSQL at ${pgServer!.host}:${pgServer!.port}, ATOLL_DATABASE_URL)` : " (SQLite file in the data dir)"}`);
    if (opts.keep) progress(`  keeping temp dirs (data dir ${dataDir})`);

    const into: SectionSet = passIndex === 0 ? results : (results.postgres ??= {});
    const errorKey = (id: string) => (passIndex === 0 ? id : `${store}:${id}`);
    const section = async <T>(id: string, title: string, fn: () => Promise<T>): Promise<T | undefined> => {
      if (!opts.only.has(id)) return undefined;
      progress(`\n${title}${passIndex === 0 ? "" : ` [${store}]`}`);
      const t = performance.now();
      try {
        return await fn();
      } catch (e) {
        results.errors[errorKey(id)] = (e as Error).stack ?? String(e);
        progress(`  ERROR: ${(e as Error).message.split("\n").slice(0, 6).join("\n  ")}`);
        await waitIdle(ctx, `the failed section ${id}`, 300_000).catch(() => undefined);
        return undefined;
      } finally {
        progress(`  (${id} took ${fmtS(performance.now() - t)})`);
      }
    };

    if (passIndex === 0) {
      // Idle memory of a fresh server (settled for a few seconds after it answered /ping).
      await sleep(3000);
      results.idleFreshMb = await idleRss(ctx.atoll.pid);
      progress(`  idle RSS (fresh): ${results.idleFreshMb.toFixed(0)} MB`);
    }
    into.a = await section("a", `(a)+(f) one project, ${opts.aWarmup} warm-up + ${opts.aIterations} alternations`, () => sectionA(ctx));
    if (into.a && passIndex === 0) results.f = sectionF(into.a);
    into.b = await section("b", `(b) ${opts.bProjects} projects, ${opts.bWarmup} warm-up + ${opts.bIterations} alternations`, () => sectionB(ctx));
    into.d = await section("d", `(d) webhook acks at ${opts.dRate}/s for ${opts.dSeconds} s while plans run`, () => sectionD(ctx));
    if (passIndex === 0) {
      results.g = await section("g", `(g) monorepo scale: ${opts.gSizes.map(([p, f]) => `${p} projects × ${f} files`).join(", ")}`, () => sectionG(ctx));
      results.c = await section("c", `(c) checkout on a large history (${opts.cCommits} commits)`, () => sectionC(ctx));
      results.e = await section("e", `(e) memory: idle and a ${opts.eResources}-resource plan`, () => sectionE(ctx, results.idleFreshMb!));
    }
    if (opts.logFile) await writeFile(opts.stores.length > 1 ? `${opts.logFile}.${store}` : opts.logFile, `${ctx.atoll.logs().join("\n")}\n`);
    results.meta[`fakeGitHub_${store}`] = {
      violations: github.violations.length,
      unhandled: github.unhandled.map((u) => `${u.method} ${u.path}`),
      internalErrors: github.internalErrors.length,
    };
    await stopPass();
  }
  results.targets = targets(results, opts);
  results.meta.durationMs = Date.now() - started;
  results.meta.fakeGitHub = {
    violations: fakes.reduce((n, g) => n + g.violations.length, 0),
    unhandled: fakes.flatMap((g) => g.unhandled.map((u) => `${u.method} ${u.path}`)),
    internalErrors: fakes.reduce((n, g) => n + g.internalErrors.length, 0),
  };

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
