/**
 * The events AWS hands a Lambda function for an HTTP request, in the shapes the Lambda receiver
 * must accept (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html):
 *
 * - API Gateway HTTP API, payload format 2.0: lower-cased `headers`, `requestContext.http`;
 * - Lambda Function URL: the same 2.0 format, `routeKey` `$default`, a `lambda-url` domain;
 * - API Gateway REST API (payload 1.0): `httpMethod`, `path`, headers as sent (mixed case) and
 *   `multiValueHeaders`.
 *
 * Bodies are the exact bytes GitHub signed; `base64` sends them base64-encoded with
 * `isBase64Encoded: true`, as API Gateway and Function URLs may.
 */
import { randomUUID } from "node:crypto";
import { signWebhookBody, type WebhookEvent } from "./webhook-sender.js";

export type LambdaShape = "http-api-v2" | "function-url" | "rest-api-v1";

export interface RequestSpec {
  method?: string;
  /** Header name → value, as GitHub sends them (case kept for the REST API shape). */
  headers: Record<string, string>;
  body: string;
  base64?: boolean;
}

/** GitHub's request for a webhook: its headers (signed with `secret`) and JSON body. */
export function githubRequest(secret: string, event: WebhookEvent, opts: { signature?: string; omit?: string[] } = {}): RequestSpec {
  const body = JSON.stringify(event.payload);
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": "GitHub-Hookshot/4f3e2a1",
    "X-GitHub-Event": event.name,
    "X-GitHub-Delivery": event.id,
    "X-GitHub-Hook-ID": "123456789",
    "X-Hub-Signature": "sha1=ignored-by-atoll",
    "X-Hub-Signature-256": opts.signature ?? signWebhookBody(secret, body),
  };
  for (const h of opts.omit ?? []) delete headers[h];
  return { headers, body };
}

const now = () => new Date();

export function lambdaEvent(shape: LambdaShape, req: RequestSpec): Record<string, unknown> {
  const method = req.method ?? "POST";
  const body = req.base64 ? Buffer.from(req.body, "utf8").toString("base64") : req.body;
  const common = {
    "content-length": String(Buffer.byteLength(req.body)),
    "x-amzn-trace-id": `Root=1-${Math.floor(now().getTime() / 1000).toString(16)}-${randomUUID().replace(/-/g, "").slice(0, 24)}`,
    "x-forwarded-for": "140.82.115.10",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
  };
  if (shape === "rest-api-v1") {
    const headers = { ...req.headers, Host: "abc123.execute-api.us-east-1.amazonaws.com", "X-Forwarded-For": common["x-forwarded-for"], "X-Forwarded-Proto": "https" };
    return {
      resource: "/webhooks",
      path: "/webhooks",
      httpMethod: method,
      headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: null,
      requestContext: {
        accountId: "123456789012",
        apiId: "abc123",
        httpMethod: method,
        identity: { sourceIp: "140.82.115.10", userAgent: req.headers["User-Agent"] ?? null },
        path: "/prod/webhooks",
        protocol: "HTTP/1.1",
        requestId: randomUUID(),
        requestTimeEpoch: now().getTime(),
        resourceId: "x1y2z3",
        resourcePath: "/webhooks",
        stage: "prod",
      },
      body,
      isBase64Encoded: Boolean(req.base64),
    };
  }
  const functionUrl = shape === "function-url";
  const domain = functionUrl ? "a1b2c3d4e5f6g7h8i9j0.lambda-url.us-east-1.on.aws" : "abc123.execute-api.us-east-1.amazonaws.com";
  const rawPath = functionUrl ? "/" : "/webhooks";
  const headers = Object.fromEntries(Object.entries({ ...req.headers, host: domain, ...common }).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    version: "2.0",
    routeKey: functionUrl ? "$default" : `${method} /webhooks`,
    rawPath,
    rawQueryString: "",
    headers,
    requestContext: {
      accountId: functionUrl ? "anonymous" : "123456789012",
      apiId: functionUrl ? "a1b2c3d4e5f6g7h8i9j0" : "abc123",
      domainName: domain,
      domainPrefix: domain.split(".")[0],
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "140.82.115.10", userAgent: req.headers["User-Agent"] ?? "" },
      requestId: randomUUID(),
      routeKey: functionUrl ? "$default" : `${method} /webhooks`,
      stage: "$default",
      time: now().toUTCString(),
      timeEpoch: now().getTime(),
    },
    body,
    isBase64Encoded: Boolean(req.base64),
  };
}
