/**
 * `GET /metrics` of the loaded app (the handler it adds next to `/healthz`), over a real HTTP
 * server: the bearer token, then a webhook delivered through Probot with real terraform and
 * strictly mocked GitHub moves the webhook, job, GitHub-request and lock families.
 */
import { createServer, type Server } from "node:http";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { issueCommentEvent } from "../helpers/events.js";
import { GitHubNock } from "../helpers/github-nock.js";
import { startAppHarness, type AppHarness } from "../helpers/app-harness.js";
import { useStrictNock } from "../helpers/strict-nock.js";

const SHA1 = "1".repeat(40);
const MAIN_TF = `resource "terraform_data" "web" {\n  input = "v1"\n}\n`;
const TOKEN = "metrics-token-for-tests";

/** `name{labels} value` samples of a scrape (counters and gauges), by their series text. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const family of parsePrometheusTextFormat(text)) {
    if (family.type === "HISTOGRAM") continue;
    for (const m of family.metrics) {
      const labels = Object.entries(m.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join(",");
      out.set(labels ? `${family.name}{${labels}}` : family.name, Number(m.value));
    }
  }
  return out;
}

describe("/metrics of the app", () => {
  useStrictNock({ allowLocalhost: true });
  let h: AppHarness;
  let server: Server;
  let url: string;
  beforeEach(async () => {
    h = await startAppHarness({ files: { [SHA1]: { "week2/main.tf": MAIN_TF } }, env: { ATOLL_METRICS_TOKEN: TOKEN } });
    server = createServer((req, res) => {
      void (async () => {
        for (const handler of h.handlers) if (await handler(req, res)) return;
        res.writeHead(404).end();
      })();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;
  });
  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await h.dispose();
    expect(h.jobErrors).toEqual([]);
  });

  const scrape = async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  test("401 without the token or with a wrong one; 200 with it", async () => {
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
    const wrong = await fetch(url, { headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
    const text = await scrape();
    expect(text).toContain("# TYPE atoll_webhooks_received_total counter");
    expect(samples(text).get("atoll_jobs_queued")).toBe(0);
    expect(samples(text).get("atoll_locks_held")).toBe(0);
    // /healthz is still there next to it.
    expect((await fetch(url.replace("/metrics", "/healthz"))).status).toBe(200);
  });

  test("a delivered comment command moves the webhook, job, GitHub and lock families", async () => {
    const before = samples(await scrape());
    expect(before.get('atoll_webhooks_received_total{event="issue_comment"}')).toBeUndefined();

    const gh = new GitHubNock();
    // Every mocked GitHub answer carries a rate-limit header, as GitHub's do.
    gh.scope.defaultReplyHeaders({ "x-ratelimit-remaining": "4987", "x-ratelimit-resource": "core" });
    gh.tokens(1);
    gh.reaction(77);
    gh.pull({ number: 1, headSha: SHA1 }).rootListing(SHA1, ["week2"]).reviews(1);
    gh.createCheckRuns(3);
    gh.updateCheckRuns(1);
    const comments = gh.comments(1);
    await h.deliver(issueCommentEvent({ body: "atlantis plan -d week2", number: 1, user: "alice", commentId: 77 }));
    expect(comments[0].body).toContain("Plan: 1 to add");

    const text = await scrape();
    const after = samples(text);
    expect(after.get('atoll_webhooks_received_total{event="issue_comment"}')).toBe(1);
    expect(text).toMatch(/^atoll_webhook_ack_duration_seconds_count\{event="issue_comment"\} 1$/m);
    expect(after.get('atoll_jobs_finished_total{command="plan",result="succeeded"}')).toBe(1);
    expect(after.get('atoll_jobs_finished_total{command="react",result="succeeded"}')).toBe(1);
    expect(text).toMatch(/^atoll_job_duration_seconds_count\{command="plan"\} 1$/m);
    expect(after.get("atoll_jobs_running")).toBe(0);
    expect(after.get("atoll_jobs_queued")).toBe(0);
    expect(after.get("atoll_processes_running")).toBe(0);
    // The plan took the project's lock.
    expect(after.get("atoll_locks_held")).toBe(1);
    // Every mocked request: reads (pull, contents, reviews), writes (token, reaction, 3 check runs, comment).
    expect(after.get('atoll_github_requests_total{method="GET",status="2xx"}')).toBe(3);
    expect(after.get('atoll_github_requests_total{method="POST",status="2xx"}')).toBe(6);
    expect(after.get('atoll_github_requests_total{method="PATCH",status="2xx"}')).toBe(1);
    expect(after.get('atoll_github_rate_limit_remaining{installation="1",resource="core"}')).toBe(4987);
    // No user input in the text: not the user, the repo, the dir or the comment.
    for (const s of ["alice", "Hello-World", "Codertocat", "week2"]) expect(text).not.toContain(s);
  });
});
