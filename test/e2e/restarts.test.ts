/**
 * Restart and crash safety end to end (real server, git, terraform, PostgreSQL state):
 *
 *  - `kill -9` during a plan: the next start reports the job interrupted, kills the terraform
 *    process group it left behind, keeps the lock, and the PR can simply plan again;
 *  - `kill -9` during an apply: reported interrupted, never retried by Atoll, the saved plan and
 *    the lock survive, and the user's next apply applies it exactly once;
 *  - SIGTERM drains: the running plan finishes, webhooks that arrive meanwhile are stored as
 *    queued and run after the next start, and the process exits 0;
 *  - SIGTERM with a grace period that runs out: terraform is stopped, the job is reported
 *    interrupted, and the process exits 0.
 *
 * Terraform is held at a subcommand by `test/fixtures/slow-terraform.sh` (a gate file), never by
 * fixed sleeps: a test decides exactly when terraform may proceed.
 */
import type { PullRecord } from "../fake-github/state.js";
import { alive } from "../helpers/process-alive.js";
import { Gate, OWNER, REPO, appComments, completedRun, expectCleanGitHub, latestRun, logTail, pgTf as tf, startE2eEnv, stateAddresses, waitComment, type E2eEnv } from "./e2e-env.js";

async function openPull(env: E2eEnv, number: number, branch: string, files: Record<string, string>): Promise<PullRecord> {
  await env.repo.commit(branch, files, `change on ${branch}`, { from: "main" });
  const pull = await env.github.createPull(OWNER, REPO, { number, head: branch, base: "main", author: "alice" });
  const res = await env.atoll.send(env.pullEvent(pull, "opened"));
  expect(res.status).toBe(200);
  return pull;
}

interface JobRow {
  id: number;
  status: string;
  spec: string;
  processes: string;
}

interface Job {
  id: number;
  status: string;
  spec: { kind: string; command?: { command: string; dir: string } };
  processes: Array<{ pid: number; startTime: string }>;
}

function jobs(env: E2eEnv): Job[] {
  return env.query<JobRow>("SELECT id, status, spec, processes FROM jobs ORDER BY id").map((r) => ({
    id: r.id,
    status: r.status,
    spec: JSON.parse(r.spec) as Job["spec"],
    processes: JSON.parse(r.processes) as Job["processes"],
  }));
}

function jobById(env: E2eEnv, id: number): Job {
  const job = jobs(env).find((j) => j.id === id);
  if (!job) throw new Error(`no job ${id}`);
  return job;
}

/** Wait until a running job has recorded `pid` as one of its process groups. */
function runningJobWith(env: E2eEnv, pid: number): Promise<Job> {
  return env.github.waitFor(() => jobs(env).find((j) => j.status === "running" && j.processes.some((p) => p.pid === pid)), {
    what: `a running job that recorded process ${pid}`,
    context: () => logTail(env),
  });
}

/** Wait until no job is queued or running. */
async function allJobsDone(env: E2eEnv): Promise<void> {
  await env.github.waitFor(() => jobs(env).every((j) => j.status !== "queued" && j.status !== "running"), {
    what: "all jobs done",
    context: () => logTail(env),
  });
}

const isCommand = (j: Job, command: string, dir?: string) =>
  j.spec.kind === "command" && j.spec.command?.command === command && (dir === undefined || j.spec.command.dir === dir);

function locks(env: E2eEnv): Array<{ project_dir: string; pull_number: number }> {
  return env.query("SELECT project_dir, pull_number FROM locks ORDER BY project_dir");
}

