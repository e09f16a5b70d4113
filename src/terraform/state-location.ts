/**
 * Where a project's Terraform state lives, judged after `terraform init`: terraform records the
 * initialised backend in `<dir>/.terraform/terraform.tfstate` (absent when no backend is
 * configured — the implicit `local` backend). State that ends up inside Atoll's temporary
 * checkout is lost when the checkout is deleted, and each pull request would start from an empty
 * state, so Atoll warns when planning such a project and refuses to apply it (unless the operator
 * allows it with `ATOLL_ALLOW_LOCAL_STATE=true`). A `local` backend whose `path` points outside
 * the checkout (a shared disk) is fine.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

export interface LocalState {
  /** Where terraform keeps the state, relative to the checkout (for messages). */
  statePath: string;
  /** How the project got there: no backend block, or a `local` backend with a path in the checkout. */
  cause: "no-backend" | "local-backend";
}

interface BackendFile {
  backend?: { type?: unknown; config?: { path?: unknown; workspace_dir?: unknown } };
}

function inside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** The state file terraform uses for a workspace of the local backend (as `terraform.tfstate.d/<ws>/` for non-default ones). */
function localStateFile(projectDir: string, workspace: string, statePath: string, workspaceDir: string): string {
  if (workspace === "default") return path.resolve(projectDir, statePath);
  return path.resolve(projectDir, workspaceDir, workspace, path.basename(statePath));
}

/**
 * The local state of a project in a checkout, or null when its state lives elsewhere (a remote
 * backend, or a local path outside the checkout). Call it after `init` ran in `projectDir`.
 */
export async function findLocalState(checkoutDir: string, projectDir: string, workspace: string, dataDir = ".terraform"): Promise<LocalState | null> {
  let recorded: BackendFile | undefined;
  try {
    recorded = JSON.parse(await readFile(path.resolve(projectDir, dataDir, "terraform.tfstate"), "utf8")) as BackendFile;
  } catch {
    recorded = undefined; // no backend initialised: the implicit local backend
  }
  const type = recorded?.backend?.type;
  if (recorded !== undefined && type !== "local") return null;
  const config = recorded?.backend?.config ?? {};
  const statePath = typeof config.path === "string" && config.path !== "" ? config.path : "terraform.tfstate";
  const workspaceDir = typeof config.workspace_dir === "string" && config.workspace_dir !== "" ? config.workspace_dir : "terraform.tfstate.d";
  const file = localStateFile(projectDir, workspace, statePath, workspaceDir);
  if (!inside(checkoutDir, file)) return null;
  return { statePath: path.relative(checkoutDir, file), cause: recorded === undefined ? "no-backend" : "local-backend" };
}

/** The warning a plan of such a project carries (markdown). */
export function localStateWarning(local: LocalState, allowed: boolean): string {
  const where =
    local.cause === "no-backend"
      ? "This project configures no backend, so Terraform keeps its state in the checkout"
      : "This project's `local` backend keeps its state in the checkout";
  const then = allowed
    ? "The operator allows this (`ATOLL_ALLOW_LOCAL_STATE=true`), but that file is deleted with the checkout when the pull request closes."
    : "Atoll deletes that checkout when the pull request closes, so an apply would lose the state: **apply is refused** until the project uses a remote backend.";
  return `> [!WARNING]\n> **Local state.** ${where} (\`${local.statePath}\`). ${then}\n> ${LOCAL_STATE_FIX}`;
}

/** What to do about it. */
export const LOCAL_STATE_FIX =
  "Fix: add a remote backend that every checkout shares (S3, GCS, azurerm, `pg`, HCP Terraform), e.g. `terraform { backend \"pg\" {} }`, or a `local` backend whose `path` is outside the checkout; an operator may allow local state with `ATOLL_ALLOW_LOCAL_STATE=true`.";
