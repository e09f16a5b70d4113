import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { openSqliteStore } from "../../src/adapters/sqlite-store.js";
import type { JobSpec } from "../../src/jobs/job-spec.js";
import type { GitHubPort } from "../../src/ports/github.js";
import type { Store } from "../../src/ports/store.js";
import { createWebPages, type PageAuth, type PageUserAccess } from "../../src/web/pages.js";
import { CLAIM_TIMES, worker } from "../helpers/store-fixtures.js";

let dir: string;
let store: Store;
let server: http.Server;
let base: string;
let submitted: JobSpec[];
let permission: string;
let auth: PageAuth;

const alice: PageUserAccess = { login: "alice", csrf: "token-1", canRead: (owner, repo) => `${owner}/${repo}`.toLowerCase() !== "acme/secret" };
const target = (repo: string, pullNumber: number) => ({ installationId: 5, owner: "acme", repo, pullNumber, user: "bob", name: "atoll" });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "atoll-web-"));
  store = await openSqliteStore(path.join(dir, "atoll.db"));
  submitted = [];
  auth = {
    user: async (req) => (req.headers.cookie === "session=alice" ? alice : undefined),
    checkCsrf: (_req, user, token) => token === user.csrf,
  };
  const pages = createWebPages({
    store,
    auth: { user: (req) => auth.user(req), checkCsrf: (...a) => auth.checkCsrf(...a), get unavailable() { return auth.unavailable; } },
    jobs: { submit: async (spec) => (submitted.push(spec), undefined) },
    githubFor: async () => ({ getPermission: async () => permission }) as unknown as GitHubPort,
    githubWeb: "https://github.example",
    pollMs: 20,
  });
  server = http.createServer(async (req, res) => {
    if (!(await pages(req, res))) res.writeHead(404).end("not mine");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [repo, pull] of [["infra", 1], ["secret", 2]] as const) {
    await store.tryLock({ repo: { owner: "acme", repo }, project: { name: "", dir: "app", workspace: "default" }, pullNumber: pull, installationId: 5, user: "bob", lockedAt: new Date().toISOString() });
  }
  await store.addWaiter({ repo: { owner: "acme", repo: "infra" }, project: { name: "", dir: "app", workspace: "default" }, pullNumber: 3, installationId: 5, user: "carol", queuedAt: new Date().toISOString() });
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const get = (p: string, headers: Record<string, string> = { cookie: "session=alice" }) => fetch(`${base}${p}`, { headers, redirect: "manual" });
const post = (p: string, form: Record<string, string>) =>
  fetch(`${base}${p}`, { method: "POST", headers: { cookie: "session=alice", "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString(), redirect: "manual" });

describe("web pages", () => {
  test("every page needs sign-in: a visitor is sent to /login with the page to come back to", async () => {
    for (const p of ["/", "/locks", "/jobs", "/jobs/1", "/jobs/1/log"]) {
      const res = await get(p, {});
      expect({ p, status: res.status, location: res.headers.get("location") }).toEqual({ p, status: 303, location: `/login?next=${encodeURIComponent(p)}` });
    }
    expect((await get("/elsewhere")).status).toBe(404); // not a page: left to other handlers
  });

  test("the locks page lists only readable repositories, with the waiting pull requests and an Unlock form", async () => {
    const res = await get("/locks");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<a href="https://github.example/acme/infra/pull/1">acme/infra#1</a>');
    expect(html).toContain("acme/infra#3"); // waiting
    expect(html).not.toContain("acme/secret");
    expect(html).toContain('name="csrf" value="token-1"');
    expect(html).toContain('<meta name="viewport"');
    expect(html).toContain("prefers-color-scheme: dark");
  });

  test("unlock: refused without the CSRF token or write access; with both it queues the PR's unlock", async () => {
    const form = { owner: "acme", repo: "infra", pull: "1", installation: "5" };
    expect((await post("/locks/unlock", form)).status).toBe(403);
    expect((await post("/locks/unlock", { ...form, csrf: "wrong" })).status).toBe(403);
    permission = "read";
    const noWrite = await post("/locks/unlock", { ...form, csrf: "token-1" });
    expect(noWrite.status).toBe(403);
    expect(await noWrite.text()).toContain("@alice does not have write access to acme/infra (permission: read)");
    expect((await post("/locks/unlock", { owner: "acme", repo: "secret", pull: "2", installation: "5", csrf: "token-1" })).status).toBe(404);
    expect(submitted).toEqual([]);
    permission = "write";
    const ok = await post("/locks/unlock", { ...form, csrf: "token-1" });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe(`/locks?unlocked=${encodeURIComponent("acme/infra#1")}`);
    expect(submitted).toEqual([expect.objectContaining({ kind: "command", owner: "acme", repo: "infra", pullNumber: 1, user: "alice", command: expect.objectContaining({ command: "unlock" }) })]);
  });

  test("jobs and a job page; the log streams live, resumes after Last-Event-ID, and ends when the job does", async () => {
    const job = (await store.createJob({ ...target("infra", 1), kind: "autoplan", quietRefusal: false, pull: {} as never }))!;
    await store.createJob({ ...target("secret", 2), kind: "review" });
    await store.claimJob(worker("r1"), CLAIM_TIMES);
    await store.appendJobLog(job.id, 1, "$ terraform init\n");
    const list = await (await get("/jobs")).text();
    expect(list).toContain(`<a href="/jobs/${job.id}">#${job.id}</a>`);
    expect(list).not.toContain("acme/secret");
    const page = await (await get(`/jobs/${job.id}`)).text();
    expect(page).toContain('data-after="1"');
    expect(page).toContain('data-live="1"');
    expect(page).toContain("$ terraform init");
    expect((await get("/assets/job.js")).headers.get("content-type")).toContain("javascript");

    const res = await get(`/jobs/${job.id}/log`, { cookie: "session=alice", "last-event-id": "1" });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    };
    await store.appendJobLog(job.id, 2, "Plan: 1 to add\n");
    await readUntil("id: 2");
    expect(text).toContain(`id: 2\ndata: ${JSON.stringify("Plan: 1 to add\n")}`);
    expect(text).not.toContain("terraform init"); // chunk 1 was already there
    await store.appendJobLog(job.id, 3, "done\n");
    await store.finishJob(job.id, "r1/w", { status: "succeeded", finishedAt: new Date().toISOString() });
    await readUntil("event: end");
    expect(text).toContain("id: 3");
    expect(text).toContain('event: end\ndata: "succeeded"');
    expect((await get("/jobs/999999")).status).toBe(404);
  });

  test("sign-in not configured: the pages say which setting is missing and show nothing", async () => {
    auth.unavailable = "Sign-in with GitHub is not configured: set GITHUB_CLIENT_ID.";
    try {
      const res = await get("/locks");
      expect(res.status).toBe(503);
      const html = await res.text();
      expect(html).toContain("set GITHUB_CLIENT_ID");
      expect(html).not.toContain("acme/infra");
    } finally {
      delete auth.unavailable;
    }
  });
});
