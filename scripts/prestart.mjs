#!/usr/bin/env node
// `npm start` runs this first: build the TypeScript if lib/ is missing or older than src/, and in
// first-time setup mode (no APP_ID / PRIVATE_KEY yet) point app.yml's webhook URL at this server.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
process.chdir(root);
if (fs.existsSync(".env")) process.loadEnvFile(".env");

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

const built = fs.existsSync("lib/index.js");
const stale = !built || newestMtime("src") > fs.statSync("lib/index.js").mtimeMs || fs.statSync("package.json").mtimeMs > fs.statSync("lib/index.js").mtimeMs;
if (stale) {
  const tsc = path.join("node_modules", "typescript", "bin", "tsc");
  if (!fs.existsSync(tsc)) {
    if (built) {
      console.warn("atoll: lib/ may be older than src/, but TypeScript is not installed; starting the existing build.");
    } else {
      console.error("atoll: lib/ is missing and TypeScript is not installed. Run `npm install` (with dev dependencies) first.");
      process.exit(1);
    }
  } else {
    console.log("atoll: building (tsc -p tsconfig.build.json)…");
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
  }
}

const setupMode = !process.env.APP_ID || !(process.env.PRIVATE_KEY || process.env.PRIVATE_KEY_PATH || fs.readdirSync(".").some((f) => f.endsWith(".pem")));
if (setupMode) {
  const webhookPath = process.env.WEBHOOK_PATH || "/api/github/webhooks";
  const publicUrl = process.env.ATOLL_PUBLIC_URL?.replace(/\/+$/, "");
  const url = process.env.WEBHOOK_PROXY_URL || (publicUrl ? publicUrl + webhookPath : undefined);
  if (url) {
    const text = fs.readFileSync("app.yml", "utf8");
    let next = text.replace(/^(hook_attributes:\n\s+url:\s*).*$/m, `$1${url}`);
    // The web UI's sign-in comes back to the public address (not through a webhook proxy).
    if (publicUrl) next = next.replace(/^(callback_urls:\n\s+-\s*).*$/m, `$1${publicUrl}/login/callback`);
    if (next !== text) fs.writeFileSync("app.yml", next);
    console.log(`atoll: setup mode — the App will be registered with webhook URL ${url}`);
  } else {
    console.warn(
      "atoll: setup mode — set ATOLL_PUBLIC_URL (the HTTPS address GitHub can reach, e.g. https://atoll.example.com)\n" +
        "       or WEBHOOK_PROXY_URL (a smee.io channel) before registering, so GitHub knows where to send webhooks.",
    );
  }
}
