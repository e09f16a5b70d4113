/**
 * WorkspacePort over git: one shallow checkout per pull request and head SHA.
 *
 * Layout (one directory per PR+SHA, so a plan made at one commit can never be applied from the
 * working tree of another):
 *
 *   <rootDir>/<owner>/<repo>/pr-<n>/<sha>/repo        working tree (detached HEAD at <sha>)
 *   <rootDir>/<owner>/<repo>/pr-<n>/<sha>/artifacts   plan files and other artefacts
 *
 * Fetching: only the one commit (`fetch --depth=1 origin <sha>`; GitHub serves any reachable SHA),
 * into a temporary directory next to the final one, renamed into place only when complete — a
 * crash or a failed fetch never leaves a half checkout where `find` would trust it.
 *
 * Credentials: the installation token is handed to the single `git fetch` that needs it through
 * `GIT_CONFIG_*` environment variables (an `http.extraHeader`). It is never in argv (visible in
 * `ps` to every user of the host), never in the remote URL and never in `.git/config` (both of which
 * persist in the checkout that user-controlled `run` steps can read). Git's error output is
 * redacted before it is surfaced.
 */
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { dir as tmpDir } from "tmp-promise";
import type { Checkout, CheckoutRequest, WorkspacePort } from "../ports/workspace.js";
import { basicAuthValue, gitTokenSecrets, redact, withoutAtollSecrets } from "./redact.js";
import { runProcess } from "./run-process.js";

export interface GitWorkspaceOptions {
  /** Directory holding all checkouts (created on demand). */
  rootDir: string;
  /** Git binary: a path or a name looked up in PATH. Default "git". */
  gitBinary?: string;
  /** Timeout per git command (the process tree is killed). Default 10 minutes. */
  timeoutMs?: number;
  /** Environment git starts from (minus Atoll's secrets and stray GIT_* variables). Default `process.env`. */
  baseEnv?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Make an owner or repository name safe as one path segment. GitHub names only contain
 * `[A-Za-z0-9._-]`, so real names pass unchanged; anything else (a slash, `..`) cannot escape
 * `rootDir`.
 */
export function sanitizeSegment(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, "_");
  if (cleaned === "" || /^\.+$/.test(cleaned)) return `_${cleaned}_`;
  return cleaned;
}

function normalizeSha(sha: string): string {
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(sha)) throw new Error(`invalid commit SHA: ${JSON.stringify(sha)}`);
  return sha.toLowerCase();
}

function checkPullNumber(n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`invalid pull request number: ${n}`);
  return n;
}

/**
 * Validate a clone URL: http(s) only (the URL comes from a webhook payload; other git transports
 * such as `ext::` run commands) and no userinfo — a token embedded in the URL would end up in
 * `.git/config` and in error messages. Returns the URL as given.
 */
