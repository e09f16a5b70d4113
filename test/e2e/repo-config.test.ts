/**
 * atlantis.yaml v3 and the server policy, end to end (real server, git, terraform, PostgreSQL
 * state, and the operator's policy file):
 *
 *  - a multi-project repo with execution order groups and depends_on: plans and applies run group
 *    by group (observed through a server-defined workflow whose `run` step logs each project);
 *  - a repo-defined custom workflow whose `env` and `run` steps feed terraform;
 *  - `terraform_version` picks a binary from ATOLL_TERRAFORM_VERSIONS_DIR, with a clear error
 *    for a version that is not installed;
 *  - the policy refusing a repo override: one comment naming the setting that would allow it;
 *  - a broken config: one comment listing every problem with its line, failed checks, no terraform.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CommentRecord, PullRecord } from "../fake-github/state.js";
import { OWNER, REPO, completedRun, expectCleanGitHub, latestRun, startE2eEnv, type E2eEnv } from "./e2e-env.js";

const pgTf = (schema: string, body: string) => `terraform {\n  backend "pg" {\n    schema_name = "${schema}"\n  }\n}\n${body}`;
/**
 * Projects planned in parallel keep their state in local files: terraform's pg backend takes one
 * database-wide advisory lock when it first creates a workspace, so parallel first plans against
 * one database collide ("Already locked for workspace creation") — a property of the backend.
 */
const localTf = (stateDir: string, name: string, body: string) =>
  `terraform {\n  backend "local" {\n    path = "${stateDir}/${name}.tfstate"\n  }\n}\n${body}`;
const data = (name: string, input: string) => `resource "terraform_data" "${name}" {\n  input = ${input}\n}\n`;

/** The operator's policy: this repo may pick workflows and define its own; every repo gets a logging workflow. */
const POLICY = `repos:
  - id: /.*/
    workflow: logged
  - id: acme/infra
    allowed_overrides: [workflow]
    allow_custom_workflows: true
    pre_workflow_hooks:
      - run: echo "hook $COMMAND_NAME $PULL_NUM" >> "$ORDER_LOG"
        commands: plan
    post_workflow_hooks:
      - run: test "$PULL_NUM" != 2
        description: refuse PR 2
workflows:
  logged:
    plan:
      steps:
        - run: echo "plan $PROJECT_NAME" >> "$ORDER_LOG"
        - init
        - plan
    apply:
      steps:
        - run: echo "apply $PROJECT_NAME" >> "$ORDER_LOG"
        - apply
`;

const ORDERED_CONFIG = `version: 3
parallel_plan: true
parallel_apply: true
projects:
  - name: net
    dir: net
    execution_order_group: 1
  - name: app
    dir: app
    execution_order_group: 2
    depends_on: [net]
  - name: db
    dir: db
    execution_order_group: 2
  - name: custom
    dir: custom
    workflow: custom
    autoplan:
      enabled: false
  - name: pinned
    dir: pinned
    terraform_version: "1.11"
    autoplan:
      enabled: false
  - name: missing-version
    dir: missing
    terraform_version: 0.12.31
    autoplan:
      enabled: false
workflows:
  custom:
    plan:
      steps:
        - env:
            name: TF_VAR_greeting
            command: echo "hello-from-pr-$PULL_NUM"
        - run: echo "custom step for $PROJECT_NAME at $REPO_REL_DIR (workspace $WORKSPACE)"
        - init
        - plan
`;

function appComments(env: E2eEnv, pull: number): CommentRecord[] {
  return env.github.comments(OWNER, REPO, pull).filter((c) => c.byApp);
}

function waitComment(env: E2eEnv, pull: number, re: RegExp, what: string, after = 0): Promise<CommentRecord> {
  return env.github.waitFor(() => appComments(env, pull).slice(after).find((c) => re.test(c.body)), {
    what,
    timeoutMs: 90_000,
    context: () => env.atoll.logs().slice(-30).join("\n"),
  });
}

async function stateInputs(env: E2eEnv, schema: string, stateDir?: string): Promise<Record<string, string>> {
  const out = stateDir
    ? await fs.readFile(path.join(stateDir, `${schema}.tfstate`), "utf8").catch(() => "")
    : await env.pg.psql(`SELECT data FROM ${schema}.states WHERE name = 'default'`, "tfstate").catch(() => "");
  if (!out.trim()) return {};
  type Input = string | { value: string };
  const resources = JSON.parse(out.trim()).resources as { name: string; instances: { attributes: { input: Input } }[] }[];
  const value = (i: Input) => (typeof i === "string" ? i : i.value);
  return Object.fromEntries(resources.map((r) => [r.name, value(r.instances[0].attributes.input)]));
}

