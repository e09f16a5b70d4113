/**
 * A Terraform project: one directory and one workspace, i.e. one Terraform state.
 * Projects come from repo config (`atoll.yaml` / `atlantis.yaml`) or are discovered from
 * the files a pull request touches.
 */
export interface Project {
  /** Name from repo config; "" for unnamed projects. */
  name: string;
  /** Repo-relative directory, normalised ("." for the root, never "./x", never trailing "/"). */
  dir: string;
  /** Terraform workspace, "default" unless configured. */
  workspace: string;
}

export const DEFAULT_WORKSPACE = "default";

/** Stable identity of a project inside one repo (used as a storage key and in check-run external ids). */
export function projectKey(p: Project): string {
  return `${p.name}|${p.dir}|${p.workspace}`;
}

/**
 * Human label used in check-run names and comment headers: the project name, otherwise the
 * dir, with the workspace added when it is not `default`.
 */
export function projectLabel(p: Project): string {
  if (p.name) return p.name;
  return p.workspace === DEFAULT_WORKSPACE ? p.dir : `${p.dir} (workspace ${p.workspace})`;
}

/** Double-quote a value for a suggested comment command when it contains whitespace or quotes. */
function quoteArg(value: string): string {
  return /[\s"'\\]/.test(value) ? `"${value.replace(/(["\\])/g, "\\$1")}"` : value;
}

/**
 * The flags that target this project in a comment command, following Atlantis's rules:
 * name → `-p name`; root dir + default workspace → `-d .`; root dir only → `-w ws`;
 * default workspace only → `-d dir`; otherwise `-d dir -w ws`.
 */
export function projectFlags(p: Project): string {
  if (p.name) return `-p ${quoteArg(p.name)}`;
  const isDefaultWs = p.workspace === DEFAULT_WORKSPACE;
  if (p.dir === "." && isDefaultWs) return "-d .";
  if (p.dir === ".") return `-w ${quoteArg(p.workspace)}`;
  if (isDefaultWs) return `-d ${quoteArg(p.dir)}`;
  return `-d ${quoteArg(p.dir)} -w ${quoteArg(p.workspace)}`;
}

export function sameProject(a: Project, b: Project): boolean {
  return a.name === b.name && a.dir === b.dir && a.workspace === b.workspace;
}
