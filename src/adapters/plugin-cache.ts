/**
 * The shared provider plugin cache (`TF_PLUGIN_CACHE_DIR` in the data dir), safe under parallel
 * `terraform init`.
 *
 * Terraform's cache is not safe for concurrent writers: two `init`s installing the same provider
 * into it at once can leave a corrupt package (Atlantis users hit this with parallel plans).
 * Reading is safe. So an `init` that may *write* the cache takes an exclusive turn, and one that
 * can only read it runs freely:
 *
 * - the project has a dependency lock file (`.terraform.lock.hcl`) and every provider version it
 *   pins is already in the cache for this platform → read-only, no turn needed;
 * - no lock file, but the configuration visibly needs no provider at all (only `terraform_*`
 *   resources and data sources — built into terraform — and no `provider`, `required_providers`
 *   or `module` blocks) → nothing to install, no turn needed;
 * - otherwise (a provider missing from the cache, or anything the quick scan cannot rule out) →
 *   `init` may download, so it waits for the exclusive turn.
 *
 * The turn is per cache directory and per process (Atoll runs one process per data dir).
 */
import { access, readFile, readdir } from "node:fs/promises";
import path from "node:path";

/** `linux_amd64`, `darwin_arm64`, … as terraform names platforms. */
export function terraformPlatform(): string {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const arch = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm" }[process.arch as string] ?? process.arch;
  return `${os}_${arch}`;
}

/** Providers pinned by a lock file: `[source address, version]`, e.g. `["registry.terraform.io/hashicorp/aws", "5.31.0"]`. */
export function lockedProviders(lockFile: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /provider\s+"([^"]+)"\s*\{[^}]*?\bversion\s*=\s*"([^"]+)"/g;
  for (const m of lockFile.matchAll(re)) out.push([m[1], m[2]]);
  return out;
}

/**
 * Whether Terraform source visibly needs no provider: every `resource`/`data` type is built in
 * (`terraform_…`) and there is no `provider`, `required_providers` or `module` block that could
 * pull one in (backends are built in). Conservative: false whenever unsure.
 */
export function needsNoProvider(sources: readonly string[]): boolean {
  for (const text of sources) {
    if (/\b(provider|module)\s+"/.test(text) || /\brequired_providers\b/.test(text)) return false;
    for (const m of text.matchAll(/\b(?:resource|data|ephemeral)\s+"([^"]+)"/g)) {
      if (!m[1].startsWith("terraform_")) return false;
    }
  }
  return true;
}

async function terraformSources(projectDir: string): Promise<string[] | undefined> {
  const names = await readdir(projectDir).catch(() => undefined);
  if (!names) return undefined;
  const files = names.filter((n) => /\.(tf|tofu)$/.test(n));
  // JSON configuration is not scanned: treat it as "may need providers".
  if (names.some((n) => /\.(tf|tofu)\.json$/.test(n))) return undefined;
  return Promise.all(files.map((f) => readFile(path.join(projectDir, f), "utf8")));
}

/** Whether `init` in `projectDir` can only read the cache (nothing to install, or all of it cached). */
export async function initReadsCacheOnly(projectDir: string, cacheDir: string, platform = terraformPlatform()): Promise<boolean> {
  const lock = await readFile(path.join(projectDir, ".terraform.lock.hcl"), "utf8").catch(() => undefined);
  if (lock === undefined) {
    const sources = await terraformSources(projectDir);
    return sources !== undefined && needsNoProvider(sources);
  }
  for (const [source, version] of lockedProviders(lock)) {
    const cached = await access(path.join(cacheDir, ...source.split("/"), version, platform)).then(
      () => true,
      () => false,
    );
    if (!cached) return false;
  }
  return true;
}

/** Exclusive turns per cache dir. */
const turns = new Map<string, Promise<void>>();

/** Run `fn` (an `init`) with the cache safely: exclusively when it may write the cache. */
export async function withPluginCache<T>(projectDir: string, cacheDir: string, fn: () => Promise<T>): Promise<T> {
  if (await initReadsCacheOnly(projectDir, cacheDir)) return fn();
  const previous = turns.get(cacheDir) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  turns.set(cacheDir, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (turns.get(cacheDir) === tail) turns.delete(cacheDir);
  }
}
