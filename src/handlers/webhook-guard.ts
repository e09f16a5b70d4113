/**
 * The guard at the edge: every delivery is checked before any handler logic runs.
 *
 * - The signature is verified and the body parsed here (bad signature or not JSON: 400, one
 *   short log line — the library's own path logs the whole payload with the error).
 * - Events and actions Atoll does not act on are answered 200 and logged at debug.
 * - An event Atoll acts on must carry the fields Atoll reads ({@link DELIVERY_SCHEMAS}, checked
 *   with ajv): one it cannot act on (no installation, no pull request, a `null` body…) is
 *   answered 200 and logged once at warn with the delivery id, event, action and the reason.
 * - A handler that fails is logged by {@link onWebhook} in one bounded line (delivery id, event,
 *   action, repository, PR; never the payload) and its delivery is answered 500, so GitHub shows
 *   it failed and it can be redelivered. No handler error reaches Probot's error handler, which
 *   would log the whole event.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { Context, Probot } from "probot";
import type { EmitterWebhookEventName } from "@octokit/webhooks";
import { boundedError } from "../logs/bounded-log.js";
import type { Logger } from "../runner/runner-deps.js";

/** The events and actions Atoll acts on. */
export const HANDLED_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  pull_request: ["opened", "reopened", "ready_for_review", "synchronize", "closed"],
  issue_comment: ["created"],
  pull_request_review: ["submitted"],
  check_run: ["requested_action", "rerequested"],
  installation: ["deleted", "suspend"],
  installation_repositories: ["removed"],
  repository: ["deleted", "renamed", "transferred"],
};

const login = { type: "object", required: ["login"], properties: { login: { type: "string", minLength: 1 } } };
const installation = { type: "object", required: ["id"], properties: { id: { type: "integer", minimum: 1 } } };
const fullName = { type: "string", pattern: "^[^/]+/[^/]+$" };
const repository = {
  type: "object",
  required: ["id", "name", "full_name", "owner"],
  properties: { id: { type: "integer" }, name: { type: "string", minLength: 1 }, full_name: fullName, owner: login },
};
const sha = { type: "string", minLength: 1 };
const pullRequest = {
  type: "object",
  required: ["number", "state", "title", "html_url", "head", "base"],
  properties: {
    number: { type: "integer", minimum: 1 },
    state: { type: "string" },
    title: { type: "string" },
    html_url: { type: "string" },
    draft: { type: "boolean" },
    merged: { type: ["boolean", "null"] },
    user: { anyOf: [login, { type: "null" }] },
    head: {
      type: "object",
      required: ["sha", "ref"],
      properties: { sha, ref: { type: "string" }, repo: { anyOf: [{ type: "object", required: ["full_name"], properties: { full_name: fullName } }, { type: "null" }] } },
    },
    base: {
      type: "object",
      required: ["sha", "ref", "repo"],
      properties: {
        sha,
        ref: { type: "string" },
        repo: { type: "object", required: ["full_name", "clone_url"], properties: { full_name: fullName, clone_url: { type: "string" } } },
      },
    },
  },
};
const repoList = { type: "array", items: { type: "object", required: ["full_name"], properties: { full_name: fullName } } };
const event = (required: string[], properties: Record<string, unknown>) => ({
  type: "object",
  required: ["installation", ...required],
  properties: { installation, ...properties },
});

/** The fields of each event Atoll reads (GitHub sends many more). */
export const DELIVERY_SCHEMAS: Readonly<Record<string, object>> = {
  pull_request: event(["repository", "pull_request", "sender"], { repository, pull_request: pullRequest, sender: login }),
  issue_comment: event(["repository", "issue", "comment", "sender"], {
    repository,
    issue: { type: "object", required: ["number"], properties: { number: { type: "integer", minimum: 1 }, pull_request: { type: ["object", "null"] } } },
    comment: { type: "object", required: ["id", "body"], properties: { id: { type: "integer" }, body: { type: "string" } } },
    sender: { ...login, properties: { ...login.properties, type: { type: "string" } } },
  }),
  pull_request_review: event(["repository", "pull_request", "sender"], {
    repository,
    pull_request: { type: "object", required: ["number"], properties: { number: { type: "integer", minimum: 1 } } },
    sender: login,
  }),
  check_run: event(["repository", "check_run", "sender"], {
    repository,
    check_run: {
      type: "object",
      required: ["id", "name", "head_sha"],
      properties: { id: { type: "integer" }, name: { type: "string" }, head_sha: sha, external_id: { type: ["string", "null"] } },
    },
    requested_action: { type: ["object", "null"], properties: { identifier: { type: "string" } } },
    sender: login,
  }),
  installation: event([], { repositories: repoList }),
  installation_repositories: event(["repositories_removed"], { repositories_removed: repoList }),
  repository: event(["repository"], { repository }),
};

