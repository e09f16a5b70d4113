/**
 * WorkspacePort: git checkouts of a pull request's head commit, one directory per PR and head SHA.
 * The real implementation is `src/adapters/git-workspace.ts` (git over HTTPS with the installation
 * token passed per command, never stored in the URL or `.git/config`).
 */

/**
 * The installation token for a fetch, asked for only when a fetch is needed (a commit already
 * cached locally needs none). `fresh` asks for a new token instead of a cached one: the server
 * rejected the last.
 */
export type TokenSource = (opts?: { fresh?: boolean }) => Promise<string>;

export interface CheckoutRequest {
  owner: string;
  repo: string;
  pullNumber: number;
  /** Commit to check out (the PR head). */
  sha: string;
  /** Clone URL of the base repository, from the webhook payload (works for GitHub Enterprise). */
  cloneUrl: string;
  /** Installation token for the fetch, if one is needed; never stored. */
  token: TokenSource;
}

export interface Checkout {
  /** Root of the working tree. */
  dir: string;
  /** Directory next to the working tree for plan files and other artefacts of this PR+SHA. */
  artifactsDir: string;
  sha: string;
  /** True when an existing checkout for this PR and SHA was reused. */
  reused: boolean;
}

export interface LocalPull {
  owner: string;
  repo: string;
  pullNumber: number;
  modifiedAt: Date;
}

export interface WorkspacePort {
  /** Return the checkout for (repo, PR, SHA), fetching it if it does not exist yet. */
  checkout(req: CheckoutRequest): Promise<Checkout>;
  /**
   * Whether this repository was checked out before (its local cache exists): a checkout then
   * fetches only what is new, usually quicker than reading files through the API. No network.
   */
  hasRepository(owner: string, repo: string): Promise<boolean>;
  /** The existing checkout for (repo, PR, SHA), or null. Never fetches. */
  find(owner: string, repo: string, pullNumber: number, sha: string): Promise<Checkout | null>;
  /** Delete every checkout and artefact of the PR. */
  removePull(owner: string, repo: string, pullNumber: number): Promise<void>;
  /** The pull requests with checkouts here, and when each last changed (for the local cache sweep). */
  listPulls(): Promise<LocalPull[]>;
}
