/**
 * WorkspacePort over git: one working tree per pull request and head SHA, built from a per-repository
 * object cache so that only the first checkout of a repository pays for its history.
 *
 * Layout (one directory per PR+SHA, so a plan made at one commit can never be applied from the
 * working tree of another):
 *
 *   <rootDir>/<owner>/<repo>/mirror.git                 bare mirror: every object fetched so far
 *   <rootDir>/<owner>/<repo>/pr-<n>/<sha>/repo          working tree (detached HEAD at <sha>)
 *   <rootDir>/<owner>/<repo>/pr-<n>/<sha>/artifacts     plan files and other artefacts
 *
 * Fetching (see `git-mirror.ts`): the commit is fetched into the mirror, with the history the
 * mirror does not have yet: nothing at all when it is already there (a second PR of the same
 * repository often is), a few objects for a new commit. Fetches are serialised per repository,
 * across processes too.
 *
 * Working tree: `git init`, `objects/info/alternates` pointing at the mirror's objects, `git
 * checkout --detach <sha>`: what `git clone --shared` does, without a clone's refs, its
 * `branch.master` config for a source without branches, or an origin URL pointing at the mirror.
 * No history is copied (the working tree sees it through the mirror: `git log` works in it); the
 * checkout costs writing the files. Chosen over
 *  - `git worktree add`: a worktree's `.git` is a file pointing into the mirror (which records the
 *    worktree), so it cannot be built in a temporary directory and renamed into place; it shares
 *    the mirror's config (a `run` step's `git config` would change the mirror); and removing a PR
 *    would need a `worktree prune` under the mirror's lock;
 *  - `git clone --reference … --dissociate`: it repacks the whole history reachable from the
 *    commit into every checkout (measured on a 173 MB / 8000-commit repository: +0.9 s and
 *    +174 MB per checkout, against ~0.15 s and no copy for the working tree alone).
 * The price of sharing is that the mirror's objects must never be pruned: the mirror never runs gc.
 * The checkout's `origin` is the real clone URL (without credentials), as in a normal clone.
 *
 * Atomicity: the working tree is built in a temporary directory next to the final one and renamed
 * into place only when complete; a crash or a failed fetch never leaves a half checkout where
 * `find` would trust it.
 *
 * Credentials: the installation token is handed to the single `git fetch` that needs it through
 * `GIT_CONFIG_*` environment variables (an `http.extraHeader`). It is never in argv (visible in
 * `ps` to every user of the host), never in a remote URL and never in a config file: not the
 * mirror's, not the checkout's (both persist on disk, and user-controlled `run` steps can read the
 * checkout). Git's error output is redacted before it is surfaced.
 *
 * Failures: a failure caused by the server or the network (bad token, unreachable host, timeout)
 * is reported as is. Any other failure may come from a damaged mirror: the mirror is checked
 * (`git fsck --connectivity-only`), rebuilt if broken, and the checkout retried once.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { dir as tmpDir } from "tmp-promise";
import type { Checkout, CheckoutRequest, LocalPull, WorkspacePort } from "../ports/workspace.js";
import { GitCommandError, GitMirror, LockTimeoutError, type GitResult, type GitRunner, type MirrorSource } from "./git-mirror.js";
import { basicAuthValue, gitTokenSecrets, redact, withoutAtollSecrets } from "./redact.js";
import { runProcess } from "./run-process.js";

export { GitCommandError, gitMirrorFetchArgs } from "./git-mirror.js";

export interface GitWorkspaceOptions {
  /** Directory holding all checkouts (created on demand). */
  rootDir: string;
  /** Git binary: a path or a name looked up in PATH. Default "git". */
  gitBinary?: string;
  /** Timeout per git command (the process tree is killed). Default 10 minutes. */
  timeoutMs?: number;
  /** Environment git starts from (minus Atoll's secrets and stray GIT_* variables). Default `process.env`. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Where to report checkouts (pino-style). Never given the token. */
  logger?: WorkspaceLogger;
  /**
   * A mirror lock whose holder shows no sign of life for this long is broken (a holder whose
   * process is gone on this host is broken at once). Default 30 s.
   */
  lockStaleMs?: number;
  /** Run the processes this much nicer than the server (see `runProcess`); default 0. */
  niceness?: number;
}

