/**
 * Strict HTTP mocking for integration tests (Renovate's pattern, plus the OpenAPI contract):
 * a test fails when
 *   - a mock it declared was never called (the app skipped a step we expected),
 *   - the app made a request no mock matched (even if the app caught the resulting error),
 *   - or a request body violated GitHub's REST description.
 *
 * Call `useStrictNock()` inside a `describe`; it installs the beforeEach/afterEach hooks.
 */
import nock from "nock";
import { takeOpenapiViolations } from "./openapi-validator-plugin.js";

export interface StrictNockOptions {
  /**
   * Let requests to 127.0.0.1 / localhost through (a local fake server, git over HTTP).
   * Unmatched requests to those hosts are then not reported.
   */
  allowLocalhost?: boolean;
}

const LOCALHOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

const unmatched: string[] = [];
let ignoreLocalhost = false;

interface RequestLike {
  method?: string;
  proto?: string;
  protocol?: string;
  host?: string;
  hostname?: string;
  port?: string | number;
  path?: string;
  getHeader?: (name: string) => unknown;
}

/**
 * nock emits "no match" with different arguments depending on where it gave up: `(options)` when
 * no scope exists for the host, `(req, options, body)` when scopes exist but none matched, and
 * `(req)` for allowUnmocked pass-through. Normalize all of them into "METHOD url [body]".
 */
function describeUnmatched(args: unknown[]): { host: string; text: string } {
  const req = (args[1] ?? args[0] ?? {}) as RequestLike;
  const first = (args[0] ?? {}) as RequestLike;
  const method = String(req.method ?? first.method ?? "GET").toUpperCase();
  let host = String(req.host ?? req.hostname ?? first.getHeader?.("host") ?? "");
  const proto = String(req.proto ?? req.protocol ?? "https").replace(/:$/, "");
  if (req.port && !host.includes(":") && !["80", "443"].includes(String(req.port))) host += `:${req.port}`;
  const path = String(req.path ?? first.path ?? "");
  const body = typeof args[2] === "string" && args[2] ? ` ${args[2].slice(0, 500)}` : "";
  return { host, text: `${method} ${proto}://${host}${path}${body}` };
}

function onNoMatch(...args: unknown[]): void {
  const { host, text } = describeUnmatched(args);
  if (ignoreLocalhost && LOCALHOST.test(host)) return;
  unmatched.push(text);
}

/**
 * Everything that should fail the current test, then a reset: unused mocks, unmatched requests
 * and OpenAPI violations are returned, and nock's interceptors, the unmatched list and the
 * violation recorder are all cleared. Exported so the checks themselves can be tested.
 */
export function collectNockProblems(): string[] {
  const problems = [
    ...nock.pendingMocks().map((m) => `unused mock: ${m}`),
    ...unmatched.splice(0, unmatched.length).map((r) => `unmatched request: ${r}`),
    ...takeOpenapiViolations().map((v) => `OpenAPI: ${v}`),
  ];
  nock.cleanAll();
  return problems;
}

/** Throws one error listing every problem from `collectNockProblems()` (which also resets). */
export function assertNoNockProblems(): void {
  const problems = collectNockProblems();
  if (problems.length > 0) {
    throw new Error(`strict nock: ${problems.length} problem(s)\n  - ${problems.join("\n  - ")}`);
  }
}

/** Installs strict nock hooks in the enclosing `describe`. */
export function useStrictNock(options: StrictNockOptions = {}): void {
  beforeEach(() => {
    nock.disableNetConnect();
    if (options.allowLocalhost) nock.enableNetConnect(LOCALHOST);
    ignoreLocalhost = options.allowLocalhost === true;
    // Start from a clean slate even if an earlier file or test leaked state.
    unmatched.length = 0;
    takeOpenapiViolations();
    // removeListener first: nested describes that both call useStrictNock must not double-count.
    nock.emitter.removeListener("no match", onNoMatch);
    nock.emitter.on("no match", onNoMatch);
  });

  afterEach(() => {
    nock.emitter.removeListener("no match", onNoMatch);
    nock.enableNetConnect();
    assertNoNockProblems();
  });
}

/**
 * Mocks the installation-token exchange Probot performs before the first API call of an event
 * (`POST /app/installations/{installation_id}/access_tokens`, authenticated with the App JWT).
 * Probot caches the token per Probot instance and installation, so mock it once per instance.
 */
export function mockInstallationToken(
  scope: nock.Scope,
  installationId: number,
  opts: { token?: string; permissions?: Record<string, string>; expiresInMs?: number } = {},
): nock.Scope {
  return scope
    .post(`/app/installations/${installationId}/access_tokens`)
    // The exchange is authenticated with the App's JWT, never with an installation token.
    .matchHeader("authorization", /^bearer [\w-]+\.[\w-]+\.[\w-]+$/i)
    .reply(201, {
      token: opts.token ?? `ghs_test_installation_${installationId}`,
      expires_at: new Date(Date.now() + (opts.expiresInMs ?? 3600_000)).toISOString().replace(/\.\d{3}Z$/, "Z"),
      permissions: opts.permissions ?? { checks: "write", contents: "read", issues: "write", pull_requests: "write" },
      repository_selection: "all",
    });
}
