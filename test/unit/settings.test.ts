import os from "node:os";
import { defaultReplicaId, parseDuration, readSettings, repoAllowed, SettingsError } from "../../src/settings.js";

describe("readSettings", () => {
  test("defaults", () => {
    const s = readSettings({}, "/srv/atoll");
    expect(s).toEqual({
      commandNames: ["atoll", "atlantis"],
      repoAllowlist: [],
      dataDir: "/srv/atoll/data",
      terraformBin: "terraform",
      stepTimeoutMs: 30 * 60_000,
      jobConcurrency: 2,
      maxQueuedJobs: 500,
      autoplanDrafts: false,
      allowForkPrs: false,
      allowLocalState: false,
      jobLogMaxBytes: 2 * 1024 * 1024,
      jobLogRetentionMs: 14 * 24 * 3600_000,
      allowCommands: ["version", "plan", "destroy", "apply", "cancel", "unlock", "approve_policies", "help"],
      blockedExtraArgs: ["-chdir", "--chdir", "-plugin-dir", "--plugin-dir"],
      statefulTypes: [],
      hidePrevPlanComments: true,
      planLabels: false,
      carryUnchangedPlans: true,
      appSlug: undefined,
      applyRequirements: [],
      lockSweepIntervalMs: 10 * 60_000,
      shutdownGraceMs: 5 * 60_000,
      databaseFile: "/srv/atoll/data/atoll.db",
      databasePoolSize: 10,
      role: "all",
      replicaId: defaultReplicaId("/srv/atoll/data", false),
      jobLeaseMs: 30_000,
      jobPollMs: 1_000,
      githubWebUrl: "https://github.com",
      terraformDistribution: "terraform",
      tofuBin: "tofu",
      parallelPoolSize: 4,
      automergeMethod: "merge",
      parallelPlan: true,
      pluginCacheDir: "/srv/atoll/data/plugin-cache",
      progressDelayMs: 2000,
      progressDelayAuto: true,
      processNiceness: 10,
      terraformGogc: 400,
    });
  });

  test("ATOLL_ALLOW_COMMANDS=all allows every command, import and state too", () => {
    const s = readSettings({ ATOLL_ALLOW_COMMANDS: "all" }, "/srv/atoll");
    expect(s.allowCommands).toEqual(expect.arrayContaining(["import", "state", "cancel", "destroy", "plan", "apply"]));
    expect(readSettings({ ATOLL_ALLOW_COMMANDS: "plan,apply,import" }, "/srv/atoll").allowCommands).toEqual(["plan", "apply", "import"]);
  });

  test("every variable is read", () => {
    const s = readSettings(
      {
        ATOLL_COMMAND_NAMES: "Atoll, tf-bot",
        ATOLL_REPO_ALLOWLIST: "acme/infra, acme-*/live",
        ATOLL_DATA_DIR: "/var/lib/atoll",
        ATOLL_TERRAFORM_BIN: "/usr/bin/tofu",
        ATOLL_STEP_TIMEOUT: "1h30m",
        ATOLL_JOB_CONCURRENCY: "4",
        ATOLL_MAX_QUEUED_JOBS: "10",
        ATOLL_AUTOPLAN_DRAFTS: "yes",
        ATOLL_ALLOW_FORK_PRS: "TRUE",
        ATOLL_ALLOW_LOCAL_STATE: "true",
        ATOLL_JOB_LOG_MAX_BYTES: "1000",
        ATOLL_JOB_LOG_RETENTION: "24h",
        ATOLL_ALLOW_COMMANDS: "plan,help",
        ATOLL_BLOCKED_EXTRA_ARGS: "-chdir,-state",
        ATOLL_APP_SLUG: "my-atoll",
        ATOLL_APPLY_REQUIREMENTS: "undiverged, approved",
        ATOLL_LOCK_SWEEP_INTERVAL: "30s",
        ATOLL_SHUTDOWN_GRACE: "90",
        ATOLL_DATABASE_FILE: "state/atoll.sqlite",
        ATOLL_POLICY_FILE: "policy/repos.yaml",
        ATOLL_TERRAFORM_VERSIONS_DIR: "/opt/terraform",
        ATOLL_TERRAFORM_DISTRIBUTION: "OpenTofu",
        ATOLL_TOFU_BIN: "/usr/local/bin/tofu",
        ATOLL_PARALLEL_POOL_SIZE: "8",
        ATOLL_PARALLEL_PLAN: "false",
        ATOLL_PLUGIN_CACHE: "off",
        ATOLL_PROGRESS_DELAY: "0",
        ATOLL_AUTOMERGE_METHOD: "Squash",
        ATOLL_PROCESS_NICENESS: "0",
        ATOLL_TERRAFORM_GOGC: "100",
        ATOLL_DATABASE_URL: "postgres://atoll:pw@db.internal:5432/atoll",
        ATOLL_DATABASE_POOL_SIZE: "4",
        ATOLL_ROLE: "Worker",
        ATOLL_REPLICA_ID: "atoll-worker-2",
        ATOLL_JOB_LEASE: "1m",
        ATOLL_JOB_POLL_INTERVAL: "5s",
        GHE_HOST: "github.example.com",
        ATOLL_PUBLIC_URL: "https://atoll.example.com/",
        ATOLL_SESSION_SECRET: "0123456789abcdef0123456789abcdef",
        GITHUB_CLIENT_ID: "Iv1.abc",
        GITHUB_CLIENT_SECRET: "s3cret",
        ATOLL_METRICS_TOKEN: " s3cr3t-Token_1 ",
        ATOLL_STATEFUL_TYPES: "acme_db, acme_vault_*",
        ATOLL_HIDE_PREV_PLAN_COMMENTS: "false",
        ATOLL_PLAN_LABELS: "true",
        ATOLL_CARRY_UNCHANGED_PLANS: "no",
      },
      "/x",
    );
    expect(s).toEqual({
      commandNames: ["atoll", "tf-bot"],
      repoAllowlist: ["acme/infra", "acme-*/live"],
      dataDir: "/var/lib/atoll",
      terraformBin: "/usr/bin/tofu",
      stepTimeoutMs: 90 * 60_000,
      jobConcurrency: 4,
      maxQueuedJobs: 10,
      autoplanDrafts: true,
      allowForkPrs: true,
      allowLocalState: true,
      jobLogMaxBytes: 1000,
      jobLogRetentionMs: 24 * 3600_000,
      allowCommands: ["plan", "help"],
      blockedExtraArgs: ["-chdir", "-state"],
      statefulTypes: ["acme_db", "acme_vault_*"],
      hidePrevPlanComments: false,
      planLabels: true,
      carryUnchangedPlans: false,
      appSlug: "my-atoll",
      applyRequirements: ["undiverged", "approved"],
      lockSweepIntervalMs: 30_000,
      shutdownGraceMs: 90_000,
      databaseFile: "/var/lib/atoll/state/atoll.sqlite",
      databaseUrl: "postgres://atoll:pw@db.internal:5432/atoll",
      databasePoolSize: 4,
      role: "worker",
      replicaId: "atoll-worker-2",
      jobLeaseMs: 60_000,
      jobPollMs: 5_000,
      githubWebUrl: "https://github.example.com",
      policyFile: "/x/policy/repos.yaml",
      terraformVersionsDir: "/opt/terraform",
      terraformDistribution: "opentofu",
      tofuBin: "/usr/local/bin/tofu",
      parallelPoolSize: 8,
      parallelPlan: false,
      progressDelayMs: 0,
      progressDelayAuto: false,
      automergeMethod: "squash",
      processNiceness: 0,
      terraformGogc: 100,
      publicUrl: "https://atoll.example.com",
      sessionSecret: "0123456789abcdef0123456789abcdef",
      oauthClientId: "Iv1.abc",
      oauthClientSecret: "s3cret",
      metricsToken: "s3cr3t-Token_1",
    });
  });

  test.each([
    [{ ATOLL_JOB_CONCURRENCY: "0" }, "ATOLL_JOB_CONCURRENCY"],
    [{ ATOLL_TERRAFORM_DISTRIBUTION: "pulumi" }, "ATOLL_TERRAFORM_DISTRIBUTION"],
    [{ ATOLL_PARALLEL_POOL_SIZE: "0" }, "ATOLL_PARALLEL_POOL_SIZE"],
    [{ ATOLL_PROGRESS_DELAY: "soon" }, "ATOLL_PROGRESS_DELAY"],
    [{ ATOLL_PROCESS_NICENESS: "20" }, "ATOLL_PROCESS_NICENESS"],
    [{ ATOLL_PROCESS_NICENESS: "-5" }, "ATOLL_PROCESS_NICENESS"],
    [{ ATOLL_TERRAFORM_GOGC: "off" }, "ATOLL_TERRAFORM_GOGC"],
    [{ ATOLL_TERRAFORM_GOGC: "20" }, "ATOLL_TERRAFORM_GOGC"],
    [{ ATOLL_JOB_CONCURRENCY: "two" }, "ATOLL_JOB_CONCURRENCY"],
    [{ ATOLL_MAX_QUEUED_JOBS: "1.5" }, "ATOLL_MAX_QUEUED_JOBS"],
    [{ ATOLL_AUTOPLAN_DRAFTS: "maybe" }, "ATOLL_AUTOPLAN_DRAFTS"],
    [{ ATOLL_STEP_TIMEOUT: "10 minutes" }, "ATOLL_STEP_TIMEOUT"],
    [{ ATOLL_STEP_TIMEOUT: "0" }, "ATOLL_STEP_TIMEOUT"],
    [{ ATOLL_ALLOW_COMMANDS: "plan,teardown" }, "ATOLL_ALLOW_COMMANDS"],
    [{ ATOLL_COMMAND_NAMES: "atoll,two words" }, "ATOLL_COMMAND_NAMES"],
    [{ ATOLL_REPO_ALLOWLIST: "just-a-name" }, "ATOLL_REPO_ALLOWLIST"],
    [{ ATOLL_APPLY_REQUIREMENTS: "approved,reviewed" }, "ATOLL_APPLY_REQUIREMENTS"],
    [{ ATOLL_LOCK_SWEEP_INTERVAL: "soon" }, "ATOLL_LOCK_SWEEP_INTERVAL"],
    [{ ATOLL_SHUTDOWN_GRACE: "-1" }, "ATOLL_SHUTDOWN_GRACE"],
    [{ ATOLL_AUTOMERGE_METHOD: "fast-forward" }, "ATOLL_AUTOMERGE_METHOD"],
    [{ ATOLL_DATABASE_URL: "mysql://db/atoll" }, "ATOLL_DATABASE_URL"],
    [{ ATOLL_DATABASE_URL: "not a url" }, "ATOLL_DATABASE_URL"],
    [{ ATOLL_DATABASE_POOL_SIZE: "0" }, "ATOLL_DATABASE_POOL_SIZE"],
    [{ ATOLL_ROLE: "receiver" }, "ATOLL_ROLE"],
    [{ ATOLL_REPLICA_ID: "two words" }, "ATOLL_REPLICA_ID"],
    [{ ATOLL_JOB_LEASE: "2s" }, "ATOLL_JOB_LEASE"],
    [{ ATOLL_JOB_POLL_INTERVAL: "often" }, "ATOLL_JOB_POLL_INTERVAL"],
    [{ ATOLL_PUBLIC_URL: "atoll.example.com" }, "ATOLL_PUBLIC_URL"],
    [{ ATOLL_PUBLIC_URL: "ftp://atoll.example.com" }, "ATOLL_PUBLIC_URL"],
    [{ ATOLL_PUBLIC_URL: "https://atoll.example.com/?x=1" }, "ATOLL_PUBLIC_URL"],
    [{ ATOLL_SESSION_SECRET: "short" }, "ATOLL_SESSION_SECRET"],
    [{ ATOLL_METRICS_TOKEN: "two words" }, "ATOLL_METRICS_TOKEN"],
  ])("%j is refused with a message naming the variable", (env, name) => {
    expect(() => readSettings(env)).toThrow(SettingsError);
    expect(() => readSettings(env)).toThrow(name);
  });
});

