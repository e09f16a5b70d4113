/**
 * The guard at the edge (src/handlers/webhook-guard.ts): which deliveries Atoll acts on, what the
 * others are answered and logged, and that no log line holds a payload. Property-based with
 * fast-check over arbitrary JSON and over mutations of GitHub's example payloads.
 */
import fc from "fast-check";
import { createRequire } from "node:module";
import { Webhooks } from "@octokit/webhooks";
import { checkDelivery, deliveryFields, FailedDeliveries, guardWebhookEdge, HANDLED_ACTIONS, middlewareLogger } from "../../src/handlers/webhook-guard.js";
import { boundedError, MAX_MESSAGE_CHARS } from "../../src/logs/bounded-log.js";
import { checkRunEvent, issueCommentEvent, pullRequestEvent, pullRequestReviewEvent } from "../helpers/events.js";
import { signWebhookBody } from "../helpers/webhook-sender.js";

type Payload = Record<string, unknown>;
const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: unknown[] }[];

const valid: { name: string; payload: Payload }[] = [
  { name: "pull_request", payload: pullRequestEvent("opened").payload as unknown as Payload },
  { name: "pull_request", payload: pullRequestEvent("closed", { merged: true }).payload as unknown as Payload },
  { name: "issue_comment", payload: issueCommentEvent({ body: "atoll plan" }).payload as unknown as Payload },
  { name: "pull_request_review", payload: pullRequestReviewEvent({ state: "approved", headSha: "a".repeat(40), reviewer: "bob" }).payload as unknown as Payload },
  { name: "check_run", payload: checkRunEvent("requested_action", { name: "atoll/plan: net", headSha: "b".repeat(40) }).payload as unknown as Payload },
];

/** A copy of `payload` with the value at `path` removed or replaced. */
function mutate(payload: Payload, path: string[], replacement: unknown, remove: boolean): Payload {
  const copy = structuredClone(payload);
  let node: unknown = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== "object" || node === null) return copy;
    node = (node as Payload)[key];
  }
  const last = path[path.length - 1];
  if (typeof node !== "object" || node === null || last === undefined) return replacement as Payload;
  if (remove) delete (node as Payload)[last];
  else (node as Payload)[last] = replacement;
  return copy;
}

/** Every key path of an object (objects and arrays), depth-first, at most `max`. */
function paths(node: unknown, prefix: string[] = [], out: string[][] = [], max = 400): string[][] {
  if (out.length >= max || typeof node !== "object" || node === null) return out;
  for (const key of Object.keys(node)) {
    out.push([...prefix, key]);
    paths((node as Payload)[key], [...prefix, key], out, max);
  }
  return out;
}

/** What a handler reads once the guard let a delivery through (as the handlers do). */
function readAsHandlerWould(name: string, payload: Payload): void {
  const p = payload as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const id: number = p.installation.id;
  if (typeof id !== "number") throw new Error("no installation id");
  if (name === "installation") (p.repositories ?? []).forEach((r: { full_name: string }) => r.full_name.split("/"));
  else if (name === "installation_repositories") p.repositories_removed.forEach((r: { full_name: string }) => r.full_name.split("/"));
  else {
    p.repository.full_name.split("/");
    p.repository.owner.login.toLowerCase();
  }
  if (name === "pull_request") {
    p.pull_request.head.sha.toLowerCase();
    p.pull_request.base.repo.full_name.toLowerCase();
    p.sender.login.toLowerCase();
  }
  if (name === "issue_comment") {
    p.comment.body.trim();
    p.sender.login.toLowerCase();
    void p.issue.number.toFixed();
  }
  if (name === "pull_request_review") void p.pull_request.number.toFixed();
  if (name === "check_run") p.check_run.head_sha.toLowerCase();
}

