/**
 * Bare git repositories behind the fake GitHub, plus helpers for tests to make commits.
 *
 * Commits are written with plumbing (`hash-object`, `update-index`, `write-tree`,
 * `commit-tree`, `update-ref`) against the bare repository with a throw-away index, instead of
 * a scratch working clone: it needs no checkout, handles new branches and deletions the same
 * way, and cannot leave a half-finished working tree behind. The git that serves the repo over
 * HTTP is the same real git, so whatever the app fetches is what a test committed.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export interface GitIdentity {
  name: string;
  email: string;
}

export interface CommitOptions {
  /** Where a new branch starts (branch name or sha). Default: the default branch's tip. */
  from?: string;
  author?: GitIdentity;
}

/** One entry of `git diff --raw` between two commits, in GitHub's vocabulary. */
export interface DiffEntry {
  filename: string;
  /** added | removed | modified | renamed | copied | changed */
  status: string;
  previousFilename?: string;
  /** Blob sha (of the new side; of the old side for removed files). */
  sha: string;
  additions: number;
  deletions: number;
}

/** A commit as `git log` knows it (what the REST commit shapes are built from). */
export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  author: GitIdentity & { date: string };
  committer: GitIdentity & { date: string };
  message: string;
}

/** How `head` relates to `base`, as GitHub's compare API reports it. */
export interface Comparison {
  status: "ahead" | "behind" | "diverged" | "identical";
  baseSha: string;
  headSha: string;
  mergeBaseSha: string;
  /** Commits in head but not in base. */
  aheadBy: number;
  /** Commits in base but not in head. */
  behindBy: number;
}

export interface TreeEntry {
  name: string;
  path: string;
  type: "file" | "dir" | "symlink" | "submodule";
  sha: string;
  size: number;
}

/** GitHub's own identity on the merge commits it creates. */
const GITHUB_IDENTITY: GitIdentity = { name: "GitHub", email: "noreply@github.com" };

/** GitHub timestamps: UTC, no milliseconds. */
function githubDate(isoWithOffset: string): string {
  return new Date(isoWithOffset).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const ZERO_SHA = "0000000000000000000000000000000000000000";
const DEFAULT_IDENTITY: GitIdentity = { name: "Fake GitHub Test", email: "test@fake-github.invalid" };

/** Environment that isolates git from the user's and system's configuration. */
export function isolatedGitEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: tmpdir(),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    LANG: "C",
    ...extra,
  };
}

/** Refuse ref names that git could read as options. */
function assertSafeRef(ref: string): void {
  if (!ref || ref.startsWith("-") || /[\s\0]/.test(ref)) throw new Error(`unsafe git ref: ${JSON.stringify(ref)}`);
}

