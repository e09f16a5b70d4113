/**
 * Secret hygiene shared by the adapters that run external programs (terraform, git).
 *
 * Two concerns live here because they are two halves of the same promise — "Atoll's secrets never
 * reach a log, a PR comment or a child process that does not need them":
 *  - `redact` replaces known secret strings in captured output before anyone sees it;
 *  - `withoutAtollSecrets` strips the app's own credentials from the environment handed to children
 *    (terraform runs arbitrary providers and `run` steps; they have no business seeing the GitHub
 *    App private key or webhook secret).
 */

/** What a redacted secret is replaced with. */
export const REDACTED = "***";

/**
 * Environment variables that hold Atoll's own credentials (Probot reads these). `APP_ID` and
 * `GITHUB_CLIENT_ID` are not secret on their own, but together with a leaked key they are exactly
 * what an attacker needs, and no terraform run needs them.
 */
export const ATOLL_SECRET_ENV_NAMES: readonly string[] = [
  "PRIVATE_KEY",
  "PRIVATE_KEY_PATH",
  "WEBHOOK_SECRET",
  "GITHUB_CLIENT_SECRET",
  "GITHUB_CLIENT_ID",
  "ATOLL_SESSION_SECRET",
  "APP_ID",
];

/**
 * Replace every occurrence of every secret in `text` with `***`.
 *
 * Longer secrets are replaced first so that a secret containing another secret (e.g. a token and
 * the base64 of `x-access-token:<token>`) is removed whole rather than leaving a recognisable
 * remainder. Empty strings are ignored: "redacting" them would insert `***` between every character.
 */
export function redact(text: string, secrets: readonly string[] | undefined): string {
  if (!secrets || secrets.length === 0 || text.length === 0) return text;
  const unique = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of unique) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** Length of the longest non-empty secret (0 when there are none); used to trim cut-off fragments. */
export function longestSecretLength(secrets: readonly string[] | undefined): number {
  let max = 0;
  for (const s of secrets ?? []) if (s.length > max) max = s.length;
  return max;
}

/**
 * The forms in which a GitHub installation token can show up in git traffic and error messages:
 * the token itself and the base64 of `x-access-token:<token>` used in the Basic auth header.
 */
export function gitTokenSecrets(token: string): string[] {
  if (!token) return [];
  return [token, basicAuthValue(token)];
}

/** base64("x-access-token:" + token): the credential part of `Authorization: Basic …` for git over HTTPS. */
export function basicAuthValue(token: string): string {
  return Buffer.from(`x-access-token:${token}`, "utf8").toString("base64");
}

/**
 * A copy of `env` without Atoll's credentials and without the extra names given (e.g. operator-
 * configured secrets that only Atoll itself should read). Undefined values are dropped so the result
 * can be passed to a child process as its complete environment.
 */
export function withoutAtollSecrets(
  env: NodeJS.ProcessEnv,
  extraNames: readonly string[] = [],
): Record<string, string> {
  const drop = new Set([...ATOLL_SECRET_ENV_NAMES, ...extraNames]);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || drop.has(name)) continue;
    out[name] = value;
  }
  return out;
}
