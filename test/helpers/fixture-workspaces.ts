/**
 * A WorkspacePort for integration tests: "checking out" a SHA writes a fixed file map into a temp
 * dir. Git itself is exercised by the git-workspace unit tests and the end-to-end tests; here the
 * point is the app's behaviour around it.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { listPullDirs } from "../../src/adapters/git-workspace.js";
import type { Checkout, CheckoutRequest, WorkspacePort } from "../../src/ports/workspace.js";

/** A checkout request as made, with the token it fetched with (none when nothing was fetched). */
export type RecordedCheckout = Omit<CheckoutRequest, "token"> & { token?: string };

export interface FixtureWorkspaces extends WorkspacePort {
  root: string;
  /** Every checkout request made (with the token used, to assert one was passed). */
  requests: RecordedCheckout[];
  /** Commits "fetched" so far, each with the token it was fetched with. */
  fetched: Map<string, string>;
  dispose(): Promise<void>;
}

export async function createFixtureWorkspaces(filesBySha: Record<string, Record<string, string>>): Promise<FixtureWorkspaces> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-fixture-ws-"));
  const requests: RecordedCheckout[] = [];
  const fetched = new Map<string, string>();
  /** Like the mirror: a commit is fetched once, asking for the token only then. */
  const fetch = async (req: CheckoutRequest): Promise<Record<string, string>> => {
    const files = filesBySha[req.sha];
    if (!files) throw new Error(`git fetch failed: no such commit ${req.sha}`);
    if (!fetched.has(req.sha)) fetched.set(req.sha, await req.token());
    return files;
  };
  const pullDir = (owner: string, repo: string, n: number) => path.join(root, owner, repo, `pr-${n}`);
  const paths = (owner: string, repo: string, n: number, sha: string) => ({
    dir: path.join(pullDir(owner, repo, n), sha, "repo"),
    artifactsDir: path.join(pullDir(owner, repo, n), sha, "artifacts"),
  });
  const exists = (p: string) => fs.stat(p).then(() => true, () => false);

  return {
    root,
    requests,
    fetched,
    async checkout(req): Promise<Checkout> {
      const { token: _source, ...rest } = req;
      const recorded: RecordedCheckout = { ...rest };
      requests.push(recorded);
      const p = paths(req.owner, req.repo, req.pullNumber, req.sha);
      if (await exists(p.dir)) return { ...p, sha: req.sha, reused: true };
      const files = await fetch(req);
      recorded.token = fetched.get(req.sha);
      for (const [file, content] of Object.entries(files)) {
        await fs.mkdir(path.dirname(path.join(p.dir, file)), { recursive: true });
        await fs.writeFile(path.join(p.dir, file), content);
      }
      await fs.mkdir(p.artifactsDir, { recursive: true });
      return { ...p, sha: req.sha, reused: false };
    },
    async hasRepository(owner, repo) {
      return requests.some((r) => r.owner === owner && r.repo === repo && r.token !== undefined);
    },
    async find(owner, repo, n, sha) {
      const p = paths(owner, repo, n, sha);
      return (await exists(p.dir)) ? { ...p, sha, reused: true } : null;
    },
    async removePull(owner, repo, n) {
      await fs.rm(pullDir(owner, repo, n), { recursive: true, force: true });
    },
    // Same layout as the git workspace: <root>/<owner>/<repo>/pr-<n>/<sha>/…
    listPulls: () => listPullDirs(root),
    async dispose() {
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
