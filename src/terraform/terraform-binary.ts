/**
 * Which binary runs a project: its `terraform_distribution` (terraform or OpenTofu, default the
 * server's ATOLL_TERRAFORM_DISTRIBUTION) and its `terraform_version`.
 *
 * Without a version the distribution's configured binary is used (ATOLL_TERRAFORM_BIN /
 * ATOLL_TOFU_BIN). With a version, Atoll never downloads anything: the operator installs the
 * versions they allow into ATOLL_TERRAFORM_VERSIONS_DIR, under any of these names (for OpenTofu
 * the same with `tofu`):
 *
 *     terraform1.11.4   terraform_1.11.4   terraform-1.11.4   1.11.4/terraform
 *
 * (a `v` before the version is accepted too). Versions use Atlantis's syntax: `1.11.4`, `v1.11.4`,
 * `0.12.0-beta1`, or a partial `1.11` / `1`, which picks the highest installed release with that
 * prefix (numeric comparison; pre-releases only match when asked for exactly).
 */
import { promises as fs, constants as fsConstants } from "node:fs";
import path from "node:path";
import type { TerraformDistribution } from "../config/config-types.js";
import type { Settings } from "../settings.js";

export type BinarySettings = Pick<Settings, "terraformBin" | "tofuBin" | "terraformDistribution" | "terraformVersionsDir">;

export interface ResolveBinaryInput {
  settings: BinarySettings;
  /** The project's `terraform_version`, if set. */
  version?: string;
  /** The project's `terraform_distribution`, if set. */
  distribution?: TerraformDistribution;
}

export type ResolvedBinary =
  | {
      ok: true;
      /** Path (or PATH-looked-up name) of the binary to run. */
      binary: string;
      distribution: TerraformDistribution;
      /** The full installed version chosen, when a version was asked for. */
      version?: string;
      /**
       * True when this is the server's default binary (the server's distribution, no version): the
       * terraform port already runs it, so callers can leave `binary` unset (tests that substitute
       * the terraform port rely on that).
       */
      isDefault: boolean;
    }
  | { ok: false; error: string };

interface Version {
  nums: number[];
  pre?: string;
}

const VERSION_RE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z][0-9A-Za-z.-]*))?$/;

/** Parse `1`, `1.11`, `v1.11.4`, `0.12.0-beta1`; a pre-release needs all three numbers. */
export function parseTerraformVersion(text: string): Version | null {
  const m = VERSION_RE.exec(text.trim());
  if (!m) return null;
  const nums = [m[1], m[2], m[3]].filter((n): n is string => n !== undefined).map(Number);
  if (m[4] !== undefined && nums.length !== 3) return null;
  return m[4] !== undefined ? { nums, pre: m[4] } : { nums };
}

function versionText(v: Version): string {
  return v.nums.join(".") + (v.pre !== undefined ? `-${v.pre}` : "");
}

/** Semver-ish order: numbers, then a release above its pre-releases, pre-releases by their text. */
function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = (a.nums[i] ?? 0) - (b.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (a.pre === b.pre) return 0;
  if (a.pre === undefined) return 1;
  if (b.pre === undefined) return -1;
  return a.pre.localeCompare(b.pre, "en", { numeric: true });
}

interface Installed {
  version: Version;
  binary: string;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Every full version of `program` installed in `dir`, under any of the accepted names. */
async function installedVersions(dir: string, program: string): Promise<Installed[]> {
  const entries = await fs.readdir(dir);
  const flat = new RegExp(`^${program}[_-]?(v?\\d.*)$`);
  const found = new Map<string, Installed>();
  // Sorted, so which of two same-version names wins does not depend on the file system.
  for (const entry of entries.sort()) {
    const m = flat.exec(entry);
    let version: Version | null = null;
    let binary: string | undefined;
    if (m) {
      version = parseTerraformVersion(m[1]);
      binary = path.join(dir, entry);
    } else {
      version = parseTerraformVersion(entry);
      binary = path.join(dir, entry, program);
    }
    if (!version || version.nums.length !== 3) continue;
    const key = versionText(version);
    if (found.has(key)) continue;
    if (await isExecutableFile(binary)) found.set(key, { version, binary });
  }
  return [...found.values()].sort((a, b) => compareVersions(b.version, a.version));
}

function matches(installed: Version, wanted: Version): boolean {
  if (wanted.nums.length === 3) return compareVersions(installed, wanted) === 0;
  // A partial version: releases only, same leading numbers.
  return installed.pre === undefined && wanted.nums.every((n, i) => installed.nums[i] === n);
}

/** The binary for a project. Never throws; a problem is an `error` to show the user. */
export async function resolveTerraformBinary(input: ResolveBinaryInput): Promise<ResolvedBinary> {
  const { settings } = input;
  const distribution = input.distribution ?? settings.terraformDistribution;
  const program = distribution === "opentofu" ? "tofu" : "terraform";
  const defaultBinary = distribution === "opentofu" ? settings.tofuBin : settings.terraformBin;
  const requested = input.version?.trim();
  if (requested === undefined || requested === "") {
    return { ok: true, binary: defaultBinary, distribution, isDefault: distribution === settings.terraformDistribution };
  }

  const what = distribution === "opentofu" ? `terraform_version ${requested} (OpenTofu)` : `terraform_version ${requested}`;
  const wanted = parseTerraformVersion(requested);
  if (!wanted) {
    return { ok: false, error: `${what} is not a valid version: use e.g. 1.11.4, v1.11.4, 1.11 or 0.12.0-beta1.` };
  }
  const dir = settings.terraformVersionsDir;
  if (!dir) {
    return {
      ok: false,
      error:
        `${what} is not installed: this Atoll server has no directory of ${program} versions ` +
        `(ATOLL_TERRAFORM_VERSIONS_DIR is not set). Remove terraform_version to use the server's ${program}, or ask the Atoll operator.`,
    };
  }
  let installed: Installed[];
  try {
    installed = await installedVersions(dir, program);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      error: `${what} is not installed: the versions directory ${dir} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? (error as Error).message})`}. Ask the Atoll operator.`,
    };
  }
  const hit = installed.find((i) => matches(i.version, wanted));
  if (hit) return { ok: true, binary: hit.binary, distribution, version: versionText(hit.version), isDefault: false };

  const list = installed.length > 0 ? installed.map((i) => versionText(i.version)).join(", ") : "none";
  const looked =
    wanted.nums.length === 3
      ? `no executable ${program}${versionText(wanted)} in ${dir}`
      : `no installed ${program} ${wanted.nums.join(".")}.x release in ${dir}`;
  return { ok: false, error: `${what} is not installed: ${looked} (installed: ${list}). Install it there or ask the Atoll operator.` };
}
