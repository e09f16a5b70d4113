/**
 * The Probot application: builds the real adapters (or takes test doubles) and registers the
 * webhook handlers. No domain logic lives here.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { ApplicationFunction } from "probot";
import { createExecaTerraform } from "./adapters/execa-terraform.js";
import { createGitWorkspace } from "./adapters/git-workspace.js";
import { createInProcessJobs } from "./adapters/in-process-jobs.js";
import { createMemoryStore } from "./adapters/memory-store.js";
import { createAppIdentity } from "./app-identity.js";
import type { AppEnv } from "./handlers/app-env.js";
import { registerCheckRunHandlers } from "./handlers/check-run.js";
import { registerIssueCommentHandler } from "./handlers/issue-comment.js";
import { registerPullRequestReviewHandler } from "./handlers/pull-request-review.js";
import { registerPullRequestHandlers } from "./handlers/pull-request.js";
import type { JobRunner } from "./ports/jobs.js";
import type { Store } from "./ports/store.js";
import type { TerraformPort } from "./ports/terraform.js";
import type { WorkspacePort } from "./ports/workspace.js";
import { readSettings, type Settings } from "./settings.js";

/** Replace any part; everything not given is built from the environment. */
export interface AppOverrides {
  settings?: Settings;
  terraform?: TerraformPort;
  workspaces?: WorkspacePort;
  store?: Store;
  jobs?: JobRunner;
}

export function createApp(overrides: AppOverrides = {}): ApplicationFunction {
  return (app) => {
    const settings = overrides.settings ?? readSettings();
    mkdirSync(settings.dataDir, { recursive: true });
    const jobs =
      overrides.jobs ??
      createInProcessJobs({
        concurrency: settings.jobConcurrency,
        maxQueued: settings.maxQueuedJobs,
        onError: (job, error) => app.log.error({ err: error, job: job.name, key: job.key }, "job failed"),
      });
    const env: AppEnv = {
      deps: {
        settings,
        terraform: overrides.terraform ?? createExecaTerraform({ binary: settings.terraformBin }),
        workspaces:
          overrides.workspaces ??
          createGitWorkspace({ rootDir: path.join(settings.dataDir, "checkouts"), timeoutMs: settings.stepTimeoutMs }),
        store: overrides.store ?? createMemoryStore(),
      },
      jobs,
      identity: createAppIdentity(app, settings.appSlug),
    };
    registerPullRequestHandlers(app, env);
    registerIssueCommentHandler(app, env);
    registerPullRequestReviewHandler(app, env);
    registerCheckRunHandlers(app, env);
    app.log.info(
      { dataDir: settings.dataDir, names: settings.commandNames, concurrency: settings.jobConcurrency },
      "Atoll is ready",
    );
  };
}
