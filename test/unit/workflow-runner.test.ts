/**
 * The workflow runtime against the real terraform binary (no providers: only the built-in
 * `terraform_data` resource and the local backend) and the real `sh`.
 */
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { createExecaTerraform } from "../../src/adapters/execa-terraform.js";
import { createProcessShell } from "../../src/adapters/process-shell.js";
import type { EnvStep, MultienvStep, RunOutputMode, RunStep, Workflow, WorkflowStep } from "../../src/config/config-types.js";
import { defaultWorkflow } from "../../src/config/default-workflow.js";
import type { ShellPort } from "../../src/ports/shell.js";
import type { TerraformPort } from "../../src/ports/terraform.js";
import type { Checkout } from "../../src/ports/workspace.js";
import type { Project } from "../../src/projects/project.js";
import { planFilePath } from "../../src/runner/workflow/project-paths.js";
import { applyProject, planProject, stateProject } from "../../src/runner/workflow/project-steps.js";
import type { RunnerDeps } from "../../src/runner/runner-deps.js";
import { workflowEnv } from "../../src/runner/workflow/workflow-env.js";
import { parseMultienv } from "../../src/runner/workflow/shell-steps.js";
import { expandVars, stripRefreshing } from "../../src/runner/workflow/step-text.js";
import { runStage, type StageRun } from "../../src/runner/workflow/workflow-runner.js";
import { readSettings } from "../../src/settings.js";
import { MAIN_TF, TERRAFORM, terraformTestEnv } from "../helpers/terraform-fixture.js";


let work: string;
let tf: TerraformPort;
let shell: ShellPort;

