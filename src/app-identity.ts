/**
 * Who this App is on GitHub: its slug (for `@slug plan` and for recognising its own comments).
 * From ATOLL_APP_SLUG when set; otherwise asked once with GET /app and cached.
 */
import type { Probot } from "probot";

export interface AppIdentity {
  /** The App's slug, or undefined when it could not be determined (logged). */
  slug(): Promise<string | undefined>;
}

export function createAppIdentity(app: Probot, configuredSlug?: string): AppIdentity {
  let pending: Promise<string | undefined> | undefined;
  return {
    slug() {
      if (configuredSlug) return Promise.resolve(configuredSlug);
      pending ??= (async () => {
        try {
          const octokit = await app.auth();
          const { data } = await octokit.rest.apps.getAuthenticated();
          return data?.slug ?? undefined;
        } catch (error) {
          app.log.warn({ err: error }, "could not look up the App's slug; set ATOLL_APP_SLUG");
          pending = undefined; // try again next time
          return undefined;
        }
      })();
      return pending;
    },
  };
}
