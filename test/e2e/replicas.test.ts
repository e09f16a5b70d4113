/**
 * Several Atoll replicas on one PostgreSQL database, end to end: real processes (two with the
 * webhook endpoint, one worker without), real git over HTTP, real terraform with its state in
 * PostgreSQL, the fake GitHub. Webhooks are spread over the replicas as a load balancer would.
 *
 *  - the walkthrough with the plan on one replica and the apply on another (a fresh checkout of
 *    the same commit and the plan file from the database), across a rolling restart;
 *  - 10 concurrent `apply` comments spread over the replicas → exactly one terraform apply;
 *  - the same delivery sent to two replicas → processed once;
 *  - kill -9 of the replica running a plan → another replica reports it interrupted within the
 *    lease; locks intact; the pull request can plan again.
 *
 * Terraform is `test/fixtures/slow-terraform.sh`: it logs every subcommand (to count applies)
 * and can be held at a gate (to crash a replica in the middle of a plan).
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PullRecord } from "../fake-github/state.js";
import { alive } from "../helpers/process-alive.js";
import {
  Gate,
  OWNER,
  REPO,
  appComments,
  completedRun,
  expectCleanGitHub,
  latestRun,
  pgTf as tf,
  startE2eEnv,
  stateAddresses,
  waitComment,
  type E2eEnv,
} from "./e2e-env.js";

const LEASE_MS = 5_000;

interface JobRow {
  id: number;
  status: string;
  replica: string | null;
  kind: string;
  command: string | null;
  pull: number;
  processes: { pid: number; startTime: string; host?: string }[];
}

/** Atoll's jobs, from the shared database. */
async function jobs(env: E2eEnv): Promise<JobRow[]> {
  return env.sql<JobRow>(
    `SELECT id, status, replica, spec::json->>'kind' AS kind, spec::json->'command'->>'command' AS command,
            (spec::json->>'pullNumber')::int AS pull, processes::json AS processes
       FROM jobs ORDER BY id`,
  );
}

/** Index of the replica with this ATOLL_REPLICA_ID (`r1` → 0). */
const replicaIndex = (id: string | null) => Number(String(id).slice(1)) - 1;

async function openPullVia(env: E2eEnv, replica: number, number: number, branch: string, files: Record<string, string>): Promise<PullRecord> {
  await env.repo.commit(branch, files, `change on ${branch}`, { from: "main" });
  const pull = await env.github.createPull(OWNER, REPO, { number, head: branch, base: "main", author: "alice" });
  const res = await env.atolls[replica].send(env.pullEvent(pull, "opened"));
  expect(res.status).toBe(200);
  return pull;
}

function logTails(env: E2eEnv): string {
  return env.atolls.map((a, i) => `--- replica r${i + 1} ---\n${a.logs().slice(-15).join("\n")}`).join("\n");
}

/** The first job matching `match` once it has finished. */
function finishedJob(env: E2eEnv, what: string, match: (j: JobRow) => boolean, timeoutMs = 60_000): Promise<JobRow> {
  return env.github.waitFor(async () => (await jobs(env)).find((j) => match(j) && j.status !== "queued" && j.status !== "running"), {
    what,
    timeoutMs,
    context: () => logTails(env),
  });
}

