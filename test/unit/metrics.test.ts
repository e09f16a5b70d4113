/**
 * Prometheus metrics: every family through a real scrape parsed as Prometheus text, with a fake
 * store, a fake webhooks object and a real Octokit on a stubbed `fetch`; a failing or hanging
 * store still scrapes; label values never carry user input; and `GET /metrics` over a real HTTP
 * server, with and without the bearer token.
 */
import { createServer, type Server } from "node:http";
import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";
import { ProbotOctokit } from "probot";
import { register as globalRegistry } from "prom-client";
import { runProcess, runningProcessGroups } from "../../src/adapters/run-process.js";
import type { JobSpec } from "../../src/jobs/job-spec.js";
import { createMetrics, createMetricsHandler, jobCommandLabel, webhookEventLabel, type Metrics, type MetricsOptions } from "../../src/metrics.js";
import { AUTOPLAN_SPEC, COMMAND_SPEC, REVIEW_SPEC, TARGET } from "../helpers/store-fixtures.js";

const okStore: MetricsOptions["store"] = { countJobs: async () => 3, countLocks: async () => 2 };

async function scrape(metrics: Pick<Metrics, "scrape">): Promise<Map<string, ParsedFamily>> {
  const { body, contentType } = await metrics.scrape();
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = new Map(parsePrometheusTextFormat(body).map((f) => [f.name, f]));
  // The parser folds a histogram's labelled series into one: parsed again without the histogram
  // TYPE lines, its `_bucket`, `_sum` and `_count` samples keep their labels (as UNTYPED
  // families, one per run of lines: merged here).
  for (const f of parsePrometheusTextFormat(body.replace(/^# TYPE \S+ histogram$/gm, ""))) {
    if (!/_(bucket|sum|count)$/.test(f.name) || families.get(f.name.replace(/_(bucket|sum|count)$/, ""))?.type !== "HISTOGRAM") continue;
    const seen = families.get(f.name);
    families.set(f.name, seen ? { ...seen, metrics: [...seen.metrics, ...f.metrics] } : f);
  }
  return families;
}

/** The value of the sample with exactly these labels (undefined when there is none). */
function sample(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): string | undefined {
  const family = families.get(name);
  return family?.metrics.find((m) => JSON.stringify(m.labels ?? {}) === JSON.stringify(labels))?.value;
}

/** A labelled histogram series: its count and its cumulative buckets by upper bound. */
function histogram(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string>) {
  const count = sample(families, `${name}_count`, labels);
  if (count === undefined) return undefined;
  const buckets: Record<string, string> = {};
  for (const m of families.get(`${name}_bucket`)!.metrics) {
    const { le, ...rest } = m.labels ?? {};
    if (JSON.stringify(rest) === JSON.stringify(labels)) buckets[le] = m.value!;
  }
  return { count, sum: sample(families, `${name}_sum`, labels), buckets };
}

/** A fake `Webhooks`: `verifyAndReceive` refuses a bad signature as @octokit/webhooks does (status 400). */
function fakeWebhooks(handler: (name: string) => Promise<void> = async () => undefined) {
  return {
    receive: async (event: { name: string }) => handler(event.name),
    verifyAndReceive: async (event: { name: string; signature: string }) => {
      if (event.signature !== "good") throw new AggregateError([Object.assign(new Error("signature does not match"), { status: 400 })], "signature does not match");
      await handler(event.name);
    },
  };
}

/** A real Probot Octokit whose HTTP goes to `respond`. */
function octokitAnswering(respond: (url: string, init: RequestInit) => Promise<Response>) {
  return new ProbotOctokit({
    auth: { token: "test-token" },
    retry: { enabled: false },
    throttle: { enabled: false },
    request: { fetch: (url: string, init: RequestInit) => respond(url, init) },
  });
}

const planButton: JobSpec = {
  ...TARGET,
  kind: "check-run",
  action: "apply",
  via: "button",
  checkRun: { id: 9, name: "atoll/plan: envs/prod", headSha: "a".repeat(40), isPlanRun: true },
};

describe("createMetrics", () => {
  test("every family, with its type, labels and values, in one scrape", async () => {
    const metrics = createMetrics({ store: okStore, runningProcesses: () => 1 });

    // Webhooks: counted and timed by event; refused deliveries are not; unknown events are "other".
    const webhooks = fakeWebhooks(async (name) => {
      if (name === "check_run") throw Object.assign(new Error("database down"), { status: 500 });
    });
    metrics.instrumentWebhooks(webhooks);
    metrics.instrumentWebhooks(webhooks); // once only
    await webhooks.receive({ name: "issue_comment" });
    await webhooks.verifyAndReceive({ name: "issue_comment", signature: "good" });
    await webhooks.verifyAndReceive({ name: "pull_request", signature: "good" });
    await expect(webhooks.verifyAndReceive({ name: "pull_request", signature: "forged" })).rejects.toThrow("signature");
    await expect(webhooks.verifyAndReceive({ name: "check_run", signature: "good" })).rejects.toThrow("database down");
    await webhooks.receive({ name: "made_up_event<script>" });

    // Jobs: by command and result; one still running.
    metrics.jobStarted(COMMAND_SPEC).finish("succeeded");
    const autoplan = metrics.jobStarted(AUTOPLAN_SPEC);
    autoplan.finish("failed");
    autoplan.finish("succeeded"); // ignored: finished once
    metrics.jobStarted(planButton).finish("interrupted");
    metrics.jobFinished(REVIEW_SPEC, "interrupted"); // adopted, reported here: counted, not timed
    metrics.jobStarted(COMMAND_SPEC); // running

    // GitHub: a real Octokit, a 200 with rate-limit headers, a 404, a 502 and no answer at all.
    const octokit = octokitAnswering(async (url) => {
      if (url.endsWith("/pulls/1")) return new Response("{}", { status: 200, headers: { "content-type": "application/json", "x-ratelimit-remaining": "4321", "x-ratelimit-resource": "core" } });
      if (url.endsWith("/graphql")) return new Response('{"data":{}}', { status: 200, headers: { "content-type": "application/json", "x-ratelimit-remaining": "4999", "x-ratelimit-resource": "graphql" } });
      if (url.endsWith("/pulls/2")) return new Response('{"message":"Not Found"}', { status: 404, headers: { "content-type": "application/json", "x-ratelimit-remaining": "4320" } });
      if (url.endsWith("/pulls/3")) return new Response("bad gateway", { status: 502 });
      throw new TypeError("fetch failed");
    });
    metrics.instrumentOctokit(octokit, 77);
    metrics.instrumentOctokit(octokit, 77); // once only
    await octokit.rest.pulls.get({ owner: "acme", repo: "infra", pull_number: 1 });
    await octokit.graphql("query { viewer { login } }");
    await expect(octokit.rest.pulls.get({ owner: "acme", repo: "infra", pull_number: 2 })).rejects.toMatchObject({ status: 404 });
    await expect(octokit.rest.pulls.get({ owner: "acme", repo: "infra", pull_number: 3 })).rejects.toMatchObject({ status: 502 });
    await expect(octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { owner: "acme", repo: "infra", issue_number: 4, body: "x" })).rejects.toThrow();

    const f = await scrape(metrics);
    const types = Object.fromEntries(
      [
        "atoll_webhooks_received_total",
        "atoll_webhook_ack_duration_seconds",
        "atoll_jobs_finished_total",
        "atoll_job_duration_seconds",
        "atoll_jobs_queued",
        "atoll_jobs_running",
        "atoll_processes_running",
        "atoll_locks_held",
        "atoll_github_requests_total",
        "atoll_github_rate_limit_remaining",
      ].map((n) => [n, f.get(n)?.type]),
    );
    expect(types).toEqual({
      atoll_webhooks_received_total: "COUNTER",
      atoll_webhook_ack_duration_seconds: "HISTOGRAM",
      atoll_jobs_finished_total: "COUNTER",
      atoll_job_duration_seconds: "HISTOGRAM",
      atoll_jobs_queued: "GAUGE",
      atoll_jobs_running: "GAUGE",
      atoll_processes_running: "GAUGE",
      atoll_locks_held: "GAUGE",
      atoll_github_requests_total: "COUNTER",
      atoll_github_rate_limit_remaining: "GAUGE",
    });
    for (const name of Object.keys(types)) expect(f.get(name)!.help.length).toBeGreaterThan(10);

    expect(f.get("atoll_webhooks_received_total")!.metrics).toEqual(
      expect.arrayContaining([
        { labels: { event: "issue_comment" }, value: "2" },
        { labels: { event: "pull_request" }, value: "1" },
        { labels: { event: "check_run" }, value: "1" },
        { labels: { event: "other" }, value: "1" },
      ]),
    );
    expect(f.get("atoll_webhooks_received_total")!.metrics).toHaveLength(4);
    const ack = histogram(f, "atoll_webhook_ack_duration_seconds", { event: "issue_comment" })!;
    expect(ack.count).toBe("2");
    // 1 ms to 5 s (object keys: integer-like ones come first).
    expect(Object.keys(ack.buckets).sort()).toEqual(["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"].sort());
    expect(ack.buckets["5"]).toBe("2"); // fakes answer at once

    expect(f.get("atoll_jobs_finished_total")!.metrics).toEqual(
      expect.arrayContaining([
        { labels: { command: "plan", result: "succeeded" }, value: "1" },
        { labels: { command: "autoplan", result: "failed" }, value: "1" },
        { labels: { command: "check-run apply", result: "interrupted" }, value: "1" },
        { labels: { command: "review", result: "interrupted" }, value: "1" },
      ]),
    );
    expect(f.get("atoll_jobs_finished_total")!.metrics).toHaveLength(4);
    expect(histogram(f, "atoll_job_duration_seconds", { command: "plan" })!.count).toBe("1");
    expect(histogram(f, "atoll_job_duration_seconds", { command: "autoplan" })!.count).toBe("1");
    expect(histogram(f, "atoll_job_duration_seconds", { command: "review" })).toBeUndefined();

    expect(sample(f, "atoll_jobs_queued")).toBe("3");
    expect(sample(f, "atoll_jobs_running")).toBe("1");
    expect(sample(f, "atoll_processes_running")).toBe("1");
    expect(sample(f, "atoll_locks_held")).toBe("2");

    expect(f.get("atoll_github_requests_total")!.metrics).toEqual(
      expect.arrayContaining([
        { labels: { method: "GET", status: "2xx" }, value: "1" },
        { labels: { method: "POST", status: "2xx" }, value: "1" },
        { labels: { method: "GET", status: "4xx" }, value: "1" },
        { labels: { method: "GET", status: "5xx" }, value: "1" },
        { labels: { method: "POST", status: "error" }, value: "1" },
      ]),
    );
    expect(f.get("atoll_github_requests_total")!.metrics).toHaveLength(5);
    // The latest answer of each resource wins; a 404 carries the header too.
    expect(sample(f, "atoll_github_rate_limit_remaining", { installation: "77", resource: "core" })).toBe("4320");
    expect(sample(f, "atoll_github_rate_limit_remaining", { installation: "77", resource: "graphql" })).toBe("4999");

    // Node.js and process metrics, prefixed.
    expect(f.get("atoll_process_cpu_user_seconds_total")?.type).toBe("COUNTER");
    expect(f.get("atoll_nodejs_heap_size_used_bytes")?.type).toBe("GAUGE");
  });

  test("a failing or hanging store still scrapes: its gauges are NaN, everything else is there", async () => {
    let down = true;
    const metrics = createMetrics({
      store: {
        countJobs: async () => (down ? Promise.reject(new Error("connection refused")) : 4),
        countLocks: () => (down ? new Promise<number>(() => undefined) : Promise.resolve(1)),
      },
      storeTimeoutMs: 50,
      defaultMetrics: false,
    });
    metrics.jobStarted(REVIEW_SPEC).finish("succeeded");
    const started = Date.now();
    const f = await scrape(metrics);
    expect(Date.now() - started).toBeLessThan(2_000);
    // prom-client writes NaN as `Nan` (Prometheus reads NaN in any case).
    expect(sample(f, "atoll_jobs_queued")).toMatch(/^nan$/i);
    expect(sample(f, "atoll_locks_held")).toMatch(/^nan$/i);
    expect(sample(f, "atoll_jobs_finished_total", { command: "review", result: "succeeded" })).toBe("1");
    expect(sample(f, "atoll_processes_running")).toBe("0");
    // The store answers again: so do the gauges.
    down = false;
    const again = await scrape(metrics);
    expect([sample(again, "atoll_jobs_queued"), sample(again, "atoll_locks_held")]).toEqual(["4", "1"]);
  });

  test("each object has its own registry; nothing goes to prom-client's global one", async () => {
    const a = createMetrics({ store: okStore });
    const b = createMetrics({ store: okStore });
    a.jobStarted(COMMAND_SPEC).finish("succeeded");
    expect(sample(await scrape(a), "atoll_jobs_finished_total", { command: "plan", result: "succeeded" })).toBe("1");
    expect((await scrape(b)).get("atoll_jobs_finished_total")!.metrics).toEqual([]);
    expect(a.registry).not.toBe(b.registry);
    expect(globalRegistry.getMetricsAsArray()).toEqual([]);
  });

  test("the running-processes gauge follows runProcess's process groups", async () => {
    const metrics = createMetrics({ store: okStore, runningProcesses: runningProcessGroups, defaultMetrics: false });
    let spawned!: () => void;
    const isSpawned = new Promise<void>((r) => (spawned = r));
    const run = runProcess({ file: "sleep", args: ["0.5"], env: { PATH: process.env.PATH ?? "" }, timeoutMs: 10_000, onSpawn: () => spawned() });
    await isSpawned;
    expect(sample(await scrape(metrics), "atoll_processes_running")).toBe("1");
    expect((await run).exitCode).toBe(0);
    expect(sample(await scrape(metrics), "atoll_processes_running")).toBe("0");
  });

  test("label values come from fixed lists, never from user input", async () => {
    const base = COMMAND_SPEC as Extract<JobSpec, { kind: "command" }>;
    const command = (c: string): JobSpec => ({ ...base, command: { ...base.command, command: c as never } });
    expect(["plan", "apply", "destroy", "unlock", "version", "cancel", "import", "state_rm", "rm -rf /"].map((c) => jobCommandLabel(command(c)))).toEqual([
      "plan",
      "apply",
      "destroy",
      "unlock",
      "version",
      "cancel",
      "import",
      "state rm",
      "other",
    ]);
    expect((["plan", "apply", "unlock", "refresh"] as const).map((action) => jobCommandLabel({ ...planButton, action, via: "re-run" }))).toEqual([
      "check-run plan",
      "check-run apply",
      "check-run unlock",
      "check-run refresh",
    ]);
    const kinds: JobSpec[] = [
      AUTOPLAN_SPEC,
      REVIEW_SPEC,
      { ...TARGET, kind: "cleanup", merged: true },
      { ...TARGET, kind: "lock-released", project: { name: "", dir: "a", workspace: "default" }, releasedBy: 3 },
      { ...TARGET, kind: "reply", commentId: 1, body: "usage" },
      { ...TARGET, kind: "react", commentId: 1 },
    ];
    expect(kinds.map(jobCommandLabel)).toEqual(["autoplan", "review", "cleanup", "lock-released", "reply", "react"]);
    expect(webhookEventLabel("pull_request_review")).toBe("pull_request_review");
    expect(webhookEventLabel(undefined)).toBe("other");

    // Nothing from the spec (user, repo, dir, extra args, comment) reaches the text.
    const metrics = createMetrics({ store: okStore, defaultMetrics: false });
    metrics.jobStarted({ ...COMMAND_SPEC, user: "mallory-user", owner: "secret-org" }).finish("failed");
    metrics.jobStarted({ ...TARGET, kind: "reply", commentId: 1, body: "reply-body-text" }).finish("succeeded");
    const { body } = await metrics.scrape();
    for (const s of ["mallory", "secret-org", "envs/prod", "a=b", "reply-body-text", "Infra"]) expect(body).not.toContain(s);
  });
});

describe("GET /metrics", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  async function serve(token?: string): Promise<string> {
    const metrics = createMetrics({ store: okStore, defaultMetrics: false });
    metrics.jobStarted(COMMAND_SPEC).finish("succeeded");
    const handler = createMetricsHandler({ metrics, ...(token ? { token } : {}) });
    server = createServer((req, res) => {
      void Promise.resolve(handler(req, res)).then((handled) => {
        if (!handled) res.writeHead(404).end("not mine");
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
    return `http://127.0.0.1:${(server!.address() as { port: number }).port}`;
  }

  test("without a token: 200 with the Prometheus text; other paths are left alone, other methods refused", async () => {
    const url = await serve();
    const res = await fetch(`${url}/metrics?x=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('atoll_jobs_finished_total{command="plan",result="succeeded"} 1');
    expect(parsePrometheusTextFormat(text).map((f) => f.name)).toContain("atoll_locks_held");
    expect(await (await fetch(`${url}/metricsz`)).text()).toBe("not mine");
    expect((await fetch(`${url}/metrics`, { method: "POST" })).status).toBe(405);
    const head = await fetch(`${url}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
  });

  test("with ATOLL_METRICS_TOKEN: 401 and a Bearer challenge unless the token matches", async () => {
    const url = await serve("s3cret-token");
    const none = await fetch(`${url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer realm="atoll"$/);
    expect(await none.text()).not.toContain("atoll_jobs");
    for (const authorization of ["Bearer wrong", "Bearer s3cret-token-and-more", "Bearer s3cret-toke", "Basic czNjcmV0LXRva2Vu", "s3cret-token", "Bearer "]) {
      const res = await fetch(`${url}/metrics`, { headers: { authorization } });
      expect([authorization, res.status]).toEqual([authorization, 401]);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
      expect(await res.text()).not.toContain("s3cret");
    }
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: "bearer s3cret-token" } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("atoll_jobs_finished_total");
  });
});
