/**
 * The Lambda webhook receiver (`lib/lambda.js`, built with @probot/adapter-aws-lambda-serverless)
 * end to end: the built handler, loaded once in a stand-in for the Lambda runtime
 * (`test/fixtures/lambda-host.mjs`), receives the events AWS would hand it — API Gateway HTTP API
 * (2.0), Lambda Function URL and REST API (1.0) shapes, plain and base64 bodies — and stores
 * jobs in a real PostgreSQL database, where a real worker replica (`ATOLL_ROLE=worker`) picks
 * them up and plans with real terraform against the fake GitHub. Bad requests are answered 4xx,
 * never 5xx, and store nothing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { PullRecord } from "../fake-github/state.js";
import { REPO_ROOT, scrubbedEnv } from "../helpers/atoll-process.js";
import { githubRequest, lambdaEvent, type LambdaShape, type RequestSpec } from "../helpers/lambda-events.js";
import { signWebhookBody } from "../helpers/webhook-sender.js";
import { OWNER, REPO, appComments, completedRun, expectCleanGitHub, pgTf as tf, startE2eEnv, waitComment, type E2eEnv } from "./e2e-env.js";

interface LambdaResult {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

/** The Lambda runtime stand-in: one warm execution environment. */
interface LambdaHost {
  invoke(event: Record<string, unknown>): Promise<LambdaResult>;
  logs(): string[];
  stop(): Promise<void>;
}

async function startLambdaHost(env: Record<string, string>): Promise<LambdaHost> {
  const child: ChildProcess = spawn(process.execPath, [`${REPO_ROOT}/test/fixtures/lambda-host.mjs`, REPO_ROOT], {
    env: { ...scrubbedEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the lambda host did not start:\n${lines.join("\n")}`)), 30_000);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
        lines.push(line);
        const m = /^lambda host listening (\d+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (c: Buffer) => lines.push(...c.toString("utf8").split("\n").filter(Boolean).map((l) => `[stderr] ${l}`)));
    child.once("exit", (code) => reject(new Error(`the lambda host exited (${code}):\n${lines.join("\n")}`)));
  });
  return {
    async invoke(event) {
      const res = await fetch(`http://127.0.0.1:${port}/invoke`, { method: "POST", body: JSON.stringify(event) });
      const out = (await res.json()) as { result?: LambdaResult; functionError?: string };
      if (out.functionError) throw new Error(`the function failed (Lambda would report an error, API Gateway a 502): ${out.functionError}`);
      return out.result!;
    },
    logs: () => [...lines],
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
      }
    },
  };
}

