/**
 * `atoll validate`: `runCli(argv, io)` against temp directories, plus one run of the built CLI as
 * a real process. Exit codes: 0 valid, 1 invalid, 2 usage error or unreadable input.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli.js";

const yaml = (...lines: string[]) => lines.join("\n") + "\n";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUILT_CLI = join(ROOT, "lib", "cli.js");

const VALID = yaml("version: 3", "projects:", "- name: net", "  dir: net", "- name: app", "  dir: app", "  depends_on: [net]");
const INVALID = yaml("version: 3", "projects:", "- dir: /abs", "- name: 'a b'", "  dir: b");
const RESTRICTED = yaml("version: 3", "projects:", "- dir: a", "  workflow: default");

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "atoll-cli-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A repo dir with the given files; returns its path. */
async function repo(files: Record<string, string>, name = "repo"): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  return dir;
}
async function file(name: string, text: string): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, text);
  return path;
}

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe("runCli validate: repo directories", () => {
  test("a valid config → 0 and a 'valid (N projects…)' line", async () => {
    const dir = await repo({ "atlantis.yaml": VALID });
    const r = await cli("validate", dir);
    expect(r).toEqual({ code: 0, out: [`${join(dir, "atlantis.yaml")}: valid (2 projects, 0 custom workflows)`], err: [] });
  });

  test("atoll.yaml is found too; one project is singular", async () => {
    const dir = await repo({ "atoll.yaml": yaml("version: 3", "projects: [{dir: .}]") });
    const r = await cli("validate", dir);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([`${join(dir, "atoll.yaml")}: valid (1 project, 0 custom workflows)`]);
  });

  test("an invalid config → 1, one `file:line: path: message` line per problem and a summary", async () => {
    const dir = await repo({ "atlantis.yaml": INVALID });
    const f = join(dir, "atlantis.yaml");
    const r = await cli("validate", dir);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      `${f}:3: projects[0].dir: must be a path relative to the repo root, not absolute ("/abs")`,
      `${f}:4: projects[1].name: "a b": project names can only contain letters, digits, '-', '_', '.', '~' and '/'`,
      `${f}: invalid (2 problems)`,
    ]);
  });

  test("a YAML syntax error → 1 with its line, no path", async () => {
    const dir = await repo({ "atlantis.yaml": yaml("version: 3", "projects: [") });
    const r = await cli("validate", dir);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(new RegExp(`^${join(dir, "atlantis.yaml").replace(/[.]/g, "\\.")}:3: invalid YAML: `));
    expect(r.err[1]).toMatch(/invalid \(1 problem\)$/);
  });

  test("both atoll.yaml and atlantis.yaml → 1", async () => {
    const dir = await repo({ "atoll.yaml": VALID, "atlantis.yaml": VALID });
    const r = await cli("validate", dir);
    expect(r.code).toBe(1);
    expect(r.err).toEqual(["atoll.yaml: found both atoll.yaml and atlantis.yaml; keep only one of them"]);
  });

  test.each([
    ["atlantis.yml", "atlantis.yaml"],
    ["atoll.yml", "atoll.yaml"],
  ])("%s → 1, naming the right spelling", async (wrong, right) => {
    const dir = await repo({ [wrong]: VALID });
    const r = await cli("validate", dir);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([`${wrong}: found "${wrong}" as config file; rename it to "${right}" (.yaml extension)`]);
  });

  test("no config → 0 (projects are discovered)", async () => {
    const dir = await repo({ "main.tf": "" });
    const r = await cli("validate", dir);
    expect(r).toEqual({ code: 0, out: [`${dir}: no atoll.yaml or atlantis.yaml found; Atoll discovers projects from changed files.`], err: [] });
  });

  test("no config with --quiet prints nothing", async () => {
    const dir = await repo({});
    expect(await cli("validate", dir, "-q")).toEqual({ code: 0, out: [], err: [] });
  });

  test("warnings go to stderr and do not fail", async () => {
    const dir = await repo({ "atlantis.yaml": yaml("version: 3", "emoji_reaction: eyes") });
    const r = await cli("validate", dir);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([`warning: ${join(dir, "atlantis.yaml")}:2: emoji_reaction: is accepted for Atlantis compatibility; Atoll always reacts with 👀`]);
    expect(r.out).toEqual([`${join(dir, "atlantis.yaml")}: valid (0 projects, 0 custom workflows)`]);
  });

  test("--branch drops projects for other base branches before the name checks", async () => {
    const dir = await repo({ "atlantis.yaml": yaml("version: 3", "projects:", "- {name: x, dir: a, branch: /^main$/}", "- {name: x, dir: b}") });
    expect((await cli("validate", dir)).code).toBe(1);
    const r = await cli("validate", dir, "--branch", "dev");
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/valid \(1 project, 0 custom workflows\)$/);
  });
});