describe("three replicas on one PostgreSQL database", () => {
  let env: E2eEnv;
  let gate: Gate;
  let tfLog: string;
  /** Replicas that receive webhooks (the third is a worker). */
  const WEB = [0, 1];

  beforeAll(async () => {
    gate = await Gate.create();
    tfLog = path.join(await fs.mkdtemp(path.join(os.tmpdir(), "atoll-tf-log-")), "terraform.log");
    env = await startE2eEnv({
      replicas: [{ role: "all" }, { role: "all" }, { role: "worker" }],
      env: { ...gate.env("plan"), SLOW_TF_LOG: tfLog, ATOLL_JOB_LEASE: `${LEASE_MS / 1000}s`, ATOLL_LOCK_SWEEP_INTERVAL: "1h" },
    });
    await env.repo.commit(
      "main",
      {
        "net/main.tf": tf("repnet", ["base"]),
        "app/main.tf": tf("repapp", ["base"]),
        "dns/main.tf": tf("repdns", ["base"]),
        "db/main.tf": tf("repdb", ["base"]),
      },
      "initial",
    );
    env.github.setPermission(OWNER, REPO, "bob", "write");
  }, 180_000);
  afterAll(async () => {
    await gate?.open();
    await env?.stop();
    await gate?.remove();
    if (tfLog) await fs.rm(path.dirname(tfLog), { recursive: true, force: true });
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("health: every replica is ready on the shared database; the worker has no webhook endpoint", async () => {
    for (const [i, a] of env.atolls.entries()) {
      const ready = await fetch(`${a.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready", role: i === 2 ? "worker" : "all", replica: `r${i + 1}` });
      expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    }
    const res = await env.atolls[2].send({ name: "ping", id: "worker-ping", payload: { zen: "Keep it logically awesome." } });
    expect(res.status).toBe(404);
    expect(res.body).toContain("worker");
    expect((await env.sql("SELECT id FROM deliveries"))).toEqual([]);
  });

  test("walkthrough: plan on one replica, lock between PRs, apply on another replica after a rolling restart, merge releases the lock", async () => {
    const pr1 = await openPullVia(env, 0, 1, "net-a", { "net/main.tf": tf("repnet", ["base", "a"]) });
    const planRun = await completedRun(env, pr1.headSha, "atoll/plan: net");
    expect(planRun.conclusion).toBe("success");
    expect(planRun.output.title).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
    const plan = await waitComment(env, 1, /Ran Plan/, "plan comment");
    expect(plan.body).toContain("terraform_data.a");
    const planJob = await finishedJob(env, "the autoplan job", (j) => j.kind === "autoplan" && j.pull === 1);
    expect(planJob.status).toBe("succeeded");
    const planner = replicaIndex(planJob.replica);

    // A second PR on the same project, through the other web replica: told who holds the lock.
    const pr2 = await openPullVia(env, 1, 2, "net-b", { "net/main.tf": tf("repnet", ["base", "b"]) });
    const blocked = await waitComment(env, 2, /locked by #1/, "lock comment on #2");
    expect(blocked.body).toContain("#1 in line");

    // Rolling restart: the replica that planned goes away; the apply runs on another one.
    await env.restartReplica(planner, { stayDown: true });
    const receiver = WEB.find((i) => i !== planner)!;
    const before = appComments(env, 1).length;
    await env.atolls[receiver].send(env.comment(pr1, "bob", "atoll apply"));
    const applied = await waitComment(env, 1, /Apply complete!/, "apply comment", before);
    expect(applied.body).toContain("Resources: 2 added, 0 changed, 0 destroyed.");
    const applyJob = await finishedJob(env, "the apply job", (j) => j.command === "apply" && j.pull === 1);
    expect(applyJob.status).toBe("succeeded");
    const applier = replicaIndex(applyJob.replica);
    expect(applier).not.toBe(planner);
    // The applying replica checked the commit out itself; the plan file came from the database.
    await expect(fs.stat(path.join(env.dataDirOf(applier), "checkouts", OWNER, REPO, "pr-1", pr1.headSha, "repo", "net", "main.tf"))).resolves.toBeTruthy();
    expect(await stateAddresses(env, "repnet")).toEqual(["terraform_data.a", "terraform_data.base"]);
    expect((await completedRun(env, pr1.headSha, "atoll/apply")).conclusion).toBe("success");
    // Applied plans are consumed: nothing of PR 1 is left in the blob store.
    expect(await env.sql("SELECT key FROM blobs WHERE key LIKE 'plans/acme/infra/1/%'")).toEqual([]);

    await env.startReplica(planner);
    // Merging PR 1 releases the lock: PR 2 is planned automatically, by whichever replica.
    await env.github.mergePull(OWNER, REPO, 1);
    await env.atolls[planner === 2 ? 0 : planner].send(env.pullEvent(env.github.pull(OWNER, REPO, 1), "closed"));
    const replanned = await waitComment(env, 2, /released by #1/, "automatic re-plan of #2");
    expect(replanned.body).toContain("Ran Plan");
    expect((await completedRun(env, pr2.headSha, "atoll/plan: net")).conclusion).toBe("success");
    expect(await env.sql("SELECT project_dir, pull_number FROM locks")).toEqual([{ project_dir: "net", pull_number: 2 }]);
    expect(await env.sql("SELECT * FROM waiters")).toEqual([]);
  }, 240_000);

  test("10 concurrent apply comments spread over the replicas: exactly one terraform apply", async () => {
    const pr = await openPullVia(env, 1, 3, "app-a", { "app/main.tf": tf("repapp", ["base", "x"]) });
    expect((await completedRun(env, pr.headSha, "atoll/plan: app")).conclusion).toBe("success");
    const appliesBefore = (await fs.readFile(tfLog, "utf8")).split("\n").filter((l) => l.startsWith("apply ")).length;
    const before = appComments(env, 3).length;
    const events = Array.from({ length: 10 }, () => env.comment(pr, "bob", "atoll apply"));
    const responses = await Promise.all(events.map((e, i) => env.atolls[WEB[i % 2]].send(e)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));

    await env.github.waitFor(async () => (await jobs(env)).filter((j) => j.command === "apply" && j.pull === 3 && j.status === "succeeded").length === 10 || undefined, {
      what: "all 10 apply jobs finished",
      timeoutMs: 120_000,
      context: () => logTails(env),
    });
    const applies = (await fs.readFile(tfLog, "utf8")).split("\n").filter((l) => l.startsWith("apply ")).length;
    expect(applies - appliesBefore).toBe(1);
    const replies = appComments(env, 3).slice(before);
    expect(replies.filter((c) => c.body.includes("Apply complete!"))).toHaveLength(1);
    expect(replies.filter((c) => /There are no plans to apply/.test(c.body))).toHaveLength(9);
    expect(await stateAddresses(env, "repapp")).toEqual(["terraform_data.base", "terraform_data.x"]);
    // Both web replicas stored comments; the jobs ran on more than one replica.
    expect(new Set((await jobs(env)).filter((j) => j.pull === 3).map((j) => j.replica)).size).toBeGreaterThan(1);
  }, 240_000);

  test("the same delivery sent to two replicas at once is processed once", async () => {
    await env.repo.commit("dns-a", { "dns/main.tf": tf("repdns", ["base", "a"]) }, "change dns", { from: "main" });
    const pr = await env.github.createPull(OWNER, REPO, { number: 4, head: "dns-a", base: "main", author: "alice" });
    const event = env.pullEvent(pr, "opened");
    const [a, b] = await Promise.all([env.atolls[0].send(event), env.atolls[1].send(event)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await completedRun(env, pr.headSha, "atoll/plan: dns");
    await waitComment(env, 4, /Ran Plan/, "plan comment");
    await env.github.waitFor(async () => (await jobs(env)).filter((j) => j.pull === 4).every((j) => j.status === "succeeded") || undefined, { what: "jobs done" });
    expect((await jobs(env)).filter((j) => j.pull === 4).map((j) => j.kind)).toEqual(["autoplan"]);
    expect(await env.sql("SELECT id FROM deliveries WHERE id = $1", [event.id])).toEqual([{ id: event.id }]);
    expect(appComments(env, 4).filter((c) => c.body.includes("Ran Plan"))).toHaveLength(1);
  }, 120_000);

  test("kill -9 of the replica running a plan: another replica reports it interrupted within the lease; locks intact; planning again works", async () => {
    await gate.close();
    const pr = await openPullVia(env, 0, 5, "db-a", { "db/main.tf": tf("repdb", ["base", "b"]) });
    const pid = await gate.heldPid(env);
    // The job has recorded terraform's process group (so whoever takes it over can stop it).
    const running = await env.github.waitFor(
      async () => (await jobs(env)).find((j) => j.pull === 5 && j.status === "running" && j.processes.some((p) => p.pid === pid)),
      { what: "the running plan job with terraform recorded", context: () => logTails(env) },
    );
    const victim = replicaIndex(running.replica);
    // Its "in progress" check run (the aggregate) is up (written while terraform works), so there is one to complete.
    await env.github.waitFor(() => latestRun(env, pr.headSha, "atoll/plan")?.status === "in_progress" || undefined, {
      what: "in-progress plan check run",
      context: () => logTails(env),
    });
    // The project is locked before terraform runs.
    expect(await env.sql("SELECT pull_number FROM locks WHERE project_dir = 'db'")).toEqual([{ pull_number: 5 }]);
    const killedAt = Date.now();
    await env.restartReplica(victim, { kill9: true, stayDown: true });

    const interrupted = await waitComment(env, 5, /Interrupted/, "interruption comment", 0, LEASE_MS + 20_000);
    const reportedAfter = Date.now() - killedAt;
    // Reported once the lease ran out (it is renewed every third of it), not much later.
    expect(reportedAfter).toBeGreaterThanOrEqual((LEASE_MS * 2) / 3 - 1_000);
    expect(reportedAfter).toBeLessThan(LEASE_MS + 15_000);
    expect(interrupted.body).toContain("stopped responding");
    expect(interrupted.body).toContain("atoll plan");
    const job = await finishedJob(env, "the interrupted job", (j) => j.id === running.id);
    expect(job.status).toBe("interrupted");
    expect(job.replica).toBe(running.replica); // still names the replica that ran it
    // The orphaned terraform (same machine here) was stopped by the replica that took the job over.
    await env.github.waitFor(async () => !(await alive(pid)) || undefined, { what: "orphaned terraform stopped" });
    // Every check run the plan opened is completed; the project's one as cancelled.
    await env.github.waitFor(() => latestRun(env, pr.headSha, "atoll/plan: db")?.status === "completed" || undefined, { what: "completed plan check run" });
    expect(latestRun(env, pr.headSha, "atoll/plan: db")?.conclusion).toBe("cancelled");
    expect(env.github.checkRuns(OWNER, REPO, { headSha: pr.headSha }).filter((r) => r.status !== "completed" && r.name !== "atoll/apply")).toEqual([]);
    expect(await env.sql("SELECT pull_number FROM locks WHERE project_dir = 'db'")).toEqual([{ pull_number: 5 }]);

    // The pull request can plan again, on a surviving replica.
    await gate.open();
    const before = appComments(env, 5).length;
    await env.atolls[WEB.find((i) => i !== victim)!].send(env.comment(pr, "alice", "atoll plan"));
    const again = await waitComment(env, 5, /Ran Plan/, "plan after the crash", before);
    expect(again.body).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
    // Its check run is written after the comment (GitHub writes are paced).
    await env.github.waitFor(() => latestRun(env, pr.headSha, "atoll/plan: db")?.conclusion === "success" || undefined, {
      what: "successful plan check run",
      context: () => logTails(env),
    });
    await env.startReplica(victim);
  }, 240_000);
});
