import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { dir as tmpDir, type DirectoryResult } from "tmp-promise";
import { isTerraformFileName, listTerraformDirs } from "../../src/projects/terraform-dirs.js";

let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
});
afterEach(async () => {
  await tmp.cleanup();
});

/** Create files (with parent dirs) under the temp root. */
async function tree(...files: string[]): Promise<void> {
  for (const f of files) {
    await mkdir(dirname(join(tmp.path, f)), { recursive: true });
    await writeFile(join(tmp.path, f), "");
  }
}

const sorted = (s: Set<string>) => [...s].sort();

describe("isTerraformFileName", () => {
  test.each<[string, boolean]>([
    ["main.tf", true],
    ["x.tf.json", true],
    ["x.tofu", true],
    ["x.tofu.json", true],
    ["x.tfvars", false],
    ["x.tfvars.json", false],
    ["terragrunt.hcl", false],
    [".terraform.lock.hcl", false],
    ["main.tf.bak", false],
    ["tf", false],
    ["x.json", false],
  ])("%s → %s", (name, expected) => {
    expect(isTerraformFileName(name)).toBe(expected);
  });
});

describe("listTerraformDirs", () => {
  test("finds dirs that directly contain Terraform files, root as '.'", async () => {
    await tree("main.tf", "a/main.tf", "b/c/x.tf.json", "d/x.tofu", "e/f/g/x.tofu.json", "README.md");
    expect(sorted(await listTerraformDirs(tmp.path))).toEqual([".", "a", "b/c", "d", "e/f/g"]);
  });

  test("parents of Terraform dirs are not included unless they hold Terraform themselves", async () => {
    await tree("stacks/app/main.tf", "stacks/README.md");
    expect(sorted(await listTerraformDirs(tmp.path))).toEqual(["stacks/app"]);
  });

  test("dirs with only tfvars, Terragrunt or lock files are not Terraform dirs", async () => {
    await tree("v/x.tfvars", "t/terragrunt.hcl", "l/.terraform.lock.hcl");
    expect(sorted(await listTerraformDirs(tmp.path))).toEqual([]);
  });

  test("skips .git, .terraform and node_modules, but not other dot dirs", async () => {
    await tree(
      ".git/hooks/x.tf",
      "a/.terraform/modules/vpc/main.tf",
      "a/main.tf",
      "node_modules/pkg/main.tf",
      ".infra/main.tf",
    );
    expect(sorted(await listTerraformDirs(tmp.path))).toEqual([".infra", "a"]);
  });

  test("does not follow symlinked directories (no loops, nothing outside the checkout)", async () => {
    const outside = await tmpDir({ unsafeCleanup: true });
    try {
      await writeFile(join(outside.path, "main.tf"), "");
      await tree("a/main.tf");
      await symlink(outside.path, join(tmp.path, "linked"));
      await symlink(tmp.path, join(tmp.path, "a", "loop"));
      expect(sorted(await listTerraformDirs(tmp.path))).toEqual(["a"]);
    } finally {
      await outside.cleanup();
    }
  });

  test("a symlink named like a Terraform file counts (shared provider files)", async () => {
    await tree("shared/providers.tf.src", "b/README.md");
    await symlink(join(tmp.path, "shared/providers.tf.src"), join(tmp.path, "b", "providers.tf"));
    expect(sorted(await listTerraformDirs(tmp.path))).toEqual(["b"]);
  });

  test("a directory named like a Terraform file does not count", async () => {
    await mkdir(join(tmp.path, "odd", "weird.tf"), { recursive: true });
    expect(sorted(await listTerraformDirs(tmp.path))).toEqual([]);
  });

  test("empty checkout", async () => {
    expect(sorted(await listTerraformDirs(tmp.path))).toEqual([]);
  });

  test("a missing root is an error", async () => {
    await expect(listTerraformDirs(join(tmp.path, "nope"))).rejects.toThrow(/ENOENT/);
  });
});
