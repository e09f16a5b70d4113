/**
 * Every delivery GitHub can send, against the real server (and the fake GitHub): GitHub's own
 * example payloads (`@octokit/webhooks-examples`) one by one and all at once, a table of
 * malformed deliveries with the answer each gets, the App removed from a repository with a locked
 * pull request (and added back: a second pull request plans), and a rename that keeps the lock
 * with its pull request. No answer is a 500, no handler logs an error, and no log line holds a
 * payload.
 */
import { createRequire } from "node:module";
import { installationRepositoriesEvent, pullRequestEvent, pullRequestEventFor, repositoryEvent, repositoryIdFor } from "../helpers/events.js";
import { signWebhookBody } from "../helpers/webhook-sender.js";
import { OWNER, REPO, appComments, completedRun, deliveryId, logTail, pgTf, startE2eEnv, type E2eEnv } from "./e2e-env.js";

const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: Record<string, unknown>[] }[];

/** The fake's webhook secret, as the harness configures the server. */
let secret: string;

interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

function jsonLines(lines: string[]): LogLine[] {
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as LogLine];
    } catch {
      return [];
    }
  });
}

/** The first JSON log line after line `from` whose message matches (waits for it). */
function waitLine(env: E2eEnv, from: number, msg: RegExp): Promise<LogLine> {
  return env.github.waitFor(() => jsonLines(env.atoll.logs().slice(from)).find((l) => msg.test(l.msg ?? "")), { what: `log line ${msg}`, timeoutMs: 10_000, context: () => logTail(env) });
}

/** POST a body as GitHub would; `headers` override (or, set to undefined, drop) the defaults. */
async function post(env: E2eEnv, body: string, headers: Record<string, string | undefined> = {}): Promise<{ status: number; text: string }> {
  const all: Record<string, string | undefined> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/test",
    "x-github-event": "pull_request",
    "x-github-delivery": deliveryId(),
    "x-hub-signature-256": signWebhookBody(secret, body),
    ...headers,
  };
  const res = await fetch(env.atoll.webhookUrl, {
    method: "POST",
    headers: Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined)),
    body,
  });
  return { status: res.status, text: await res.text() };
}

