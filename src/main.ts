/**
 * `npm start`: runs Atoll in the role `ATOLL_ROLE` names.
 *
 * - `all` (default) and `web`: exactly `probot run ./lib/index.js` — Probot's server with the
 *   webhook endpoint, `.env` loaded, and the setup wizard on a first start without credentials.
 * - `worker`: no webhook endpoint. A Probot instance built from the environment (credentials
 *   required) runs jobs, and a small HTTP server on `PORT`/`HOST` answers `GET /ping`,
 *   `/healthz` and `/readyz` for the orchestrator, and `/metrics` for Prometheus.
 */
import { createServer } from "node:http";
import { parseEnv } from "node:util";
import { readFileSync } from "node:fs";
import { createProbot, run, type ApplicationFunctionOptions } from "probot";
import { createApp } from "./app.js";
import { SettingsError, readSettings } from "./settings.js";

/** `.env` in the working directory over the environment, as `probot run` loads it. */
function loadDotEnv(): void {
  try {
    Object.assign(process.env, parseEnv(readFileSync(".env", "utf8")));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

async function startWorker(): Promise<void> {
  if (!process.env.APP_ID || !(process.env.PRIVATE_KEY || process.env.PRIVATE_KEY_PATH)) {
    throw new SettingsError(
      "ATOLL_ROLE=worker needs the App's credentials (APP_ID and PRIVATE_KEY or PRIVATE_KEY_PATH). " +
        "Register the App first by starting a replica with ATOLL_ROLE=all or web (its setup wizard writes them to .env).",
    );
  }
  const settings = readSettings();
  const probot = createProbot({ env: { LOG_LEVEL: "info", ...process.env } });
  const handlers: Parameters<ApplicationFunctionOptions["addHandler"]>[0][] = [];
  await probot.load(createApp({ settings }), { cwd: process.cwd(), addHandler: (h) => handlers.push(h) });
  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.method === "GET" && req.url?.split("?")[0] === "/ping") return void res.writeHead(200, { "content-type": "text/plain" }).end("PONG");
        for (const h of handlers) if (await h(req, res)) return;
        res.writeHead(404, { "content-type": "application/json" }).end(`${JSON.stringify({ error: "not found: this is an Atoll worker (ATOLL_ROLE=worker); it has no webhook endpoint" })}\n`);
      } catch (error) {
        probot.log.error({ err: error }, "health or metrics request failed");
        if (!res.headersSent) res.writeHead(500).end();
      }
    })();
  });
  const port = Number(process.env.PORT || 3000);
  const host = process.env.HOST || "localhost";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  probot.log.info(`Atoll worker listening on http://${host}:${port} (health and metrics only)`);
}

async function main(): Promise<void> {
  loadDotEnv();
  const role = (process.env.ATOLL_ROLE ?? "").trim().toLowerCase();
  if (role === "worker") return startWorker();
  // As `probot run ./lib/index.js` (resolved from the working directory, like the CLI).
  await run(["./lib/index.js"], { env: process.env });
}

main().catch((error: unknown) => {
  // A bad setting is the operator's to fix: say which, without a stack trace.
  console.error(error instanceof SettingsError ? `atoll: ${error.message}` : error);
  process.exit(1);
});
