/**
 * Installation tokens for git fetches, kept per installation until shortly before they expire.
 *
 * A token is valid for an hour and may be used for every repository of its installation, so one
 * mint serves every checkout of that installation for most of an hour instead of one mint (one
 * GitHub call, on the path of every plan) per job. Tokens live only in this process's memory.
 *
 * - A token is handed out only while it has at least `minRemainingMs` left (default 10 minutes:
 *   more than any fetch may take), so git never starts with a token about to expire.
 * - Concurrent requests for one installation share one mint.
 * - `fresh: true` (the server rejected the cached token, e.g. revoked or with outdated
 *   permissions) drops the cached token and mints a new one.
 *
 * Used by the Octokit GitHub adapter where Probot's own token cache cannot be read (GitHub
 * Enterprise, see `octokit-github.ts`).
 */

export interface MintedToken {
  token: string;
  /** ISO 8601, as GitHub returns it. */
  expiresAt: string;
}

export interface CloneTokenCache {
  /** A token for `key` (base URL + installation id), minted with `mint` when none is fit for use. */
  get(key: string, mint: () => Promise<MintedToken>, opts?: { fresh?: boolean }): Promise<string>;
}

export interface CloneTokenCacheOptions {
  /** Hand a token out only while it has this long left. Default 10 minutes. */
  minRemainingMs?: number;
  now?: () => number;
}

export function createCloneTokenCache(options: CloneTokenCacheOptions = {}): CloneTokenCache {
  const minRemainingMs = options.minRemainingMs ?? 10 * 60_000;
  const now = options.now ?? Date.now;
  const tokens = new Map<string, { token: string; expiresAtMs: number }>();
  const minting = new Map<string, Promise<string>>();

  const usable = (key: string) => {
    const t = tokens.get(key);
    return t && t.expiresAtMs - now() >= minRemainingMs ? t.token : undefined;
  };

  return {
    async get(key, mint, opts = {}) {
      if (opts.fresh) tokens.delete(key);
      const cached = usable(key);
      if (cached) return cached;
      let pending = minting.get(key);
      if (!pending) {
        pending = (async () => {
          const minted = await mint();
          const expiresAtMs = Date.parse(minted.expiresAt);
          // An unreadable expiry is treated as expired: the token is used once, never cached.
          if (Number.isFinite(expiresAtMs)) tokens.set(key, { token: minted.token, expiresAtMs });
          return minted.token;
        })().finally(() => minting.delete(key));
        minting.set(key, pending);
      }
      return pending;
    },
  };
}