describe("runCli validate: a file path", () => {
  test("a valid file", async () => {
    const f = await file("custom-name.yaml", VALID);
    expect(await cli("validate", f)).toEqual({ code: 0, out: [`${f}: valid (2 projects, 0 custom workflows)`], err: [] });
  });

  test("an invalid file names itself in every line", async () => {
    const f = await file("conf.yaml", yaml("version: 1"));
    const r = await cli("validate", f);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([`${f}:1: version: only versions 2 and 3 are supported (got 1)`, `${f}: invalid (1 problem)`]);
  });

  test("a path that does not exist → 2", async () => {
    const r = await cli("validate", join(tmp, "nope"));
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`atoll: cannot read ${join(tmp, "nope")}: no such file or directory`]);
  });
});

describe("runCli validate: --policy", () => {
  test("a restricted key the policy does not allow → 1 with Atlantis's message", async () => {
    const policy = await file("repos.yaml", yaml("repos:", "- id: /.*/", "  apply_requirements: [approved]"));
    const f = await file("atlantis.yaml", RESTRICTED);
    const r = await cli("validate", f, "--policy", policy);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([
      `${f}:4: projects[0].workflow: repo config not allowed to set 'workflow' key: server-side config needs 'allowed_overrides: [workflow]'`,
      `${f}: invalid (1 problem)`,
    ]);
  });

  test("without --policy the built-in defaults apply (the same key is refused)", async () => {
    const f = await file("atlantis.yaml", RESTRICTED);
    expect((await cli("validate", f)).code).toBe(1);
  });

  test("the key allowed for the repo named by --repo → 0; for another repo → 1", async () => {
    const policy = await file("repos.yaml", yaml("repos:", "- id: github.com/acme/infra", "  allowed_overrides: [workflow]"));
    const f = await file("atlantis.yaml", RESTRICTED);
    expect((await cli("validate", f, "--policy", policy, "--repo", "acme/infra")).code).toBe(0);
    expect((await cli("validate", f, "--policy", policy, "--repo", "acme/other")).code).toBe(1);
    expect((await cli("validate", f, "--policy", policy)).code).toBe(1);
  });

  test("--host picks host/owner/name ids", async () => {
    const policy = await file("repos.yaml", yaml("repos:", "- id: ghe.example.com/acme/infra", "  allowed_overrides: [workflow]"));
    const f = await file("atlantis.yaml", RESTRICTED);
    expect((await cli("validate", f, "--policy", policy, "--repo", "acme/infra", "--host", "ghe.example.com")).code).toBe(0);
    expect((await cli("validate", f, "--policy", policy, "--repo", "acme/infra")).code).toBe(1);
  });

  test("custom workflows need allow_custom_workflows in the policy", async () => {
    const f = await file("atlantis.yaml", yaml("version: 3", "workflows:", "  mine: ~"));
    const denied = await cli("validate", f);
    expect(denied.code).toBe(1);
    expect(denied.err[0]).toBe(`${f}:2: workflows: repo config not allowed to define custom workflows: server-side config needs 'allow_custom_workflows: true'`);
    const policy = await file("repos.yaml", yaml("repos:", "- id: /.*/", "  allow_custom_workflows: true"));
    const allowed = await cli("validate", f, "--policy", policy);
    expect(allowed).toEqual({ code: 0, out: [`${f}: valid (0 projects, 1 custom workflow)`], err: [] });
  });

  test("the policy's repo_config_file for the repo is the file checked in a directory, as on the server", async () => {
    const policy = await file("repos.yaml", yaml("repos:", "- id: acme/infra", "  repo_config_file: infra/atoll.yaml"));
    const dir = await repo({ "atlantis.yaml": INVALID });
    await mkdir(join(dir, "infra"));
    await writeFile(join(dir, "infra", "atoll.yaml"), VALID);
    const r = await cli("validate", dir, "--policy", policy, "--repo", "acme/infra");
    expect(r).toEqual({ code: 0, out: [`${join(dir, "infra", "atoll.yaml")}: valid (2 projects, 0 custom workflows)`], err: [] });
    // Another repo: the usual atlantis.yaml (invalid here).
    expect((await cli("validate", dir, "--policy", policy, "--repo", "acme/other")).code).toBe(1);
  });

  test("a repo_config_file that does not exist → 0 (no config, as on the server)", async () => {
    const policy = await file("repos.yaml", yaml("repos:", "- id: /.*/", "  repo_config_file: ci/atlantis.yaml"));
    const dir = await repo({ "atlantis.yaml": INVALID });
    const r = await cli("validate", dir, "--policy", policy);
    expect(r).toEqual({ code: 0, out: [`${dir}: no ci/atlantis.yaml found (the policy's repo_config_file); Atoll discovers projects from changed files.`], err: [] });
  });

  test("an invalid policy file → 1, its problems first", async () => {
    const policy = await file("repos.yaml", yaml("repos:", "- id: acme/infra", "  allowed_overrides: [everything]"));
    const f = await file("atlantis.yaml", VALID);
    const r = await cli("validate", f, "--policy", policy);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      expect.stringMatching(new RegExp(`^${policy.replace(/[.]/g, "\\.")}:3: repos\\[0\\]\\.allowed_overrides\\[0\\]: "everything" is not a valid override`)),
      `${policy}: invalid server policy (1 problem)`,
    ]);
  });

  test("a policy file that does not exist → 1", async () => {
    const f = await file("atlantis.yaml", VALID);
    const missing = join(tmp, "missing.yaml");
    const r = await cli("validate", f, "--policy", missing);
    expect(r.code).toBe(1);
    expect(r.err[0]).toBe(`${missing}: cannot read the server policy file ${missing}: the file does not exist`);
  });

  test("policy warnings are printed, the config still validates", async () => {
    const policy = await file("repos.yaml", yaml("metrics: {}", "repos: []"));
    const f = await file("atlantis.yaml", VALID);
    const r = await cli("validate", f, "--policy", policy);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([expect.stringMatching(new RegExp(`^warning: ${policy.replace(/[.]/g, "\\.")}:1: metrics: is ignored`))]);
  });
});

