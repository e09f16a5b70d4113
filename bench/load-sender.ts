/**
 * Webhook load generator for target (d), run as its own process so that the bench process (which
 * also hosts the fake GitHub) does not disturb the timing. Open loop: delivery i is sent at
 * start + i/rate whatever the earlier ones are doing, so a slow server cannot slow the sender
 * down and hide its own latency. Each POST is signed like GitHub signs it.
 *
 *   node load-sender.js <config.json>   → prints a JSON LoadResult on stdout
 */
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";

export interface LoadTemplate {
  /** X-GitHub-Event. */
  event: string;
  /** JSON body. */
  body: string;
  /** Fixed X-GitHub-Delivery (a redelivery); default: a fresh id per POST. */
  deliveryId?: string;
  /** Occurrences of this string in `body` are replaced with a per-POST number (e.g. the comment id). */
  vary?: string;
}

export interface LoadConfig {
  url: string;
  secret: string;
  /** Deliveries per second. */
  rate: number;
  durationMs: number;
  templates: LoadTemplate[];
  /** Per-request timeout. */
  timeoutMs: number;
}

export interface LoadResult {
  sent: number;
  completed: number;
  errors: number;
  errorSamples: string[];
  statuses: Record<string, number>;
  /** Response time of each completed POST (ms), in send order. */
  latenciesMs: number[];
  /** How late the sender was against the schedule (ms): max and median. */
  maxLagMs: number;
  /** Achieved send rate (deliveries per second). */
  achievedRate: number;
  wallMs: number;
}

function sign(secret: string, body: Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as LoadConfig;
  const url = new URL(cfg.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const total = Math.round((cfg.rate * cfg.durationMs) / 1000);
  const interval = 1000 / cfg.rate;
  const latencies: Array<number | undefined> = new Array(total);
  const statuses: Record<string, number> = {};
  const errorSamples: string[] = [];
  let errors = 0;
  let completed = 0;
  let maxLag = 0;
  let sent = 0;
  let varyCounter = 900_000_000;
  const fixed = cfg.templates.map((t) => (t.vary ? null : Buffer.from(t.body, "utf8")));
  const fixedSig = cfg.templates.map((t, i) => (fixed[i] ? sign(cfg.secret, fixed[i]!) : null));

  const pending: Array<Promise<void>> = [];
  const start = performance.now();
  process.stderr.write("load-sender: started\n");
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    maxLag = Math.max(maxLag, performance.now() - due);
    const ti = i % cfg.templates.length;
    const t = cfg.templates[ti]!;
    let body: Buffer;
    let signature: string;
    if (t.vary) {
      body = Buffer.from(t.body.split(t.vary).join(String(++varyCounter)), "utf8");
      signature = sign(cfg.secret, body);
    } else {
      body = fixed[ti]!;
      signature = fixedSig[ti]!;
    }
    const idx = i;
    sent++;
    pending.push(
      new Promise<void>((resolveReq) => {
        const began = performance.now();
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: "POST",
            agent,
            timeout: cfg.timeoutMs,
            headers: {
              "content-type": "application/json",
              "content-length": body.length,
              "user-agent": "GitHub-Hookshot/bench",
              "x-github-event": t.event,
              "x-github-delivery": t.deliveryId ?? randomUUID(),
              "x-hub-signature-256": signature,
            },
          },
          (res) => {
            res.resume();
            res.on("end", () => {
              latencies[idx] = performance.now() - began;
              statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
              completed++;
              resolveReq();
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error(`no response within ${cfg.timeoutMs} ms`)));
        req.on("error", (e) => {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(e.message);
          resolveReq();
        });
        req.end(body);
      }),
    );
  }
  const sendWall = performance.now() - start;
  await Promise.all(pending);
  agent.destroy();
  const result: LoadResult = {
    sent,
    completed,
    errors,
    errorSamples,
    statuses,
    latenciesMs: latencies.filter((x): x is number => x !== undefined),
    maxLagMs: maxLag,
    achievedRate: sent / (sendWall / 1000),
    wallMs: performance.now() - start,
  };
  process.stdout.write(JSON.stringify(result));
}

main().catch((e: unknown) => {
  process.stderr.write(`load-sender: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
