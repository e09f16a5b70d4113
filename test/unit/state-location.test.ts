import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { findLocalState, localStateWarning } from "../../src/terraform/state-location.js";

const TERRAFORM = process.env.ATOLL_TERRAFORM_BIN ?? "terraform";
let root: string;
let outside: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "state-location-"));
  outside = await mkdtemp(path.join(os.tmpdir(), "state-outside-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

/** A project dir in the checkout, initialised by the real terraform. */
async function project(name: string, terraformBlock: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "main.tf"), `${terraformBlock}\nresource "terraform_data" "x" {}\n`);
  await execa(TERRAFORM, ["init", "-input=false", "-no-color"], { cwd: dir, env: { TF_IN_AUTOMATION: "1" } });
  return dir;
}

describe("findLocalState (after a real terraform init)", () => {
  test("no backend: the state is terraform.tfstate in the project dir, or terraform.tfstate.d/<ws>/", async () => {
    const dir = await project("none", "");
    expect(await findLocalState(root, dir, "default")).toEqual({ statePath: "none/terraform.tfstate", cause: "no-backend" });
    expect(await findLocalState(root, dir, "blue")).toEqual({ statePath: "none/terraform.tfstate.d/blue/terraform.tfstate", cause: "no-backend" });
  });

  test("a local backend with a path in the checkout is local state", async () => {
    const dir = await project("relative", 'terraform {\n  backend "local" {\n    path = "state/x.tfstate"\n  }\n}');
    expect(await findLocalState(root, dir, "default")).toEqual({ statePath: "relative/state/x.tfstate", cause: "local-backend" });
  });

  test("a local backend whose path is outside the checkout is shared state, not local", async () => {
    const dir = await project("shared", `terraform {\n  backend "local" {\n    path = "${outside}/terraform.tfstate"\n  }\n}`);
    expect(await findLocalState(root, dir, "default")).toBeNull();
    const escaping = await project("escaping", 'terraform {\n  backend "local" {\n    path = "../../elsewhere.tfstate"\n  }\n}');
    expect(await findLocalState(path.join(root, "escaping"), escaping, "default")).toBeNull();
  });

  test("a remote backend recorded by init is not local", async () => {
    const dir = path.join(root, "remote");
    await mkdir(path.join(dir, ".terraform"), { recursive: true });
    await writeFile(path.join(dir, ".terraform", "terraform.tfstate"), JSON.stringify({ version: 3, backend: { type: "s3", config: { bucket: "b" } } }));
    expect(await findLocalState(root, dir, "default")).toBeNull();
  });

  test("the warning names the file and says whether apply is refused", () => {
    const local = { statePath: "app/terraform.tfstate", cause: "no-backend" as const };
    expect(localStateWarning(local, false)).toContain("**apply is refused**");
    expect(localStateWarning(local, false)).toContain("`app/terraform.tfstate`");
    expect(localStateWarning(local, true)).toContain("The operator allows this");
    expect(localStateWarning(local, true)).not.toContain("refused");
  });
});