describe("runCli: usage", () => {
  test.each([["acme"], ["acme/infra/x"], ["/infra"], ["acme /infra"]])("bad --repo %j → 2", async (value) => {
    const r = await cli("validate", tmp, "--repo", value);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`atoll: --repo must look like owner/name, got "${value}"`]);
  });

  test("unknown command → 2 with the usage", async () => {
    const r = await cli("check", tmp);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^atoll: unknown command or extra arguments: check /);
    expect(r.err[0]).toContain("Usage: atoll validate");
  });

  test("no command → 2 with the usage", async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^Usage: atoll validate/);
  });

  test("extra positional arguments → 2", async () => {
    expect((await cli("validate", tmp, tmp)).code).toBe(2);
  });

  test("unknown option → 2", async () => {
    const r = await cli("validate", tmp, "--polcy", "x");
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^atoll: Unknown option '--polcy'/);
  });

  test.each([["--help"], ["-h"]])("%s → 0 with the usage on stdout", async (flag) => {
    const r = await cli(flag);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^Usage: atoll validate \[path\] \[--policy <file>\]/);
    expect(r.err).toEqual([]);
  });
});

describe("the built CLI as a real process", () => {
  beforeAll(() => {
    if (existsSync(BUILT_CLI)) return;
    const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: ROOT, encoding: "utf8" });
    if (!existsSync(BUILT_CLI)) throw new Error(`lib/cli.js is missing and the build failed:\n${build.stdout}\n${build.stderr}`);
  }, 120_000);

  test("node lib/cli.js validate <dir>: exit codes 0, 1 and 2", async () => {
    const good = await repo({ "atlantis.yaml": VALID }, "good");
    const bad = await repo({ "atlantis.yaml": INVALID }, "bad");
    const run = (...args: string[]) => spawnSync(process.execPath, [BUILT_CLI, ...args], { encoding: "utf8" });

    const ok = run("validate", good);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`${join(good, "atlantis.yaml")}: valid (2 projects`);

    const invalid = run("validate", bad);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toContain(`${join(bad, "atlantis.yaml")}:3: projects[0].dir: `);

    expect(run("frobnicate").status).toBe(2);
  });
});
