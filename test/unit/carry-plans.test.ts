/**
 * The inputs fingerprint that decides whether a plan is carried across a push
 * (src/runner/commands/plan/carry-plans.ts), on a real git repository: one `git ls-files` for
 * every project, each project's fingerprint changing exactly when something it reads changes.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { createProcessShell } from "../../src/adapters/process-shell.js";
import { inputsFingerprints } from "../../src/runner/commands/plan/carry-plans.js";
import { projectKey } from "../../src/projects/project.js";
import type { ShellPort } from "../../src/ports/shell.js";
import type { RunnerDeps } from "../../src/runner/runner-deps.js";

const a = { name: "", dir: "a", workspace: "default" };
const b = { name: "", dir: "b", workspace: "default" };

describe("inputsFingerprints", () => {
  let dir: string;
  let runs = 0;
  const real = createProcessShell();
  const shell: ShellPort = { run: (o) => (runs++, real.run(o)) };
  const ctx = { deps: { shell } as unknown as RunnerDeps };
  const git = (...args: string[]) => execa("git", args, { cwd: dir });
  const write = async (file: string, text: string) => {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), text);
  };
  const commit = async () => {
    await git("add", "-A");
    await git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c", "--allow-empty");
  };
  const prints = async (extra = { baseSha: "base1", extraArgs: [] as string[] }) => {
    const m = await inputsFingerprints(ctx, { dir, artifactsDir: dir, sha: "x", reused: false }, [a, b], extra);
    return { a: m.get(projectKey(a)), b: m.get(projectKey(b)) };
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-carry-"));
    await git("init", "-q");
    await write("a/main.tf", 'module "m" {\n  source = "../modules/m"\n}\n');
    await write("a/prod.tfvars", "x = 1\n");
    await write("b/main.tf", 'resource "terraform_data" "b" {}\n');
    await write("modules/m/main.tf", 'resource "terraform_data" "m" {}\n');
    await write("README.md", "readme\n");
    await commit();
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test("one git call for all projects; each changes exactly when its files, its local modules, the repo config or the base change", async () => {
    runs = 0;
    const first = await prints();
    expect(runs).toBe(1);
    expect(first.a).toMatch(/^[0-9a-f]{64}$/);
    expect(first.a).not.toBe(first.b);

    await write("README.md", "changed\n");
    await write("a/untracked.tf", "# not committed\n");
    await write("a/.terraform.lock.hcl", "# written by init, not committed\n");
    await commit();
    await git("rm", "-q", "--cached", "a/untracked.tf", "a/.terraform.lock.hcl");
    expect(await prints()).toEqual(first);

    await write("modules/m/main.tf", 'resource "terraform_data" "m2" {}\n');
    await commit();
    const moduleChanged = await prints();
    expect(moduleChanged.a).not.toBe(first.a);
    expect(moduleChanged.b).toBe(first.b);

    await write("b/vars.tfvars", "y = 2\n");
    await commit();
    const bChanged = await prints();
    expect(bChanged.a).toBe(moduleChanged.a);
    expect(bChanged.b).not.toBe(moduleChanged.b);

    await write("atlantis.yaml", "version: 3\n");
    await commit();
    const config = await prints();
    expect(config.a).not.toBe(bChanged.a);
    expect(config.b).not.toBe(bChanged.b);

    const otherBase = await prints({ baseSha: "base2", extraArgs: [] });
    expect(otherBase.a).not.toBe(config.a);
  });

  test("outside a git checkout nothing is fingerprinted (the projects are planned)", async () => {
    const plain = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-carry-plain-"));
    await fs.mkdir(path.join(plain, "a"));
    const m = await inputsFingerprints(ctx, { dir: plain, artifactsDir: plain, sha: "x", reused: false }, [a], { baseSha: "b", extraArgs: [] });
    expect(m.size).toBe(0);
    await fs.rm(plain, { recursive: true, force: true });
  });
});