export function validateCloneUrl(cloneUrl: string): string {
  let url: URL;
  try {
    url = new URL(cloneUrl);
  } catch {
    throw new Error("invalid clone URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`unsupported clone URL scheme ${JSON.stringify(url.protocol)} (only http and https)`);
  }
  if (url.username !== "" || url.password !== "") {
    url.username = "";
    url.password = "";
    throw new Error(`clone URL must not contain credentials (got a URL with userinfo for ${url.host}${url.pathname})`);
  }
  return cloneUrl;
}

/**
 * Inherited GIT_* variables that are safe to keep (TLS and HTTP tuning). Everything else GIT_* is
 * dropped: GIT_DIR / GIT_WORK_TREE (set when Atoll runs inside a git hook) would redirect every
 * command, and GIT_TRACE_* / GIT_CURL_VERBOSE could log headers.
 */
const KEEP_GIT_ENV = /^GIT_(?:SSL_|HTTP_LOW_SPEED_|HTTP_USER_AGENT$|PROXY_SSL_)/;

/**
 * Config entries passed to every git command through the environment. `credential.helper=` empties
 * the helper list so a host-wide helper is never asked for (or told to store) credentials;
 * `core.hooksPath=/dev/null` keeps hooks from any global config out of our checkouts.
 */
const BASE_CONFIG: Array<[string, string]> = [
  ["credential.helper", ""],
  ["core.hooksPath", "/dev/null"],
  ["advice.detachedHead", "false"],
];

/**
 * The environment for one git command. With a token, an `http.extraHeader` carrying
 * `Authorization: Basic base64("x-access-token:<token>")` is added — the way GitHub documents
 * HTTPS access for app installations, without a username prompt or a credential store.
 * Exported for tests.
 */
export function buildGitEnv(baseEnv: NodeJS.ProcessEnv, token?: string): Record<string, string> {
  const env = withoutAtollSecrets(baseEnv);
  for (const name of Object.keys(env)) {
    if (name.startsWith("GIT_") && !KEEP_GIT_ENV.test(name)) delete env[name];
  }
  const config = [...BASE_CONFIG];
  if (token) config.push(["http.extraHeader", `Authorization: Basic ${basicAuthValue(token)}`]);
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  env.GIT_CONFIG_NOSYSTEM = "1";
  env.GIT_TERMINAL_PROMPT = "0";
  // Empty: git skips askpass (and SSH_ASKPASS) entirely and, with prompts off, fails instead of waiting.
  env.GIT_ASKPASS = "";
  // Large-file filters from a global config would try to download without credentials.
  env.GIT_LFS_SKIP_SMUDGE = "1";
  return env;
}

/**
 * The argv of each git command of a checkout. None of them carries a credential — the token only
 * travels in the environment (see `buildGitEnv`). Exported so tests can check exactly that.
 */
export function gitCheckoutCommands(cloneUrl: string, sha: string): Array<{ args: string[]; needsToken: boolean }> {
  return [
    { args: ["init", "-q"], needsToken: false },
    { args: ["remote", "add", "origin", validateCloneUrl(cloneUrl)], needsToken: false },
    { args: ["fetch", "-q", "--depth=1", "--no-tags", "--no-recurse-submodules", "origin", normalizeSha(sha)], needsToken: true },
    { args: ["checkout", "-q", "--detach", "FETCH_HEAD"], needsToken: false },
  ];
}

/** The SHA a working tree's HEAD points at when detached, read from `.git/HEAD` (no process, no network). */
async function detachedHead(repoDir: string): Promise<string | null> {
  const head = await readFile(path.join(repoDir, ".git", "HEAD"), "utf8").catch(() => null);
  return head === null ? null : head.trim().toLowerCase();
}

export function createGitWorkspace(opts: GitWorkspaceOptions): WorkspacePort {
  const rootDir = path.resolve(opts.rootDir);
  const gitBinary = opts.gitBinary ?? "git";
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  /** In-flight checkouts by final directory, so concurrent requests for one PR+SHA fetch once. */
  const inFlight = new Map<string, Promise<Checkout>>();

  const pullDir = (owner: string, repo: string, n: number) =>
    path.join(rootDir, sanitizeSegment(owner), sanitizeSegment(repo), `pr-${checkPullNumber(n)}`);

  function paths(owner: string, repo: string, n: number, sha: string) {
    const shaDir = path.join(pullDir(owner, repo, n), normalizeSha(sha));
    return { shaDir, repoDir: path.join(shaDir, "repo"), artifactsDir: path.join(shaDir, "artifacts") };
  }

  async function existing(owner: string, repo: string, n: number, sha: string): Promise<Checkout | null> {
    const p = paths(owner, repo, n, sha);
    const want = normalizeSha(sha);
    if ((await detachedHead(p.repoDir)) !== want) return null;
    await mkdir(p.artifactsDir, { recursive: true });
    return { dir: p.repoDir, artifactsDir: p.artifactsDir, sha: want, reused: true };
  }

  async function git(args: string[], cwd: string, token?: string): Promise<void> {
    const secrets = token ? gitTokenSecrets(token) : [];
    const result = await runProcess({
      file: gitBinary,
      name: "git",
      args,
      cwd,
      env: buildGitEnv(opts.baseEnv ?? process.env, token),
      timeoutMs,
      redact: secrets,
      maxOutputBytes: 1024 * 1024,
    });
    if (result.exitCode !== 0 || result.timedOut) {
      // `output` is already redacted; redact again in case a spawn error message carried something.
      let detail = redact(result.output.trim(), secrets) || `exit code ${result.exitCode}`;
      // On HTTP 401 git asks for a username, which is disabled; say what that actually means.
      if (token && /could not read Username|Authentication failed|returned error: 40[13]/i.test(detail)) {
        detail += " (the server rejected the installation token: check that the app is installed on this repository with contents: read)";
      }
      throw new Error(`git ${args[0]} failed: ${detail}`);
    }
  }

  async function fetchCheckout(req: CheckoutRequest): Promise<Checkout> {
    const sha = normalizeSha(req.sha);
    const commands = gitCheckoutCommands(req.cloneUrl, sha); // validates the URL before any I/O
    const reused = await existing(req.owner, req.repo, req.pullNumber, sha);
    if (reused) return reused;

    const p = paths(req.owner, req.repo, req.pullNumber, sha);
    // A working tree whose HEAD moved (or a leftover from an older layout) is replaced; the
    // artefacts next to it are kept.
    await rm(p.repoDir, { recursive: true, force: true });
    await mkdir(p.artifactsDir, { recursive: true });

    // The temporary directory lives in the PR directory: same filesystem, so the final rename is
    // atomic, and `removePull` also sweeps up leftovers of a crashed fetch.
    const tmp = await tmpDir({ tmpdir: path.dirname(p.shaDir), prefix: ".fetch-", unsafeCleanup: true });
    try {
      for (const cmd of commands) await git(cmd.args, tmp.path, cmd.needsToken ? req.token : undefined);
      const head = await detachedHead(tmp.path);
      if (head !== sha) throw new Error(`git checkout failed: HEAD is ${head ?? "missing"}, expected ${sha}`);
      try {
        await rename(tmp.path, p.repoDir);
      } catch (err) {
        // Another process won the race and put a checkout in place: use it if it is right.
        const other = await existing(req.owner, req.repo, req.pullNumber, sha);
        if (other) return other;
        throw err;
      }
    } finally {
      await tmp.cleanup().catch(() => undefined);
    }
    return { dir: p.repoDir, artifactsDir: p.artifactsDir, sha, reused: false };
  }

  return {
    checkout(req) {
      let key: string;
      try {
        key = paths(req.owner, req.repo, req.pullNumber, req.sha).repoDir;
      } catch (err) {
        return Promise.reject(err);
      }
      const pending = inFlight.get(key);
      if (pending) return pending.then((c) => ({ ...c, reused: true }));
      const promise = fetchCheckout(req).finally(() => inFlight.delete(key));
      inFlight.set(key, promise);
      return promise;
    },

    async find(owner, repo, pullNumber, sha) {
      return existing(owner, repo, pullNumber, sha);
    },

    async removePull(owner, repo, pullNumber) {
      await rm(pullDir(owner, repo, pullNumber), { recursive: true, force: true });
    },
  };
}
