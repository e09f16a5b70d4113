/**
 * Credentials of the GitHub App under test.
 *
 * The fake GitHub verifies the app's JWTs with the public key, and the Atoll process signs them
 * with the private key, so both sides must agree on one key pair. Generating a 2048-bit key
 * costs ~100 ms, so it is done once per test process and shared; nothing is written to disk
 * (a stray `*.pem` in the repo root would be picked up by Probot's key discovery).
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";

export interface TestAppCredentials {
  appId: number;
  /** PKCS#8 PEM, what `PRIVATE_KEY` receives. */
  privateKey: string;
  /** SPKI PEM, what the fake GitHub verifies JWTs with. */
  publicKey: string;
  webhookSecret: string;
}

let cached: TestAppCredentials | undefined;

/**
 * Same id as `TEST_APP_ID` in test/helpers/probot.ts, which the webhook payload builders use as
 * `check_run.app.id` by default: an app that ignores other apps' check runs must recognise the
 * events a test sends as its own (fake-github.test.ts asserts the two stay equal).
 */
export const FAKE_APP_ID = 123;

/** The per-process test app: `FAKE_APP_ID`, a fresh RSA key pair and a random webhook secret. */
export function testAppCredentials(): TestAppCredentials {
  if (!cached) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    cached = { appId: FAKE_APP_ID, privateKey, publicKey, webhookSecret: randomBytes(16).toString("hex") };
  }
  return cached;
}