export type DeliveryVerdict = { act: true } | { act: false; level: "debug" | "warn"; reason: string };

const ajv = new Ajv({ allErrors: false, strict: false });
const validators = new Map<string, ValidateFunction>(Object.entries(DELIVERY_SCHEMAS).map(([name, schema]) => [name, ajv.compile(schema)]));

function describe(error: ErrorObject): string {
  const where = error.instancePath || "the payload";
  if (error.keyword === "required") return `${where === "the payload" ? "" : `${where}: `}no \`${String(error.params.missingProperty)}\``;
  return `${where}: ${error.message ?? "invalid"}`;
}

/** Whether Atoll acts on this delivery, and if not, why (pure: unit- and property-tested). */
export function checkDelivery(name: string, payload: unknown): DeliveryVerdict {
  const actions = HANDLED_ACTIONS[name];
  if (!actions) return { act: false, level: "debug", reason: `Atoll does not act on ${name} events` };
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { act: false, level: "warn", reason: `the payload is ${payload === null ? "null" : Array.isArray(payload) ? "an array" : `a ${typeof payload}`}, not an object` };
  }
  const action = (payload as { action?: unknown }).action;
  if (typeof action !== "string") return { act: false, level: "warn", reason: "the payload has no action" };
  if (!actions.includes(action)) return { act: false, level: "debug", reason: `Atoll does not act on ${name}.${action}` };
  const inst = (payload as { installation?: unknown }).installation;
  if (inst === undefined || inst === null) {
    return { act: false, level: "warn", reason: "the payload names no installation (it was not sent by an installation of this App)" };
  }
  const validate = validators.get(name)!;
  if (validate(payload)) return { act: true };
  return { act: false, level: "warn", reason: `the payload lacks what Atoll needs: ${(validate.errors ?? []).slice(0, 3).map(describe).join("; ")}` };
}

/** What one log line says about a delivery: never the payload. */
export function deliveryFields(id: string, name: string, payload: unknown): Record<string, unknown> {
  const p = (typeof payload === "object" && payload !== null ? payload : {}) as Record<string, unknown>;
  const get = (o: unknown, k: string) => (typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined);
  const fields: Record<string, unknown> = { delivery: id, event: name };
  if (typeof p.action === "string") fields.action = p.action.slice(0, 64);
  const repo = get(p.repository, "full_name");
  if (typeof repo === "string") fields.repo = repo.slice(0, 200);
  const pull = get(p.pull_request, "number") ?? get(p.issue, "number");
  if (typeof pull === "number") fields.pull = pull;
  const inst = get(p.installation, "id");
  if (typeof inst === "number") fields.installation = inst;
  return fields;
}

/** Deliveries whose handler failed: their answer is 500 (so GitHub can redeliver them). */
export class FailedDeliveries {
  private readonly ids = new Set<string>();
  add(id: string): void {
    this.ids.add(id);
  }
  /** Whether the delivery failed (and forget it). */
  take(id: string): boolean {
    return this.ids.delete(id);
  }
}

interface Verifiable {
  verify(payload: string, signature: string): Promise<boolean>;
  receive(event: { id: string; name: string; payload: unknown }): Promise<void>;
  verifyAndReceive: (event: { id: string; name: string; payload: string; signature: string }) => Promise<void>;
}

/** Errors the guard threw after logging them itself: the middleware need not log them again. */
const logged = new WeakSet<object>();

/** An error the webhook middleware answers with `status` (it reads the first of `errors`). */
function answer(status: number, message: string): AggregateError {
  const error = new AggregateError([Object.assign(new Error(message), { status })], message);
  logged.add(error);
  return error;
}

