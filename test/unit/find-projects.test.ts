import { posix } from "node:path";
import type { ChangedFile } from "../../src/ports/github.js";
import {
  candidateDirs,
  configuredProjects,
  discoverProjects,
  expandGlobDirs,
  ignoredByAutodiscover,
  matchesWhenModified,
  modifiedProjects,
  projectDirOf,
  shouldDiscover,
  staysInside,
  touchedPaths,
} from "../../src/projects/find-projects.js";
import type { Project } from "../../src/projects/project.js";
import type { AutodiscoverConfig, AutodiscoverMode, ProjectConfig } from "../../src/config/config-types.js";
import { DEFAULT_WHEN_MODIFIED, parseRepoConfig, type RepoConfig } from "../../src/config/repo-config.js";

const require_relative = (dir: string, file: string) => posix.relative(`/${dir}`, `/${file}`);
const modified = (...names: string[]): ChangedFile[] => names.map((filename) => ({ filename, status: "modified" }));
const project = (dir: string, name = "", workspace = "default"): Project => ({ name, dir, workspace });

/** A RepoConfig from YAML, through the real parser (keeps tests honest about the config shape). */
function config(...lines: string[]): RepoConfig {
  const result = parseRepoConfig(["version: 3", "projects:", ...lines].join("\n") + "\n", "atlantis.yaml");
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

describe("projectDirOf", () => {
  test.each<[string, string]>([
    ["main.tf", "."],
    ["a/main.tf", "a"],
    ["a/b/c/main.tf", "a/b/c"],
    ["env/dev.tfvars", "."],
    ["stack/env/dev.tfvars", "stack"],
    ["stack/env/sub/x.tf", "stack/env/sub"],
    ["modules/vpc/main.tf", "."],
    ["modules/main.tf", "."],
    ["stack/modules/vpc/main.tf", "stack"],
    ["a/modules/b/modules/c/main.tf", "a"],
    ["my-modules/x/main.tf", "my-modules/x"],
    ["modulesx/main.tf", "modulesx"],
    ["./a/main.tf", "a"],
  ])("%s → %s", (file, dir) => {
    expect(projectDirOf(file)).toBe(dir);
  });
});

describe("candidateDirs (no-config discovery)", () => {
  test.each<[string, ChangedFile[], string[]]>([
    ["root .tf file", modified("main.tf"), ["."]],
    ["nested dirs", modified("a/main.tf", "b/c/vars.tf"), ["a", "b/c"]],
    ["every autoplan file type", modified("a/x.tf", "b/x.tf.json", "c/x.tfvars", "d/x.tfvars.json", "e/x.tofu", "f/x.tofu.json", "g/terragrunt.hcl", "h/.terraform.lock.hcl"), ["a", "b", "c", "d", "e", "f", "g", "h"]],
    ["non-Terraform files are ignored", modified("README.md", "a/notes.txt", "b/script.sh", "c/x.hcl", "d/main.tf.bak", "e/x.tfstate"), []],
    ["dot dirs are searched", modified(".infra/main.tf"), [".infra"]],
    ["deduplicated and sorted", modified("z/a.tf", "a/b.tf", "z/c.tf", "a/d.tfvars"), ["a", "z"]],
    ["env/ maps to the dir above", modified("stack/env/prod.tfvars"), ["stack"]],
    ["modules map above the first modules segment", modified("stack/modules/vpc/main.tf", "modules/dns/main.tf"), [".", "stack"]],
    ["removed files count", [{ filename: "old/main.tf", status: "removed" }], ["old"]],
    ["renames count both names", [{ filename: "new/main.tf", status: "renamed", previousFilename: "old/main.tf" }], ["new", "old"]],
    ["rename out of Terraform still counts the old name", [{ filename: "docs/main.md", status: "renamed", previousFilename: "infra/main.tf" }], ["infra"]],
    ["rename into Terraform counts the new name", [{ filename: "infra/main.tf", status: "renamed", previousFilename: "tmp/main.txt" }], ["infra"]],
    ["no files", [], []],
  ])("%s", (_name, files, dirs) => {
    expect(candidateDirs(files)).toEqual(dirs);
  });
});

describe("discoverProjects", () => {
  const tfDirs = new Set([".", "a", "stack", "b/c"]);

  test.each<[string, ChangedFile[], string[]]>([
    ["dirs with Terraform become default-workspace projects", modified("a/main.tf", "b/c/x.tfvars"), ["a", "b/c"]],
    ["a dir deleted by the PR is dropped", [{ filename: "gone/main.tf", status: "removed" }], []],
    ["tfvars-only dir without .tf is dropped", modified("vars/x.tfvars"), []],
    ["module change under a Terraform dir plans that dir", modified("stack/modules/vpc/main.tf"), ["stack"]],
    ["module change at the root plans the root when it holds Terraform", modified("modules/vpc/main.tf"), ["."]],
    ["module change under a dir without Terraform is dropped", modified("lib/modules/vpc/main.tf"), []],
    ["env/ change plans the parent", modified("a/env/dev.tfvars"), ["a"]],
    ["root project", modified("main.tf", "README.md"), ["."]],
  ])("%s", (_name, files, dirs) => {
    expect(discoverProjects(files, tfDirs)).toEqual(dirs.map((d) => project(d)));
  });

  test("module change drops the root when the root has no Terraform", () => {
    expect(discoverProjects(modified("modules/vpc/main.tf"), new Set(["modules/vpc"]))).toEqual([]);
  });
});

describe("matchesWhenModified", () => {
  test.each<[string, string[], boolean]>([
    ["main.tf", [...DEFAULT_WHEN_MODIFIED], true],
    ["sub/dir/x.tfvars", [...DEFAULT_WHEN_MODIFIED], true],
    ["x.tofu.json", [...DEFAULT_WHEN_MODIFIED], true],
    ["terragrunt.hcl", [...DEFAULT_WHEN_MODIFIED], true],
    [".terraform.lock.hcl", [...DEFAULT_WHEN_MODIFIED], true],
    ["README.md", [...DEFAULT_WHEN_MODIFIED], false],
    ["../other/main.tf", [...DEFAULT_WHEN_MODIFIED], false],
    ["main.tf", [], false],
    ["sub/x.tf", ["*.tf"], false],
    ["x.tf", ["*.tf"], true],
    ["../modules/vpc/main.tf", ["../modules/**/*.tf"], true],
    ["../modules/main.tf", ["../modules/**/*.tf"], true],
    ["../modules/vpc/README.md", ["../modules/**/*.tf"], false],
    ["../modules/vpc/main.tf", ["../modules"], true],
    ["config/app.yaml", ["config"], true],
    ["test.tf", ["*.tf", "!test.tf"], false],
    ["main.tf", ["*.tf", "!test.tf"], true],
    ["test.tf", ["*.tf", "!test.tf", "test.tf"], true],
    ["x.tf", ["!x.tf"], false],
    ["tests/a.tf", ["**/*.tf", "!tests"], false],
    ["x.tf", ["./x.tf"], true],
    ["x.tf", ["", "  "], false],
  ])("%s with %j → %s", (path, patterns, expected) => {
    expect(matchesWhenModified(path, patterns)).toBe(expected);
  });
});

describe("configuredProjects", () => {
  test("which patterns can only select paths inside the project dir (a relative `../…` path never matches them)", () => {
    // `**/../x` is normalized to `x` before matching.
    for (const inside of ["**/*.tf*", "*.tf", "**", "*", "modules/**", ".terraform.lock.hcl", "./x/*.tf", "!**/*.md", "", "**/../x"]) {
      expect([inside, staysInside(inside)]).toEqual([inside, true]);
    }
    for (const outside of ["../modules/**", "..", "*.", "[.][.]/*", "!(a)/x", "{..,a}/*", "@(..)/**", "+(.)/x", "?./x", "...", "../../**"]) {
      expect([outside, staysInside(outside)]).toEqual([outside, false]);
    }
  });

  test("the dir index selects exactly what matching every path against every project selects", () => {
    // Brute force: the definition (every touched path against every project's patterns).
    const naive = (files: ChangedFile[], projects: ProjectConfig[]) =>
      projects
        .filter((p) => p.autoplan.enabled)
        .filter((p) =>
          touchedPaths(files).some((f) => {
            const rel = p.dir === "." ? f : require_relative(p.dir, f);
            return matchesWhenModified(rel, p.autoplan.whenModified);
          }),
        )
        .map((p) => ({ name: p.name, dir: p.dir, workspace: p.workspace }));
    const patterns = [
      ["**/*.tf*"],
      ["*.tf", "!skip.tf"],
      ["../modules/**/*.tf"],
      ["*./x"],
      ["!(a)/x.tf"],
      ["[.][.]/shared/*"],
      ["{..,lib}/**"],
      ["**/*.tf", "!**/test/**"],
      ["modules/**"],
      ["../../**"],
    ];
    const dirs = [".", "a", "a/b", "a/b/c", "lib", "shared", "x", "a/x"];
    const projects: ProjectConfig[] = [];
    for (const [i, dir] of dirs.entries()) {
      for (const [j, whenModified] of patterns.entries()) {
        if ((i + j) % 3 === 0) continue;
        const c = config(`- {name: p${i}-${j}, dir: ${JSON.stringify(dir)}, autoplan: {when_modified: ${JSON.stringify(whenModified)}}}`);
        projects.push(c.projects[0]!);
      }
    }
    const fileSets = [
      ["a/main.tf"],
      ["a/b/c/skip.tf", "x/x.tf"],
      ["modules/vpc/main.tf", "a/modules/m.tf"],
      ["shared/y.tf", "lib/z.tf", "a/b/test/t.tf"],
      ["main.tf", "README.md", "a/x/x.tf"],
      ["a/b/c/d/e.tf"],
    ];
    for (const names of fileSets) {
      const files = modified(...names);
      expect([names, configuredProjects(files, { projects })]).toEqual([names, naive(files, projects)]);
    }
  });

  test("default when_modified selects projects whose dir holds a changed Terraform file", () => {
    const cfg = config("- {name: a, dir: a}", "- {name: b, dir: b}");
    expect(configuredProjects(modified("b/main.tf"), cfg)).toEqual([project("b", "b")]);
  });

  test("a root project with the default patterns is also selected by files in subdirs (as in Atlantis)", () => {
    const cfg = config("- {name: b, dir: b}", "- {name: root, dir: .}");
    expect(configuredProjects(modified("b/main.tf"), cfg).map((p) => p.name)).toEqual(["b", "root"]);
    expect(configuredProjects(modified("b/README.md"), cfg)).toEqual([]);
  });

  test("the root project sees every Terraform file below it", () => {
    const cfg = config("- {dir: .}");
    expect(configuredProjects(modified("deep/nested/x.tf"), cfg)).toEqual([project(".")]);
  });

  test("config order is kept, each project once", () => {
    const cfg = config("- {name: z, dir: z}", "- {name: a, dir: a}");
    expect(configuredProjects(modified("a/x.tf", "z/x.tf", "a/y.tf"), cfg).map((p) => p.name)).toEqual(["z", "a"]);
  });

  test("workspaces of one dir are separate projects", () => {
    const cfg = config("- {dir: a, workspace: stg}", "- {dir: a, workspace: prd}");
    expect(configuredProjects(modified("a/main.tf"), cfg)).toEqual([project("a", "", "stg"), project("a", "", "prd")]);
  });

  test("../modules patterns select projects that use a shared module", () => {
    const cfg = config(
      "- name: app",
      "  dir: stacks/app",
      "  autoplan: {when_modified: ['*.tf', '../../modules/**/*.tf']}",
      "- name: db",
      "  dir: stacks/db",
    );
    expect(configuredProjects(modified("modules/vpc/main.tf"), cfg).map((p) => p.name)).toEqual(["app"]);
  });

  test("a similarly named sibling dir does not match (paths are relative, not prefixes)", () => {
    const cfg = config("- {dir: app}");
    expect(configuredProjects(modified("app2/main.tf"), cfg)).toEqual([]);
  });

  test("negation excludes files", () => {
    const cfg = config("- dir: a", "  autoplan: {when_modified: ['**/*.tf', '!tests/**']}");
    expect(configuredProjects(modified("a/tests/fixture.tf"), cfg)).toEqual([]);
    expect(configuredProjects(modified("a/tests/fixture.tf", "a/main.tf"), cfg)).toEqual([project("a")]);
  });

  test("when_modified: [] never autoplans", () => {
    const cfg = config("- dir: a", "  autoplan: {when_modified: []}");
    expect(configuredProjects(modified("a/main.tf"), cfg)).toEqual([]);
  });

  test("autoplan.enabled: false is skipped, unless the caller asks for it (bare plan comment)", () => {
    const cfg = config("- dir: a", "  autoplan: {enabled: false}", "- dir: b");
    const files = modified("a/main.tf", "b/main.tf");
    expect(configuredProjects(files, cfg)).toEqual([project("b")]);
    expect(configuredProjects(files, cfg, { includeAutoplanDisabled: true })).toEqual([project("a"), project("b")]);
  });

  test("renames match on the old name too; removed files count", () => {
    const cfg = config("- {name: a, dir: a}", "- {name: b, dir: b}");
    expect(
      configuredProjects(
        [
          { filename: "docs/a.md", status: "renamed", previousFilename: "a/main.tf" },
          { filename: "b/old.tf", status: "removed" },
        ],
        cfg,
      ).map((p) => p.name),
    ).toEqual(["a", "b"]);
  });

  test("custom patterns can select non-Terraform files", () => {
    const cfg = config("- dir: lambda", "  autoplan: {when_modified: ['src/**', '*.tf']}");
    expect(configuredProjects(modified("lambda/src/handler.py"), cfg)).toEqual([project("lambda")]);
  });

  test("returned projects carry only name, dir and workspace", () => {
    const cfg = config("- {name: n, dir: d, workspace: w}");
    expect(configuredProjects(modified("d/main.tf"), cfg)).toStrictEqual([{ name: "n", dir: "d", workspace: "w" }]);
  });
});

/** Configured projects (the `projects:` list) from YAML lines, through the real parser. */
const projects = (...lines: string[]): ProjectConfig[] => config(...lines).projects;
const autodiscover = (mode: AutodiscoverMode, ignorePaths: string[] = []): AutodiscoverConfig => ({ mode, ignorePaths });
const dirsOf = (ps: readonly { dir: string; workspace: string; name: string }[]) => ps.map((p) => [p.dir, p.workspace, p.name]);

describe("expandGlobDirs", () => {
  const tfDirs = new Set([".", "stacks/a", "stacks/b", "stacks/b/nested", "other", "stacks/c"]);

  test.each<[string, string[], [string, string, string][]]>([
    [
      "a glob stands for each matching dir that holds Terraform, sorted",
      ["- dir: stacks/*"],
      [["stacks/a", "default", ""], ["stacks/b", "default", ""], ["stacks/c", "default", ""]],
    ],
    ["`*` does not cross a slash; `**` does", ["- dir: stacks/**"], [["stacks/a", "default", ""], ["stacks/b", "default", ""], ["stacks/b/nested", "default", ""], ["stacks/c", "default", ""]]],
    ["a matching dir without Terraform is not a project", ["- dir: stack?/empty"], []],
    ["a glob matching nothing expands to nothing", ["- dir: nope/*"], []],
    [
      "an explicit entry for the same dir and workspace wins, wherever it is listed",
      ["- dir: stacks/*", "- {name: b, dir: stacks/b}"],
      [["stacks/a", "default", ""], ["stacks/c", "default", ""], ["stacks/b", "default", "b"]],
    ],
    [
      "an explicit entry in another workspace does not hide the glob's project",
      ["- {dir: stacks/b, workspace: prod}", "- dir: stacks/*"],
      [["stacks/b", "prod", ""], ["stacks/a", "default", ""], ["stacks/b", "default", ""], ["stacks/c", "default", ""]],
    ],
    [
      "the glob's workspace is kept, and decides which explicit entries win",
      ["- {dir: stacks/a}", "- {dir: 'stacks/*', workspace: staging}"],
      [["stacks/a", "default", ""], ["stacks/a", "staging", ""], ["stacks/b", "staging", ""], ["stacks/c", "staging", ""]],
    ],
    [
      "two globs matching the same dir and workspace: the first one wins",
      ["- dir: stacks/[ab]", "- dir: stacks/*"],
      [["stacks/a", "default", ""], ["stacks/b", "default", ""], ["stacks/c", "default", ""]],
    ],
    ["entries without a glob are kept as they are", ["- {name: o, dir: other}"], [["other", "default", "o"]]],
  ])("%s", (_name, lines, expected) => {
    expect(dirsOf(expandGlobDirs(projects(...lines), tfDirs))).toEqual(expected);
  });

  test("settings are copied to every expansion; dirIsGlob is dropped", () => {
    const [glob] = projects(
      "- dir: stacks/*",
      "  workspace: staging",
      "  execution_order_group: 3",
      "  terraform_version: '1.11'",
      "  apply_requirements: [approved]",
      "  autoplan: {enabled: false, when_modified: ['*.tf', '../../modules/**']}",
    );
    const expanded = expandGlobDirs([glob], new Set(["stacks/a", "stacks/b"]));
    expect(expanded).toHaveLength(2);
    for (const [i, dir] of ["stacks/a", "stacks/b"].entries()) {
      const { dirIsGlob: _glob, ...settings } = glob;
      expect(expanded[i]).toStrictEqual({ ...settings, dir, name: "" });
      expect(expanded[i].dirIsGlob).toBeUndefined();
    }
    // Copies, not shared references: changing one expansion's patterns leaves the others alone.
    expanded[0].autoplan.whenModified.push("x");
    expect(expanded[1].autoplan.whenModified).toEqual(["*.tf", "../../modules/**"]);
    expect(glob.autoplan.whenModified).toEqual(["*.tf", "../../modules/**"]);
  });

  test("the name is not copied (the parser refuses a name on a glob dir; entries built by hand too)", () => {
    const [glob] = projects("- dir: stacks/*");
    expect(dirsOf(expandGlobDirs([{ ...glob, name: "all-stacks" }], new Set(["stacks/a"])))).toEqual([["stacks/a", "default", ""]]);
  });
});

describe("ignoredByAutodiscover", () => {
  test.each<[string, string[], boolean]>([
    ["legacy", ["legacy"], true],
    ["legacy/a", ["legacy"], true],
    ["legacy/a/b", ["legacy"], true],
    ["legacy", ["legacy/"], true],
    ["legacy", ["./legacy"], true],
    ["legacy2", ["legacy"], false],
    ["a/legacy", ["legacy"], false],
    // `x/**`: everything below x, and x itself (Atlantis's doublestar matching).
    ["legacy", ["legacy/**"], true],
    ["legacy/a/b", ["legacy/**"], true],
    ["legacyx", ["legacy/**"], false],
    ["legacy/a", ["legacy/*"], true],
    ["legacy/a/b", ["legacy/*"], true],
    ["legacy", ["legacy/*"], false],
    ["a/test", ["**/test"], true],
    ["a/test/b", ["**/test"], true],
    ["a/tests", ["**/test"], false],
    ["stacks/sandbox-1", ["stacks/sandbox-*"], true],
    ["stacks/prod", ["stacks/sandbox-*"], false],
    ["any/dir", ["**"], true],
    ["b", ["legacy", "b"], true],
    ["b", [], false],
    ["b", ["", "  "], false],
  ])("%s with %j → %s", (dir, ignorePaths, expected) => {
    expect(ignoredByAutodiscover(dir, autodiscover("enabled", ignorePaths))).toBe(expected);
  });
});

describe("shouldDiscover", () => {
  const one = projects("- dir: a");
  test.each<[AutodiscoverMode, number, boolean]>([
    ["auto", 0, true],
    ["auto", 1, false],
    ["enabled", 0, true],
    ["enabled", 1, true],
    ["disabled", 0, false],
    ["disabled", 1, false],
  ])("mode %s with %i configured project(s) → %s", (mode, count, expected) => {
    expect(shouldDiscover(one.slice(0, count), autodiscover(mode))).toBe(expected);
  });

  test("a glob entry counts as a listed project (auto does not discover), even before it is expanded", () => {
    expect(shouldDiscover(projects("- dir: stacks/*"), autodiscover("auto"))).toBe(false);
  });
});

describe("modifiedProjects", () => {
  const tfDirs = new Set([".", "a", "b", "c", "legacy", "legacy/x"]);

  test("auto without configured projects discovers the changed Terraform dirs", () => {
    expect(modifiedProjects(modified("a/main.tf", "b/x.tfvars", "README.md"), [], autodiscover("auto"), tfDirs)).toEqual([project("a"), project("b")]);
  });

  test("auto with configured projects does not discover", () => {
    expect(modifiedProjects(modified("a/main.tf", "b/main.tf"), projects("- {name: a, dir: a}"), autodiscover("auto"), tfDirs)).toEqual([project("a", "a")]);
  });

  test("enabled: configured projects first (config order), then discovered dirs", () => {
    const configured = projects("- {name: cee, dir: c}", "- {name: a, dir: a}");
    expect(modifiedProjects(modified("b/main.tf", "a/main.tf", "c/main.tf"), configured, autodiscover("enabled"), tfDirs)).toEqual([
      project("c", "cee"),
      project("a", "a"),
      project("b"),
    ]);
  });

  test("enabled: a configured project wins over a discovered one in the same dir, whatever its workspace or when_modified", () => {
    const configured = projects("- {dir: a, workspace: staging}", "- dir: b", "  autoplan: {when_modified: ['*.md']}");
    // `a` is planned as configured (staging), not also as a default-workspace discovery; `b`'s
    // own patterns do not select the .tf change, and the dir is not rediscovered either.
    expect(modifiedProjects(modified("a/main.tf", "b/main.tf"), configured, autodiscover("enabled"), tfDirs)).toEqual([project("a", "", "staging")]);
  });

  test("enabled: a configured project with autoplan disabled still owns its dir", () => {
    const configured = projects("- dir: a", "  autoplan: {enabled: false}");
    expect(modifiedProjects(modified("a/main.tf"), configured, autodiscover("enabled"), tfDirs)).toEqual([]);
    expect(modifiedProjects(modified("a/main.tf"), configured, autodiscover("enabled"), tfDirs, { includeAutoplanDisabled: true })).toEqual([project("a")]);
  });

  test("disabled discovers nothing, with or without configured projects", () => {
    expect(modifiedProjects(modified("a/main.tf"), [], autodiscover("disabled"), tfDirs)).toEqual([]);
    expect(modifiedProjects(modified("a/main.tf", "b/main.tf"), projects("- dir: a"), autodiscover("disabled"), tfDirs)).toEqual([project("a")]);
  });

  test("ignore_paths drop discovered dirs (pattern and pattern/** forms), never configured ones", () => {
    const files = modified("legacy/main.tf", "legacy/x/main.tf", "b/main.tf", "c/main.tf");
    expect(modifiedProjects(files, [], autodiscover("auto", ["legacy/**"]), tfDirs)).toEqual([project("b"), project("c")]);
    expect(modifiedProjects(files, [], autodiscover("auto", ["legacy", "c"]), tfDirs)).toEqual([project("b")]);
    expect(modifiedProjects(files, projects("- dir: legacy"), autodiscover("enabled", ["legacy/**"]), tfDirs)).toEqual([project("legacy"), project("b"), project("c")]);
  });

  test("discovery keeps only dirs that hold Terraform; without the dir listing only configured projects", () => {
    expect(modifiedProjects(modified("gone/main.tf", "a/main.tf"), [], autodiscover("enabled"), tfDirs)).toEqual([project("a")]);
    expect(modifiedProjects(modified("a/main.tf", "b/main.tf"), projects("- dir: a"), autodiscover("enabled"), undefined)).toEqual([project("a")]);
  });

  test("expanded glob projects count as configured: their dirs are not discovered again", () => {
    const configured = expandGlobDirs(projects("- {dir: 'a*', workspace: w}"), tfDirs);
    expect(modifiedProjects(modified("a/main.tf", "b/main.tf"), configured, autodiscover("enabled"), tfDirs)).toEqual([project("a", "", "w"), project("b")]);
  });
});