describe("checkDelivery", () => {
  test.each(valid.map((v) => [`${v.name}.${String(v.payload.action)}`, v] as const))("acts on a well-formed %s", (_n, v) => {
    expect(checkDelivery(v.name, v.payload)).toEqual({ act: true });
  });

  const pr = valid[0].payload;
  const comment = valid[2].payload;
  test.each<[string, string, unknown, "debug" | "warn", RegExp]>([
    ["null", "pull_request", null, "warn", /payload is null/],
    ["an array", "issue_comment", [], "warn", /an array/],
    ["a number", "check_run", 7, "warn", /a number/],
    ["a string", "pull_request", "hello", "warn", /a string/],
    ["only an action", "pull_request", { action: "opened" }, "warn", /names no installation/],
    ["no action", "pull_request", { installation: { id: 1 } }, "warn", /no action/],
    ["no installation", "pull_request", mutate(pr, ["installation"], null, true), "warn", /names no installation/],
    ["installation: null", "pull_request", mutate(pr, ["installation"], null, false), "warn", /names no installation/],
    ["an issue_comment without issue", "issue_comment", mutate(comment, ["issue"], null, true), "warn", /no `issue`/],
    ["a pull_request without pull_request", "pull_request", mutate(pr, ["pull_request"], null, true), "warn", /no `pull_request`/],
    ["a head without sha", "pull_request", mutate(pr, ["pull_request", "head", "sha"], null, true), "warn", /\/pull_request\/head: no `sha`/],
    ["a number that is a string", "pull_request", mutate(pr, ["pull_request", "number"], "1", false), "warn", /\/pull_request\/number: must be integer/],
    ["a comment body that is not text", "issue_comment", mutate(comment, ["comment", "body"], 5, false), "warn", /\/comment\/body: must be string/],
    ["a repository full_name without owner", "pull_request", mutate(pr, ["repository", "full_name"], "infra", false), "warn", /full_name/],
    ["an action Atoll does not act on", "pull_request", { ...pr, action: "labeled" }, "debug", /does not act on pull_request\.labeled/],
    ["an event Atoll does not act on", "push", { ref: "refs/heads/main" }, "debug", /does not act on push events/],
    ["an unknown event", "made_up_event", {}, "debug", /does not act on made_up_event/],
  ])("%s is not acted on", (_what, name, payload, level, reason) => {
    const verdict = checkDelivery(name, payload);
    expect(verdict).toEqual({ act: false, level, reason: expect.stringMatching(reason) });
  });

  test("every payload of @octokit/webhooks-examples: a verdict, never a throw; acted on only with an installation and what Atoll reads", () => {
    const acted: string[] = [];
    for (const e of examples) {
      for (const payload of e.examples as Payload[]) {
        const verdict = checkDelivery(e.name, payload);
        if (!verdict.act) continue;
        acted.push(`${e.name}.${String(payload.action)}`);
        expect(payload.installation).toBeDefined();
        expect(() => readAsHandlerWould(e.name, payload)).not.toThrow();
      }
    }
    // The examples Atoll acts on: those of its events and actions that come from an installation.
    expect(acted.sort()).toEqual(
      expect.arrayContaining(["check_run.requested_action", "installation.deleted", "installation.suspend", "installation_repositories.removed", "pull_request.opened", "repository.renamed"]),
    );
    for (const a of acted) expect(HANDLED_ACTIONS[a.split(".")[0]]).toContain(a.split(".")[1]);
  });

  test("property: any JSON value under any handled event gets a verdict, never a throw (10,000 runs)", () => {
    const names = Object.keys(HANDLED_ACTIONS);
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.jsonValue(), (name, payload) => {
        const verdict = checkDelivery(name, payload);
        expect(typeof verdict.act).toBe("boolean");
        if (verdict.act) readAsHandlerWould(name, payload as Payload);
        deliveryFields("d", name, payload);
      }),
      { numRuns: 10_000 },
    );
  });

  test("property: a well-formed payload with one field removed or replaced is acted on only if a handler can still read it (10,000 runs)", () => {
    const cases = valid.map((v) => ({ ...v, paths: paths(v.payload) }));
    fc.assert(
      fc.property(
        fc.constantFrom(...cases).chain((c) => fc.tuple(fc.constant(c), fc.constantFrom(...c.paths))),
        fc.oneof(fc.constant(null), fc.constant(undefined), fc.string({ maxLength: 5 }), fc.integer(), fc.boolean(), fc.constant({}), fc.constant([])),
        fc.boolean(),
        ([c, path], replacement, remove) => {
          const payload = mutate(c.payload, path, replacement, remove);
          const verdict = checkDelivery(c.name, payload);
          if (verdict.act) readAsHandlerWould(c.name, payload);
          else expect(verdict.reason.length).toBeLessThan(500);
        },
      ),
      { numRuns: 10_000 },
    );
  });
});