describe("webhooks on AWS Lambda, jobs on a worker replica", () => {
  let env: E2eEnv;
  let lambda: LambdaHost;
  let pr: PullRecord;

  const jobCount = async () => Number((await env.sql<{ n: string }>("SELECT count(*) AS n FROM jobs"))[0].n);
  const deliveryCount = async () => Number((await env.sql<{ n: string }>("SELECT count(*) AS n FROM deliveries"))[0].n);
  const request = (event: { name: string; id: string; payload: unknown }, opts?: Parameters<typeof githubRequest>[2]) =>
    githubRequest(env.github.webhookSecret, event, opts);
  const send = (shape: LambdaShape, req: RequestSpec) => lambda.invoke(lambdaEvent(shape, req));

  beforeAll(async () => {
    env = await startE2eEnv({ replicas: [{ role: "worker" }], env: { ATOLL_LOCK_SWEEP_INTERVAL: "1h" } });
    await env.repo.commit("main", { "net/main.tf": tf("lambdanet", ["base"]) }, "initial");
    lambda = await startLambdaHost({
      APP_ID: String(env.github.appId),
      PRIVATE_KEY: env.github.appPrivateKey!,
      WEBHOOK_SECRET: env.github.webhookSecret,
      GHE_HOST: env.github.host,
      GHE_PROTOCOL: "http",
      ATOLL_DATABASE_URL: env.databaseUrl!,
      LOG_FORMAT: "json",
      NODE_ENV: "production",
    });
  }, 180_000);
  afterAll(async () => {
    await lambda?.stop();
    await env?.stop();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("API Gateway HTTP API (2.0): a signed pull_request is stored before the answer, and the worker plans it", async () => {
    await env.repo.commit("net-a", { "net/main.tf": tf("lambdanet", ["base", "a"]) }, "change net", { from: "main" });
    pr = await env.github.createPull(OWNER, REPO, { number: 1, head: "net-a", base: "main", author: "alice" });
    const event = env.pullEvent(pr, "opened");
    const res = await send("http-api-v2", request(event));
    expect(res).toMatchObject({ statusCode: 200, body: JSON.stringify({ ok: true }) });
    // Persisted before the answer: the job is in the database now.
    const stored = await env.sql<{ kind: string; status: string }>("SELECT spec::json->>'kind' AS kind, status FROM jobs");
    expect(stored.map((j) => j.kind)).toEqual(["autoplan"]);
    expect(await env.sql("SELECT id FROM deliveries")).toEqual([{ id: event.id }]);

    const run = await completedRun(env, pr.headSha, "atoll/plan: net");
    expect(run.conclusion).toBe("success");
    expect(run.output.title).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
    const comment = await waitComment(env, 1, /Ran Plan/, "plan comment");
    expect(comment.body).toContain("terraform_data.a");
    // Run by the worker replica (its check runs are written after the comment).
    const ran = await env.github.waitFor(
      async () => {
        const rows = await env.sql<{ replica: string; status: string }>("SELECT replica, status FROM jobs WHERE spec::json->>'kind' = 'autoplan'");
        return rows.every((r) => r.status !== "running") ? rows : undefined;
      },
      { what: "the autoplan job finished" },
    );
    expect(ran).toEqual([{ replica: "r1", status: "succeeded" }]);
  }, 120_000);

  test("Lambda Function URL with a base64 body: a comment command is stored and run by the worker", async () => {
    const before = appComments(env, 1).length;
    const jobsBefore = await jobCount();
    const res = await send("function-url", { ...request(env.comment(pr, "alice", "atoll plan -d net")), base64: true });
    expect(res.statusCode).toBe(200);
    expect(await jobCount()).toBe(jobsBefore + 2); // the eyes reaction and the command
    const again = await waitComment(env, 1, /Ran Plan/, "plan comment from the Function URL", before);
    expect(again.body).toContain("Plan: 2 to add");
  }, 120_000);

  test("API Gateway REST API (1.0) with headers as GitHub spells them, and a redelivery stored once", async () => {
    const event = env.comment(pr, "alice", "atoll version");
    const jobsBefore = await jobCount();
    const first = await send("rest-api-v1", request(event));
    expect(first.statusCode).toBe(200);
    expect(await jobCount()).toBe(jobsBefore + 2);
    // GitHub's "Redeliver": the same delivery id again, base64 this time.
    const redelivery = await send("rest-api-v1", { ...request(event), base64: true });
    expect(redelivery.statusCode).toBe(200);
    expect(await jobCount()).toBe(jobsBefore + 2);
    await waitComment(env, 1, /Terraform v\d/, "version reply");
  }, 120_000);

  test("bad requests get 4xx, never 5xx, and store nothing", async () => {
    const event = env.pullEvent(pr, "synchronize");
    const jobs = await jobCount();
    const deliveries = await deliveryCount();
    const notJson = { ...request(event), body: "{not json" };
    notJson.headers = { ...notJson.headers, "X-Hub-Signature-256": signWebhookBody(env.github.webhookSecret, notJson.body) };
    const cases: [string, LambdaShape, RequestSpec, number][] = [
      ["a wrong signature", "http-api-v2", request(event, { signature: `sha256=${"0".repeat(64)}` }), 400],
      ["a signature made with another secret", "function-url", githubRequest("not-the-secret", event), 400],
      ["a body changed after signing", "rest-api-v1", { ...request(event), body: JSON.stringify({ ...(event.payload as object), action: "closed" }) }, 400],
      ["no signature header", "http-api-v2", request(event, { omit: ["X-Hub-Signature-256"] }), 400],
      ["no event header", "function-url", request(event, { omit: ["X-GitHub-Event"] }), 400],
      ["a correctly signed body that is not JSON", "http-api-v2", notJson, 400],
      ["a GET", "function-url", { ...request(event), method: "GET", body: "" }, 405],
    ];
    for (const [what, shape, req, status] of cases) {
      const res = await send(shape, req);
      expect({ what, status: res.statusCode }).toEqual({ what, status });
      expect(res.body).not.toContain(env.github.webhookSecret);
    }
    expect(await jobCount()).toBe(jobs);
    expect(await deliveryCount()).toBe(deliveries);
    // The function still works after all of that.
    const ok = await send("http-api-v2", request({ name: "ping", id: "ping-1", payload: { zen: "Design for failure.", hook_id: 1 } }));
    expect(ok.statusCode).toBe(200);
    // Refusals are logged as one short line each, never with the payload (the logger writes
    // asynchronously: wait for the last line before counting).
    const refusals = () => lambda.logs().filter((l) => l.includes("webhook refused"));
    await env.github.waitFor(() => (refusals().length >= cases.length ? true : undefined), { what: "every refusal logged", timeoutMs: 5_000 }).catch(() => undefined);
    expect(refusals()).toHaveLength(cases.length);
    expect(Math.max(...lambda.logs().map((l) => l.length))).toBeLessThan(4096);
  }, 60_000);

  test("misconfigured: no database, or one it cannot reach — every invocation answers 500 saying why, without the password", async () => {
    const base = {
      APP_ID: String(env.github.appId),
      PRIVATE_KEY: env.github.appPrivateKey!,
      WEBHOOK_SECRET: env.github.webhookSecret,
      GHE_HOST: env.github.host,
      GHE_PROTOCOL: "http",
      LOG_FORMAT: "json",
    };
    const event = lambdaEvent("function-url", request(env.pullEvent(pr, "synchronize")));
    for (const [extra, reason] of [
      [{}, "needs ATOLL_DATABASE_URL"],
      [{ ATOLL_DATABASE_URL: "postgres://atoll:s3cret-pw@127.0.0.1:1/atoll" }, "PostgreSQL store postgres://atoll:***@127.0.0.1:1/atoll"],
    ] as const) {
      const broken = await startLambdaHost({ ...base, ...extra });
      try {
        for (let i = 0; i < 2; i++) {
          const res = await broken.invoke(event);
          expect(res.statusCode).toBe(500);
          expect(JSON.parse(res.body).error).toContain(reason);
          expect(res.body).not.toContain("s3cret-pw");
        }
        expect(broken.logs().join("\n")).not.toContain("s3cret-pw");
      } finally {
        await broken.stop();
      }
    }
  }, 60_000);
});
