/**
 * The web UI as one HTTP handler: "Sign in with GitHub" (`github-oauth.ts`, sessions in sealed
 * cookies — `session.ts`) in front of the pages (`pages.ts`). A signed-in user sees the
 * repositories GitHub says they can read among the App's installations (asked with their own
 * token, remembered for a minute per session); Unlock asks GitHub for write access at click time.
 * Served by replicas that take webhooks (roles `all` and `web`).
 */
import type { IncomingMessage } from "node:http";
import type { HttpHandler } from "../health.js";
import type { JobSubmitter } from "../jobs/job-service.js";
import type { GitHubPort } from "../ports/github.js";
import type { Store } from "../ports/store.js";
import type { Settings } from "../settings.js";
import { GitHubApiError, createWebSignIn, missingSignInSettings, type WebSignIn } from "./github-oauth.js";
import { createWebPages, type PageAuth, type PageUserAccess } from "./pages.js";
import type { WebSession } from "./session.js";

export interface WebUiOptions {
  settings: Pick<Settings, "publicUrl" | "sessionSecret" | "oauthClientId" | "oauthClientSecret">;
  store: Store;
  jobs: JobSubmitter;
  githubFor(installationId: number, owner: string, repo: string): Promise<GitHubPort>;
  log: { info(obj: Record<string, unknown>, msg: string): void; warn(obj: Record<string, unknown>, msg: string): void };
  env?: NodeJS.ProcessEnv;
  /** How long a user's readable repositories are remembered. */
  readableTtlMs?: number;
}

export function createWebUi(opts: WebUiOptions): HttpHandler {
  const signIn = createWebSignIn(opts.settings, { ...(opts.env ? { env: opts.env } : {}), log: opts.log });
  const pages = createWebPages({ store: opts.store, auth: pageAuth(opts, signIn), jobs: opts.jobs, githubFor: opts.githubFor, githubWeb: signIn.hosts.webUrl });
  return async (req, res) => (await signIn.handler(req, res)) || pages(req, res);
}

function unavailable(settings: WebUiOptions["settings"]): string | undefined {
  const names = missingSignInSettings(settings);
  return names.length ? `Sign-in with GitHub is not configured on this Atoll server: set ${names.join(", ")} (Probot's setup wizard writes the first two to .env).` : undefined;
}

/** Signed-in users and what they can read, from the session and GitHub. */
function pageAuth(opts: WebUiOptions, signIn: WebSignIn): PageAuth {
  const { sessions } = signIn;
  const ttl = opts.readableTtlMs ?? 60_000;
  const cache = new Map<string, { until: number; repos: Set<string> }>();
  const readable = async (s: WebSession): Promise<Set<string> | undefined> => {
    const key = s.csrf; // one entry per session
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.repos;
    try {
      const repos = new Set((await signIn.readableRepos(s)).map((r) => r.fullName.toLowerCase()));
      if (cache.size > 1000) cache.clear();
      cache.set(key, { until: Date.now() + ttl, repos });
      return repos;
    } catch (error) {
      if (error instanceof GitHubApiError && error.status === 401) return undefined; // token revoked: signed out
      throw error;
    }
  };
  const reason = unavailable(opts.settings);
  return {
    ...(reason ? { unavailable: reason } : {}),
    async user(req: IncomingMessage): Promise<PageUserAccess | undefined> {
      const s = sessions.read(req);
      if (!s) return undefined;
      const repos = await readable(s);
      if (!repos) return undefined;
      return { login: s.login, csrf: s.csrf, canRead: (owner, repo) => repos.has(`${owner}/${repo}`.toLowerCase()) };
    },
    checkCsrf(req, user, submitted) {
      const s = sessions.read(req);
      return s !== undefined && s.login === user.login && sessions.checkCsrf(req, s, submitted);
    },
  };
}