describe("deliveryFields", () => {
  test("delivery id, event, action, repository, PR and installation; never the payload", () => {
    const fields = deliveryFields("abc", "issue_comment", comment4mb());
    expect(fields).toEqual({ delivery: "abc", event: "issue_comment", action: "created", repo: "Codertocat/Hello-World", pull: 1, installation: 1 });
    expect(JSON.stringify(fields).length).toBeLessThan(300);
  });
});

function comment4mb(): Payload {
  const p = issueCommentEvent({ body: `atoll plan ${"x".repeat(4 * 1024 * 1024)}` }).payload as unknown as Payload;
  return p;
}

describe("boundedError", () => {
  test("keeps type, message, code and the top of the stack; drops what libraries attach (payload, output, request)", () => {
    const e = Object.assign(new Error("m".repeat(10_000)), {
      code: "E_FAIL",
      status: 500,
      event: { payload: "p".repeat(100_000) },
      stdout: "o".repeat(100_000),
      request: { headers: { authorization: "token ghs_secret" } },
    });
    const b = boundedError(e);
    expect(b.type).toBe("Error");
    expect(b.code).toBe("E_FAIL");
    expect(b.status).toBe(500);
    expect(b.message.length).toBeLessThan(MAX_MESSAGE_CHARS + 50);
    expect(b.message).toMatch(/9000 more characters/);
    const text = JSON.stringify(b);
    expect(text.length).toBeLessThan(5_000);
    expect(text).not.toMatch(/ppppp|ooooo|ghs_secret/);
  });

  test("an AggregateError names its inner errors; a cause is kept short; a thrown non-error is a string", () => {
    const b = boundedError(new AggregateError([new TypeError("inner one"), new Error("inner two")], "outer", { cause: new Error("the cause") }));
    expect(b).toMatchObject({ type: "AggregateError", message: "outer", errors: ["TypeError: inner one", "Error: inner two"], cause: "the cause" });
    expect(boundedError("plain")).toEqual({ type: "string", message: "plain" });
  });
});