describe("repo config and server policy (real server, git, terraform, PostgreSQL)", () => {
  let env: E2eEnv;
  let work: string;
  let orderLog: string;
  let states: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-e2e-config-"));
    orderLog = path.join(work, "order.log");
    states = path.join(work, "states");
    await fs.mkdir(states);
    const policyFile = path.join(work, "policy.yaml");
    await fs.writeFile(policyFile, POLICY);
    // A directory of terraform versions, as an operator would install them: only 1.11.4 here.
    const versions = path.join(work, "versions");
    await fs.mkdir(versions);
    await fs.symlink("/usr/local/bin/terraform", path.join(versions, "terraform1.11.4"));
    env = await startE2eEnv({
      env: { ATOLL_POLICY_FILE: policyFile, ATOLL_TERRAFORM_VERSIONS_DIR: versions, ORDER_LOG: orderLog, ATOLL_PARALLEL_POOL_SIZE: "2" },
    });
    await env.repo.commit(
      "main",
      {
        "atoll.yaml": ORDERED_CONFIG,
        "net/main.tf": localTf(states, "net", data("vpc", '"vpc-1"')),
        "app/main.tf": localTf(states, "app", data("service", '"svc-1"')),
        "db/main.tf": localTf(states, "db", data("database", '"db-1"')),
        "custom/main.tf": pgTf("custom", `variable "greeting" {\n  type = string\n}\n${data("hello", "var.greeting")}`),
        "pinned/main.tf": data("pinned", '"p"'),
        "missing/main.tf": data("missing", '"m"'),
      },
      "initial",
    );
    env.github.setPermission(OWNER, REPO, "bob", "write");
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  }, 60_000);

  afterEach(() => expectCleanGitHub(env));

  test("execution order groups: group 1 plans and applies before group 2; depends_on refuses an early apply", async () => {
    await env.repo.commit(
      "grow",
      {
        "net/main.tf": localTf(states, "net", data("vpc", '"vpc-2"')),
        "app/main.tf": localTf(states, "app", data("service", '"svc-2"')),
        "db/main.tf": localTf(states, "db", data("database", '"db-2"')),
      },
      "change all three",
      { from: "main" },
    );
    const pull = await env.github.createPull(OWNER, REPO, { number: 1, head: "grow", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pull, "opened"));
    const plan = await waitComment(env, 1, /Ran Plan for 3 projects/, "plan comment for 3 projects");
    for (const name of ["net", "app", "db"]) {
      const run = await completedRun(env, pull.headSha, `atoll/plan: ${name}`);
      expect([name, run.conclusion, run.conclusion === "success" ? "" : plan.body]).toEqual([name, "success", ""]);
    }
    expect(plan.body).toContain("Plan: 1 to add");
    const logged = (await fs.readFile(orderLog, "utf8")).trim().split("\n");
    // The pre-workflow hook ran first, once for the command (not per project).
    expect(logged[0]).toBe("hook plan 1");
    const planned = logged.filter((l) => l.startsWith("plan "));
    // Group 1 (net) first; group 2 (app, db) after it, in either order (parallel_plan).
    expect(planned[0]).toBe("plan net");
    expect(planned.slice(1).sort()).toEqual(["plan app", "plan db"]);

    // app depends on net, which is not applied yet.
    let seen = appComments(env, 1).length;
    await env.atoll.send(env.comment(pull, "bob", "atoll apply -p app"));
    const refused = await waitComment(env, 1, /Apply/, "apply refusal", seen);
    expect(refused.body).toContain("Can't apply your project unless you apply its dependencies: [net]");
    expect(await stateInputs(env, "app", states)).toEqual({});

    // Apply all: net (group 1), then app and db (group 2); every state is written.
    await fs.writeFile(orderLog, "");
    seen = appComments(env, 1).length;
    await env.atoll.send(env.comment(pull, "bob", "atoll apply"));
    const applied = await waitComment(env, 1, /Ran Apply for 3 projects/, "apply comment", seen);
    expect(applied.body).toContain("Apply complete! Resources: 1 added");
    expect(applied.body).toContain("3 projects, 3 applied, 0 failed");
    const applies = (await fs.readFile(orderLog, "utf8")).trim().split("\n");
    expect(applies[0]).toBe("apply net");
    expect(applies.slice(1).sort()).toEqual(["apply app", "apply db"]);
    expect(await stateInputs(env, "net", states)).toEqual({ vpc: "vpc-2" });
    expect(await stateInputs(env, "app", states)).toEqual({ service: "svc-2" });
    expect(await stateInputs(env, "db", states)).toEqual({ database: "db-2" });
  }, 240_000);

  test("a custom workflow: an env step feeds terraform a variable, a run step's output is in the comment", async () => {
    await env.repo.commit("custom", { "custom/README.md": "custom project\n" }, "touch custom", { from: "main" });
    const pull = await env.github.createPull(OWNER, REPO, { number: 2, head: "custom", base: "main", author: "alice" });
    await env.atoll.send(env.comment(pull, "bob", "atoll plan -p custom"));
    const plan = await waitComment(env, 2, /Ran Plan/, "custom plan comment");
    expect(plan.body).toContain("custom step for custom at custom (workspace default)");
    expect(plan.body).toContain('"hello-from-pr-2"');
    // A failing post-workflow hook does not fail the plan, and is not invisible either.
    expect(plan.body).toContain('The post-workflow hook "refuse PR 2" failed with exit code 1');
    expect((await completedRun(env, pull.headSha, "atoll/plan: custom")).conclusion).toBe("success");

    const seen = appComments(env, 2).length;
    await env.atoll.send(env.comment(pull, "bob", "atoll apply -p custom"));
    await waitComment(env, 2, /Apply complete!/, "custom apply", seen);
    expect(await stateInputs(env, "custom")).toEqual({ hello: "hello-from-pr-2" });
  }, 180_000);

  test("terraform_version: an installed version runs; a missing one is a clear error", async () => {
    await env.repo.commit("versions", { "pinned/x.tf": "", "missing/x.tf": "" }, "touch versioned projects", { from: "main" });
    const pull = await env.github.createPull(OWNER, REPO, { number: 3, head: "versions", base: "main", author: "alice" });
    await env.atoll.send(env.comment(pull, "bob", "atoll plan"));
    const plan = await waitComment(env, 3, /Ran Plan for 2 projects/, "plan of the versioned projects");
    expect((await completedRun(env, pull.headSha, "atoll/plan: pinned")).conclusion).toBe("success");
    const missing = await completedRun(env, pull.headSha, "atoll/plan: missing-version");
    expect(missing.conclusion).toBe("failure");
    expect(plan.body).toMatch(/0\.12\.31 is not installed/);
    expect(plan.body).toContain("1.11.4");
  }, 180_000);

  test("a repo key the policy does not allow: one comment naming the setting, failed checks, no terraform", async () => {
    const config = ORDERED_CONFIG.replace("    depends_on: [net]\n", "    depends_on: [net]\n    apply_requirements: []\n");
    await env.repo.commit("override", { "atoll.yaml": config, "net/main.tf": localTf(states, "net", data("vpc", '"vpc-3"')) }, "drop requirements", { from: "main" });
    const pull = await env.github.createPull(OWNER, REPO, { number: 4, head: "override", base: "main", author: "alice" });
    const before = (await fs.readFile(orderLog, "utf8").catch(() => "")).length;
    await env.atoll.send(env.pullEvent(pull, "opened"));
    const comment = await waitComment(env, 4, /could not use/, "policy refusal comment");
    expect(comment.body).toContain("line 12");
    expect(comment.body).toContain("`projects[1].apply_requirements`");
    expect(comment.body).toContain("repo config not allowed to set 'apply_requirements' key: server-side config needs 'allowed_overrides: [apply_requirements]'");
    expect((await completedRun(env, pull.headSha, "atoll/plan")).conclusion).toBe("failure");
    // No project was planned: no per-project check run, nothing logged by the workflow (only the
    // pre-workflow hook ran: hooks run before the repo config is read, since they may generate it).
    expect(latestRun(env, pull.headSha, "atoll/plan: net")).toBeUndefined();
    expect((await fs.readFile(orderLog, "utf8")).slice(before)).toBe("hook plan 4\n");
    expect(appComments(env, 4)).toHaveLength(1);
  }, 120_000);

  test("a broken config: every problem in one comment with its line, and no terraform run", async () => {
    const broken = `version: 3
projects:
  - dir: net
    worksapce: staging
  - dir: ../outside
workflows:
  custom:
    plan:
      steps:
        - terraform plan
        - run: echo
          env: x
`;
    await env.repo.commit("broken", { "atoll.yaml": broken, "net/main.tf": localTf(states, "net", data("vpc", '"vpc-4"')) }, "break the config", { from: "main" });
    const pull = await env.github.createPull(OWNER, REPO, { number: 5, head: "broken", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pull, "opened"));
    const comment = await waitComment(env, 5, /could not use/, "config error comment");
    expect(comment.body).toContain("no Terraform ran");
    expect(comment.body).toMatch(/line 4, `projects\[0\]\.worksapce`: unknown key in a project; did you mean 'workspace'\?/);
    expect(comment.body).toMatch(/line 5, `projects\[1\]\.dir`: cannot contain '\.\.'/);
    expect(comment.body).toMatch(/line 10, `workflows\.custom\.plan\.steps\[0\]`: "terraform plan" is not a valid step type, maybe you omitted the 'run' key/);
    expect(comment.body).toMatch(/line 11, `workflows\.custom\.plan\.steps\[1\]`: step element can only contain a single key, found 2: run,env/);
    expect((await completedRun(env, pull.headSha, "atoll/plan")).conclusion).toBe("failure");
    expect(latestRun(env, pull.headSha, "atoll/plan: net")).toBeUndefined();
    expect(appComments(env, 5)).toHaveLength(1);
  }, 120_000);
});
