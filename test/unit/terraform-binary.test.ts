import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseTerraformVersion, resolveTerraformBinary, type BinarySettings } from "../../src/terraform/terraform-binary.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "atoll-tf-versions-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fake executable (or, with executable=false, a plain file) at `rel` inside the versions dir. */
async function install(rel: string, executable = true): Promise<string> {
  const file = path.join(dir, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, "#!/bin/sh\necho fake\n");
  await chmod(file, executable ? 0o755 : 0o644);
  return file;
}

function settings(over: Partial<BinarySettings> = {}): BinarySettings {
  return { terraformBin: "/usr/local/bin/terraform", tofuBin: "/usr/local/bin/tofu", terraformDistribution: "terraform", terraformVersionsDir: dir, ...over };
}

describe("parseTerraformVersion", () => {
  test("Atlantis's syntax", () => {
    expect(parseTerraformVersion("1.11.0")).toEqual({ nums: [1, 11, 0] });
    expect(parseTerraformVersion("v1.11.0")).toEqual({ nums: [1, 11, 0] });
    expect(parseTerraformVersion("1.11")).toEqual({ nums: [1, 11] });
    expect(parseTerraformVersion("1")).toEqual({ nums: [1] });
    expect(parseTerraformVersion("0.12.0-beta1")).toEqual({ nums: [0, 12, 0], pre: "beta1" });
    for (const bad of ["", "latest", "1.x", ">= 1.5", "1.2.3.4", "1.2-beta", "v", "1..2"]) expect([bad, parseTerraformVersion(bad)]).toEqual([bad, null]);
  });
});