describe("every delivery GitHub can send", () => {
  let env: E2eEnv;
  beforeAll(async () => {
    env = await startE2eEnv({ env: { ATOLL_LOCK_SWEEP_INTERVAL: "1h" } });
    secret = env.github.webhookSecret;
    await env.repo.commit("main", { "net/main.tf": pgTf("net", ["base"]), "app/main.tf": pgTf("app", ["base"]) }, "initial");
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
  }, 60_000);

  test("each of GitHub's 329 example payloads, one by one and then all at once: 2xx, and no error from a handler", async () => {
    const all = examples.flatMap((e) => e.examples.map((payload) => ({ name: e.name, payload })));
    expect(all.length).toBeGreaterThan(300);
    const from = env.atoll.logs().length;
    const statuses: string[] = [];
    for (const { name, payload } of all) {
      const r = await env.atoll.send({ name, id: deliveryId(), payload });
      statuses.push(`${r.status}`);
      if (r.status >= 300) throw new Error(`${name}.${String(payload.action)} answered ${r.status}: ${r.body}`);
    }
    const together = await Promise.all(all.map(({ name, payload }) => env.atoll.send({ name, id: deliveryId(), payload })));
    const bad = together.map((r, i) => ({ r, e: all[i] })).filter(({ r }) => r.status >= 300);
    expect(bad.map(({ r, e }) => `${e.name}.${String(e.payload.action)}: ${r.status}`)).toEqual([]);

    // Handlers never log at error level (jobs for the examples' repositories, which the fake
    // GitHub does not have, may fail later: those are job lines, with a job id).
    const lines = jsonLines(env.atoll.logs().slice(from));
    const handlerErrors = lines.filter((l) => (l.level ?? 0) >= 50 && l.job === undefined);
    expect(handlerErrors.map((l) => `${l.msg} ${JSON.stringify(l).slice(0, 300)}`)).toEqual([]);
    // What Atoll cannot act on is said once per delivery, at warn, with the reason.
    const notActedOn = lines.filter((l) => l.msg === "webhook not acted on" && l.level === 40);
    expect(notActedOn.length).toBeGreaterThan(0);
    for (const l of notActedOn) expect(l).toMatchObject({ delivery: expect.any(String), event: expect.any(String), reason: expect.any(String) });
    for (const l of env.atoll.logs().slice(from)) expect(l.length).toBeLessThan(8_192);
  }, 300_000);

  test("malformed deliveries: each gets its answer, one short log line, and never a payload in the log", async () => {
    const from = env.atoll.logs().length;
    const big = "x".repeat(4 * 1024 * 1024);
    const comment = { action: "created", issue: { number: 1, pull_request: {} }, comment: { id: 1, body: `hello ${big}` }, repository: { id: 1, name: "infra", full_name: "acme/infra", owner: { login: "acme" } }, sender: { login: "alice", type: "User" }, installation: { id: 1 } };
    const cases: [string, () => Promise<{ status: number; text: string }>, number][] = [
      ["a bad signature", () => post(env, "{}", { "x-hub-signature-256": signWebhookBody("wrong", "{}") }), 400],
      ["no signature", () => post(env, "{}", { "x-hub-signature-256": undefined }), 400],
      ["no event header", () => post(env, "{}", { "x-github-event": undefined }), 400],
      ["no delivery header", () => post(env, "{}", { "x-github-delivery": undefined }), 400],
      ["a body that is not JSON", () => post(env, "{not json"), 400],
      ["not application/json", () => post(env, "{}", { "content-type": "text/plain" }), 415],
      ["JSON null", () => post(env, "null"), 200],
      ["only an action", () => post(env, JSON.stringify({ action: "opened" })), 200],
      ["an issue_comment without issue", () => post(env, JSON.stringify({ ...comment, issue: undefined, comment: { id: 2, body: "atoll plan" } }), { "x-github-event": "issue_comment" }), 200],
      ["a pull_request without pull_request", () => post(env, JSON.stringify({ action: "opened", installation: { id: 1 }, repository: comment.repository, sender: comment.sender })), 200],
      ["a pull_request without installation", () => post(env, JSON.stringify({ ...pullRequestEvent("opened", { owner: OWNER, repo: REPO, number: 99 }).payload, installation: undefined })), 200],
      ["an unknown event", () => post(env, JSON.stringify({ action: "made_up" }), { "x-github-event": "made_up_event" }), 200],
      ["a 4 MB signed comment", () => post(env, JSON.stringify(comment), { "x-github-event": "issue_comment" }), 200],
      ["a 4 MB body with a bad signature", () => post(env, JSON.stringify(comment), { "x-github-event": "issue_comment", "x-hub-signature-256": signWebhookBody("wrong", "x") }), 400],
    ];
    const answers: string[] = [];
    for (const [what, send] of cases) answers.push(`${what}: ${(await send()).status}`);
    expect(answers).toEqual(cases.map(([what, , status]) => `${what}: ${status}`));

    // The last refusal's line is there: every line of these deliveries has arrived.
    await env.github.waitFor(() => env.atoll.logs().slice(from).filter((l) => l.includes("signature does not match")).length >= 2 || undefined, { what: "the refusals' log lines" });
    const lines = env.atoll.logs().slice(from);
    for (const l of lines) {
      expect(l.length).toBeLessThan(8_192);
      expect(l).not.toContain("xxxxxxxxxxxxxxxx");
    }
    const parsed = jsonLines(lines);
    // Refusals are the sender's problem: warn, never error. (Jobs the previous test's example
    // payloads queued, for repositories the fake GitHub lacks, may still be failing meanwhile:
    // those lines carry a job id.)
    expect(parsed.filter((l) => (l.level ?? 0) >= 50 && l.job === undefined).map((l) => l.msg)).toEqual([]);
    expect(parsed.filter((l) => l.msg === "webhook not acted on").map((l) => l.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/null/), expect.stringMatching(/no installation/), expect.stringMatching(/no `issue`/), expect.stringMatching(/no `pull_request`/)]),
    );
    // The server is still up and answers GitHub.
    expect((await fetch(`${env.atoll.url}/ping`)).status).toBe(200);
  }, 120_000);

  test("removed from the repository with a locked pull request: the lock is released; added back, a second pull request on the same directory plans", async () => {
    await env.repo.commit("net-a", { "net/main.tf": pgTf("net", ["base", "a"]) }, "net a", { from: "main" });
    const pr1 = await env.github.createPull(OWNER, REPO, { number: 1, head: "net-a", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pr1, "opened"));
    expect((await completedRun(env, pr1.headSha, "atoll/plan: net")).conclusion).toBe("success");
    expect(env.query("SELECT pull_number FROM locks WHERE project_dir = 'net'")).toEqual([{ pull_number: 1 }]);

    const from = env.atoll.logs().length;
    const removed = await env.atoll.send(installationRepositoriesEvent("removed", { owner: OWNER, repo: REPO }));
    expect(removed.status).toBe(200);
    const line = await waitLine(env, from, /forgot the repositories/);
    expect(line).toMatchObject({ level: 30, msg: expect.stringMatching(/removed from the App's installation/), locksReleased: [`${OWNER}/${REPO} net#1`] });
    expect(env.query("SELECT * FROM locks")).toEqual([]);
    expect(env.query("SELECT * FROM project_states WHERE pull_number = 1")).toEqual([]);

    expect((await env.atoll.send(installationRepositoriesEvent("added", { owner: OWNER, repo: REPO }))).status).toBe(200);
    await env.repo.commit("net-b", { "net/main.tf": pgTf("net", ["base", "b"]) }, "net b", { from: "main" });
    const pr2 = await env.github.createPull(OWNER, REPO, { number: 2, head: "net-b", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pr2, "opened"));
    expect((await completedRun(env, pr2.headSha, "atoll/plan: net")).conclusion).toBe("success");
    expect(appComments(env, 2).map((c) => c.body).join("\n")).not.toMatch(/locked by #1/);
    expect(env.query("SELECT pull_number FROM locks WHERE project_dir = 'net'")).toEqual([{ pull_number: 2 }]);
  }, 180_000);

  test("a renamed repository keeps the lock with its pull request: a pull request under the new name is told who holds it", async () => {
    await env.repo.commit("app-a", { "app/main.tf": pgTf("app", ["base", "a"]) }, "app a", { from: "main" });
    const pr3 = await env.github.createPull(OWNER, REPO, { number: 3, head: "app-a", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pr3, "opened"));
    expect((await completedRun(env, pr3.headSha, "atoll/plan: app")).conclusion).toBe("success");

    // GitHub renames acme/infra to acme/platform; the fake serves the same history under the new name.
    const NEW = "platform";
    const repositoryId = repositoryIdFor(OWNER, REPO);
    const renamed = await env.github.createRepo(OWNER, NEW);
    await renamed.git(["fetch", "--quiet", env.repo.path, "+refs/heads/*:refs/heads/*"]);
    const newOpts = { owner: OWNER, repo: NEW, htmlBase: env.github.url, apiBase: env.github.apiUrl, cloneUrl: renamed.cloneUrl, installationId: 1, repositoryId };
    const pr3there = await env.github.createPull(OWNER, NEW, { number: 3, head: "app-a", base: "main", author: "alice" });
    expect(pr3there.headSha).toBe(pr3.headSha);

    const from = env.atoll.logs().length;
    const r = await env.atoll.send(repositoryEvent("renamed", { ...newOpts, from: { repo: REPO } }));
    expect(r.status).toBe(200);
    expect(await waitLine(env, from, /repository renamed: locks, plans and jobs follow it/)).toMatchObject({ from: `${OWNER}/${REPO}`, to: `${OWNER}/${NEW}`, locks: 2 }); // app#3, and net#2 of the test before
    expect(env.query("SELECT owner, repo, pull_number FROM locks WHERE project_dir = 'app'")).toEqual([{ owner: OWNER, repo: NEW, pull_number: 3 }]);

    await renamed.commit("app-b", { "app/main.tf": pgTf("app", ["base", "b"]) }, "app b", { from: "main" });
    const pr4 = await env.github.createPull(OWNER, NEW, { number: 4, head: "app-b", base: "main", author: "alice" });
    await env.atoll.send(pullRequestEventFor("opened", pr4, newOpts));
    const told = await env.github.waitFor(() => env.github.comments(OWNER, NEW, 4).find((c) => c.byApp && /locked by #3/.test(c.body)), {
      what: "lock comment on the renamed repository's #4",
      context: () => logTail(env),
    });
    expect(told.body).toContain("#1 in line");
    expect(env.query("SELECT owner, repo, pull_number FROM waiters")).toEqual([{ owner: OWNER, repo: NEW, pull_number: 4 }]);
    // Nothing is left under the old name.
    expect(env.query("SELECT * FROM locks WHERE repo = ?", REPO)).toEqual([]);
  }, 180_000);
});