describe("web sign-in settings", () => {
  test("ATOLL_PUBLIC_URL keeps a path prefix and loses trailing slashes", () => {
    expect(readSettings({ ATOLL_PUBLIC_URL: "http://127.0.0.1:3000" }).publicUrl).toBe("http://127.0.0.1:3000");
    expect(readSettings({ ATOLL_PUBLIC_URL: " https://ci.example.com/atoll// " }).publicUrl).toBe("https://ci.example.com/atoll");
  });
  test("blank values are unset", () => {
    const s = readSettings({ ATOLL_PUBLIC_URL: " ", ATOLL_SESSION_SECRET: "", GITHUB_CLIENT_ID: " ", GITHUB_CLIENT_SECRET: "" });
    for (const key of ["publicUrl", "sessionSecret", "oauthClientId", "oauthClientSecret"]) expect(s).not.toHaveProperty(key);
  });
  test("a short session secret is refused without echoing it", () => {
    expect(() => readSettings({ ATOLL_SESSION_SECRET: "hunter2-hunter2" })).toThrow(/^(?!.*hunter2)/s);
  });
});

test("ATOLL_METRICS_TOKEN: unset or blank leaves /metrics open; a bad one is refused without echoing it", () => {
  expect(readSettings({}).metricsToken).toBeUndefined();
  expect("metricsToken" in readSettings({ ATOLL_METRICS_TOKEN: "  " })).toBe(false);
  expect(readSettings({ ATOLL_METRICS_TOKEN: "abc.DEF-123_~+/=" }).metricsToken).toBe("abc.DEF-123_~+/=");
  expect(() => readSettings({ ATOLL_METRICS_TOKEN: "secret\u0007value" })).toThrow(/^ATOLL_METRICS_TOKEN[^]*only$/);
  expect(() => readSettings({ ATOLL_METRICS_TOKEN: "secret value" })).not.toThrow(/secret/);
});