describe("resolveTerraformBinary", () => {
  test("without a version: the distribution's configured binary", async () => {
    expect(await resolveTerraformBinary({ settings: settings() })).toEqual({
      ok: true,
      binary: "/usr/local/bin/terraform",
      distribution: "terraform",
      isDefault: true,
    });
    // Another distribution than the server's: not the terraform port's own binary.
    expect(await resolveTerraformBinary({ settings: settings(), distribution: "opentofu" })).toEqual({
      ok: true,
      binary: "/usr/local/bin/tofu",
      distribution: "opentofu",
      isDefault: false,
    });
    expect(await resolveTerraformBinary({ settings: settings({ terraformDistribution: "opentofu" }), version: "" })).toEqual({
      ok: true,
      binary: "/usr/local/bin/tofu",
      distribution: "opentofu",
      isDefault: true,
    });
  });

  test("an exact version under each accepted name", async () => {
    const a = await install("terraform1.5.7");
    const b = await install("terraform_1.6.0");
    const c = await install("terraform-1.7.1");
    const d = await install("1.11.4/terraform");
    const e = await install("v1.9.0/terraform");
    const f = await install("terraform_v1.8.2");
    const s = settings();
    expect(await resolveTerraformBinary({ settings: s, version: "1.5.7" })).toEqual({ ok: true, binary: a, distribution: "terraform", version: "1.5.7", isDefault: false });
    expect(await resolveTerraformBinary({ settings: s, version: "v1.6.0" })).toMatchObject({ ok: true, binary: b, version: "1.6.0" });
    expect(await resolveTerraformBinary({ settings: s, version: "1.7.1" })).toMatchObject({ ok: true, binary: c });
    expect(await resolveTerraformBinary({ settings: s, version: "1.11.4" })).toMatchObject({ ok: true, binary: d });
    expect(await resolveTerraformBinary({ settings: s, version: "1.9.0" })).toMatchObject({ ok: true, binary: e });
    expect(await resolveTerraformBinary({ settings: s, version: "1.8.2" })).toMatchObject({ ok: true, binary: f });
  });

  test("a partial version picks the highest installed release with that prefix, numerically", async () => {
    await install("terraform1.9.8");
    const high = await install("terraform1.10.2");
    await install("terraform1.10.10-rc1");
    await install("terraform0.15.5");
    const patch = await install("1.10.11/terraform", false); // not executable: ignored
    expect(patch).toBeTruthy();
    const s = settings();
    expect(await resolveTerraformBinary({ settings: s, version: "1" })).toMatchObject({ ok: true, binary: high, version: "1.10.2" });
    expect(await resolveTerraformBinary({ settings: s, version: "v1.10" })).toMatchObject({ ok: true, binary: high, version: "1.10.2" });
    expect(await resolveTerraformBinary({ settings: s, version: "1.9" })).toMatchObject({ ok: true, version: "1.9.8" });
    expect(await resolveTerraformBinary({ settings: s, version: "0" })).toMatchObject({ ok: true, version: "0.15.5" });
    // A pre-release only when asked for exactly.
    expect(await resolveTerraformBinary({ settings: s, version: "1.10.10-rc1" })).toMatchObject({ ok: true, version: "1.10.10-rc1" });
    const none = await resolveTerraformBinary({ settings: s, version: "1.11" });
    expect(none).toEqual({
      ok: false,
      error: `terraform_version 1.11 is not installed: no installed terraform 1.11.x release in ${dir} (installed: 1.10.10-rc1, 1.10.2, 1.9.8, 0.15.5). Install it there or ask the Atoll operator.`,
    });
  });

  test("a missing version names the version, the directory and what is installed", async () => {
    await install("terraform_1.11.4");
    await install("tofu1.8.0");
    expect(await resolveTerraformBinary({ settings: settings(), version: "1.5.7" })).toEqual({
      ok: false,
      error: `terraform_version 1.5.7 is not installed: no executable terraform1.5.7 in ${dir} (installed: 1.11.4). Install it there or ask the Atoll operator.`,
    });
    // Non-executable files do not count.
    await install("terraform1.5.7", false);
    expect(await resolveTerraformBinary({ settings: settings(), version: "1.5.7" })).toMatchObject({ ok: false });
  });

  test("OpenTofu looks for tofu binaries", async () => {
    await install("terraform1.8.0");
    const tofu = await install("tofu_1.8.0");
    const s = settings();
    expect(await resolveTerraformBinary({ settings: s, version: "1.8.0", distribution: "opentofu" })).toEqual({
      ok: true,
      binary: tofu,
      distribution: "opentofu",
      version: "1.8.0",
      isDefault: false,
    });
    const miss = await resolveTerraformBinary({ settings: settings({ terraformDistribution: "opentofu" }), version: "1.9.0" });
    expect(miss).toEqual({
      ok: false,
      error: `terraform_version 1.9.0 (OpenTofu) is not installed: no executable tofu1.9.0 in ${dir} (installed: 1.8.0). Install it there or ask the Atoll operator.`,
    });
  });

  test("no versions directory, a missing one, or an invalid version", async () => {
    const noDir = await resolveTerraformBinary({ settings: settings({ terraformVersionsDir: undefined }), version: "1.5.7" });
    expect(noDir.ok).toBe(false);
    expect(!noDir.ok && noDir.error).toContain("terraform_version 1.5.7 is not installed");
    expect(!noDir.ok && noDir.error).toContain("ATOLL_TERRAFORM_VERSIONS_DIR");

    const gone = path.join(dir, "nope");
    const missing = await resolveTerraformBinary({ settings: settings({ terraformVersionsDir: gone }), version: "1.5.7" });
    expect(missing).toEqual({ ok: false, error: `terraform_version 1.5.7 is not installed: the versions directory ${gone} does not exist. Ask the Atoll operator.` });

    const invalid = await resolveTerraformBinary({ settings: settings(), version: "latest" });
    expect(invalid.ok).toBe(false);
    expect(!invalid.ok && invalid.error).toContain("terraform_version latest is not a valid version");

    const empty = await resolveTerraformBinary({ settings: settings(), version: "1.5.7" });
    expect(!empty.ok && empty.error).toContain("(installed: none)");
  });
});
