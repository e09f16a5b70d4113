/**
 * First run: without APP_ID / PRIVATE_KEY, `probot run` opens Probot's setup wizard, which
 * registers the App from app.yml; and `npm start`'s prestart step points app.yml's webhook URL at
 * the public address before that.
 */
import { spawn, execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { load } from "js-yaml";
import { REPO_ROOT, freePort, scrubbedEnv } from "../helpers/atoll-process.js";

const run = promisify(execFile);

function htmlUnescape(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

describe("first-time setup", () => {
  test("probot run without credentials serves the setup wizard with Atoll's manifest", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "node_modules", "probot", "bin", "probot.js"), "run", "./lib/index.js"], {
      cwd: REPO_ROOT,
      env: { ...scrubbedEnv(), PORT: String(port), HOST: "127.0.0.1", NO_SMEE_SETUP: "true", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let logs = "";
    child.stdout!.on("data", (d) => (logs += d));
    child.stderr!.on("data", (d) => (logs += d));
    try {
      let html = "";
      for (let i = 0; i < 100 && !html; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/probot`).catch(() => null);
        if (res?.ok) html = await res.text();
        else await new Promise((r) => setTimeout(r, 200));
      }
      expect(html).not.toBe("");
      // <button name="manifest" … value='{…}'> (either quote style).
      const m = /name="manifest"[^>]*?value=(?:'([^']*)'|"([^"]*)")/.exec(html);
      expect(m).not.toBeNull();
      const manifest = JSON.parse(htmlUnescape(m![1] ?? m![2]));
      const appYml = load(await fs.readFile(path.join(REPO_ROOT, "app.yml"), "utf8")) as Record<string, unknown>;
      expect(manifest.name).toBe(appYml.name);
      expect([...manifest.default_events].sort()).toEqual(["check_run", "issue_comment", "pull_request", "pull_request_review", "repository"]);
      expect(manifest.default_permissions).toEqual({
        checks: "write",
        contents: "read",
        issues: "write",
        pull_requests: "write",
        statuses: "write",
        metadata: "read",
      });
      // The webhook goes to the webhook path, not the site root (Probot's default).
      expect(manifest.hook_attributes.url).toMatch(/\/api\/github\/webhooks$/);
      expect(manifest.redirect_url).toBe(`http://127.0.0.1:${port}/probot/setup`);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- server output ---\n${logs}`);
    } finally {
      process.kill(-child.pid!, "SIGKILL");
    }
  }, 60_000);

  describe("prestart (build if needed, webhook URL in setup mode)", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-prestart-"));
      await fs.mkdir(path.join(dir, "scripts"));
      await fs.mkdir(path.join(dir, "src"));
      await fs.copyFile(path.join(REPO_ROOT, "scripts", "prestart.mjs"), path.join(dir, "scripts", "prestart.mjs"));
      await fs.copyFile(path.join(REPO_ROOT, "app.yml"), path.join(dir, "app.yml"));
      await fs.writeFile(path.join(dir, "package.json"), "{}");
      await fs.writeFile(path.join(dir, "src", "index.ts"), "export {};\n");
    });
    afterEach(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });
    const prestart = (env: Record<string, string>) =>
      run(process.execPath, [path.join(dir, "scripts", "prestart.mjs")], { cwd: dir, env: { ...scrubbedEnv(), ...env } });
    const hookUrl = async () => ((load(await fs.readFile(path.join(dir, "app.yml"), "utf8")) as { hook_attributes: { url: string } }).hook_attributes.url);
    const built = async () => {
      await fs.mkdir(path.join(dir, "lib"), { recursive: true });
      await fs.writeFile(path.join(dir, "lib", "index.js"), "export default () => {};\n");
    };

    test("in setup mode, ATOLL_PUBLIC_URL sets the webhook URL in app.yml", async () => {
      await built();
      const { stdout } = await prestart({ ATOLL_PUBLIC_URL: "https://atoll.example.com/" });
      expect(stdout).toContain("https://atoll.example.com/api/github/webhooks");
      expect(await hookUrl()).toBe("https://atoll.example.com/api/github/webhooks");
      // The web UI's "Sign in with GitHub" returns to the same address.
      const manifest = load(await fs.readFile(path.join(dir, "app.yml"), "utf8")) as { callback_urls: string[] };
      expect(manifest.callback_urls).toEqual(["https://atoll.example.com/login/callback"]);
    });

    test("a smee.io proxy URL wins, and a configured App leaves app.yml alone", async () => {
      await built();
      await prestart({ WEBHOOK_PROXY_URL: "https://smee.io/abc", ATOLL_PUBLIC_URL: "https://x.example.com" });
      expect(await hookUrl()).toBe("https://smee.io/abc");
      await prestart({ APP_ID: "1", PRIVATE_KEY: "k", ATOLL_PUBLIC_URL: "https://other.example.com" });
      expect(await hookUrl()).toBe("https://smee.io/abc");
    });

    test("without a public URL it explains what to set", async () => {
      await built();
      const { stderr } = await prestart({});
      expect(stderr).toContain("ATOLL_PUBLIC_URL");
    });

    test("a missing build without TypeScript installed is a clear error", async () => {
      await expect(prestart({ APP_ID: "1", PRIVATE_KEY: "k" })).rejects.toThrow(/npm install/);
    });
  });
});
