/**
 * Directories of a checkout that hold Terraform code, for project discovery: a changed file
 * only makes its dir a project if that dir (still) contains Terraform in the PR head.
 */
import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, posix } from "node:path";

/** Files that make a directory a Terraform root (Atlantis's project indicators, minus Terragrunt). */
const TERRAFORM_FILE = /\.(tf|tf\.json|tofu|tofu\.json)$/;

/**
 * Directories never searched: git internals, Terraform's provider/module cache (it contains
 * copies of modules that would look like projects), and JS dependencies.
 */
const SKIPPED_DIRS = new Set([".git", ".terraform", "node_modules"]);

export function isTerraformFileName(name: string): boolean {
  return TERRAFORM_FILE.test(name);
}

/**
 * Repo-relative POSIX dirs ("." for the root) that directly contain `*.tf`, `*.tf.json`,
 * `*.tofu` or `*.tofu.json` files. Symlinked directories are not entered (they could loop or
 * lead outside the checkout); a symlink *named* like a Terraform file counts, since Terraform
 * reads it (shared `providers.tf` symlinks are a common layout).
 */
export async function listTerraformDirs(root: string): Promise<Set<string>> {
  const found = new Set<string>();
  async function visit(rel: string): Promise<void> {
    const entries: Dirent[] = await readdir(rel === "." ? root : join(root, rel), { withFileTypes: true });
    const subdirs: string[] = [];
    for (const entry of entries) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) subdirs.push(rel === "." ? entry.name : posix.join(rel, entry.name));
      } else if ((entry.isFile() || entry.isSymbolicLink()) && isTerraformFileName(entry.name)) {
        found.add(rel);
      }
    }
    await Promise.all(subdirs.map(visit));
  }
  await visit(".");
  return found;
}
