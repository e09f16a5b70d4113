/**
 * Terraform state-lock failures, recognised in a step's output and explained to humans.
 *
 * A locked state is the one terraform error where the right reaction is usually "wait", and the
 * wrong one ("force-unlock") can corrupt state, so Atoll replies with who holds the lock (when
 * that is known), since when, and the safe order of next steps instead of the raw error.
 *
 * What terraform prints (1.x, `-no-color`; with colour each line is prefixed by a `│ ` gutter):
 *
 *     Error: Error acquiring the state lock
 *
 *     Error message: resource temporarily unavailable      ← the backend's own error text
 *     Lock Info:
 *       ID:        161f2da7-e17e-eb02-5ff6-2ce263a64b50
 *       Path:      /srv/state/terraform.tfstate
 *       Operation: OperationTypeApply
 *       Who:       bob@laptop
 *       Version:   1.11.4
 *       Created:   2026-11-25 03:14:33.606792017 +0000 UTC
 *       Info:
 *
 * Older versions and some commands say `Error locking state: Error acquiring the state lock: …`.
 *
 * Caveat: the Lock Info block is whatever the backend put in its error. Most backends (local,
 * s3, gcs, azurerm, consul) read the holder's lock record; some (e.g. `pg`, which uses Postgres
 * advisory locks and stores no record) echo **the requester's own** lock info instead. We detect
 * the latter heuristically: a lock "created" during our own step (± 5 s) by our own kind of
 * operation is our own attempt, not the holder — see `parseStateLockError`.
 */

export interface StateLockInfo {
  id: string;
  path: string;
  /** As printed, e.g. `OperationTypeApply`; other commands use free text (e.g. `migration`). */
  operation: string;
  who: string;
  version: string;
  /** As printed (Go's `time.Time.String()`). */
  created: string;
  /** `created` parsed; null when empty or unparseable. */
  createdAt: Date | null;
  info: string;
}

export interface StateLockError {
  /** The backend's own error text ("resource temporarily unavailable", "Workspace is already locked: default"). */
  message: string;
  /** The printed Lock Info block; null when terraform printed none. */
  lockInfo: StateLockInfo | null;
  /** False when the Lock Info does not describe the holder (absent, empty, or our own attempt). */
  holderKnown: boolean;
}

export type LockOperation = "plan" | "apply";

export interface ParseOptions {
  /** When the step that failed started and ended; used to recognise our own lock info. */
  stepStartedAt?: Date;
  stepEndedAt?: Date;
  /** The operation of the step that failed. */
  operation?: LockOperation;
}

/** Slack around the step window: clocks of the terraform host and of Atoll need not agree exactly. */
const WINDOW_SLACK_MS = 5_000;

const HEADER = /Error acquiring the state lock|Error locking state/;
const LOCK_FIELDS = ["ID", "Path", "Operation", "Who", "Version", "Created", "Info"] as const;

/** Lines without ANSI colours, CR, or the `│ ` / `╷` / `╵` diagnostic gutter. */
function cleanLines(output: string): string[] {
  return output
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) => line.replace(/^[│┃] ?/, "").replace(/^[╷╵]\s*$/, ""));
}

/**
 * Parses Go's `time.Time.String()` (`2026-11-25 03:14:33.606792017 +0000 UTC`, possibly with a
 * monotonic `m=+0.01` suffix) and, as a fallback, RFC 3339. Sub-millisecond digits are dropped.
 */
