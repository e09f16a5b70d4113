/**
 * Octokit plugin that checks every outgoing request against GitHub's REST description
 * (`validateRestRequest`), so integration tests fail when the app sends something github.com
 * would answer with 404/422, even though the nock mock happily accepted it.
 *
 * Violations are *recorded*, not thrown: a throw inside the hook would surface as an arbitrary
 * request error in the app (which may catch and log it), hide later violations, and make the
 * failure message about the app's error handling instead of the contract. The test (or
 * `useStrictNock`'s afterEach) collects them with `takeOpenapiViolations()` /
 * `expectNoOpenapiViolations()`.
 */
import type { ProbotOctokit } from "probot";
import { validateRestRequest } from "./openapi.js";

/**
 * Keys of Octokit's endpoint options that are not request parameters. Everything else is a URL
 * placeholder, a query parameter (GET/HEAD) or a body field.
 */
const NON_PARAMETER_KEYS = new Set(["method", "url", "baseUrl", "headers", "request", "mediaType", "data"]);

const violations: string[] = [];

/** Returns the violations recorded since the last call, and forgets them. */
export function takeOpenapiViolations(): string[] {
  return violations.splice(0, violations.length);
}

/** Throws one error listing every recorded violation (and forgets them); no-op when clean. */
export function expectNoOpenapiViolations(): void {
  const found = takeOpenapiViolations();
  if (found.length > 0) {
    throw new Error(`GitHub REST contract violations (OpenAPI):\n  - ${found.join("\n  - ")}`);
  }
}

/** Names used in a URL template: `{owner}`, `{+path}`, `{?since,per_page}`, `{/id*}` … */
function placeholderNames(url: string): Set<string> {
  const names = new Set<string>();
  for (const m of url.matchAll(/\{([^}]+)\}/g)) {
    for (const raw of m[1].replace(/^[+#./;?&]/, "").split(",")) {
      names.add(raw.replace(/\*$/, "").replace(/:\d+$/, ""));
    }
  }
  return names;
}

/**
 * Reconstructs the body Octokit will send, following @octokit/endpoint: `data` verbatim when
 * set; otherwise the options minus non-parameters and URL placeholders; nothing at all for
 * GET/HEAD (leftovers become the query string) or when no parameters are left.
 */
export function octokitRequestBody(options: Record<string, unknown>): unknown {
  if (options.data !== undefined) return options.data;
  const method = String(options.method ?? "GET").toUpperCase();
  if (method === "GET" || method === "HEAD") return undefined;
  const placeholders = placeholderNames(String(options.url ?? ""));
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (!NON_PARAMETER_KEYS.has(k) && !placeholders.has(k)) body[k] = v;
  }
  return Object.keys(body).length > 0 ? body : undefined;
}

/** Validation errors for one set of Octokit endpoint options (exported for direct testing). */
export function checkOctokitRequest(options: Record<string, unknown>): string[] {
  const method = String(options.method ?? "GET");
  let url = String(options.url ?? "");
  // Pagination follows absolute `Link` URLs; cut the configured base URL so a fake server with a
  // path prefix still maps onto the REST templates.
  const baseUrl = typeof options.baseUrl === "string" ? options.baseUrl.replace(/\/+$/, "") : "";
  if (baseUrl && url.startsWith(baseUrl + "/")) url = url.slice(baseUrl.length);
  return validateRestRequest(method, url, octokitRequestBody(options));
}

/**
 * The plugin. Use as `ProbotOctokit.plugin(openapiValidatorPlugin)`. In `hook.before("request")`
 * the URL is still the template (`/repos/{owner}/{repo}/check-runs`) and the parameters are
 * still separate, which is exactly what contract validation needs.
 */
export function openapiValidatorPlugin(octokit: { hook: ProbotOctokit["hook"] }): void {
  octokit.hook.before("request", (options) => {
    const opts = options as unknown as Record<string, unknown>;
    try {
      violations.push(...checkOctokitRequest(opts));
    } catch (error) {
      violations.push(`openapi validator failed on ${String(opts.method)} ${String(opts.url)}: ${String(error)}`);
    }
  });
}
