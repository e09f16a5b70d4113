/**
 * A Probot instance for integration tests: real app authentication (a real RSA key, so the JWT is
 * really signed and the installation-token exchange really happens against the mock), no retries
 * or throttling (a test must see the first failure, immediately), silent logs, and the OpenAPI
 * contract plugin on every Octokit the app gets.
 *
 *   const probot = await makeProbot();
 *   await probot.load(app);
 *   await probot.receive(issueCommentEvent({ body: "atlantis plan" }));
 */
import { generateKeyPairSync } from "node:crypto";
import { pino } from "pino";
import { Probot, ProbotOctokit, type Options } from "probot";
import { openapiValidatorPlugin } from "./openapi-validator-plugin.js";

/** The App id the test Probot authenticates as (also the default `check_run.app.id` in events). */
export const TEST_APP_ID = 123;

// One key pair per process (module instance): RSA generation costs ~50–200 ms.
const keyPair = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

/** PEM (PKCS#8) private key of the test App. */
export const TEST_PRIVATE_KEY: string = keyPair.privateKey;
/** Matching public key, for fakes that verify the App JWT (RS256). */
export const TEST_PUBLIC_KEY: string = keyPair.publicKey;

/**
 * ProbotOctokit with the contract plugin, retries and throttling off. The defaults must be the
 * FUNCTION form: Probot layers its own `.defaults(fn)` on top and shallow-merges, which drops a
 * `throttle` given in object form (requests then end up ~1 s apart).
 */
export const TestOctokit = ProbotOctokit.plugin(openapiValidatorPlugin).defaults(
  (options: Record<string, unknown>) => ({
    ...options,
    retry: { enabled: false },
    throttle: { enabled: false },
  }),
);

/**
 * Builds the Probot. `overrides` are passed through to `new Probot` (e.g. `baseUrl` for a fake
 * GitHub server, or `log: pino(stream)` to assert on log lines).
 */
export async function makeProbot(overrides: Partial<Options> = {}): Promise<Probot> {
  const probot = new Probot({
    appId: TEST_APP_ID,
    privateKey: TEST_PRIVATE_KEY,
    Octokit: TestOctokit,
    log: pino({ level: "silent" }),
    ...overrides,
  });
  // Initialization is asynchronous; surface its errors here rather than in the first receive().
  await probot.ready();
  return probot;
}
