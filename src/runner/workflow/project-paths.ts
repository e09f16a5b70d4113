/**
 * Where a project's files are in a checkout: its directory ($DIR, checked before anything runs
 * there), its saved plan file ($PLANFILE) and the plan's JSON form ($SHOWFILE).
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Checkout } from "../../ports/workspace.js";
import { projectKey, type Project } from "../../projects/project.js";

const TERRAFORM_FILE = /\.(tf|tofu)(\.json)?$/;

/** Where a project's plan file lives: next to the checkout, named by a hash of the project identity. */
export function planFilePath(checkout: Checkout, project: Project): string {
  const id = createHash("sha256").update(projectKey(project)).digest("hex").slice(0, 16);
  return path.join(checkout.artifactsDir, `${id}.tfplan`);
}

/** Where a project's `show -json` output goes for workflows ($SHOWFILE): the plan file's name with `.json`. */
export function showFilePath(checkout: Checkout, project: Project): string {
  return planFilePath(checkout, project).replace(/\.tfplan$/, ".json");
}

/** Absolute project directory inside the checkout ($DIR, where every step runs). */
export function projectDirPath(checkout: Checkout, project: Project): string {
  return path.resolve(checkout.dir, project.dir);
}

/** Check the project dir is inside the checkout, exists and holds Terraform files. */
export async function projectDirProblem(checkout: Checkout, project: Project): Promise<string | null> {
  const root = path.resolve(checkout.dir);
  const dir = path.resolve(root, project.dir);
  if (dir !== root && !dir.startsWith(root + path.sep)) return `directory \`${project.dir}\` is outside the repository`;
  let entries: string[];
  try {
    const real = await fs.realpath(dir);
    const realRoot = await fs.realpath(root);
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
      return `directory \`${project.dir}\` is outside the repository`;
    }
    entries = await fs.readdir(dir);
  } catch {
    return `directory \`${project.dir}\` does not exist at commit ${checkout.sha.slice(0, 7)}`;
  }
  if (!entries.some((e) => TERRAFORM_FILE.test(e))) {
    return `directory \`${project.dir}\` has no Terraform files at commit ${checkout.sha.slice(0, 7)}`;
  }
  return null;
}
