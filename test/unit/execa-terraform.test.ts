import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { createExecaTerraform } from "../../src/adapters/execa-terraform.js";
import type { TerraformPort } from "../../src/ports/terraform.js";
import { MAIN_TF, TERRAFORM, terraformTestEnv } from "../helpers/terraform-fixture.js";

const FAKE = fileURLToPath(new URL("../fixtures/fake-terraform.sh", import.meta.url));

let work: string;
let cliConfig: string;

/** Server environment for the tests: no internet, no CLI config (terraform only warns). */
function baseEnv(): NodeJS.ProcessEnv {
  return terraformTestEnv(work, cliConfig);
}

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(work, "project-"));
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  return dir;
}

/** Ask terraform itself, independently of the adapter. */
async function workspaceShow(cwd: string): Promise<string> {
  const r = await execa(TERRAFORM, ["workspace", "show"], { cwd, env: baseEnv(), extendEnv: false });
  return r.stdout.trim();
}

async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  return state !== "Z" && state !== "X";
}

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "atoll-execa-terraform-"));
  cliConfig = path.join(work, "missing.terraformrc");
});

afterEach(async () => {
  // Kill whatever a broken timeout implementation may have left running.
  const pid = Number((await readFile(path.join(work, "child.pid"), "utf8").catch(() => "")).trim());
  if (pid) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  await rm(work, { recursive: true, force: true });
});

