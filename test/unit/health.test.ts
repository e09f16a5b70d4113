/** `/healthz` and `/readyz` over a real HTTP server, with a store that is ready, broken or slow. */
import { createServer, type Server } from "node:http";
import { createHealthHandler, type HealthOptions } from "../../src/health.js";

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(opts: Partial<HealthOptions> & Pick<HealthOptions, "store">): Promise<string> {
  const handler = createHealthHandler({ role: "all", replica: "r1", draining: () => false, ...opts });
  server = createServer((req, res) => {
    void Promise.resolve(handler(req, res)).then((handled) => {
      if (!handled) res.writeHead(404).end("not mine");
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(server!.address() as { port: number }).port}`;
}

const ready = { checkReady: async () => undefined };

test("healthz is 200 while the process runs; readyz is 200 when the database is ready", async () => {
  const url = await serve({ store: ready, role: "worker", replica: "w-2" });
  const health = await fetch(`${url}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: "ok", role: "worker", replica: "w-2" });
  const readiness = await fetch(`${url}/readyz?verbose=1`);
  expect(readiness.status).toBe(200);
  expect(readiness.headers.get("cache-control")).toBe("no-store");
  expect(await readiness.json()).toEqual({ status: "ready", role: "worker", replica: "w-2" });
});

test("readyz is 503 with the reason when the database fails, is slow, or the replica drains", async () => {
  let draining = false;
  const broken = await serve({
    store: { checkReady: async () => Promise.reject(new Error("the database lacks migrations 0002_replicas")) },
    draining: () => draining,
  });
  const res = await fetch(`${broken}/readyz`);
  expect(res.status).toBe(503);
  expect(await res.json()).toMatchObject({ status: "not ready", reason: "the database lacks migrations 0002_replicas" });
  expect((await fetch(`${broken}/healthz`)).status).toBe(200); // alive, just not ready
  draining = true;
  expect(await (await fetch(`${broken}/readyz`)).json()).toMatchObject({ status: "draining" });
  await new Promise<void>((r) => server!.close(() => r()));

  const slow = await serve({ store: { checkReady: () => new Promise(() => undefined) }, timeoutMs: 50 });
  const timedOut = await fetch(`${slow}/readyz`);
  expect(timedOut.status).toBe(503);
  expect((await timedOut.json()).reason).toContain("did not answer within 50 ms");
});

test("other paths are left to the next handler; other methods are refused", async () => {
  const url = await serve({ store: ready });
  expect(await (await fetch(`${url}/api/github/webhooks`, { method: "POST" })).text()).toBe("not mine");
  expect((await fetch(`${url}/readyz`, { method: "POST" })).status).toBe(405);
  expect((await fetch(`${url}/readyz`, { method: "HEAD" })).status).toBe(200);
});
