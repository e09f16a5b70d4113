/**
 * Bounded log lines: an error is logged as its type, message, code/status and the top of its
 * stack, each cut to a few KB. Errors of the libraries Atoll uses carry much more — the webhook
 * event (the whole payload) on @octokit/webhooks errors, stdout/stderr on execa's, the request
 * and response on Octokit's — and pino's default serializer would write all of it.
 */
import type { Logger as PinoLogger } from "probot";

/** Longest message kept, in characters. */
export const MAX_MESSAGE_CHARS = 1_000;
/** Stack frames kept. */
export const MAX_STACK_FRAMES = 12;

export interface BoundedError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  status?: number;
  /** The inner errors' messages (AggregateError), cut like the message. */
  errors?: string[];
  /** The cause's message. */
  cause?: string;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

/** A small, payload-free picture of any thrown value. */
export function boundedError(error: unknown): BoundedError {
  if (!(error instanceof Error)) return { type: typeof error, message: cut(String(error), MAX_MESSAGE_CHARS) };
  const out: BoundedError = { type: error.name || error.constructor?.name || "Error", message: cut(error.message ?? "", MAX_MESSAGE_CHARS) };
  if (typeof error.stack === "string") {
    // The frames only: the first line repeats the message, which may be long.
    const frames = error.stack.split("\n").filter((l) => /^\s+at /.test(l));
    out.stack = frames.slice(0, MAX_STACK_FRAMES).map((l) => cut(l.trim(), 300)).join("\n");
  }
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (typeof code === "string" || typeof code === "number") out.code = typeof code === "string" ? cut(code, 100) : code;
  if (typeof status === "number") out.status = status;
  if (error instanceof AggregateError && Array.isArray(error.errors)) {
    out.errors = error.errors.slice(0, 5).map((e: unknown) => cut(e instanceof Error ? `${e.name}: ${e.message}` : String(e), 300));
  }
  if (error.cause !== undefined) out.cause = cut(error.cause instanceof Error ? error.cause.message : String(error.cause), 300);
  return out;
}

/** A child of `log` whose `err` field is always {@link boundedError}'s picture. */
export function boundedLogger<L extends PinoLogger>(log: L): L {
  return log.child({}, { serializers: { err: boundedError } }) as L;
}