/** Server environment: no internet, no CLI config (terraform only warns), and a secret Atoll must withhold. */
function baseEnv(): NodeJS.ProcessEnv {
  return { ...terraformTestEnv(work), PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----" };
}

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "atoll-workflow-runner-"));
  await mkdir(path.join(work, "artifacts"));
  tf = createExecaTerraform({ binary: TERRAFORM, baseEnv: baseEnv() });
  shell = createProcessShell({ baseEnv: baseEnv() });
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function project(files: Record<string, string> = { "main.tf": MAIN_TF }): Promise<string> {
  const dir = await mkdtemp(path.join(work, "project-"));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

const exists = (file: string) => access(file).then(() => true, () => false);

const builtin = (name: "init" | "plan" | "apply" | "show" | "import" | "state_rm" | "policy_check", extraArgs: string[] = []): WorkflowStep => ({
  kind: "builtin",
  name,
  extraArgs,
});
const run = (command: string, output: RunOutputMode[] = [{ mode: "show" }], sh = "sh", shellArgs = ["-c"]): RunStep => ({
  kind: "run",
  command,
  output,
  shell: sh,
  shellArgs,
});
const envValue = (name: string, value: string): EnvStep => ({ kind: "env", name, value, shell: "sh", shellArgs: ["-c"] });
const envCommand = (name: string, command: string): EnvStep => ({ kind: "env", name, command, shell: "sh", shellArgs: ["-c"] });
const multienv = (command: string, output: "show" | "hide" = "show"): MultienvStep => ({ kind: "multienv", command, output, shell: "sh", shellArgs: ["-c"] });

function stage(cwd: string, steps: WorkflowStep[], over: Partial<StageRun> = {}): Promise<ReturnType<typeof runStage> extends Promise<infer R> ? R : never> {
  const workspace = over.workspace ?? "default";
  return runStage({
    steps,
    terraform: tf,
    shell,
    cwd,
    workspace,
    planFile: path.join(work, "artifacts", `${workspace}.tfplan`),
    showFile: path.join(work, "artifacts", `${workspace}.json`),
    commentArgs: [],
    env: {},
    timeoutMs: 60_000,
    ...over,
  });
}

describe("runStage with the default stages", () => {
  test("plan = init + plan, then show and apply", async () => {
    const cwd = await project();
    const plan = await stage(cwd, defaultWorkflow().plan, { stage: "plan" });
    expect(plan.failed).toBeUndefined();
    expect(plan.ok).toBe(true);
    expect(plan.planStepRan).toBe(true);
    expect(plan.hasChanges).toBe(true);
    expect(plan.steps.map((s) => s.label)).toEqual(["init", "plan"]);
    expect(plan.steps[0].display).toBe("terraform init -input=false -no-color");
    // init's output only shows when it fails; the plan's as terraform printed it.
    expect(plan.output).not.toContain("successfully initialized");
    expect(plan.output).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    expect(plan.output.startsWith("$ ")).toBe(false);
    expect(await exists(path.join(work, "artifacts", "default.tfplan"))).toBe(true);

    const show = await stage(cwd, [builtin("show")]);
    expect(show.ok).toBe(true);
    expect(show.output).toBe("");
    expect(show.hasChanges).toBeUndefined();
    expect(show.planStepRan).toBe(false);
    const json = JSON.parse(await readFile(path.join(work, "artifacts", "default.json"), "utf8")) as { resource_changes: { address: string }[] };
    expect(json.resource_changes.map((c) => c.address)).toEqual(["terraform_data.a"]);

    const apply = await stage(cwd, defaultWorkflow().apply, { stage: "apply" });
    expect(apply.ok).toBe(true);
    expect(apply.output).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");

    const again = await stage(cwd, defaultWorkflow().plan);
    expect(again.hasChanges).toBe(false);
    expect(again.output).toContain("No changes.");
  });

  test("extra_args: $VAR and ${VAR} from the stage env (Atlantis and env-step variables, not the server's), one argv entry each, no shell", async () => {
    const cwd = await project();
    const r = await stage(
      cwd,
      [
        envValue("SUFFIX", "x y"),
        builtin("init", ["-get=true"]),
        builtin("plan", ["-var=v=${GREETING}|$SUFFIX|$HOME|$(echo pwned)|$PULL_NUM"]),
        builtin("apply", ["-parallelism=$PAR"]),
      ],
      { env: { GREETING: "hi there", PULL_NUM: "7", PAR: "3" }, commentArgs: ["-target=terraform_data.a"] },
    );
    expect(r.failed).toBeUndefined();
    const [init, plan, apply] = [r.steps[1], r.steps[2], r.steps[3]];
    expect(init.args).toEqual(["init", "-input=false", "-no-color", "-get=true"]);
    // Extra args, then the comment's args.
    expect(plan.args!.slice(-2)).toEqual(["-var=v=hi there|x y||$(echo pwned)|7", "-target=terraform_data.a"]);
    // (-target leaves the output out; the resource input shows the value.)
    expect(r.output).toContain('+ input  = "hi there|x y||$(echo pwned)|7"');
    expect(apply.args!.slice(-2)).toEqual(["-parallelism=3", path.join(work, "artifacts", "default.tfplan")]);
  });

  test("env/<workspace>.tfvars is added automatically, before extra_args", async () => {
    const cwd = await project({ "main.tf": MAIN_TF, "env/staging.tfvars": 'v = "from-tfvars"\n', "env/default.tfvars": 'v = "not-this"\n' });
    const r = await stage(cwd, defaultWorkflow().plan, { workspace: "staging" });
    expect(r.failed).toBeUndefined();
    expect(r.steps.map((s) => s.label)).toEqual(["init", "workspace select", "plan"]);
    expect(r.steps[2].args).toContain("-var-file=env/staging.tfvars");
    expect(r.output).toContain('+ o = "from-tfvars"');
    const ws = await execa(TERRAFORM, ["workspace", "show"], { cwd, env: baseEnv(), extendEnv: false });
    expect(ws.stdout.trim()).toBe("staging");

    const override = await stage(cwd, [builtin("plan", ["-var=v=override"])], { workspace: "staging" });
    expect(override.steps[1].args!.slice(-2)).toEqual(["-var-file=env/staging.tfvars", "-var=v=override"]);
    expect(override.output).toContain('+ o = "override"');

    // No file for the workspace: no flag.
    const other = await stage(cwd, [builtin("plan")], { workspace: "prod" });
    expect(other.steps.find((s) => s.label === "plan")!.args!.some((a) => a.startsWith("-var-file"))).toBe(false);
  });
});

describe("run steps", () => {
  const NOISY = `printf 'terraform_data.a: Refreshing state... [id=1]\\nkeep me\\npassword=hunter2\\n'; echo on-stderr >&2`;

  test("output modes: show, hide, strip_refreshing, filter_regex, combined", async () => {
    const cwd = await project();
    const show = await stage(cwd, [run(NOISY)]);
    expect(show.ok).toBe(true);
    expect(show.output).toBe("terraform_data.a: Refreshing state... [id=1]\nkeep me\npassword=hunter2\non-stderr\n");

    const hide = await stage(cwd, [run(NOISY, [{ mode: "hide" }])]);
    expect(hide.ok).toBe(true);
    expect(hide.output).toBe("");
    expect(hide.steps).toHaveLength(1);

    const strip = await stage(cwd, [run(NOISY, [{ mode: "strip_refreshing" }])]);
    expect(strip.output).toBe("keep me\npassword=hunter2\non-stderr\n");

    const filter = await stage(cwd, [run(NOISY, [{ mode: "filter_regex", regex: "hunter\\d" }])]);
    expect(filter.output).toBe("terraform_data.a: Refreshing state... [id=1]\nkeep me\npassword=<redacted>\non-stderr\n");

    const both = await stage(cwd, [
      run(NOISY, [{ mode: "strip_refreshing" }, { mode: "filter_regex", regex: "password=\\S+" }, { mode: "filter_regex", regex: "keep" }]),
    ]);
    expect(both.output).toBe("<redacted> me\n<redacted>\non-stderr\n");

    // hide wins over everything.
    const hidden = await stage(cwd, [run(NOISY, [{ mode: "strip_refreshing" }, { mode: "hide" }])]);
    expect(hidden.output).toBe("");
  });

  test("several shown steps are headed by their command; a single one is not", async () => {
    const cwd = await project();
    const r = await stage(cwd, [run("echo one"), run("echo hidden", [{ mode: "hide" }]), run("true"), run("echo two\necho three")]);
    expect(r.output).toBe("$ echo one\none\n\n$ echo two …\ntwo\nthree\n");
    expect(r.steps.map((s) => s.label)).toEqual(["run", "run", "run", "run"]);
  });

  test("a failing run step stops the stage and shows its output; a hidden one only its exit code", async () => {
    const cwd = await project();
    const r = await stage(cwd, [run("echo before"), run("echo boom >&2; exit 3"), run("touch ran-after")]);
    expect(r.ok).toBe(false);
    expect(r.failed).toMatchObject({ step: "run", terraform: false, result: { exitCode: 3, timedOut: false, output: "boom\n" } });
    expect(r.output).toBe("$ echo before\nbefore\n\n$ echo boom >&2; exit 3\nboom\n");
    expect(await exists(path.join(cwd, "ran-after"))).toBe(false);
    expect(r.steps).toHaveLength(2);

    const hidden = await stage(cwd, [run("echo secret-output; exit 4", [{ mode: "hide" }])]);
    expect(hidden.ok).toBe(false);
    expect(hidden.output).toBe("run step failed (exit 4)\n");
    expect(hidden.failed!.result.output).not.toContain("secret-output");
  });

  test("a run step that times out is killed", async () => {
    const cwd = await project();
    const started = Date.now();
    const r = await stage(cwd, [run("sleep 30")], { timeoutMs: 300 });
    expect(r.ok).toBe(false);
    expect(r.failed!.result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test("the Atlantis variables are visible; Atoll's secrets are not", async () => {
    const cwd = await project();
    const planFile = path.join(work, "artifacts", "default.tfplan");
    const env = workflowEnv({
      projectName: "web",
      projectDir: "stacks/web",
      absoluteDir: cwd,
      workspace: "default",
      repoOwner: "acme",
      repoName: "infra",
      headRepoOwner: "acme",
      headRepoName: "infra",
      headBranch: "feature",
      baseBranch: "main",
      headCommit: "abc123",
      pullNumber: 42,
      pullUrl: "https://github.com/acme/infra/pull/42",
      pullAuthor: "alice",
      user: "bob",
      commentArgs: ["-target=a.b", "x y"],
      planFile: "/somewhere/else.tfplan",
      showFile: "/somewhere/else.json",
    });
    const r = await stage(cwd, [
      run(
        // printf, not echo: dash's echo interprets the backslashes.
        'printf "%s\\n" "$PULL_NUM $COMMENT_ARGS $PROJECT_NAME $REPO_REL_DIR $USER_NAME $HEAD_COMMIT $BASE_BRANCH_NAME $WORKSPACE"; ' +
          'echo "dir=$DIR plan=$PLANFILE pwd=$(pwd)"; echo "key=${PRIVATE_KEY:-none} auto=$TF_IN_AUTOMATION"',
      ),
    ], { env });
    expect(r.ok).toBe(true);
    const lines = r.output.split("\n");
    expect(lines[0]).toBe("42 \\-\\t\\a\\r\\g\\e\\t\\=\\a\\.\\b,\\x\\ \\y web stacks/web bob abc123 main default");
    // The runner's own paths win over the caller's.
    expect(lines[1]).toBe(`dir=${cwd} plan=${planFile} pwd=${cwd}`);
    expect(lines[2]).toBe("key=none auto=1");
  });

  test("a custom plan stage of run steps that writes $PLANFILE itself; its apply stage too", async () => {
    const cwd = await project();
    const planFile = path.join(work, "artifacts", "default.tfplan");
    const r = await stage(
      cwd,
      [run("terraform init -input=false -no-color > /dev/null 2>&1"), run("terraform plan -input=false -no-color -out $PLANFILE", [{ mode: "strip_refreshing" }])],
      { binary: TERRAFORM },
    );
    expect(r.failed).toBeUndefined();
    expect(r.planStepRan).toBe(false);
    expect(r.hasChanges).toBeUndefined();
    expect(r.output).toContain("Plan: 1 to add");
    expect(r.output.startsWith("$ ")).toBe(false);
    expect(await exists(planFile)).toBe(true);

    const apply = await stage(cwd, [run("terraform apply -input=false -no-color $PLANFILE")]);
    expect(apply.ok).toBe(true);
    expect(apply.output).toContain("Apply complete! Resources: 1 added");
  });

  test("a versioned binary named terraform comes first in PATH for run steps", async () => {
    const cwd = await project();
    const fake = path.join(work, "versions", "9.9.9", "terraform");
    await mkdir(path.dirname(fake), { recursive: true });
    await writeFile(fake, '#!/bin/sh\necho "fake terraform $*"\n');
    await chmod(fake, 0o755);
    const r = await stage(cwd, [run("terraform version")], { binary: fake });
    expect(r.output).toBe("fake terraform version\n");
  });
});

describe("env and multienv steps", () => {
  test("env value and env command feed later run steps and terraform; values are never shown", async () => {
    const cwd = await project();
    const r = await stage(cwd, [
      envCommand("TF_VAR_v", "echo from-env-command"),
      envValue("GREETING", "literal $HOME"),
      run('echo "[$TF_VAR_v] [$GREETING]"'),
      builtin("init"),
      builtin("plan"),
    ]);
    expect(r.failed).toBeUndefined();
    expect(r.output).toContain("$ echo \"[$TF_VAR_v] [$GREETING]\"\n[from-env-command] [literal $HOME]\n");
    // TF_VAR_v set by the env step changed the plan.
    expect(r.output).toContain('+ o = "from-env-command"');
    expect(r.env.TF_VAR_v).toBe("from-env-command");
    expect(r.steps.map((s) => s.label)).toEqual(["env TF_VAR_v", "env GREETING", "run", "init", "plan"]);
    expect(r.steps.map((s) => s.display).join("\n")).not.toContain("literal $HOME");
  });

  test("env command: only one trailing newline is removed; a failing command stops the stage", async () => {
    const cwd = await project();
    const r = await stage(cwd, [envCommand("X", "printf ' a b \\n\\n'"), run('printf "<%s>" "$X"')]);
    expect(r.output).toBe("< a b \n>");

    const failed = await stage(cwd, [envCommand("X", "echo cannot >&2; exit 2"), run("touch after")]);
    expect(failed.ok).toBe(false);
    expect(failed.failed).toMatchObject({ step: "env X", result: { exitCode: 2 } });
    expect(failed.output).toBe("cannot\n");
    expect(await exists(path.join(cwd, "after"))).toBe(false);
  });

  test("multienv: comma- or newline-separated pairs; names shown, values not", async () => {
    const cwd = await project();
    const r = await stage(cwd, [
      multienv("echo A=1,B=x=y"),
      multienv("printf 'C=has,comma\\nD=\\n'", "hide"),
      multienv("true"),
      run('echo "$A|$B|$C|$D"'),
    ]);
    expect(r.failed).toBeUndefined();
    expect(r.output).toBe("multienv: set A, B\n\nmultienv: set no variables\n\n$ echo \"$A|$B|$C|$D\"\n1|x=y|has,comma|\n");
  });

  test("multienv: a malformed pair or a failing command stops the stage", async () => {
    const cwd = await project();
    const bad = await stage(cwd, [multienv("echo A=1,secret-without-equals"), run("touch after")]);
    expect(bad.ok).toBe(false);
    expect(bad.failed!.step).toBe("multienv");
    expect(bad.failed!.message).toContain('pair 2 of the output has no "="');
    expect(bad.output).not.toContain("secret-without-equals");
    expect(await exists(path.join(cwd, "after"))).toBe(false);

    const badName = await stage(cwd, [multienv("echo 1A=x")]);
    expect(badName.failed!.message).toContain("invalid variable name");

    const failing = await stage(cwd, [multienv("echo oops >&2; exit 5", "hide")]);
    expect(failing.ok).toBe(false);
    expect(failing.failed!.result.exitCode).toBe(5);
    expect(failing.output).toBe("multienv step failed (exit 5)\n");
  });
});

describe("failures that are not a step's exit", () => {
  test("unsupported built-ins, a missing binary or shell, a bad regex: results, never throws", async () => {
    const cwd = await project();
    const imp = await stage(cwd, [builtin("import"), run("touch after")], { stage: "plan" });
    expect(imp.ok).toBe(false);
    expect(imp.failed!.step).toBe("import");
    expect(imp.failed!.message).toBe('The built-in "import" step in the plan stage has nothing to work on: it runs only for a `import ADDRESS ID` comment.');
    expect(await exists(path.join(cwd, "after"))).toBe(false);
    const policy = await stage(cwd, [builtin("policy_check"), run("touch after")], { stage: "plan" });
    expect(policy.failed!.message).toContain('Atoll cannot run the built-in "policy_check" step in the plan stage');
    expect(policy.output).toContain("Atoll has no policy checks");
    expect(await exists(path.join(cwd, "after"))).toBe(false);

    const noTf = await stage(cwd, [builtin("init")], { binary: path.join(work, "bin", "terraform") });
    expect(noTf.ok).toBe(false);
    expect(noTf.failed).toMatchObject({ step: "init", terraform: true, result: { exitCode: 127 } });
    expect(noTf.output).toContain(`terraform binary not found: ${path.join(work, "bin", "terraform")}`);

    const noShell = await stage(cwd, [run("echo hi", [{ mode: "show" }], "/no/such/bash")]);
    expect(noShell.ok).toBe(false);
    expect(noShell.output).toContain("shell binary not found: /no/such/bash");
    const noShellHidden = await stage(cwd, [run("echo hi", [{ mode: "hide" }], "/no/such/bash")]);
    expect(noShellHidden.output).toBe("run step could not start: shell binary not found: /no/such/bash\n");

    const regex = await stage(cwd, [run("echo hi", [{ mode: "filter_regex", regex: "(" }])]);
    expect(regex.ok).toBe(false);
    expect(regex.failed!.message).toContain("is not a valid regular expression");
  });

  test("a failing built-in plan keeps its output; init's shows when init fails", async () => {
    const cwd = await project({ "main.tf": 'resource "terraform_data" "broken" {\n  input = \n}\n' });
    const r = await stage(cwd, defaultWorkflow().plan);
    expect(r.ok).toBe(false);
    expect(r.failed!.step).toBe("init");
    expect(r.output).toContain("Error:");
  });
});

describe("helpers", () => {
  test("expandVars", () => {
    const vars = { A: "1", B_2: "two" };
    expect(expandVars("$A-${B_2}-$C-${C}-$-$$-${-}-$1", vars)).toBe("1-two---$-$$-${-}-$1");
  });

  test("stripRefreshing", () => {
    const old = "Refreshing Terraform state in-memory prior to plan...\nThe refreshed state will be used to calculate this plan, but will not be\npersisted to local or remote state storage.\n\naws_instance.x: Refreshing state... [id=i-1]\n\nAn execution plan has been generated\n";
    expect(stripRefreshing(old)).toBe("An execution plan has been generated\n");
  });

  test("parseMultienv", () => {
    expect(parseMultienv("")).toEqual({ ok: true, vars: [] });
    expect(parseMultienv("A=1,B=\n")).toEqual({ ok: true, vars: [["A", "1"], ["B", ""]] });
    expect(parseMultienv("A=a,b\r\nC=c\n\n")).toEqual({ ok: true, vars: [["A", "a,b"], ["C", "c"]] });
    expect(parseMultienv("A=1,,B=2").ok).toBe(false);
  });
});

describe("planProject / applyProject with workflows", () => {
  let checkout: Checkout;
  const proj: Project = { name: "", dir: "a", workspace: "default" };

  /** These projects keep their state in the checkout: allowed unless a test says otherwise. */
  function deps(env: Record<string, string> = { ATOLL_ALLOW_LOCAL_STATE: "true" }): RunnerDeps {
    return {
      settings: readSettings({ ATOLL_DATA_DIR: path.join(work, "data"), ...env }, work),
      terraform: tf,
      shell,
      workspaces: {} as RunnerDeps["workspaces"],
      store: {} as RunnerDeps["store"],
      blobs: {} as RunnerDeps["blobs"],
      jobs: { submit: async () => undefined } as unknown as RunnerDeps["jobs"],
    };
  }

  beforeEach(async () => {
    const root = path.join(work, "checkout");
    await mkdir(path.join(root, "a"), { recursive: true });
    await writeFile(path.join(root, "a", "main.tf"), MAIN_TF);
    checkout = { dir: root, artifactsDir: path.join(work, "pr-artifacts"), sha: "0123456789abcdef", reused: false };
  });

  const workflow = (plan: WorkflowStep[], apply: WorkflowStep[]): Workflow => ({ ...defaultWorkflow("custom"), plan, apply });

  test("the default workflow: digest, summary, verbose log with the same binary", async () => {
    const plan = await planProject(deps(), checkout, proj, ["-var=v=x"], { verbose: true, binary: TERRAFORM });
    expect(plan.result).toMatchObject({ outcome: "success", headline: "Plan: 1 to add, 0 to change, 0 to destroy.", hasChanges: true });
    expect(plan.planFile).toBe(planFilePath(checkout, proj));
    expect(plan.planDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.result.output).toContain("$ terraform init -input=false -no-color");
    expect(plan.result.output).toMatch(/\$ terraform plan -input=false .*-detailed-exitcode.* -var=v=x/);
    expect(plan.result.output).toContain("$ terraform show -json");

    const apply = await applyProject(deps(), checkout, proj, plan.planFile, { planDigest: plan.planDigest, binary: TERRAFORM });
    expect(apply).toMatchObject({ outcome: "success", headline: "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." });

    // Nothing saved: the default apply stage refuses.
    const none = await applyProject(deps(), checkout, proj, undefined);
    expect(none).toMatchObject({ outcome: "refused", headline: "There is no saved plan to apply. Plan again." });
  });

  test("local state: the plan warns, the apply is refused unless ATOLL_ALLOW_LOCAL_STATE; a destroy plan is marked", async () => {
    const strict = deps({});
    const plan = await planProject(strict, checkout, proj, [], { binary: TERRAFORM });
    expect(plan.result.outcome).toBe("success");
    expect(plan.result.warnings).toEqual([expect.stringContaining("**Local state.** This project configures no backend, so Terraform keeps its state in the checkout (`a/terraform.tfstate`)")]);
    expect(plan.result.warnings![0]).toContain("**apply is refused**");
    expect(plan.result.destroyPlan).toBeUndefined();
    const refused = await applyProject(strict, checkout, proj, plan.planFile, { planDigest: plan.planDigest, binary: TERRAFORM });
    expect(refused.outcome).toBe("refused");
    expect(refused.headline).toMatch(/^Not applied: this project's Terraform state would stay in Atoll's temporary checkout \(`a\/terraform.tfstate`\)/);
    expect(refused.headline).toContain("ATOLL_ALLOW_LOCAL_STATE=true");
    expect(await exists(path.join(checkout.dir, "a", "terraform.tfstate"))).toBe(false);

    // Allowed: a warning that says so, and the apply runs.
    const allowed = await planProject(deps(), checkout, proj, [], { binary: TERRAFORM });
    expect(allowed.result.warnings![0]).toContain("The operator allows this");
    expect((await applyProject(deps(), checkout, proj, allowed.planFile, { planDigest: allowed.planDigest, binary: TERRAFORM })).outcome).toBe("success");

    const destroy = await planProject(deps(), checkout, proj, ["-destroy"], { binary: TERRAFORM });
    expect(destroy.result).toMatchObject({ outcome: "success", destroyPlan: true, headline: "Destroy plan: 1 to destroy." });
    expect(destroy.result.plan!.destroyed).toEqual(["terraform_data.a"]);
  });

  test("a remote backend: no warning, and the apply is not refused for local state", async () => {
    const shared = await mkdtemp(path.join(work, "shared-state-"));
    await writeFile(path.join(checkout.dir, "a", "backend.tf"), `terraform {\n  backend "local" {\n    path = "${shared}/terraform.tfstate"\n  }\n}\n`);
    const plan = await planProject(deps({}), checkout, proj, [], { binary: TERRAFORM });
    expect(plan.result.warnings).toBeUndefined();
    expect((await applyProject(deps({}), checkout, proj, plan.planFile, { planDigest: plan.planDigest, binary: TERRAFORM })).outcome).toBe("success");
  });

  test("import and state rm run their stages with the addresses last", async () => {
    await writeFile(path.join(checkout.dir, "a", "extra.tf"), 'resource "terraform_data" "b" {}\n');
    const imported = await stateProject(deps(), checkout, proj, "import", { args: ["terraform_data.b", "the-id"], extraArgs: ["-var=v=x"] }, { binary: TERRAFORM, verbose: true });
    expect(imported).toMatchObject({ command: "import", outcome: "success", headline: "Import successful!" });
    expect(imported.output).toMatch(/\$ terraform import -input=false -no-color -var=v=x terraform_data.b the-id/);
    const removed = await stateProject(deps(), checkout, proj, "state_rm", { args: ["terraform_data.b"], extraArgs: [] }, { binary: TERRAFORM });
    expect(removed).toMatchObject({ command: "state_rm", outcome: "success", headline: "Successfully removed 1 resource instance(s)." });
    const missing = await stateProject(deps(), checkout, proj, "state_rm", { args: ["terraform_data.nope"], extraArgs: [] }, { binary: TERRAFORM });
    expect(missing).toMatchObject({ command: "state_rm", outcome: "failed" });
    expect(missing.headline).toMatch(/state_rm.*exit code 1/);
  });

  test("a pure run workflow: success with its output, no plan file; apply runs without one", async () => {
    const wf = workflow([run('echo "planning $REPO_REL_DIR in $WORKSPACE"')], [run('echo "applying $PROJECT_NAME"')]);
    const plan = await planProject(deps(), checkout, proj, [], { workflow: wf, env: { REPO_REL_DIR: "a", PROJECT_NAME: "p" } });
    expect(plan.result).toMatchObject({ outcome: "success", output: "planning a in default\n", hasChanges: true, headline: "Plan has changes." });
    expect(plan.planFile).toBeUndefined();
    expect(plan.planDigest).toBeUndefined();

    const apply = await applyProject(deps(), checkout, proj, undefined, { workflow: wf, env: { PROJECT_NAME: "p" } });
    expect(apply).toMatchObject({ outcome: "success", output: "applying p\n" });
  });

  test("a run workflow that writes $PLANFILE gets the digest and summary", async () => {
    const wf = workflow([run("terraform init -input=false > /dev/null && terraform plan -input=false -no-color -out $PLANFILE")], [builtin("apply")]);
    const plan = await planProject(deps(), checkout, proj, [], { workflow: wf });
    expect(plan.result).toMatchObject({ outcome: "success", headline: "Plan: 1 to add, 0 to change, 0 to destroy.", hasChanges: true });
    expect(plan.planDigest).toBeDefined();
    const apply = await applyProject(deps(), checkout, proj, plan.planFile, { workflow: wf, planDigest: plan.planDigest });
    expect(apply.outcome).toBe("success");
  });

  test("workflow step failures are reported with the step's name", async () => {
    const failing = await planProject(deps(), checkout, proj, [], { workflow: workflow([run("echo nope; exit 3")], []) });
    expect(failing.result).toMatchObject({ outcome: "failed", headline: "The run step failed (exit code 3).", output: "nope\n" });
    expect(failing.planFile).toBeUndefined();

    const unsupported = await planProject(deps(), checkout, proj, [], { workflow: workflow([builtin("policy_check")], []) });
    expect(unsupported.result.outcome).toBe("failed");
    expect(unsupported.result.headline).toContain('Atoll cannot run the built-in "policy_check" step in the plan stage');

    const planFails = await planProject(deps(), checkout, proj, ["-var=nope=1"], {});
    expect(planFails.result).toMatchObject({ outcome: "failed", headline: "terraform plan failed (exit code 1)." });
    expect(await exists(planFilePath(checkout, proj))).toBe(false);
  });
});
