/**
 * Saved plans: the file `terraform plan -out` wrote is kept in the blob store (Atoll's database),
 * not only next to one replica's checkout, so any replica can apply exactly that plan — it checks
 * out the same commit, writes the file back where the workflow expects it ($PLANFILE) and runs
 * the apply stage; the digest check (`applyProject`) still proves it is the reviewed plan.
 * Checkouts stay local caches.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { ProjectState, RepoRef } from "../ports/store.js";
import type { Checkout } from "../ports/workspace.js";
import type { Project } from "../projects/project.js";
import { planFilePath } from "./workflow/project-paths.js";
import type { RunnerDeps } from "./runner-deps.js";

const enc = encodeURIComponent;

/** Every saved plan of a pull request starts with this key. */
export function pullPlansPrefix(repo: RepoRef, pullNumber: number): string {
  return `plans/${enc(repo.owner.toLowerCase())}/${enc(repo.repo.toLowerCase())}/${pullNumber}/`;
}

/** Key of a project's saved plan at a commit (name, dir and workspace identify the project). */
export function planBlobKey(repo: RepoRef, pullNumber: number, headSha: string, project: Project): string {
  return `${pullPlansPrefix(repo, pullNumber)}${headSha.toLowerCase()}/${enc(project.name)},${enc(project.dir)},${enc(project.workspace)}.tfplan`;
}

/** Store the plan file just written at `file`; returns its key. */
export async function savePlan(
  deps: Pick<RunnerDeps, "blobs">,
  at: { repo: RepoRef; pullNumber: number; headSha: string; project: Project },
  file: string,
): Promise<string> {
  const key = planBlobKey(at.repo, at.pullNumber, at.headSha, at.project);
  await deps.blobs.put(key, await fs.readFile(file));
  return key;
}

/**
 * Put the saved plan of `state` at its place in `checkout`, unless that file already holds
 * exactly it. `restored` says it had to be written: this checkout did not make the plan, so it
 * must be prepared (init) before the apply. Undefined when the saved plan is gone.
 */
export async function restorePlan(
  deps: Pick<RunnerDeps, "blobs">,
  state: ProjectState,
  checkout: Checkout,
): Promise<{ file: string; restored: boolean } | undefined> {
  if (!state.planBlob) return undefined;
  const data = await deps.blobs.get(state.planBlob);
  if (!data) return undefined;
  const file = planFilePath(checkout, state.project);
  const local = await fs.readFile(file).catch(() => undefined);
  if (local?.equals(data)) return { file, restored: false };
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, data);
  return { file, restored: true };
}

/** Forget these states' saved plans (discarded, replaced or applied). */
export async function discardPlans(deps: Pick<RunnerDeps, "blobs">, states: ProjectState[]): Promise<void> {
  await deps.blobs.delete(states.flatMap((s) => (s.planBlob ? [s.planBlob] : [])));
}

/** Forget every saved plan of a pull request (it closed). */
export async function discardPullPlans(deps: Pick<RunnerDeps, "blobs">, repo: RepoRef, pullNumber: number): Promise<void> {
  await deps.blobs.deletePrefix(pullPlansPrefix(repo, pullNumber));
}