export interface WorkspaceLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
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
  // `new URL` would silently strip tabs and newlines; in a config file they would start a new line.
  if (/[\u0000-\u001f\u007f]/.test(cloneUrl)) throw new Error("invalid clone URL (control character)");
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
export function buildGitEnv(
  baseEnv: NodeJS.ProcessEnv,
  token?: string,
  extraConfig: ReadonlyArray<readonly [string, string]> = [],
): Record<string, string> {
  const env = withoutAtollSecrets(baseEnv);
  for (const name of Object.keys(env)) {
    if (name.startsWith("GIT_") && !KEEP_GIT_ENV.test(name)) delete env[name];
  }
  const config: Array<readonly [string, string]> = [...BASE_CONFIG, ...extraConfig];
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
 * The argv of each git command that builds a working tree from the mirror (run in the new
 * directory; between the two, `.git/objects/info/alternates` and the `origin` remote
 * (`originConfig`) are written). Neither carries a credential, and neither talks to the network.
 * Exported so tests can check exactly that; the fetch's argv is `gitMirrorFetchArgs`.
 */
export function gitCheckoutCommands(cloneUrl: string, sha: string): string[][] {
  validateCloneUrl(cloneUrl);
  return [
    ["init", "-q", "--template="],
    ["checkout", "-q", "--detach", normalizeSha(sha)],
  ];
}

/**
 * The `[remote "origin"]` section `git remote add origin <url>` would write, appended to the
 * working tree's `.git/config` directly (one git process less per checkout). The URL is quoted the
 * way git writes it (`validateCloneUrl` has refused control characters).
 */
export function originConfig(cloneUrl: string): string {
  const url = validateCloneUrl(cloneUrl);
  // As git writes values: `\` and `"` escaped, quoted when `;` or `#` (comments) or edge spaces occur.
  let value = url.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  if (/^\s|\s$|[;#]/.test(value)) value = `"${value}"`;
  return `[remote "origin"]\n\turl = ${value}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n`;
}

/** The SHA a working tree's HEAD points at when detached, read from `.git/HEAD` (no process, no network). */
async function detachedHead(repoDir: string): Promise<string | null> {
  const head = await readFile(path.join(repoDir, ".git", "HEAD"), "utf8").catch(() => null);
  return head === null ? null : head.trim().toLowerCase();
}

/**
 * Failures that say something about the server or the network, not about the mirror: rebuilding
 * the mirror would not help (and would throw a good cache away).
 */
const REMOTE_FAILURE =
  /could not read (?:Username|Password)|Authentication failed|returned error: \d{3}|unable to access|Could not resolve|Failed to connect|Connection (?:refused|reset|timed out)|timed out|not our ref|couldn't find remote ref|remote error|hung up unexpectedly|early EOF|RPC failed|\bSSL\b|\bTLS\b|gnutls/i;

/** The server refused the credentials (HTTP 401/403; on 401 git would ask for a username, which is disabled). */
const AUTH_FAILURE = /could not read Username|Authentication failed|returned error: 40[13]/i;

/** First argument that is not an option: the git subcommand, for messages. */
function subcommand(args: readonly string[]): string {
  return args.find((a) => !a.startsWith("-")) ?? "git";
}

export function createGitWorkspace(opts: GitWorkspaceOptions): WorkspacePort {
  const rootDir = path.resolve(opts.rootDir);
  const gitBinary = opts.gitBinary ?? "git";
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const baseEnv = opts.baseEnv ?? process.env;
  const staleMs = opts.lockStaleMs ?? 30_000;
  /** In-flight checkouts by final directory, so concurrent requests for one PR+SHA fetch once. */
  const inFlight = new Map<string, Promise<Checkout>>();

  const repoRoot = (owner: string, repo: string) => path.join(rootDir, sanitizeSegment(owner), sanitizeSegment(repo));
  const pullDir = (owner: string, repo: string, n: number) => path.join(repoRoot(owner, repo), `pr-${checkPullNumber(n)}`);

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

  const git: GitRunner = async (args, { cwd, token, gitDir, config }) => {
    const secrets = token ? gitTokenSecrets(token) : [];
    const env = buildGitEnv(baseEnv, token, config);
    // Repository discovery never leaves the data directory (a damaged checkout must fail, not
    // silently act on a repository that happens to enclose the data dir); the mirror is named.
    env.GIT_CEILING_DIRECTORIES = rootDir;
    if (gitDir !== undefined) env.GIT_DIR = gitDir;
    const result = await runProcess({
      file: gitBinary,
      name: "git",
      args,
      cwd,
      env,
      timeoutMs,
      redact: secrets,
      maxOutputBytes: 1024 * 1024,
      captureStdout: true,
      maxStdoutBytes: 16 * 1024 * 1024,
      ...(opts.niceness ? { niceness: opts.niceness } : {}),
    });
    if (result.exitCode === 0 && !result.timedOut) return { ok: true, stdout: result.stdout ?? "", error: null } satisfies GitResult;
    // `output` is already redacted; redact again in case a spawn error message carried something.
    let detail = redact(result.output.trim(), secrets) || `exit code ${result.exitCode}`;
    const authRejected = token !== undefined && AUTH_FAILURE.test(detail);
    // On HTTP 401 git asks for a username, which is disabled; say what that actually means.
    if (authRejected) detail += " (the server rejected the installation token: check that the app is installed on this repository with contents: read)";
    const remote = token !== undefined && (result.timedOut || REMOTE_FAILURE.test(detail));
    return { ok: false, stdout: "", error: new GitCommandError(subcommand(args), detail, remote, authRejected) };
  };

  function mirrorFor(owner: string, repo: string): GitMirror {
    const dir = repoRoot(owner, repo);
    return new GitMirror({
      dir: path.join(dir, "mirror.git"),
      git,
      isLivePull: (n) =>
        stat(path.join(dir, `pr-${n}`)).then(
          () => true,
          () => false,
        ),
      // A holder may legitimately run a fetch, an fsck and a repack, each up to `timeoutMs`.
      lock: { staleMs, timeoutMs: 3 * timeoutMs + staleMs },
    });
  }

  /** Build the working tree of `sha` from the mirror into a fresh `repoDir`. No network. */
  async function materialise(req: CheckoutRequest, sha: string, mirror: GitMirror, p: ReturnType<typeof paths>): Promise<Checkout> {
    // The temporary directory lives in the PR directory: same filesystem, so the final rename is
    // atomic, and `removePull` also sweeps up leftovers of a crashed checkout.
    const tmp = await tmpDir({ tmpdir: path.dirname(p.shaDir), prefix: ".checkout-", unsafeCleanup: true });
    try {
      const [init, checkout] = gitCheckoutCommands(req.cloneUrl, sha);
      const made = await git(init, { cwd: tmp.path });
      if (made.error) throw made.error;
      await appendFile(path.join(tmp.path, ".git", "config"), originConfig(req.cloneUrl));
      await writeFile(path.join(tmp.path, ".git", "objects", "info", "alternates"), mirror.objectsDir + "\n");
      const r = await git(checkout, { cwd: tmp.path });
      if (r.error) throw r.error;
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

  async function fetchCheckout(req: CheckoutRequest): Promise<Checkout> {
    const started = Date.now();
    const sha = normalizeSha(req.sha);
    gitCheckoutCommands(req.cloneUrl, sha); // validates the URL before any I/O
    const reused = await existing(req.owner, req.repo, req.pullNumber, sha);
    if (reused) return reused;

    const p = paths(req.owner, req.repo, req.pullNumber, sha);
    // A working tree whose HEAD moved (or a leftover from an older layout) is replaced; the
    // artefacts next to it are kept.
    await rm(p.repoDir, { recursive: true, force: true });
    await mkdir(p.artifactsDir, { recursive: true });

    const mirror = mirrorFor(req.owner, req.repo);
    const fields = { owner: req.owner, repo: req.repo, pull: req.pullNumber, sha };
    let source: MirrorSource | undefined;
    let fetchMs = 0;
    let buildMs = 0;
    const attempt = async () => {
      source = undefined;
      const fetchStart = Date.now();
      source = await mirror.ensureCommit({ cloneUrl: req.cloneUrl, token: req.token, sha, pullNumber: req.pullNumber });
      const buildStart = Date.now();
      fetchMs = buildStart - fetchStart;
      const checkout = await materialise(req, sha, mirror, p);
      buildMs = Date.now() - buildStart;
      return checkout;
    };
    let result: Checkout;
    try {
      result = await attempt();
    } catch (err) {
      if ((err instanceof GitCommandError && err.remote) || err instanceof LockTimeoutError) throw err;
      const fetchFailed = source === undefined;
      // Not the server's fault: maybe the mirror's. Check it, rebuild it if broken, and retry
      // once — also after a local failure with a sound mirror, which may have been rebuilt under us.
      let rebuilt: boolean;
      try {
        rebuilt = await mirror.repair();
      } catch {
        throw err; // the original failure says more than the failed repair
      }
      if (rebuilt) opts.logger?.warn({ ...fields, error: errorMessage(err) }, "git mirror was damaged and has been rebuilt");
      if (fetchFailed && !rebuilt) throw err;
      result = await attempt();
    }
    opts.logger?.info({ ...fields, mirror: source, durationMs: Date.now() - started, fetchMs, buildMs }, "git checkout ready");
    return result;
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

    async hasRepository(owner, repo) {
      return mirrorFor(owner, repo).looksValid();
    },

    async find(owner, repo, pullNumber, sha) {
      return existing(owner, repo, pullNumber, sha);
    },

    listPulls: () => listPullDirs(rootDir),

    async removePull(owner, repo, pullNumber) {
      // The repository's mirror stays: it is what makes the next PR's checkout cheap. The PR's
      // negotiation ref goes (a later fetch prunes it if this fails).
      await rm(pullDir(owner, repo, pullNumber), { recursive: true, force: true });
      await mirrorFor(owner, repo)
        .forgetPull(pullNumber)
        .catch((err: unknown) => opts.logger?.warn({ owner, repo, pull: pullNumber, error: errorMessage(err) }, "could not drop a closed pull request's ref from the git mirror"));
    },
  };
}

/** The `<owner>/<repo>/pr-<n>` directories under `root` (the layout above). */
export async function listPullDirs(root: string): Promise<LocalPull[]> {
  const out: LocalPull[] = [];
  const dirs = async (p: string) => (await readdir(p, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name);
  for (const owner of await dirs(root)) {
    for (const repo of await dirs(path.join(root, owner))) {
      for (const name of await dirs(path.join(root, owner, repo))) {
        const m = /^pr-(\d+)$/.exec(name);
        if (!m) continue;
        const st = await stat(path.join(root, owner, repo, name)).catch(() => undefined);
        if (st) out.push({ owner, repo, pullNumber: Number(m[1]), modifiedAt: st.mtime });
      }
    }
  }
  return out;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