export class FakeRepo {
  readonly fullName: string;
  /** Serialises commits so two concurrent `commit()` calls cannot race on the branch ref. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly owner: string,
    readonly name: string,
    /** Path of the bare repository (`<root>/<owner>/<name>.git`). */
    readonly path: string,
    readonly defaultBranch: string,
    /** `http://127.0.0.1:PORT/<owner>/<name>.git` */
    readonly cloneUrl: string,
    /** Numeric id used in API shapes. */
    readonly id: number,
  ) {
    this.fullName = `${owner}/${name}`;
  }

  /** Run git against the bare repository and return stdout (not trimmed). */
  async git(args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}): Promise<string> {
    const result = await execa("git", args, {
      env: isolatedGitEnv({ GIT_DIR: this.path, ...opts.env }),
      extendEnv: false,
      input: opts.input,
      stripFinalNewline: false,
      maxBuffer: 256 * 1024 * 1024,
    });
    return result.stdout;
  }

  /** Commit sha of a ref (branch name, `refs/...` or sha), or null when it does not resolve. */
  async tryResolve(ref: string): Promise<string | null> {
    assertSafeRef(ref);
    const candidates = /^[0-9a-f]{40}$/.test(ref) || ref.startsWith("refs/") ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`, ref];
    for (const c of candidates) {
      try {
        const out = await this.git(["rev-parse", "--verify", "--quiet", `${c}^{commit}`]);
        const sha = out.trim();
        if (sha) return sha;
      } catch {
        // not this one
      }
    }
    return null;
  }

  /** Commit sha of a branch (or any ref); throws when missing. */
  async sha(ref: string): Promise<string> {
    const sha = await this.tryResolve(ref);
    if (!sha) throw new Error(`${this.fullName}: ref ${ref} does not exist`);
    return sha;
  }

  /** Branch names. */
  async branches(): Promise<string[]> {
    const out = await this.git(["for-each-ref", "--format=%(refname:short)", "refs/heads/"]);
    return out.split("\n").filter(Boolean);
  }

  /** Point a ref at a commit (e.g. `refs/pull/1/head`). */
  async setRef(ref: string, sha: string): Promise<void> {
    assertSafeRef(ref);
    await this.git(["update-ref", ref, sha]);
  }

  async deleteBranch(branch: string): Promise<void> {
    assertSafeRef(branch);
    await this.git(["update-ref", "-d", `refs/heads/${branch}`]);
  }

  /**
   * Hide a ref from the advertisement served over HTTP while keeping its commits fetchable by
   * sha (`uploadpack.allowAnySHA1InWant`). Used for fork PRs, whose branch is not in the base
   * repository on GitHub.
   */
  async hideRef(ref: string): Promise<void> {
    await this.git(["config", "--add", "uploadpack.hideRefs", ref]);
  }

  /**
   * Commit `files` to `branch` (created from `opts.from` or the default branch when missing)
   * and return the new commit's sha. A `null` value deletes the file.
   */
  commit(branch: string, files: Record<string, string | null>, message?: string, opts: CommitOptions = {}): Promise<string> {
    const run = this.#queue.then(() => this.#commit(branch, files, message ?? `Update ${branch}`, opts));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #commit(branch: string, files: Record<string, string | null>, message: string, opts: CommitOptions): Promise<string> {
    assertSafeRef(branch);
    const scratch = await mkdtemp(join(tmpdir(), "fake-gh-commit-"));
    try {
      const existing = await this.tryResolve(`refs/heads/${branch}`);
      const parent = existing ?? (opts.from ? await this.sha(opts.from) : await this.tryResolve(`refs/heads/${this.defaultBranch}`));
      const env = { GIT_INDEX_FILE: join(scratch, "index") };
      await this.git(parent ? ["read-tree", parent] : ["read-tree", "--empty"], { env });

      const writes = Object.entries(files).filter((e): e is [string, string] => e[1] !== null);
      const deletes = Object.entries(files).filter(([, c]) => c === null).map(([p]) => p);
      let shas: string[] = [];
      if (writes.length) {
        const blobDir = join(scratch, "blobs");
        await mkdir(blobDir);
        const paths = await Promise.all(
          writes.map(async ([, content], i) => {
            const p = join(blobDir, String(i));
            await writeFile(p, content);
            return p;
          }),
        );
        shas = (await this.git(["hash-object", "-w", "--stdin-paths"], { input: paths.join("\n") + "\n" })).trim().split("\n");
      }
      const indexInfo = [
        ...writes.map(([p], i) => `100644 ${shas[i]}\t${p}\0`),
        ...deletes.map((p) => `0 ${ZERO_SHA}\t${p}\0`),
      ].join("");
      if (indexInfo) await this.git(["update-index", "-z", "--index-info"], { input: indexInfo, env });
      const tree = (await this.git(["write-tree"], { env })).trim();

      const who = opts.author ?? DEFAULT_IDENTITY;
      const commitEnv = {
        GIT_AUTHOR_NAME: who.name,
        GIT_AUTHOR_EMAIL: who.email,
        GIT_COMMITTER_NAME: DEFAULT_IDENTITY.name,
        GIT_COMMITTER_EMAIL: DEFAULT_IDENTITY.email,
      };
      const sha = (
        await this.git(["commit-tree", tree, ...(parent ? ["-p", parent] : []), "-F", "-"], { input: message, env: commitEnv })
      ).trim();
      // The old-value guard makes a concurrent writer (outside this helper) fail loudly.
      await this.git(["update-ref", `refs/heads/${branch}`, sha, existing ?? ZERO_SHA]);
      return sha;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Merge base of two commits (what GitHub's three-dot comparison diffs against). */
  async mergeBase(a: string, b: string): Promise<string | null> {
    try {
      return (await this.git(["merge-base", a, b])).trim() || null;
    } catch {
      return null;
    }
  }

  /**
   * Compare `base...head` like GitHub's compare API: ahead/behind counts from `rev-list`,
   * relative to the merge base. Null when a ref does not resolve or the histories are unrelated
   * (GitHub answers 404 in both cases).
   */
  async compare(base: string, head: string): Promise<Comparison | null> {
    const baseSha = await this.tryResolve(base);
    const headSha = await this.tryResolve(head);
    if (!baseSha || !headSha) return null;
    const mergeBaseSha = await this.mergeBase(baseSha, headSha);
    if (!mergeBaseSha) return null;
    const count = async (range: string) => Number((await this.git(["rev-list", "--count", range])).trim());
    const aheadBy = await count(`${baseSha}..${headSha}`);
    const behindBy = await count(`${headSha}..${baseSha}`);
    const status = aheadBy && behindBy ? "diverged" : aheadBy ? "ahead" : behindBy ? "behind" : "identical";
    return { status, baseSha, headSha, mergeBaseSha, aheadBy, behindBy };
  }

  /**
   * Commits reachable from `head` but not from `base` (both shas), oldest first, at most `limit`
   * (GitHub's compare lists at most 250).
   */
  async commitsBetween(base: string, head: string, limit = 250): Promise<CommitInfo[]> {
    const shas = (await this.git(["rev-list", "--reverse", `${base}..${head}`])).split("\n").filter(Boolean);
    return this.commitInfo(shas.slice(0, limit));
  }

  /** Details of commits given by sha, in the given order. */
  async commitInfo(shas: string[]): Promise<CommitInfo[]> {
    if (!shas.length) return [];
    // One record per commit, NUL-separated; the message is last so it may contain newlines.
    const format = "%H%n%T%n%P%n%an%n%ae%n%aI%n%cn%n%ce%n%cI%n%B";
    const out = await this.git(["show", "-s", "-z", `--format=${format}`, ...shas]);
    const parsed = out
      .split("\0")
      .filter((rec) => rec.length > 0)
      .map((rec) => {
        const lines = rec.split("\n");
        const [sha, tree, parents, an, ae, ad, cn, ce, cd] = lines;
        return {
          sha,
          tree,
          parents: parents.split(" ").filter(Boolean),
          author: { name: an, email: ae, date: githubDate(ad) },
          committer: { name: cn, email: ce, date: githubDate(cd) },
          message: lines.slice(9).join("\n").replace(/\n+$/, ""),
        };
      });
    // Do not rely on `git show` keeping argument order.
    const bySha = new Map(parsed.map((c) => [c.sha, c]));
    return shas.map((sha) => {
      const c = bySha.get(sha);
      if (!c) throw new Error(`${this.fullName}: commit ${sha} not found`);
      return c;
    });
  }

  /**
   * Whether merging `head` into `base` conflicts, by a real three-way merge
   * (`git merge-tree --write-tree`, git ≥ 2.38) that touches no ref. Unrelated histories count
   * as conflicting: GitHub cannot merge them either.
   */
  async hasConflicts(base: string, head: string): Promise<boolean> {
    return (await this.#mergeTree(base, head)).conflicts;
  }

  async #mergeTree(base: string, head: string): Promise<{ conflicts: boolean; tree: string | null }> {
    assertSafeRef(base);
    assertSafeRef(head);
    const result = await execa("git", ["merge-tree", "--write-tree", "--no-messages", base, head], {
      env: isolatedGitEnv({ GIT_DIR: this.path }),
      extendEnv: false,
      reject: false,
    });
    // 0 = clean (stdout starts with the tree id), 1 = conflicts, anything else = could not merge.
    if (result.exitCode === 0) return { conflicts: false, tree: result.stdout.split("\n")[0].trim() };
    return { conflicts: true, tree: null };
  }

  /**
   * Merge `head` (sha or ref) into `branch` with a two-parent merge commit, as GitHub's "Create
   * a merge commit" button does, and return the merge commit's sha. Throws on conflicts.
   * Serialised with `commit()` so the branch cannot move underneath.
   */
  merge(branch: string, head: string, message: string): Promise<string> {
    const run = this.#queue.then(async () => {
      assertSafeRef(branch);
      const base = await this.sha(`refs/heads/${branch}`);
      const headSha = await this.sha(head);
      const { conflicts, tree } = await this.#mergeTree(base, headSha);
      if (conflicts || !tree) throw new Error(`${this.fullName}: ${head} does not merge cleanly into ${branch}`);
      const env = {
        GIT_AUTHOR_NAME: GITHUB_IDENTITY.name,
        GIT_AUTHOR_EMAIL: GITHUB_IDENTITY.email,
        GIT_COMMITTER_NAME: GITHUB_IDENTITY.name,
        GIT_COMMITTER_EMAIL: GITHUB_IDENTITY.email,
      };
      const sha = (await this.git(["commit-tree", tree, "-p", base, "-p", headSha, "-F", "-"], { input: message, env })).trim();
      await this.git(["update-ref", `refs/heads/${branch}`, sha, base]);
      return sha;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * "Squash and merge": one commit on `branch` (single parent) with the tree of merging `head`,
   * authored by `author` (GitHub uses the PR author), committed by GitHub. Throws on conflicts.
   */
  squash(branch: string, head: string, message: string, author: GitIdentity): Promise<string> {
    return this.#onBranch(branch, async (base) => {
      const headSha = await this.sha(head);
      const { conflicts, tree } = await this.#mergeTree(base, headSha);
      if (conflicts || !tree) throw new Error(`${this.fullName}: ${head} does not merge cleanly into ${branch}`);
      return this.#commitTree(tree, [base], message, { name: author.name, email: author.email });
    });
  }

  /**
   * "Rebase and merge": each commit of `branch..head` (oldest first) recreated on top of
   * `branch` with its author and message and GitHub as committer; the branch ends at the last
   * one. Each new commit's tree is the three-way merge of the base tip with that commit, which is
   * what replaying the commits one by one gives when they apply cleanly. Throws on conflicts.
   */
  rebase(branch: string, head: string): Promise<string> {
    return this.#onBranch(branch, async (base) => {
      const headSha = await this.sha(head);
      const commits = await this.commitsBetween(base, headSha, Number.MAX_SAFE_INTEGER);
      let tip = base;
      for (const c of commits) {
        if (c.parents.length > 1) continue;
        const { conflicts, tree } = await this.#mergeTree(base, c.sha);
        if (conflicts || !tree) throw new Error(`${this.fullName}: ${c.sha} cannot be rebased onto ${branch}`);
        tip = await this.#commitTree(tree, [tip], c.message, c.author);
      }
      return tip;
    });
  }

  /** Run `fn` with the branch tip, serialised with commits, and move the branch to its result (guarded). */
  #onBranch(branch: string, fn: (base: string) => Promise<string>): Promise<string> {
    const run = this.#queue.then(async () => {
      assertSafeRef(branch);
      const base = await this.sha(`refs/heads/${branch}`);
      const sha = await fn(base);
      await this.git(["update-ref", `refs/heads/${branch}`, sha, base]);
      return sha;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #commitTree(tree: string, parents: string[], message: string, author: GitIdentity & { date?: string }): Promise<string> {
    const env = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      ...(author.date ? { GIT_AUTHOR_DATE: author.date } : {}),
      GIT_COMMITTER_NAME: GITHUB_IDENTITY.name,
      GIT_COMMITTER_EMAIL: GITHUB_IDENTITY.email,
    };
    const args = ["commit-tree", tree, ...parents.flatMap((p) => ["-p", p]), "-F", "-"];
    return (await this.git(args, { input: message, env })).trim();
  }

  /**
   * Files changed between `base...head` (merge base to head), with rename detection, as
   * GitHub's "list pull request files" reports them.
   */
  async diff(base: string, head: string): Promise<DiffEntry[]> {
    assertSafeRef(base);
    assertSafeRef(head);
    const range = `${base}...${head}`;
    const raw = (await this.git(["diff", "--raw", "--no-abbrev", "-z", "-M", range])).split("\0");
    const numstat = (await this.git(["diff", "--numstat", "-z", "-M", range])).split("\0");

    const entries: DiffEntry[] = [];
    for (let i = 0; i < raw.length && raw[i]; ) {
      // ":100644 100644 <old> <new> R087"
      const [, , oldSha, newSha, code] = raw[i].slice(1).split(" ");
      const letter = code[0];
      if (letter === "R" || letter === "C") {
        entries.push({
          filename: raw[i + 2],
          previousFilename: raw[i + 1],
          status: letter === "R" ? "renamed" : "copied",
          sha: newSha,
          additions: 0,
          deletions: 0,
        });
        i += 3;
      } else {
        const status = letter === "A" ? "added" : letter === "D" ? "removed" : letter === "M" ? "modified" : "changed";
        entries.push({ filename: raw[i + 1], status, sha: letter === "D" ? oldSha : newSha, additions: 0, deletions: 0 });
        i += 2;
      }
    }
    // numstat -z: "add\tdel\tpath\0" or, for renames, "add\tdel\t\0old\0new\0"; same order as --raw.
    let n = 0;
    for (let i = 0; i < numstat.length && numstat[i] && n < entries.length; n++) {
      const [add, del, path] = numstat[i].split("\t");
      entries[n].additions = add === "-" ? 0 : Number(add);
      entries[n].deletions = del === "-" ? 0 : Number(del);
      i += path === "" ? 3 : 1;
    }
    return entries;
  }

  /** What `path` is at commit `sha`: a blob (with content) or a tree (with entries), or null. */
  async readPath(
    sha: string,
    path: string,
  ): Promise<{ type: "file"; sha: string; content: Buffer } | { type: "dir"; sha: string; entries: TreeEntry[] } | null> {
    const clean = path.replace(/^\/+|\/+$/g, "");
    const spec = `${sha}:${clean}`;
    let type: string;
    try {
      type = (await this.git(["cat-file", "-t", spec])).trim();
    } catch {
      return null;
    }
    const objectSha = (await this.git(["rev-parse", spec])).trim();
    if (type === "blob") {
      const result = await execa("git", ["cat-file", "blob", objectSha], {
        env: isolatedGitEnv({ GIT_DIR: this.path }),
        extendEnv: false,
        encoding: "buffer",
        stripFinalNewline: false,
        maxBuffer: 256 * 1024 * 1024,
      });
      return { type: "file", sha: objectSha, content: Buffer.from(result.stdout) };
    }
    if (type !== "tree") return null;
    const out = await this.git(["ls-tree", "-l", "-z", objectSha]);
    const entries: TreeEntry[] = [];
    for (const line of out.split("\0").filter(Boolean)) {
      // "<mode> <type> <sha> <size>\t<name>"
      const tab = line.indexOf("\t");
      const [mode, objType, entrySha, size] = line.slice(0, tab).trim().split(/\s+/);
      const name = line.slice(tab + 1);
      const kind: TreeEntry["type"] =
        objType === "tree" ? "dir" : objType === "commit" ? "submodule" : mode === "120000" ? "symlink" : "file";
      entries.push({ name, path: clean ? `${clean}/${name}` : name, type: kind, sha: entrySha, size: size === "-" ? 0 : Number(size) });
    }
    return { type: "dir", sha: objectSha, entries };
  }
}

/** Create a bare repository like GitHub serves it. */
export async function initBareRepo(path: string, defaultBranch: string): Promise<void> {
  await mkdir(path, { recursive: true });
  const env = isolatedGitEnv();
  await execa("git", ["init", "--quiet", "--bare", `--initial-branch=${defaultBranch}`, path], { env, extendEnv: false });
  const config = async (key: string, value: string) =>
    execa("git", ["config", key, value], { env: { ...env, GIT_DIR: path }, extendEnv: false });
  // GitHub lets clients fetch any reachable sha (the app fetches the PR head by sha).
  await config("uploadpack.allowAnySHA1InWant", "true");
  // An installation token with contents:read cannot push; http-backend would allow it because
  // the handler sets REMOTE_USER.
  await config("http.receivepack", "false");
}