export function parseGoTime(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(?:([+-])(\d{2}):?(\d{2})|Z)?/.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = "", sign, oh, om] = m;
  const ms = Number(frac.padEnd(3, "0").slice(0, 3));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const offsetMin = sign ? (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  const date = new Date(utc - offsetMin * 60_000);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** `OperationTypeApply` → `apply`; free-text operations are kept as they are. */
export function operationName(operation: string): string {
  const m = /^OperationType(\w+)$/.exec(operation.trim());
  return m ? m[1].toLowerCase() : operation.trim();
}

function parseLockInfo(lines: string[]): StateLockInfo | null {
  const start = lines.findIndex((l) => /^\s*Lock Info:\s*$/.test(l));
  if (start < 0) return null;
  const fields = new Map<string, string>();
  for (const line of lines.slice(start + 1)) {
    const m = /^\s+(\w+):(.*)$/.exec(line);
    if (!m || !(LOCK_FIELDS as readonly string[]).includes(m[1])) break;
    fields.set(m[1], m[2].trim());
  }
  const get = (k: (typeof LOCK_FIELDS)[number]) => fields.get(k) ?? "";
  const created = get("Created");
  return {
    id: get("ID"),
    path: get("Path"),
    operation: get("Operation"),
    who: get("Who"),
    version: get("Version"),
    created,
    createdAt: created ? parseGoTime(created) : null,
    info: get("Info"),
  };
}

/**
 * The backend's text: what follows `Error message:` (or, in the older form, what follows the
 * `Error locking state:` / `Error acquiring the state lock:` prefixes), up to the Lock Info block
 * or terraform's generic explanation paragraph.
 */
function parseMessage(lines: string[]): string {
  let first = lines.findIndex((l) => /^\s*Error message:/.test(l));
  let head: string;
  if (first >= 0) {
    head = lines[first].replace(/^\s*Error message:\s*/, "");
  } else {
    first = lines.findIndex((l) => HEADER.test(l));
    head = lines[first]
      .replace(/^.*?Error locking state:\s*/, "")
      .replace(/^.*?Error acquiring the state lock:?\s*/, "");
  }
  const body = [head];
  for (const line of lines.slice(first + 1)) {
    if (/^\s*Lock Info:\s*$/.test(line) || /^Terraform acquires a state lock/.test(line.trim())) break;
    body.push(line);
  }
  return body.join("\n").trim();
}

/**
 * Recognises a state-lock failure in a step's combined output; null for any other output.
 *
 * `holderKnown` is false when there is no Lock Info, when it is empty (no ID, no Who, no
 * Created), or when it looks like our own attempt: `Created` inside
 * [stepStartedAt − 5 s, stepEndedAt + 5 s] and the operation equal to `opts.operation` (when
 * given; without it the time alone decides). Without `stepStartedAt` the info is trusted.
 * A real holder that started the same kind of operation within those seconds is then also
 * reported as unknown — the reply degrades to "wait and retry", which is still right.
 */
export function parseStateLockError(output: string, opts: ParseOptions = {}): StateLockError | null {
  const all = cleanLines(output);
  const at = all.findIndex((l) => HEADER.test(l));
  if (at < 0) return null;
  const lines = all.slice(at);
  const lockInfo = parseLockInfo(lines);
  const message = parseMessage(lines);
  return { message, lockInfo, holderKnown: lockInfo !== null && !isOwnOrEmpty(lockInfo, opts) };
}

function isOwnOrEmpty(info: StateLockInfo, opts: ParseOptions): boolean {
  if (!info.id && !info.who && !info.created) return true;
  if (!opts.stepStartedAt || !info.createdAt) return false;
  const created = info.createdAt.getTime();
  const from = opts.stepStartedAt.getTime() - WINDOW_SLACK_MS;
  const to = opts.stepEndedAt ? opts.stepEndedAt.getTime() + WINDOW_SLACK_MS : Number.POSITIVE_INFINITY;
  if (created < from || created > to) return false;
  return opts.operation === undefined || operationName(info.operation) === opts.operation;
}

export interface RenderContext {
  /** The Atoll command that can be run again, e.g. `atoll plan -d week2`. */
  commandHint: string;
  /** The project label, e.g. `week2`. */
  project: string;
}

/** Inline code that a backtick in the value cannot break out of. */
const code = (value: string) => `\`${value.replaceAll("`", "'")}\``;

/** A fenced block whose fence is longer than any backtick run in the text. */
function fenced(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}

const pad = (n: number) => String(n).padStart(2, "0");

function formatUtc(date: Date, withSeconds: boolean): string {
  const day = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}${withSeconds ? `:${pad(date.getUTCSeconds())}` : ""}`;
  return `${day} ${time} UTC`;
}

function since(info: StateLockInfo, withSeconds: boolean): string {
  return info.createdAt ? formatUtc(info.createdAt, withSeconds) : info.created;
}

function headline(e: StateLockError): string {
  const info = e.lockInfo;
  if (!e.holderKnown || !info) return "Terraform state is locked by another run (this backend does not record the holder)";
  const op = operationName(info.operation);
  const when = since(info, false);
  return [
    "Terraform state is locked",
    info.who ? ` by ${info.who}` : "",
    when ? ` since ${when}` : "",
    op ? ` (${op})` : "",
  ].join("");
}

function holderDetails(info: StateLockInfo, message: string): string[] {
  const rows: [string, string][] = [
    ["Held by", info.who ? code(info.who) : ""],
    ["Since", since(info, true)],
    ["Operation", operationName(info.operation)],
    ["Lock ID", info.id ? code(info.id) : ""],
    ["State path", info.path ? code(info.path) : ""],
    ["Terraform version", info.version],
    ["Info", info.info],
    ["Backend message", message && !message.includes("\n") ? code(message) : ""],
  ];
  const lines = rows.filter(([, v]) => v !== "").map(([k, v]) => `- **${k}:** ${v}`);
  if (message.includes("\n")) lines.push("", "Backend message:", "", fenced(message));
  return lines;
}

/**
 * The reply for a locked state: a one-line headline (for check-run titles and comment headers)
 * and a markdown body with the holder (or the admission that this backend does not record it),
 * the lock ID, and the safe next steps — wait and re-run; force-unlock only for a lock a crashed
 * run left behind, never while a run is active.
 */
export function renderStateLockError(e: StateLockError, ctx: RenderContext): { headline: string; body: string } {
  const known = e.holderKnown && e.lockInfo !== null;
  const lockId = known && e.lockInfo!.id ? e.lockInfo!.id : "<LOCK_ID>";
  const parts: string[] = [`${code(ctx.commandHint)} could not run for project ${code(ctx.project)}: another run holds the Terraform state lock.`, ""];

  if (known) {
    parts.push(...holderDetails(e.lockInfo!, e.message));
  } else {
    parts.push(
      "This backend does not record who holds the lock (any lock details it printed describe this attempt, not the holder). The backend said:",
      "",
      fenced(e.message || "(no message)"),
    );
  }

  parts.push(
    "",
    `**What to do:** wait for the other run to finish, then run ${code(ctx.commandHint)} again.`,
    "",
    `Only if you are sure nothing is running — a crashed or killed run left the lock behind — should someone run ${code(`terraform force-unlock ${lockId}`)} in the directory of project ${code(ctx.project)}, with the same backend configuration` +
      (known ? "." : ", using the holder's lock ID (the backend did not report it).") +
      " Never force-unlock while a run is active: two runs writing the same state can corrupt it.",
  );
  return { headline: headline(e), body: parts.join("\n") };
}
