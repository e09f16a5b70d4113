/**
 * The webhook receiver on AWS Lambda: `lib/lambda.js`, export `handler` (the function's handler
 * setting is `lib/lambda.handler`). Behind a Lambda Function URL, an API Gateway HTTP API
 * (payload 2.0) or a REST API (payload 1.0).
 *
 * It runs Atoll in role `web` on the shared PostgreSQL database (`ATOLL_DATABASE_URL` is
 * required): verify the signature, store the job, answer — within GitHub's 10 s, since no
 * terraform runs here. Worker replicas (`ATOLL_ROLE=worker`) are told through LISTEN/NOTIFY and
 * run the job.
 *
 * Built with `@probot/adapter-aws-lambda-serverless` (which verifies and dispatches the event),
 * with what its v4 lacks for Probot 14 handled here:
 * - its `probot` dependency is Probot 13: `package.json` `overrides` makes it use ours;
 * - it loads the app without waiting, and Probot 14 starts asynchronously: every invocation
 *   first awaits Probot's `ready()` and the app's own start (store opened, migrations checked);
 * - it ignores `isBase64Encoded` (API Gateway and Function URLs base64 some bodies): decoded here;
 * - it throws for a bad signature or invalid JSON, which Lambda turns into a 5xx (and logs the
 *   whole payload): both are checked here first and answered 400 (missing webhook headers too),
 *   so only real failures (database down) are 5xx — GitHub then shows the delivery failed and
 *   it can be redelivered.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, Context } from "aws-lambda";
import adapter from "@probot/adapter-aws-lambda-serverless";
import { createProbot, type ApplicationFunction, type Probot } from "probot";
import { createApp } from "./app.js";
import { SettingsError, readSettings } from "./settings.js";

export type LambdaEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;
export type LambdaResult = APIGatewayProxyResult;

const REQUIRED_HEADERS = ["x-github-event", "x-github-delivery", "x-hub-signature-256"];

interface Receiver {
  probot: Probot;
  receive: (event: APIGatewayProxyEvent, context: Context) => Promise<unknown>;
}

function json(statusCode: number, body: Record<string, unknown>): LambdaResult {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

async function start(): Promise<Receiver> {
  const settings = readSettings({ ATOLL_DATABASE_POOL_SIZE: "2", ...process.env, ATOLL_ROLE: "web" });
  if (!settings.databaseUrl) {
    throw new SettingsError("the Lambda receiver needs ATOLL_DATABASE_URL (the PostgreSQL database its worker replicas use)");
  }
  if (!process.env.APP_ID || !(process.env.PRIVATE_KEY || process.env.PRIVATE_KEY_PATH)) {
    throw new SettingsError("the Lambda receiver needs APP_ID and PRIVATE_KEY (and WEBHOOK_SECRET) in its environment");
  }
  const probot = createProbot({ env: { LOG_LEVEL: "info", ...process.env } });
  let loaded!: (error?: unknown) => void;
  const appLoaded = new Promise<void>((resolve, reject) => (loaded = (e) => (e === undefined ? resolve() : reject(e))));
  const appFn: ApplicationFunction = async (app, options) => {
    try {
      // No HTTP server here: nothing to add handlers to; no timers or signal handlers either.
      await createApp({ settings, embedded: true })(app, { ...options, addHandler: () => undefined });
      loaded();
    } catch (error) {
      loaded(error); // reported by the invocation that awaits it; not an unhandled rejection
    }
  };
  const receive = adapter.createLambdaFunction(appFn, { probot }) as Receiver["receive"];
  await probot.ready();
  await appLoaded;
  return { probot, receive };
}

let starting: Promise<Receiver> | undefined;

/** The event as the adapter reads it: a REST-API-shaped event, headers lower-cased, body decoded. */
function normalize(event: LambdaEvent): { method: string; headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (typeof v === "string") headers[k.toLowerCase()] = v;
  const method = ("requestContext" in event && "http" in event.requestContext ? event.requestContext.http.method : (event as APIGatewayProxyEvent).httpMethod) ?? "";
  const raw = event.body ?? "";
  const body = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  return { method: method.toUpperCase(), headers, body };
}

export async function handler(event: LambdaEvent, context: Context): Promise<LambdaResult> {
  let receiver: Receiver;
  try {
    receiver = await (starting ??= start());
  } catch (error) {
    starting = undefined; // the next invocation tries again
    console.error(error instanceof SettingsError ? `atoll: ${error.message}` : error);
    return json(500, { error: `Atoll could not start: ${(error as Error).message}` });
  }
  const { method, headers, body } = normalize(event);
  const delivery = { delivery: headers["x-github-delivery"], event: headers["x-github-event"] };
  // Bad requests are checked here first, so each is logged as one line (the adapter's error
  // path would log the whole payload with the error).
  const refuse = (status: number, error: string) => {
    receiver.probot.log.warn({ ...delivery, method, status }, `webhook refused: ${error}`);
    return json(status, { error });
  };
  if (method !== "POST") return refuse(405, "this endpoint takes GitHub webhooks (POST)");
  const missing = REQUIRED_HEADERS.filter((h) => !headers[h]);
  if (missing.length) return refuse(400, `Required headers missing: ${missing.join(", ")}`);
  if (!(await receiver.probot.webhooks.verify(body, headers["x-hub-signature-256"]!).catch(() => false))) {
    return refuse(400, "signature does not match");
  }
  try {
    JSON.parse(body);
  } catch {
    return refuse(400, "the body is not JSON");
  }
  try {
    const restShaped = { httpMethod: "POST", path: "/", headers, body, isBase64Encoded: false } as unknown as APIGatewayProxyEvent;
    await receiver.receive(restShaped, context);
    return json(200, { ok: true });
  } catch (error) {
    const inner = (error as { errors?: { status?: number; message?: string }[] }).errors?.[0] ?? (error as { status?: number; message?: string });
    if (typeof inner.status === "number" && inner.status >= 400 && inner.status < 500) return refuse(inner.status, inner.message ?? "bad request");
    receiver.probot.log.error({ ...delivery, err: inner }, "webhook could not be stored");
    return json(500, { error: "the webhook could not be processed; GitHub can redeliver it" });
  }
}