describe("kill -9 during a plan", () => {
  let env: E2eEnv;
  let gate: Gate;
  beforeAll(async () => {
    gate = await Gate.create();
    env = await startE2eEnv({ env: { ...gate.env("plan"), ATOLL_LOCK_SWEEP_INTERVAL: "1h" } });
    await env.repo.commit("main", { "net/main.tf": tf("crashplan", ["base"]) }, "initial");
  }, 120_000);
  afterAll(async () => {
    await gate?.open();
    await env?.stop();
    await gate?.remove();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("the next start reports the plan interrupted, kills the orphaned terraform, keeps the lock; planning again works", async () => {
    await gate.close();
    // GitHub creates the plan's "in progress" check run (the `atoll/plan` aggregate), but Atoll
    // never reads the answer (it crashes first), so it never saves the run's id.
    const started = env.github.holdResponses(
      (r) => r.method === "POST" && r.template === "/repos/{owner}/{repo}/check-runs" && (r.body as { name?: string } | undefined)?.name === "atoll/plan",
    );
    const pr = await openPull(env, 1, "net-a", { "net/main.tf": tf("crashplan", ["base", "a"]) });
    const pid = await gate.heldPid(env);
    const job = await runningJobWith(env, pid);
    expect(job.spec.kind).toBe("autoplan");
    // The "in progress" check run is written while terraform runs (GitHub writes are paced, so they
    // overlap the work instead of delaying it).
    await env.github.waitFor(() => latestRun(env, pr.headSha, "atoll/plan")?.status === "in_progress" || undefined, {
      what: "in-progress plan check run",
    });
    expect(started.held()).toBe(1);
    expect(locks(env)).toEqual([{ project_dir: "net", pull_number: 1 }]);

    await env.atoll.kill9();
    started.release();
    // terraform runs in its own process group: the crash left it running, an orphan.
    expect(await alive(pid)).toBe(true);
    await env.restart();

    const note = await waitComment(env, 1, /^\*\*Interrupted:\*\* Atoll restarted while this was running/, "interrupted comment");
    expect(note.body).toContain("Locks and saved plans are intact.");
    expect(note.body).toContain("`atoll plan`");
    // The project's run says so (the plan had not written one yet), and the in-progress aggregate
    // whose id was never saved is found on GitHub and completed, not left running beside a new one.
    const cancelled = await completedRun(env, pr.headSha, "atoll/plan: net");
    expect(cancelled.conclusion).toBe("cancelled");
    expect(cancelled.output.title).toMatch(/^Interrupted: /);
    const aggregates = env.github.checkRuns(OWNER, REPO, { headSha: pr.headSha }).filter((r) => r.name === "atoll/plan");
    expect(aggregates.map((r) => [r.status, r.conclusion])).toEqual([["completed", "failure"]]);
    // The orphan is killed before the PR is told.
    expect(await alive(pid)).toBe(false);
    // The job is finished (interrupted) once its report is out: the PR's next job waits for it.
    await env.atoll.waitForLog(/recovered jobs/);
    expect(jobById(env, job.id).status).toBe("interrupted");
    expect(locks(env)).toEqual([{ project_dir: "net", pull_number: 1 }]);
    // Nothing that was running is run again by itself.
    expect(jobs(env).filter((j) => j.status === "queued" || j.status === "running")).toEqual([]);
    expect(appComments(env, 1).some((c) => c.body.includes("Ran Plan"))).toBe(false);

    // Planning again just works.
    await gate.open();
    const before = appComments(env, 1).length;
    await env.atoll.send(env.comment(pr, "alice", "atoll plan -d net"));
    const plan = await waitComment(env, 1, /Ran Plan/, "plan after the restart", before);
    expect(plan.body).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
    // The new result follows the cancelled one in a new run.
    const run = await env.github.waitFor(
      () => {
        const r = latestRun(env, pr.headSha, "atoll/plan: net");
        return r?.status === "completed" && r.conclusion !== "cancelled" ? r : undefined;
      },
      { what: "the new plan result" },
    );
    expect(run.conclusion).toBe("success");
    await allJobsDone(env);
    expect((await completedRun(env, pr.headSha, "atoll/plan")).conclusion).toBe("success");
    expect(locks(env)).toEqual([{ project_dir: "net", pull_number: 1 }]);
    const [state] = env.query<{ plan: string; plan_blob: string | null }>("SELECT plan, plan_blob FROM project_states WHERE project_dir = 'net'");
    expect(state.plan).toBe("success");
    expect(state.plan_blob).not.toBeNull();
  }, 180_000);
});

describe("kill -9 during an apply", () => {
  let env: E2eEnv;
  let gate: Gate;
  beforeAll(async () => {
    gate = await Gate.create();
    env = await startE2eEnv({ env: { ...gate.env("apply"), ATOLL_LOCK_SWEEP_INTERVAL: "1h" } });
    await env.repo.commit("main", { "app/main.tf": tf("crashapply", ["base"]) }, "initial");
    env.github.setPermission(OWNER, REPO, "bob", "write");
  }, 120_000);
  afterAll(async () => {
    await gate?.open();
    await env?.stop();
    await gate?.remove();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("the apply is reported interrupted and never retried; the saved plan and lock survive, and the user's apply applies it once", async () => {
    const pr = await openPull(env, 1, "app-a", { "app/main.tf": tf("crashapply", ["base", "extra"]) });
    expect((await completedRun(env, pr.headSha, "atoll/plan: app")).conclusion).toBe("success");
    const [planned] = env.query<{ plan_blob: string | null; plan_digest: string | null }>(
      "SELECT plan_blob, plan_digest FROM project_states WHERE project_dir = 'app'",
    );
    expect(planned.plan_blob).not.toBeNull();

    await gate.close();
    await env.atoll.send(env.comment(pr, "bob", "atoll apply -d app"));
    const pid = await gate.heldPid(env);
    const job = await runningJobWith(env, pid);
    expect(isCommand(job, "apply", "app")).toBe(true);
    // The "in progress" run is queued as terraform starts, and sent within GitHub's pacing.
    await env.github.waitFor(() => latestRun(env, pr.headSha, "atoll/apply: app")?.status === "in_progress" || undefined, {
      what: "in-progress apply check run",
    });

    await env.atoll.kill9();
    expect(await alive(pid)).toBe(true);
    await env.restart();

    const note = await waitComment(env, 1, /^\*\*Interrupted:\*\* Atoll restarted while this was running/, "interrupted comment");
    expect(note.body).toContain("Locks and saved plans are intact.");
    expect(note.body).toContain("Atoll never retries an apply by itself");
    expect(note.body).toContain("`atoll plan`");
    const cancelled = await completedRun(env, pr.headSha, "atoll/apply: app");
    expect(cancelled.conclusion).toBe("cancelled");
    expect(cancelled.output.title).toMatch(/^Interrupted: /);
    await env.atoll.waitForLog(/recovered jobs/);

    // The held apply never reached terraform and can no longer: its process group is gone.
    expect(await alive(pid)).toBe(false);
    expect(jobById(env, job.id).status).toBe("interrupted");
    expect(jobs(env).filter((j) => j.status === "queued" || j.status === "running")).toEqual([]);
    expect(await stateAddresses(env, "crashapply")).toEqual([]);
    expect(appComments(env, 1).some((c) => c.body.includes("Apply complete!"))).toBe(false);
    // The saved plan and the lock are intact.
    const [after] = env.query<{ plan: string; plan_blob: string | null; plan_digest: string | null }>(
      "SELECT plan, plan_blob, plan_digest FROM project_states WHERE project_dir = 'app'",
    );
    expect(after).toMatchObject({ plan: "success", plan_blob: planned.plan_blob, plan_digest: planned.plan_digest });
    expect(env.query<{ size: number }>("SELECT size FROM blobs WHERE key = ?", after.plan_blob)[0]?.size).toBeGreaterThan(0);
    expect(locks(env)).toEqual([{ project_dir: "app", pull_number: 1 }]);

    // The user applies the saved plan: exactly once. Jobs of a PR run in order, so any apply
    // Atoll had (wrongly) queued by itself would have run before this one.
    await gate.open();
    const before = appComments(env, 1).length;
    await env.atoll.send(env.comment(pr, "bob", "atoll apply -d app"));
    const applied = await waitComment(env, 1, /Apply complete!/, "apply comment", before);
    expect(applied.body).toContain("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    expect((await completedRun(env, pr.headSha, "atoll/apply: app")).conclusion).toBe("success");
    await allJobsDone(env);
    expect(appComments(env, 1).filter((c) => c.body.includes("Apply complete!"))).toHaveLength(1);
    expect(jobs(env).filter((j) => isCommand(j, "apply")).map((j) => j.status)).toEqual(["interrupted", "succeeded"]);
    expect(await stateAddresses(env, "crashapply")).toEqual(["terraform_data.base", "terraform_data.extra"]);
    const [done] = env.query<{ apply: string; plan_blob: string | null }>("SELECT apply, plan_blob FROM project_states WHERE project_dir = 'app'");
    expect(done).toEqual({ apply: "success", plan_blob: null });
    expect(env.query("SELECT key FROM blobs")).toEqual([]);
  }, 180_000);
});

describe("SIGTERM drains", () => {
  let env: E2eEnv;
  let gate: Gate;
  beforeAll(async () => {
    gate = await Gate.create();
    // A grace period far longer than the test needs: the drain ends because the plan finishes.
    env = await startE2eEnv({ env: { ...gate.env("plan"), ATOLL_SHUTDOWN_GRACE: "10m", ATOLL_LOCK_SWEEP_INTERVAL: "1h" } });
    await env.repo.commit("main", { "net/main.tf": tf("drainnet", ["base"]), "dns/main.tf": tf("draindns", ["base"]) }, "initial");
  }, 120_000);
  afterAll(async () => {
    await gate?.open();
    await env?.stop();
    await gate?.remove();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("the running plan finishes and the process exits 0; a webhook received meanwhile stays queued and runs after the next start", async () => {
    await gate.close();
    const pr = await openPull(env, 1, "net-a", { "net/main.tf": tf("drainnet", ["base", "a"]) });
    const pid = await gate.heldPid(env);
    const planJob = await runningJobWith(env, pid);

    const stopping = env.atoll.stop("SIGTERM", 120_000);
    await env.atoll.waitForLog(/draining/);

    // Still answering webhooks while draining; the job is stored, not started.
    const knownJobs = new Set(jobs(env).map((j) => j.id));
    const res = await env.atoll.send(env.comment(pr, "alice", "atoll plan -d dns"));
    expect(res.status).toBe(200);
    const dnsJob = jobs(env).find((j) => !knownJobs.has(j.id) && isCommand(j, "plan", "dns"));
    expect(dnsJob?.status).toBe("queued");
    await env.atoll.waitForLog(/stays queued for another replica or the next start/);

    await gate.open();
    expect(await stopping).toEqual({ code: 0, signal: null });
    const drained = env.atoll.logs().find((l) => /drained; exiting/.test(l));
    expect(JSON.parse(drained ?? "{}")).toMatchObject({ finished: true, interrupted: 0 });

    // The plan that was running finished normally.
    const plan = appComments(env, 1).find((c) => c.body.includes("Ran Plan"));
    expect(plan?.body).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
    expect(appComments(env, 1).some((c) => c.body.includes("Interrupted"))).toBe(false);
    expect(latestRun(env, pr.headSha, "atoll/plan: net")).toMatchObject({ status: "completed", conclusion: "success" });
    expect(jobById(env, planJob.id).status).toBe("succeeded");
    // The comment's jobs were not run: no plan of dns, and it is still queued.
    expect(latestRun(env, pr.headSha, "atoll/plan: dns")).toBeUndefined();
    expect(jobById(env, dnsJob!.id).status).toBe("queued");

    // After the next start the queued plan runs.
    const before = appComments(env, 1).length;
    await env.restart();
    const dnsPlan = await waitComment(env, 1, /Ran Plan/, "plan of dns after the restart", before);
    expect(dnsPlan.body).toContain("dns");
    expect(dnsPlan.body).not.toContain("Interrupted");
    expect((await completedRun(env, pr.headSha, "atoll/plan: dns")).conclusion).toBe("success");
    await allJobsDone(env);
    expect(jobById(env, dnsJob!.id).status).toBe("succeeded");
    expect(appComments(env, 1).some((c) => c.body.includes("Interrupted"))).toBe(false);
  }, 180_000);
});

describe("SIGTERM when the grace period runs out", () => {
  let env: E2eEnv;
  let gate: Gate;
  beforeAll(async () => {
    gate = await Gate.create();
    // Progress check runs at once, so there is an open run for the interruption to complete.
    env = await startE2eEnv({ env: { ...gate.env("plan"), ATOLL_SHUTDOWN_GRACE: "2s", ATOLL_LOCK_SWEEP_INTERVAL: "1h", ATOLL_PROGRESS_DELAY: "0" } });
    await env.repo.commit("main", { "net/main.tf": tf("gracenet", ["base"]) }, "initial");
  }, 120_000);
  afterAll(async () => {
    await gate?.open();
    await env?.stop();
    await gate?.remove();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  test("terraform is stopped, the job is reported interrupted, and the process exits 0", async () => {
    await gate.close(); // and never opened during the test
    const pr = await openPull(env, 1, "net-a", { "net/main.tf": tf("gracenet", ["base", "a"]) });
    const pid = await gate.heldPid(env);
    const job = await runningJobWith(env, pid);

    expect(await env.atoll.stop("SIGTERM", 60_000)).toEqual({ code: 0, signal: null });
    const drained = env.atoll.logs().find((l) => /drained; exiting/.test(l));
    expect(JSON.parse(drained ?? "{}")).toMatchObject({ finished: false, interrupted: 1 });

    expect(await alive(pid)).toBe(false);
    expect(jobById(env, job.id).status).toBe("interrupted");
    const note = appComments(env, 1).find((c) => c.body.startsWith("**Interrupted:** Atoll was stopped (shutdown grace period over) while this was running"));
    expect(note?.body).toContain("Locks and saved plans are intact.");
    expect(note?.body).toContain("`atoll plan`");
    expect(locks(env)).toEqual([{ project_dir: "net", pull_number: 1 }]);
    // The PR is told the plan was interrupted, as after a crash — not that terraform failed: the
    // exit code of a terraform Atoll itself stopped is no plan error.
    const run = latestRun(env, pr.headSha, "atoll/plan: net");
    expect(run?.status).toBe("completed");
    expect({ conclusion: run?.conclusion, title: run?.output.title }).toEqual({
      conclusion: "cancelled",
      title: "Interrupted: Atoll was stopped (shutdown grace period over) while this was running",
    });
    expect(appComments(env, 1).filter((c) => /Plan Error|exit code 143/.test(c.body)).map((c) => c.body)).toEqual([]);
  }, 120_000);
});