describe("createExecaTerraform with real terraform", () => {
  let tf: TerraformPort;
  beforeEach(() => {
    tf = createExecaTerraform({ binary: TERRAFORM, baseEnv: baseEnv() });
  });

  test("version", async () => {
    const r = await tf.version({ cwd: work, timeoutMs: 30_000 });
    expect(r.args).toEqual(["version", "-no-color"]);
    expect(r.exitCode).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.output).toMatch(/^Terraform v\d+\.\d+\.\d+/m);
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  test("init, then select the default workspace and create a new one", async () => {
    const cwd = await project({ "main.tf": MAIN_TF });
    const init = await tf.init({ cwd, timeoutMs: 60_000 });
    expect(init.args).toEqual(["init", "-input=false", "-no-color"]);
    expect(init.exitCode).toBe(0);
    expect(init.output).toContain("Terraform has been successfully initialized!");
    // -no-color: no ANSI escape sequences.
    expect(init.output).not.toContain("\u001b[");

    const def = await tf.selectWorkspace({ cwd, timeoutMs: 30_000, workspace: "default" });
    expect(def.exitCode).toBe(0);
    expect(await workspaceShow(cwd)).toBe("default");

    const staging = await tf.selectWorkspace({ cwd, timeoutMs: 30_000, workspace: "staging" });
    expect(staging.exitCode).toBe(0);
    expect(staging.output).toContain('Created and switched to workspace "staging"');
    expect(await workspaceShow(cwd)).toBe("staging");

    // Back to default, then to the now existing staging again.
    expect((await tf.selectWorkspace({ cwd, timeoutMs: 30_000, workspace: "default" })).exitCode).toBe(0);
    expect(await workspaceShow(cwd)).toBe("default");
    expect((await tf.selectWorkspace({ cwd, timeoutMs: 30_000, workspace: "staging" })).exitCode).toBe(0);
    expect(await workspaceShow(cwd)).toBe("staging");
  });

  test("plan with changes, show -json, apply the saved plan, then plan without changes", async () => {
    const cwd = await project({ "main.tf": MAIN_TF });
    const planFile = path.join(work, "default.tfplan");
    expect((await tf.init({ cwd, timeoutMs: 60_000 })).exitCode).toBe(0);

    const plan = await tf.plan({ cwd, timeoutMs: 60_000, planFile, extraArgs: ["-var=v=world"] });
    expect(plan.args).toEqual(["plan", "-input=false", "-no-color", "-detailed-exitcode", `-out=${planFile}`, "-var=v=world"]);
    expect(plan.exitCode).toBe(2);
    expect(plan.ok).toBe(true);
    expect(plan.hasChanges).toBe(true);
    expect(plan.output).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    await access(planFile);

    const show = await tf.showJson({ cwd, timeoutMs: 60_000, planFile });
    expect(show.exitCode).toBe(0);
    // The missing CLI config makes terraform warn on stderr; the JSON must still parse.
    expect(show.output).toContain("Unable to open CLI configuration file");
    const json = show.json as { format_version: string; resource_changes: Array<{ address: string; change: { actions: string[] } }> };
    expect(typeof json.format_version).toBe("string");
    expect(json.resource_changes.map((c) => [c.address, c.change.actions])).toEqual([["terraform_data.a", ["create"]]]);

    const apply = await tf.apply({ cwd, timeoutMs: 60_000, planFile });
    expect(apply.args).toEqual(["apply", "-input=false", "-no-color", planFile]);
    expect(apply.exitCode).toBe(0);
    expect(apply.output).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    const state = JSON.parse(await readFile(path.join(cwd, "terraform.tfstate"), "utf8")) as {
      resources: Array<{ type: string; name: string; instances: Array<{ attributes: { input: { value: unknown } } }> }>;
    };
    expect(state.resources.map((r) => `${r.type}.${r.name}`)).toEqual(["terraform_data.a"]);
    expect(state.resources[0].instances[0].attributes.input.value).toBe("world");

    const again = await tf.plan({ cwd, timeoutMs: 60_000, planFile, extraArgs: ["-var=v=world"] });
    expect(again.exitCode).toBe(0);
    expect(again.ok).toBe(true);
    expect(again.hasChanges).toBe(false);
    expect(again.output).toContain("No changes.");
  });

  test("import puts extra args before ADDRESS ID; state rm removes; a plan sees the difference", async () => {
    const cwd = await project({ "main.tf": 'resource "terraform_data" "a" {}\n' });
    const planFile = path.join(work, "i.tfplan");
    expect((await tf.init({ cwd, timeoutMs: 60_000 })).exitCode).toBe(0);
    const imported = await tf.import({ cwd, timeoutMs: 60_000, extraArgs: ["-lock=false"], address: "terraform_data.a", id: "some-id" });
    expect(imported.args).toEqual(["import", "-input=false", "-no-color", "-lock=false", "terraform_data.a", "some-id"]);
    expect(imported.exitCode).toBe(0);
    expect(imported.output).toContain("Import successful!");
    expect((await tf.plan({ cwd, timeoutMs: 60_000, planFile, extraArgs: [] })).hasChanges).toBe(false);

    const removed = await tf.stateRm({ cwd, timeoutMs: 60_000, extraArgs: [], addresses: ["terraform_data.a"] });
    expect(removed.args).toEqual(["state", "rm", "-no-color", "terraform_data.a"]);
    expect(removed.exitCode).toBe(0);
    expect(removed.output).toContain("Successfully removed 1 resource instance(s).");
    const replan = await tf.plan({ cwd, timeoutMs: 60_000, planFile, extraArgs: [] });
    expect(replan.output).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");

    const missing = await tf.stateRm({ cwd, timeoutMs: 60_000, extraArgs: [], addresses: ["terraform_data.nope"] });
    expect(missing.exitCode).not.toBe(0);
  });

  test("a configuration error fails the plan with the error in the output", async () => {
    const cwd = await project({ "main.tf": 'resource "terraform_data" "broken" {\n  input = \n}\n' });
    const plan = await tf.plan({ cwd, timeoutMs: 60_000, planFile: path.join(work, "p.tfplan"), extraArgs: [] });
    expect(plan.ok).toBe(false);
    expect(plan.hasChanges).toBe(false);
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain("Error:");
    expect(plan.output).toContain("main.tf");
  });

  test("showJson of a missing plan file fails without json", async () => {
    const cwd = await project({ "main.tf": MAIN_TF });
    const show = await tf.showJson({ cwd, timeoutMs: 60_000, planFile: path.join(work, "nope.tfplan") });
    expect(show.exitCode).not.toBe(0);
    expect(show.json).toBeUndefined();
  });

  test("secrets are redacted from output and args", async () => {
    const secret = "ghs_SuperSecretTokenValue1234567890";
    const cwd = await project({ "main.tf": MAIN_TF });
    const planFile = path.join(work, "p.tfplan");
    expect((await tf.init({ cwd, timeoutMs: 60_000 })).exitCode).toBe(0);
    const plan = await tf.plan({ cwd, timeoutMs: 60_000, planFile, extraArgs: [`-var=v=${secret}`], redact: [secret] });
    expect(plan.ok).toBe(true);
    // The value is printed in the planned output change and the resource input…
    expect(plan.output).toContain('+ o = "***"');
    // …and nowhere in clear.
    expect(plan.output).not.toContain(secret);
    expect(plan.args).toContain("-var=v=***");
    expect(plan.args.join(" ")).not.toContain(secret);

    const show = await tf.showJson({ cwd, timeoutMs: 60_000, planFile, redact: [secret] });
    expect(JSON.stringify(show.json)).not.toContain(secret);
    expect((show.json as { variables: { v: { value: string } } }).variables.v.value).toBe("***");
  });
});

describe("createExecaTerraform process handling (fake binary)", () => {
  test("a missing binary resolves with a readable message", async () => {
    const missing = path.join(work, "bin", "terraform");
    const tf = createExecaTerraform({ binary: missing, baseEnv: baseEnv() });
    const r = await tf.plan({ cwd: work, timeoutMs: 10_000, planFile: "p", extraArgs: [] });
    expect(r.exitCode).toBe(127);
    expect(r.ok).toBe(false);
    expect(r.output).toContain(`terraform binary not found: ${missing}`);
  });

  test("a timeout kills the whole process tree", async () => {
    const pidFile = path.join(work, "child.pid");
    const tf = createExecaTerraform({ binary: FAKE, baseEnv: baseEnv(), killGraceMs: 1_000 });
    const r = await tf.plan({
      cwd: work,
      timeoutMs: 1_500,
      planFile: "p",
      extraArgs: [],
      env: { FAKE_MODE: "tree", FAKE_PID_FILE: pidFile },
    });
    const child = Number((await readFile(pidFile, "utf8")).trim());
    expect(r.timedOut).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.output).toContain(`started child ${child}`);
    expect(r.output).toContain("timed out");
    expect(await alive(child)).toBe(false);
  });

  test("the child sees the server env minus Atoll's secrets, plus the step env and automation flags", async () => {
    const tf = createExecaTerraform({
      binary: FAKE,
      baseEnv: {
        ...baseEnv(),
        PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----",
        PRIVATE_KEY_PATH: "/secret/key.pem",
        WEBHOOK_SECRET: "whsec",
        GITHUB_CLIENT_SECRET: "clientsecret",
        GITHUB_CLIENT_ID: "Iv1.abc",
        APP_ID: "12345",
        OPERATOR_SECRET: "opsecret",
        AWS_REGION: "eu-west-1",
        TF_IN_AUTOMATION: "",
      },
      secretEnvNames: ["OPERATOR_SECRET"],
    });
    const r = await tf.version({
      cwd: work,
      timeoutMs: 10_000,
      env: { FAKE_MODE: "env", WORKSPACE: "staging", TF_INPUT: "1" },
    });
    expect(r.exitCode).toBe(0);
    const vars = new Map(
      r.output
        .split("\n")
        .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
    );
    for (const name of ["PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "GITHUB_CLIENT_SECRET", "GITHUB_CLIENT_ID", "APP_ID", "OPERATOR_SECRET"]) {
      expect([name, vars.has(name)]).toEqual([name, false]);
    }
    expect(vars.get("AWS_REGION")).toBe("eu-west-1");
    expect(vars.get("WORKSPACE")).toBe("staging");
    expect(vars.get("TF_IN_AUTOMATION")).toBe("1");
    expect(vars.get("TF_INPUT")).toBe("0");
    expect(vars.get("TF_CLI_CONFIG_FILE")).toBe(cliConfig);
  });

  test("every command gets its flags as separate argv entries", async () => {
    const tf = createExecaTerraform({ binary: FAKE, baseEnv: baseEnv() });
    const step = { cwd: work, timeoutMs: 10_000, env: { FAKE_MODE: "env" } };
    const argv = async (p: Promise<{ output: string }>) => (await p).output.split("\n")[0];
    expect(await argv(tf.init(step))).toBe("ARGV:init -input=false -no-color");
    expect(await argv(tf.selectWorkspace({ ...step, workspace: "prod" }))).toBe("ARGV:workspace select -no-color -or-create=true prod");
    expect(await argv(tf.plan({ ...step, planFile: "/a/b.tfplan", extraArgs: ["-target=x.y", "-lock=false"] }))).toBe(
      "ARGV:plan -input=false -no-color -detailed-exitcode -out=/a/b.tfplan -target=x.y -lock=false",
    );
    expect(await argv(tf.showJson({ ...step, planFile: "/a/b.tfplan" }))).toBe("ARGV:show -json -no-color /a/b.tfplan");
    expect(await argv(tf.apply({ ...step, planFile: "/a/b.tfplan" }))).toBe("ARGV:apply -input=false -no-color /a/b.tfplan");
    expect(await argv(tf.version(step))).toBe("ARGV:version -no-color");
  });

  test("init and apply take extra args; apply puts them before the plan file", async () => {
    const tf = createExecaTerraform({ binary: FAKE, baseEnv: baseEnv() });
    const step = { cwd: work, timeoutMs: 10_000, env: { FAKE_MODE: "env" } };
    const argv = async (p: Promise<{ output: string; args: string[] }>) => (await p).output.split("\n")[0];
    expect(await argv(tf.init({ ...step, extraArgs: ["-upgrade", "-backend-config=key=a b"] }))).toBe(
      "ARGV:init -input=false -no-color -upgrade -backend-config=key=a b",
    );
    const apply = await tf.apply({ ...step, planFile: "/a/b.tfplan", extraArgs: ["-parallelism=2", "-lock-timeout=5s"] });
    expect(apply.args).toEqual(["apply", "-input=false", "-no-color", "-parallelism=2", "-lock-timeout=5s", "/a/b.tfplan"]);
    expect(apply.output.split("\n")[0]).toBe("ARGV:apply -input=false -no-color -parallelism=2 -lock-timeout=5s /a/b.tfplan");
    // Empty or missing extra args change nothing.
    expect((await tf.init({ ...step, extraArgs: [] })).args).toEqual(["init", "-input=false", "-no-color"]);
  });

  test("with a plugin cache: TF_PLUGIN_CACHE_DIR is set for every command and the directory is created by init", async () => {
    const cache = path.join(work, "plugin-cache");
    const tf = createExecaTerraform({ binary: FAKE, baseEnv: baseEnv(), pluginCacheDir: cache });
    const dir = await project({ "main.tf": MAIN_TF });
    const init = await tf.init({ cwd: dir, timeoutMs: 10_000, env: { FAKE_MODE: "env" } });
    expect(init.output).toContain(`TF_PLUGIN_CACHE_DIR=${cache}`);
    await access(cache);
    const version = await tf.version({ cwd: dir, timeoutMs: 10_000, env: { FAKE_MODE: "env" } });
    expect(version.output).toContain(`TF_PLUGIN_CACHE_DIR=${cache}`);
    // Without the option, terraform gets no cache directory.
    const plain = createExecaTerraform({ binary: FAKE, baseEnv: baseEnv() });
    expect((await plain.init({ cwd: dir, timeoutMs: 10_000, env: { FAKE_MODE: "env" } })).output).not.toContain("TF_PLUGIN_CACHE_DIR");
  });

  test("a call's binary overrides the adapter's default", async () => {
    const tf = createExecaTerraform({ binary: path.join(work, "no-such-terraform"), baseEnv: baseEnv() });
    const r = await tf.version({ cwd: work, timeoutMs: 10_000, binary: FAKE, env: { FAKE_MODE: "env" } });
    expect(r.exitCode).toBe(0);
    expect(r.output.split("\n")[0]).toBe("ARGV:version -no-color");
    // Without it, the default is used (and here missing).
    const missing = await tf.version({ cwd: work, timeoutMs: 10_000 });
    expect(missing.exitCode).toBe(127);
    expect(missing.output).toContain("terraform binary not found");
    // A missing per-call OpenTofu binary is named as such.
    const tofu = await tf.version({ cwd: work, timeoutMs: 10_000, binary: path.join(work, "tofu") });
    expect(tofu.exitCode).toBe(127);
    expect(tofu.output).toContain(`tofu binary not found: ${path.join(work, "tofu")}`);
  });

  test("showJson parses stdout only and tolerates non-JSON", async () => {
    const tf = createExecaTerraform({ binary: FAKE, baseEnv: baseEnv() });
    const ok = await tf.showJson({ cwd: work, timeoutMs: 10_000, planFile: "p", env: { FAKE_MODE: "show", FAKE_SECRET: "x" } });
    expect(ok.json).toEqual({ format_version: "1.2", secret: "x" });
    expect(ok.output).toContain("Warning: something on stderr");

    const notJson = await tf.showJson({ cwd: work, timeoutMs: 10_000, planFile: "p", env: { FAKE_MODE: "exit", FAKE_EXIT: "0" } });
    expect(notJson.exitCode).toBe(0);
    expect(notJson.json).toBeUndefined();
  });

  test("plan exit codes map to ok and hasChanges", async () => {
    const tf = createExecaTerraform({ binary: FAKE, baseEnv: baseEnv() });
    const plan = (code: string) =>
      tf.plan({ cwd: work, timeoutMs: 10_000, planFile: "p", extraArgs: [], env: { FAKE_MODE: "exit", FAKE_EXIT: code } });
    expect(await plan("0")).toMatchObject({ exitCode: 0, ok: true, hasChanges: false });
    expect(await plan("2")).toMatchObject({ exitCode: 2, ok: true, hasChanges: true });
    expect(await plan("1")).toMatchObject({ exitCode: 1, ok: false, hasChanges: false });
    expect(await plan("3")).toMatchObject({ exitCode: 3, ok: false, hasChanges: false });
  });
});
