/**
 * Deliver a webhook the way GitHub does: JSON body, event/delivery headers, and an
 * `x-hub-signature-256` HMAC over the exact bytes sent (the receiver verifies the raw body, so
 * the signature must be computed on the same serialisation that goes on the wire).
 */
import { createHmac } from "node:crypto";

export interface WebhookEvent {
  name: string;
  id: string;
  payload: unknown;
}

export interface WebhookResponse {
  status: number;
  body: string;
  /** Wall-clock duration of the delivery (for diagnostics, not assertions). */
  ms: number;
}

/** `sha256=<hex HMAC-SHA256 of body with secret>` */
export function signWebhookBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export async function sendWebhook(url: string, secret: string, event: WebhookEvent): Promise<WebhookResponse> {
  const body = Buffer.from(JSON.stringify(event.payload), "utf8");
  const started = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/test",
      "x-github-event": event.name,
      "x-github-delivery": event.id,
      "x-hub-signature-256": signWebhookBody(secret, body),
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text, ms: Math.round(performance.now() - started) };
}