test.each(["merge", "squash", "rebase", " REBASE "])("ATOLL_AUTOMERGE_METHOD=%j is accepted", (method) => {
  expect(readSettings({ ATOLL_AUTOMERGE_METHOD: method }).automergeMethod).toBe(method.trim().toLowerCase());
});

describe("parseDuration", () => {
  test.each([
    ["600", 600_000],
    ["90s", 90_000],
    ["15m", 900_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["2m5s", 125_000],
  ])("%s", (v, ms) => expect(parseDuration("X", v)).toBe(ms));
  test.each(["", "m", "5x", "1h 30m", "-5s", "0s"])("refuses %j", (v) => expect(() => parseDuration("X", v)).toThrow("X"));
});

describe("repoAllowed", () => {
  test.each([
    [[], "any/thing", true],
    [["acme/infra"], "acme/infra", true],
    [["acme/infra"], "ACME/Infra", true],
    [["acme/infra"], "acme/infra2", false],
    [["acme/*"], "acme/anything", true],
    [["acme/*"], "other/anything", false],
    [["*/live"], "acme/live", true],
    [["acme-*/live"], "acme-eu/live", true],
    [["acme.io/x"], "acmexio/x", false],
  ] as const)("%j allows %s: %s", (list, name, allowed) => expect(repoAllowed([...list], name)).toBe(allowed));
});

describe("defaultReplicaId", () => {
  test("shared database: the machine's name and a digest of the data dir — stable across restarts, distinct per machine and data dir", () => {
    expect(defaultReplicaId("/var/lib/atoll", true, "web-1")).toMatch(/^web-1-[0-9a-f]{8}$/);
    expect(defaultReplicaId("/var/lib/atoll", true, "web-1")).toBe(defaultReplicaId("/var/lib/atoll", true, "web-1"));
    expect(defaultReplicaId("/var/lib/atoll-2", true, "web-1")).not.toBe(defaultReplicaId("/var/lib/atoll", true, "web-1"));
    expect(defaultReplicaId("/var/lib/atoll", true, "web-2")).not.toBe(defaultReplicaId("/var/lib/atoll", true, "web-1"));
    expect(readSettings({ ATOLL_DATA_DIR: "/d", ATOLL_DATABASE_URL: "postgres://db/atoll" }).replicaId).toBe(defaultReplicaId("/d", true, os.hostname()));
  });
  test("SQLite: the data dir alone, so a new host name (a new container on the same volume) keeps it", () => {
    expect(defaultReplicaId("/var/lib/atoll", false, "c0ffee")).toBe(defaultReplicaId("/var/lib/atoll", false, "beef42"));
    expect(readSettings({ ATOLL_DATA_DIR: "/d" }).replicaId).toMatch(/^local-[0-9a-f]{8}$/);
  });
  test("the database URL's password is never in a settings error", () => {
    expect(() => readSettings({ ATOLL_DATABASE_URL: "mysql://u:hunter2@db/x" })).toThrow(/^(?!.*hunter2)/s);
  });
});
