/**
 * `/healthz` and `/readyz` for load balancers and orchestrators, on every replica (added to
 * Probot's server for roles `all` and `web`; the worker's own small server for role `worker`).
 *
 * - `GET /healthz`: 200 while the process runs (liveness).
 * - `GET /readyz`: 200 when the database answers and has exactly this version's migrations, and
 *   the process is not draining after SIGTERM; 503 with the reason otherwise (readiness: take
 *   the replica out of the load balancer).
 *
 * Both answer JSON with the role and replica id, and never anything secret.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Store } from "./ports/store.js";
import type { Role } from "./settings.js";

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface HealthOptions {
  store: Pick<Store, "checkReady">;
  role: Role;
  replica: string;
  /** True once SIGTERM was received. */
  draining: () => boolean;
  /** Answer within this long (the database check is cut off after it). */
  timeoutMs?: number;
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): true {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(`${JSON.stringify(body)}\n`);
  return true;
}

export function createHealthHandler(opts: HealthOptions): HttpHandler {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return async (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/healthz" && path !== "/readyz") return false;
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: `use GET ${path}` });
    const base = { role: opts.role, replica: opts.replica };
    if (path === "/healthz") return send(res, 200, { status: "ok", ...base });
    if (opts.draining()) return send(res, 503, { status: "draining", ...base });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        opts.store.checkReady(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return send(res, 200, { status: "ready", ...base });
    } catch (error) {
      return send(res, 503, { status: "not ready", reason: (error as Error).message, ...base });
    } finally {
      clearTimeout(timer);
    }
  };
}