/**
 * The logger for the webhook middleware (`probot.getNodeMiddleware({ log })`), which logs every
 * error a delivery's processing threw, at error level: the guard has logged its own refusals
 * and failures already (a 400 is the sender's problem, not an error of Atoll's); anything else —
 * a body that could not be read — is one bounded warn line.
 */
export function middlewareLogger(log: Logger): Logger {
  return {
    debug: (obj, msg) => log.debug(obj, msg),
    info: (obj, msg) => log.info(obj, msg),
    warn: (obj, msg) => log.warn(obj, msg),
    error: (obj, msg) => {
      if (typeof obj === "object" && obj !== null && logged.has(obj)) return;
      log.warn({ err: boundedError(obj) }, msg ?? "webhook request failed");
    },
  };
}

export interface EdgeOptions {
  log: Logger;
  failures: FailedDeliveries;
  /** Answer every signed delivery with this (a worker replica: 503) instead of acting on it. */
  refuse?: { status: number; message: string };
}

/**
 * Put the guard in front of the webhooks' `verifyAndReceive`, which both Probot's server
 * middleware and the Lambda adapter call with the raw body. Install it before anything that
 * wraps `receive` or `verifyAndReceive` (metrics), so each delivery passes such a wrapper once.
 */
export function guardWebhookEdge(webhooks: Verifiable, opts: EdgeOptions): void {
  const { log, failures } = opts;
  // The receive of the moment: wrappers installed later (metrics) wrap this function, not it.
  const receive = webhooks.receive.bind(webhooks);
  webhooks.verifyAndReceive = async (event) => {
    const where = { delivery: event.id, event: event.name };
    const verified = await webhooks.verify(event.payload, event.signature).catch(() => false);
    if (!verified) {
      log.warn(where, "webhook refused: the signature does not match (WEBHOOK_SECRET must be the App's webhook secret)");
      throw answer(400, "signature does not match event payload and secret");
    }
    if (opts.refuse) {
      log.warn(where, `webhook refused: ${opts.refuse.message}`);
      throw answer(opts.refuse.status, opts.refuse.message);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(event.payload);
    } catch {
      log.warn(where, "webhook refused: the body is not JSON");
      throw answer(400, "Invalid JSON");
    }
    const verdict = checkDelivery(event.name, payload);
    if (!verdict.act) {
      log[verdict.level]({ ...deliveryFields(event.id, event.name, payload), reason: verdict.reason }, "webhook not acted on");
      return;
    }
    try {
      await receive({ id: event.id, name: event.name, payload });
    } catch (error) {
      // Only Probot's own event set-up can get here (handlers are wrapped by onWebhook).
      log.error({ ...deliveryFields(event.id, event.name, payload), err: boundedError(error) }, "webhook could not be processed");
      throw answer(500, "the webhook could not be processed; GitHub can redeliver it");
    }
    if (failures.take(event.id)) throw answer(500, "the webhook could not be processed; GitHub can redeliver it");
  };
}

/** What {@link onWebhook} needs: where failures go, and what runs before each handler. */
export interface WebhookGuard {
  failures: FailedDeliveries;
  /** Runs before the handler, inside its error handling (e.g. follow a renamed repository). */
  before?: (payload: Record<string, unknown>) => Promise<void>;
}

/**
 * Register a handler behind the guard: the payload is checked again (deliveries that come in
 * through `probot.receive` skip the edge), and a failure is logged in one bounded line and marks
 * the delivery failed instead of reaching Probot's error handler.
 */
export function onWebhook<E extends EmitterWebhookEventName>(
  app: Probot,
  events: E | E[],
  guard: WebhookGuard,
  handler: (context: Context<E>) => Promise<void>,
): void {
  app.on(events, async (context) => {
    const fields = deliveryFields(context.id, context.name, context.payload);
    const verdict = checkDelivery(context.name, context.payload);
    if (!verdict.act) {
      context.log[verdict.level]({ ...fields, reason: verdict.reason }, "webhook not acted on");
      return;
    }
    try {
      await guard.before?.(context.payload as Record<string, unknown>);
      await handler(context as Context<E>);
    } catch (error) {
      context.log.error({ ...fields, err: boundedError(error) }, "webhook handler failed");
      guard.failures.add(context.id);
    }
  });
}
