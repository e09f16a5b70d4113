/**
 * Run the built Atoll server as a real child process against the fake GitHub, the way `npm start`
 * runs it in production (`node lib/main.js`: for roles all/web `probot run ./lib/index.js`, for
 * role worker the worker's own server): env-configured, own process, real HTTP.
 *
 * The child gets its own process group so that `stop()`/`kill9()` also reach whatever it spawned
 * (git, terraform), and an `exit` hook kills the group if the test process dies first. The
 * inherited environment is scrubbed of anything that could point the app at a real GitHub or
 * change its configuration behind the test's back.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FakeGitHub } from "../fake-github/server.js";
import { sendWebhook, type WebhookEvent, type WebhookResponse } from "./webhook-sender.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface StartAtollOptions {
  fakeGitHub: FakeGitHub;
  /** Extra environment (wins over the defaults). */
  env?: Record<string, string>;
  /** `ATOLL_DATA_DIR`; when given it is kept on stop (so a restart can reuse it). Default: a temp dir removed on stop. */
  dataDir?: string;
  /** PEM for `PRIVATE_KEY`. Default: the fake's `appPrivateKey`. */
  privateKey?: string;
  /** How long to wait for `GET /ping`. Default 30 s. */
  readyTimeoutMs?: number;
  /**
   * Directory the app runs from (cwd, holding `lib/index.js`). Default: the repository root.
   * The harness's own tests point it at a stand-in app.
   */
  root?: string;
  /** Set `ATOLL_PUBLIC_URL` to the server's own address (the web UI's tests). */
  publicUrl?: boolean;
  /** Options for node itself, before the entry (the bench's `--cpu-prof`). */
  nodeArgs?: string[];
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AtollProcess {
  pid: number;
  url: string;
  webhookUrl: string;
  dataDir: string;
  /** Resolves when the main process has exited. */
  exited: Promise<ExitInfo>;
  send(event: WebhookEvent): Promise<WebhookResponse>;
  /** Captured stdout/stderr lines so far (a copy). */
  logs(): string[];
  /** Wait for a log line matching `pattern`; fails with the log tail on timeout or exit. */
  waitForLog(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Signal the process group (default SIGTERM), SIGKILL it after `graceMs` (10 s), clean up. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitInfo>;
  /**
   * SIGKILL the process group now (crash simulation). A temp `dataDir` is removed as on
   * `stop()`; pass your own `dataDir` to restart on the same state.
   */
  kill9(): Promise<ExitInfo>;
}

/** Prefixes/names of inherited variables that must not reach the app under test. */
const SCRUBBED = [
  /^APP_ID$/,
  /^PRIVATE_KEY/,
  /^WEBHOOK_/,
  /^GH_/,
  /^GHE_/,
  /^GITHUB_/,
  /^ATOLL_/,
  /^LOG_/,
  /^PORT$/,
  /^HOST$/,
  /^REDIS_URL$/,
  /^SENTRY_DSN$/,
  /^NODE_OPTIONS$/,
  /^NODE_ENV$/,
  /^NO_SMEE_SETUP$/,
  /^PROJECT_DOMAIN$/,
  /^TF_/,
  /^GIT_/,
  /^JEST_/,
];

export function scrubbedEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !SCRUBBED.some((re) => re.test(k))) out[k] = v;
  }
  return out;
}

/** An ephemeral port that was free a moment ago (the child binds it; a clash is retried). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** `npm start`'s entry (it loads `./lib/index.js` from its working directory, like `probot run`). */
function mainEntry(root: string): string {
  // This repository's build; compiled elsewhere (the bench's build/bench), the app root's.
  const base = existsSync(join(REPO_ROOT, "lib", "main.js")) ? REPO_ROOT : root;
  const entry = join(base, "lib", "main.js");
  if (!existsSync(join(base, "node_modules", "probot", "package.json"))) throw new Error("probot is not installed: run `npm ci`");
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npm run build\` first (end-to-end tests run the built app).`);
  return entry;
}

/** Running children → the temp data dir they own (removed by the exit hook too). */
const live = new Map<ChildProcess, string | undefined>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // group already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous by necessity: the only thing that still works in an `exit` handler.
  process.on("exit", () => {
    for (const [child, ownedDir] of live) {
      killGroup(child, "SIGKILL");
      if (ownedDir) {
        try {
          rmSync(ownedDir, { recursive: true, force: true });
        } catch {
          // best effort
        }
      }
    }
  });
}

