/**
 * Atoll loaded into a test Probot with real terraform, an SQLite store in a temp dir, its job
 * service and a fixture workspace, so integration tests can `receive` webhooks and wait for jobs.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ApplicationFunctionOptions, Probot } from "probot";
import { createExecaTerraform } from "../../src/adapters/execa-terraform.js";
import { openSqliteStore } from "../../src/adapters/sqlite-store.js";
import { createApp, type AtollRuntime } from "../../src/app.js";
import type { Store } from "../../src/ports/store.js";
import type { TerraformPort } from "../../src/ports/terraform.js";
import type { ServerPolicy } from "../../src/config/config-types.js";
import { readSettings, type Settings } from "../../src/settings.js";
import { createFixtureWorkspaces, type FixtureWorkspaces } from "./fixture-workspaces.js";
import { makeProbot } from "./probot.js";

export interface AppHarness {
  probot: Probot;
  runtime: AtollRuntime;
  store: Store;
  jobs: AtollRuntime["jobs"];
  workspaces: FixtureWorkspaces;
  settings: Settings;
  jobErrors: unknown[];
  /** The HTTP handlers the app added (`/healthz`, `/readyz`, `/metrics`), in order. */
  handlers: Parameters<ApplicationFunctionOptions["addHandler"]>[0][];
  /** Deliver a webhook and wait until every job it queued has finished. */
  deliver(event: { id: string; name: string; payload: unknown }): Promise<void>;
  dispose(): Promise<void>;
}

export async function startAppHarness(opts: {
  files: Record<string, Record<string, string>>;
  env?: Record<string, string>;
  /** Default: the real terraform binary. */
  terraform?: TerraformPort;
  /** The server policy (see `parseServerPolicy`); default: none, i.e. Atlantis's defaults. */
  policy?: ServerPolicy;
}): Promise<AppHarness> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-int-data-"));
  // ATOLL_APP_SLUG: "" in opts.env makes the app look its slug up with GET /app.
  const settings = readSettings({
    ATOLL_DATA_DIR: dataDir,
    ATOLL_APP_SLUG: "atoll-test",
    // Integration tests assert every write, including the "in progress" ones: show them at once.
    ATOLL_PROGRESS_DELAY: "0",
    // Integration tests keep state in the checkout (no backend); the refusal has its own tests.
    ATOLL_ALLOW_LOCAL_STATE: "true",
    // Hiding earlier plan comments (a GraphQL read per plan) is tested against the fake GitHub.
    ATOLL_HIDE_PREV_PLAN_COMMENTS: "false",
    ...opts.env,
  });
  const store = await openSqliteStore(path.join(dataDir, "atoll.db"));
  const jobErrors: unknown[] = [];
  const workspaces = await createFixtureWorkspaces(opts.files);
  const probot = await makeProbot();
  let runtime!: AtollRuntime;
  let recovered!: () => void;
  const recovery = new Promise<void>((r) => (recovered = r));
  const handlers: AppHarness["handlers"] = [];
  await probot.load(
    createApp(
      {
        settings,
        store,
        workspaces,
        terraform: opts.terraform ?? createExecaTerraform(),
        embedded: true,
        ...(opts.policy ? { policy: opts.policy } : {}),
        onRecovered: () => recovered(),
      },
      (r) => (runtime = r),
    ),
    { cwd: process.cwd(), addHandler: (handler) => handlers.push(handler) },
  );
  await recovery;
  const jobs = runtime.jobs;
  /** Jobs that failed (threw) since the last look: their errors go to `jobErrors`. */
  const seenFailed = new Set<number>();
  const collectFailures = async () => {
    for (const job of await store.listJobs(["failed"])) {
      if (seenFailed.has(job.id)) continue;
      seenFailed.add(job.id);
      jobErrors.push(new Error(`job ${job.id} (${job.spec.kind}) failed: ${job.error}`));
    }
  };
  return {
    probot,
    runtime,
    store,
    jobs,
    workspaces,
    settings,
    jobErrors,
    handlers,
    async deliver(event) {
      await probot.receive(event as Parameters<Probot["receive"]>[0]);
      await jobs.onIdle();
      await collectFailures();
    },
    async dispose() {
      await jobs.onIdle();
      await jobs.stop();
      await store.close();
      await workspaces.dispose();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