describe("guardWebhookEdge", () => {
  const SECRET = "edge-secret";
  function setup(handler: (payload: unknown) => Promise<void> = async () => undefined) {
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const log = Object.fromEntries(
      (["debug", "info", "warn", "error"] as const).map((level) => [level, (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg })]),
    ) as unknown as Parameters<typeof guardWebhookEdge>[1]["log"];
    const webhooks = new Webhooks({ secret: SECRET });
    const failures = new FailedDeliveries();
    const received: unknown[] = [];
    webhooks.on("pull_request", async (event) => {
      received.push(event.payload);
      try {
        await handler(event.payload);
      } catch {
        failures.add(event.id);
      }
    });
    guardWebhookEdge(webhooks as unknown as Parameters<typeof guardWebhookEdge>[0], { log, failures });
    const deliver = (body: string, opts: { name?: string; signature?: string; id?: string } = {}) =>
      webhooks.verifyAndReceive({ id: opts.id ?? "d1", name: opts.name ?? "pull_request", payload: body, signature: opts.signature ?? signWebhookBody(SECRET, body) } as never);
    return { lines, deliver, received };
  }
  const statusOf = async (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e: { errors?: { status?: number }[] }) => e.errors?.[0]?.status ?? "no status",
    );

  test("a well-formed delivery reaches the handler", async () => {
    const { deliver, received } = setup();
    expect(await statusOf(deliver(JSON.stringify(valid[0].payload)))).toBe(200);
    expect(received).toHaveLength(1);
  });

  test("a bad signature is 400 and one short warn line, whatever the body's size", async () => {
    const { deliver, lines, received } = setup();
    const big = JSON.stringify({ ...valid[0].payload, filler: "x".repeat(4 * 1024 * 1024) });
    expect(await statusOf(deliver(big, { signature: signWebhookBody("wrong", big) }))).toBe(400);
    expect(received).toHaveLength(0);
    expect(lines).toEqual([{ level: "warn", obj: { delivery: "d1", event: "pull_request" }, msg: expect.stringMatching(/signature does not match/) }]);
  });

  test("a body that is not JSON is 400", async () => {
    const { deliver, lines } = setup();
    expect(await statusOf(deliver("{not json"))).toBe(400);
    expect(lines.map((l) => l.msg)).toEqual([expect.stringMatching(/not JSON/)]);
  });

  test("null, or a payload without what Atoll reads, is 200 and one warn line with the reason", async () => {
    const { deliver, lines, received } = setup();
    expect(await statusOf(deliver("null"))).toBe(200);
    expect(await statusOf(deliver(JSON.stringify({ action: "opened" }), { id: "d2" }))).toBe(200);
    expect(received).toHaveLength(0);
    expect(lines).toEqual([
      { level: "warn", obj: { delivery: "d1", event: "pull_request", reason: expect.stringMatching(/null/) }, msg: "webhook not acted on" },
      { level: "warn", obj: { delivery: "d2", event: "pull_request", action: "opened", reason: expect.stringMatching(/no installation/) }, msg: "webhook not acted on" },
    ]);
  });

  test("an event Atoll does not act on is 200 and logged at debug", async () => {
    const { deliver, lines } = setup();
    expect(await statusOf(deliver(JSON.stringify({ zen: "Keep it logically awesome." }), { name: "ping" }))).toBe(200);
    expect(lines.map((l) => l.level)).toEqual(["debug"]);
  });

  test("a failed handler makes the delivery 500 (GitHub can redeliver it)", async () => {
    const { deliver } = setup(async () => {
      throw new Error("database is down");
    });
    expect(await statusOf(deliver(JSON.stringify(valid[0].payload)))).toBe(500);
    // The failure was for that delivery only.
    const ok = setup();
    expect(await statusOf(ok.deliver(JSON.stringify(valid[0].payload)))).toBe(200);
  });

  test("the webhook middleware's logger leaves out what the guard logged; anything else is one bounded warn line", async () => {
    const { deliver } = setup();
    const thrown = await deliver("{not json").catch((e: unknown) => e);
    const lines: [string, unknown, string | undefined][] = [];
    const sink = Object.fromEntries((["debug", "info", "warn", "error"] as const).map((l) => [l, (o: unknown, m?: string) => void lines.push([l, o, m])])) as never;
    const mw = middlewareLogger(sink);
    mw.error(thrown);
    expect(lines).toEqual([]);
    mw.error(Object.assign(new Error("aborted"), { body: "b".repeat(100_000) }));
    expect(lines).toEqual([["warn", { err: expect.objectContaining({ message: "aborted" }) }, "webhook request failed"]]);
    expect(JSON.stringify(lines).length).toBeLessThan(3_000);
  });

  test("a worker refuses every signed delivery with 503", async () => {
    const webhooks = new Webhooks({ secret: SECRET });
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    guardWebhookEdge(webhooks as unknown as Parameters<typeof guardWebhookEdge>[0], { log, failures: new FailedDeliveries(), refuse: { status: 503, message: "worker" } });
    const body = JSON.stringify(valid[0].payload);
    expect(await statusOf(webhooks.verifyAndReceive({ id: "w", name: "pull_request", payload: body, signature: signWebhookBody(SECRET, body) } as never))).toBe(503);
  });
});