export async function startAtoll(opts: StartAtollOptions): Promise<AtollProcess> {
  const root = opts.root ?? REPO_ROOT;
  const entry = join(root, "lib", "index.js");
  if (!existsSync(entry)) {
    throw new Error(`${entry} does not exist: run \`npm run build\` first (end-to-end tests run the built app).`);
  }
  // `probot run` loads `.env` from its cwd and lets it override the environment.
  if (existsSync(join(root, ".env"))) {
    throw new Error(`${join(root, ".env")} exists; probot would load it over the test environment. Move it away to run end-to-end tests.`);
  }
  const privateKey = opts.privateKey ?? opts.fakeGitHub.appPrivateKey;
  if (!privateKey) throw new Error("startAtoll: the fake GitHub was started with a custom public key; pass opts.privateKey");
  const bin = mainEntry(root);
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "atoll-data-")));

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch({ opts, root, bin, port, privateKey, dataDir, ownsDataDir });
    } catch (e) {
      lastError = e as Error;
      // Someone took the port between freePort() and the child's bind: try another one.
      if (!/EADDRINUSE/.test(lastError.message)) break;
    }
  }
  if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  throw lastError ?? new Error("startAtoll failed");
}

async function launch(args: {
  opts: StartAtollOptions;
  root: string;
  bin: string;
  port: number;
  privateKey: string;
  dataDir: string;
  ownsDataDir: boolean;
}): Promise<AtollProcess> {
  const { opts, root, bin, port, privateKey, dataDir, ownsDataDir } = args;
  const gh = opts.fakeGitHub;
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    ...scrubbedEnv(),
    APP_ID: String(gh.appId),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: gh.webhookSecret,
    GHE_HOST: gh.host,
    GHE_PROTOCOL: "http",
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "debug",
    LOG_FORMAT: "json",
    NODE_ENV: "test",
    ATOLL_DATA_DIR: dataDir,
    GIT_TERMINAL_PROMPT: "0",
    NO_COLOR: "1",
    ...(opts.publicUrl ? { ATOLL_PUBLIC_URL: url } : {}),
    ...opts.env,
  };

  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), bin], {
    cwd: root,
    env,
    detached: true, // own process group: -pid reaches the app and its children
    stdio: ["ignore", "pipe", "pipe"],
  });
  installExitHook();
  live.set(child, ownsDataDir ? dataDir : undefined);

  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const capture = (stream: NodeJS.ReadableStream, prefix: string) => {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const p of parts) lines.push(prefix + p);
      if (parts.length) for (const l of listeners) l();
    });
    stream.on("end", () => {
      if (partial) lines.push(prefix + partial);
      partial = "";
      for (const l of listeners) l();
    });
  };
  capture(child.stdout!, "");
  capture(child.stderr!, "[stderr] ");

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolveExit) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      // Reap anything the app left behind in its group.
      killGroup(child, "SIGKILL");
      for (const l of listeners) l();
      resolveExit(exitInfo);
    });
  });
  const tail = (n = 80) => lines.slice(-n).join("\n");

  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitInfo) {
      await new Promise((r) => setTimeout(r, 50)); // let the last output arrive
      throw new Error(`Atoll exited before it was ready (code ${exitInfo.code}, signal ${exitInfo.signal}). Logs:\n${tail()}`);
    }
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killGroup(child, "SIGKILL");
      await exited;
      throw new Error(`Atoll did not answer GET /ping within ${readyTimeoutMs} ms. Logs:\n${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  return {
    pid: child.pid!,
    url,
    webhookUrl: `${url}/api/github/webhooks`,
    dataDir,
    exited,
    send: (event) => sendWebhook(`${url}/api/github/webhooks`, gh.webhookSecret, event),
    logs: () => [...lines],
    waitForLog(pattern, timeoutMs = 20_000) {
      const test = (l: string) => (typeof pattern === "string" ? l.includes(pattern) : pattern.test(l));
      return new Promise<string>((resolveLog, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const check = () => {
          const found = lines.find(test);
          if (found !== undefined) return done(() => resolveLog(found));
          if (exitInfo) return done(() => reject(new Error(`Atoll exited while waiting for log ${String(pattern)}. Logs:\n${tail()}`)));
        };
        const done = (f: () => void) => {
          listeners.delete(check);
          if (timer) clearTimeout(timer);
          f();
        };
        listeners.add(check);
        timer = setTimeout(
          () => done(() => reject(new Error(`No log line matching ${String(pattern)} within ${timeoutMs} ms. Logs:\n${tail()}`))),
          timeoutMs,
        );
        check();
      });
    },
    async stop(signal = "SIGTERM", graceMs = 10_000) {
      if (!exitInfo) {
        killGroup(child, signal);
        const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      await cleanup();
      return exited;
    },
    async kill9() {
      killGroup(child, "SIGKILL");
      await exited;
      await cleanup();
      return exited;
    },
  };
}
