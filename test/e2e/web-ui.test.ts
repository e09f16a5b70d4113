/**
 * The web UI in a real browser (Debian's Chromium through playwright-core) against the real
 * server and the fake GitHub with its OAuth endpoints: sign in with GitHub, see only the
 * repositories you can read, watch a running plan's log grow live, unlock with write access and
 * be refused without, CSRF refused, the log still there after a restart. Screenshots of each page
 * (light, dark, phone) are written to `artifacts/screenshots/` for review.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { REPO_ROOT } from "../helpers/atoll-process.js";
import { Gate, OWNER, REPO, completedRun, expectCleanGitHub, latestRun, pgTf, startE2eEnv, waitComment, type E2eEnv } from "./e2e-env.js";

const SHOTS = path.join(REPO_ROOT, "artifacts", "screenshots");
const CLIENT_ID = "Iv1.atolltestclient";
const CLIENT_SECRET = "atoll-test-oauth-secret-0123456789abcdef";

describe("web UI in Chromium", () => {
  let env: E2eEnv;
  let gate: Gate;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    gate = await Gate.create();
    env = await startE2eEnv({
      publicUrl: true,
      privateRepo: true,
      fakeGitHub: { oauthClientId: CLIENT_ID, oauthClientSecret: CLIENT_SECRET },
      env: { GITHUB_CLIENT_ID: CLIENT_ID, GITHUB_CLIENT_SECRET: CLIENT_SECRET, ...gate.env("plan") },
    });
    await env.repo.commit("main", { "app/main.tf": pgTf("webapp", []), "net/main.tf": pgTf("webnet", []) }, "initial");
    env.github.setPermission(OWNER, REPO, "alice", "write");
    env.github.setPermission(OWNER, REPO, "dave", "read");
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update"],
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await gate?.open();
    await env?.stop();
    await gate?.remove();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  /** A browser session signed in on the fake GitHub as `login`, then on Atoll. */
  async function signedIn(login: string, opts: { colorScheme?: "light" | "dark"; phone?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      colorScheme: opts.colorScheme ?? "light",
      viewport: opts.phone ? { width: 390, height: 844 } : { width: 1200, height: 800 },
    });
    const page = await context.newPage();
    env.github.signInAs(login);
    await page.goto(`${env.atoll.url}/locks`);
    await page.waitForURL(`${env.atoll.url}/locks`);
    expect(await page.textContent("header .user")).toContain(`@${login}`);
    return { context, page };
  }

  test("sign in; only readable repositories; a running plan's log grows live; Unlock needs write; CSRF refused; the log survives a restart", async () => {
    // A visitor is sent through GitHub's sign-in and back.
    const mallory = await signedIn("mallory");
    expect(await mallory.page.textContent("main")).toContain("No project is locked in the repositories you can read.");

    // A plan that holds at terraform plan: its check run's Details link is the job page.
    await gate.close();
    await env.repo.commit("pr-1", { "app/main.tf": pgTf("webapp", ["a"]) }, "change app", { from: "main" });
    const pr = await env.github.createPull(OWNER, REPO, { number: 1, head: "pr-1", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pr, "opened"));
    await gate.heldPid(env);
    const running = await env.github.waitFor(() => {
      const r = latestRun(env, pr.headSha, "atoll/plan");
      return r?.detailsUrl ? r : undefined;
    }, { what: "the in-progress plan run with its Details link" });
    expect(running.detailsUrl).toMatch(new RegExp(`^${env.atoll.url}/jobs/\\d+$`));
    expect(running.output.summary).toContain(`[Live log](${running.detailsUrl})`);

    const alice = await signedIn("alice");
    await alice.page.goto(running.detailsUrl!);
    // The plan has started (its command line is logged when it spawns; the test's terraform is a wrapper script).
    await alice.page.waitForFunction(() => /\$ \S*terraform\S* plan -input=false/.test(document.getElementById("log")?.textContent ?? ""));
    expect(await alice.page.textContent("#log")).not.toContain("Plan: 1 to add");
    await alice.page.screenshot({ path: path.join(SHOTS, "job-running.png"), fullPage: true });
    await gate.open();
    // No reload: the page's EventSource appends terraform's output as it comes.
    await alice.page.waitForFunction(() => document.getElementById("log")?.textContent?.includes("Plan: 1 to add, 0 to change, 0 to destroy."), undefined, { timeout: 60_000 });
    await alice.page.waitForFunction(() => document.getElementById("status")?.textContent === "succeeded", undefined, { timeout: 60_000 });
    await alice.page.screenshot({ path: path.join(SHOTS, "job-finished.png"), fullPage: true });
    await completedRun(env, pr.headSha, "atoll/plan: app");

    // The lock: alice (write) and dave (read) see it; mallory (no access to the private repo) does not.
    await alice.page.goto(`${env.atoll.url}/locks`);
    expect(await alice.page.textContent("main")).toContain(`${OWNER}/${REPO}#1`);
    await alice.page.screenshot({ path: path.join(SHOTS, "locks.png"), fullPage: true });
    await mallory.page.reload();
    expect(await mallory.page.textContent("main")).not.toContain(`${OWNER}/${REPO}`);
    await mallory.page.goto(running.detailsUrl!);
    expect(await mallory.page.textContent("main")).toContain("No job");

    const dave = await signedIn("dave", { colorScheme: "dark" });
    expect(await dave.page.textContent("main")).toContain(`${OWNER}/${REPO}#1`);
    await dave.page.screenshot({ path: path.join(SHOTS, "locks-dark.png"), fullPage: true });
    await dave.page.click("button:has-text('Unlock')");
    expect(await dave.page.textContent("main")).toContain("@dave does not have write access to acme/infra (permission: read)");

    // CSRF: a form post without the session's token, or from another origin, changes nothing.
    const noToken = await alice.page.request.post(`${env.atoll.url}/locks/unlock`, { form: { owner: OWNER, repo: REPO, pull: "1", installation: "1" }, maxRedirects: 0 });
    expect(noToken.status()).toBe(403);
    const csrf = await alice.page.getAttribute("input[name=csrf]", "value");
    const foreign = await alice.page.request.post(`${env.atoll.url}/locks/unlock`, {
      form: { owner: OWNER, repo: REPO, pull: "1", installation: "1", csrf: csrf! },
      headers: { origin: "http://evil.example" },
      maxRedirects: 0,
    });
    expect(foreign.status()).toBe(403);

    // Alice unlocks: the pull request is told, the lock is gone.
    await alice.page.click("button:has-text('Unlock')");
    expect(await alice.page.textContent("main")).toContain("Unlock queued for acme/infra#1");
    await waitComment(env, 1, /locks for this pull request have been released/, "unlock comment");
    await alice.page.goto(`${env.atoll.url}/locks`);
    expect(await alice.page.textContent("main")).toContain("No project is locked");

    // Jobs list, on a phone.
    const phone = await signedIn("alice", { phone: true });
    await phone.page.goto(`${env.atoll.url}/jobs`);
    expect(await phone.page.textContent("main")).toContain("autoplan");
    await phone.page.screenshot({ path: path.join(SHOTS, "jobs-phone.png"), fullPage: true });

    // After a restart (a new address; the session cookie is per host), the log is still there.
    const jobPath = new URL(running.detailsUrl!).pathname;
    await env.restart();
    await alice.page.goto(`${env.atoll.url}${jobPath}`);
    expect(await alice.page.textContent("#log")).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    expect(await alice.page.textContent("#log")).not.toMatch(/ghs_|ghu_/);
    for (const c of [mallory, alice, dave, phone]) await c.context.close();
  }, 300_000);
});
