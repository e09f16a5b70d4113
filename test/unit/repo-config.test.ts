import {
  DEFAULT_WHEN_MODIFIED,
  cleanRepoDir,
  formatConfigIssue,
  parseRepoConfig,
  type ConfigIssue,
  type ParseRepoConfigResult,
  type RepoConfig,
} from "../../src/config/repo-config.js";
import { formatYamlPath, yamlIndex, yamlLineMap } from "../../src/config/yaml-lines.js";

/** Join lines so tests can count them: line N of the file is element N-1. */
const yaml = (...lines: string[]) => lines.join("\n") + "\n";

function ok(result: ParseRepoConfigResult): { config: RepoConfig; warnings: ConfigIssue[] } {
  if (!result.ok) throw new Error(`expected ok, got errors: ${JSON.stringify(result.errors, null, 2)}`);
  return result;
}
function errors(result: ParseRepoConfigResult): ConfigIssue[] {
  if (result.ok) throw new Error(`expected errors, got config: ${JSON.stringify(result.config)}`);
  return result.errors;
}
/** [path, line] of each issue, for compact assertions. */
const where = (issues: ConfigIssue[]) => issues.map((i) => [i.path, i.line]);

describe("yamlLineMap", () => {
  test.each<[string, string, (string | number)[], number | undefined]>([
    ["top-level key", "a: 1\nb: 2\n", ["b"], 2],
    ["root path = first content line", "# c\n\na: 1\n", [], 3],
    ["nested mapping key", "a:\n  b:\n    c: 1\n", ["a", "b", "c"], 3],
    ["block sequence item", "l:\n  - x\n  - y\n", ["l", 1], 3],
    ["key inside a sequence item", "projects:\n- dir: a\n  name: x\n-   dir: b\n", ["projects", 1, "dir"], 4],
    ["second key of a sequence item", "projects:\n- dir: a\n  name: x\n", ["projects", 0, "name"], 3],
    ["flow sequence of flow mappings", "projects: [ {dir: a}, {dir: b,\n workspace: w} ]\n", ["projects", 1, "workspace"], 2],
    ["flow sequence item on a later line", "x: [a,\n  b]\n", ["x", 1], 2],
    ["comments and blank lines are skipped", "# one\n\n# two\nkey: 1 # trailing\n\nother: 2\n", ["other"], 6],
    ["after a literal block scalar", "a: |\n  one\n  two\n\nb: 2\n", ["b"], 5],
    ["after a folded block scalar with a comment", "a: >- # c\n  one\n  two\nb: 2\n", ["b"], 4],
    ["after a multi-line double-quoted string", 'a: "one\n  two"\nb: 2\n', ["b"], 3],
    ["after a multi-line plain scalar", "a: one\n  two\n  three\nb: 2\n", ["b"], 4],
    ["quoted keys", "\"q k\": 1\n'x': 2\n", ["x"], 2],
    ["explicit key", "? a\n: 1\n? b\n: 2\n", ["b"], 3],
    ["empty sequence item", "l:\n  - x\n  -\n  - z\n", ["l", 1], 3],
    ["empty sequence item after a quoted item and a comment", 'l:\n  - "x"\n  # note - not this\n  -\n', ["l", 1], 4],
    ["item mapping starting on the next line", "l:\n  -\n    dir: a\n", ["l", 0, "dir"], 3],
    ["nested sequences", "- - a\n  - b\n- c\n", [0, 1], 2],
    ["key with an empty value", "a:\nb: 1\n", ["a"], 1],
    ["CRLF line breaks", "a: 1\r\nb: 2\r\n", ["b"], 2],
    ["lone CR line breaks", "a: 1\rb: 2\r", ["b"], 2],
    ["BOM", "\uFEFFa: 1\nb: 2\n", ["b"], 2],
    ["explicit document start", "---\na: 1\n", ["a"], 2],
    ["alias used as a value: path goes to the anchor's keys", "base: &b\n  dir: x\np: *b\n", ["p", "dir"], 2],
    ["alias as a sequence item: item line is where the alias is", "d: &d {dir: x}\nl:\n  - *d\n  - *d\n", ["l", 1], 4],
    ["merge key: merged keys point at their definition", "base: &b\n  dir: x\np:\n  <<: *b\n  name: y\n", ["p", "dir"], 2],
    ["merge key: explicit keys win over merged ones", "base: &b\n  dir: x\np:\n  <<: *b\n  dir: z\n", ["p", "dir"], 5],
    ["merge of a list: earlier maps win", "a: &a {k: 1}\nb: &b {k: 2}\np: {<<: [*b, *a]}\n", ["p", "k"], 2],
    ["numeric string index into a sequence", "l: [a, b]\n", ["l", "1"], 1],
    ["missing key", "a: 1\n", ["b"], undefined],
    ["index out of range", "l: [a]\n", ["l", 3], undefined],
    ["path through a scalar", "a: 1\n", ["a", "b"], undefined],
    ["invalid YAML", "a: [\n", ["a"], undefined],
    ["empty text", "", [], undefined],
  ])("%s", (_name, text, path, line) => {
    expect(yamlLineMap(text)(path)).toBe(line);
  });

  test("only the first document is indexed", () => {
    const lines = yamlLineMap("a: 1\n---\nb: 2\n");
    expect(lines(["a"])).toBe(1);
    expect(lines(["b"])).toBeUndefined();
  });

  test("non-ASCII text before a key does not shift lines", () => {
    expect(yamlLineMap("a: \"é😀\"\nb: 1\n")(["b"])).toBe(2);
  });

  test("scalarText returns the scalar as written", () => {
    const index = yamlIndex("a: 1.10\nb: 0x1F\nc: 'q'\nd:\n");
    expect(index.scalarText(["a"])).toBe("1.10");
    expect(index.scalarText(["b"])).toBe("0x1F");
    expect(index.scalarText(["c"])).toBe("q");
    expect(index.scalarText(["d"])).toBe("");
    expect(index.scalarText(["zz"])).toBeUndefined();
  });

  test.each<[(string | number)[], string]>([
    [["projects", 1, "dir"], "projects[1].dir"],
    [["projects", 0, "autoplan", "when_modified", 2], "projects[0].autoplan.when_modified[2]"],
    [["odd key"], '["odd key"]'],
    [[], ""],
  ])("formatYamlPath %j", (path, expected) => {
    expect(formatYamlPath(path)).toBe(expected);
  });
});

describe("parseRepoConfig: valid files and defaults", () => {
  test("minimal project gets Atlantis defaults", () => {
    const { config, warnings } = ok(parseRepoConfig(yaml("version: 3", "projects:", "- dir: ."), "atlantis.yaml"));
    expect(config).toEqual({
      version: 3,
      abortOnExecutionOrderFail: false,
      allowedRegexpPrefixes: [],
      workflows: {},
      keyLines: {},
      projects: [
        {
          sourceIndex: 0,
          name: "",
          dir: ".",
          workspace: "default",
          executionOrderGroup: 0,
          dependsOn: [],
          autoplan: { enabled: true, whenModified: [...DEFAULT_WHEN_MODIFIED] },
        },
      ],
    });
    expect(warnings).toEqual([]);
  });

  test("version 2 is accepted", () => {
    expect(ok(parseRepoConfig("version: 2\n", "atlantis.yaml")).config).toMatchObject({ version: 2, projects: [] });
  });

  test("all supported keys", () => {
    const { config } = ok(
      parseRepoConfig(
        yaml(
          "version: 3",
          "projects:",
          "- name: staging",
          "  dir: envs/staging",
          "  workspace: stg",
          "  autoplan:",
          "    enabled: false",
          "    when_modified: ['*.tf', '../modules/**/*.tf', '!test.tf']",
          "  apply_requirements: [mergeable, approved, approved]",
        ),
        "atoll.yaml",
      ),
    );
    expect(config.projects).toEqual([
      {
        sourceIndex: 0,
        name: "staging",
        dir: "envs/staging",
        workspace: "stg",
        executionOrderGroup: 0,
        dependsOn: [],
        autoplan: { enabled: false, whenModified: ["*.tf", "../modules/**/*.tf", "!test.tf"] },
        applyRequirements: ["mergeable", "approved"],
      },
    ]);
  });

  test("apply_requirements: an unknown requirement and a non-list are errors with their lines", () => {
    const errs = errors(
      parseRepoConfig(
        yaml("version: 3", "projects:", "- dir: a", "  apply_requirements: [approved, reviewed]", "- dir: b", "  apply_requirements: approved"),
        "atoll.yaml",
      ),
    );
    expect(errs).toEqual([
      {
        file: "atoll.yaml",
        path: "projects[0].apply_requirements[1]",
        line: 4,
        message: '"reviewed" is not a valid apply_requirement, only "approved", "mergeable" and "undiverged" are supported',
      },
      {
        file: "atoll.yaml",
        path: "projects[1].apply_requirements",
        line: 6,
        message: expect.stringContaining("must be a list of approved/mergeable/undiverged"),
      },
    ]);
  });

  test.each<[string, string]>([
    [".", "."],
    ["", "."],
    ["./", "."],
    ["./a/", "a"],
    ["a//b/./c", "a/b/c"],
    ["a/b/", "a/b"],
  ])("dir %j is normalised to %j", (dir, expected) => {
    const { config } = ok(parseRepoConfig(yaml("version: 3", "projects:", `- dir: ${JSON.stringify(dir)}`), "atlantis.yaml"));
    expect(config.projects[0].dir).toBe(expected);
  });

  test("custom when_modified replaces the default; [] means never; null means default", () => {
    const { config } = ok(
      parseRepoConfig(
        yaml(
          "version: 3",
          "projects:",
          "- {name: a, dir: a, autoplan: {when_modified: ['*.hcl']}}",
          "- {name: b, dir: b, autoplan: {when_modified: []}}",
          "- {name: c, dir: c, autoplan: {when_modified: ~}}",
          "- {name: d, dir: d, autoplan: {}}",
          "- {name: e, dir: e, autoplan: ~}",
        ),
        "atlantis.yaml",
      ),
    );
    expect(config.projects.map((p) => p.autoplan.whenModified)).toEqual([
      ["*.hcl"],
      [],
      [...DEFAULT_WHEN_MODIFIED],
      [...DEFAULT_WHEN_MODIFIED],
      [...DEFAULT_WHEN_MODIFIED],
    ]);
  });

  test("defaults are fresh arrays per project", () => {
    const { config } = ok(parseRepoConfig(yaml("version: 3", "projects:", "- {dir: a}", "- {dir: b}"), "atlantis.yaml"));
    expect(config.projects[0].autoplan.whenModified).not.toBe(config.projects[1].autoplan.whenModified);
  });

  test("date-like and numeric scalars stay as written in string keys", () => {
    const { config } = ok(
      parseRepoConfig(
        yaml(
          "version: 3",
          "projects:",
          "- name: 2024-01-01",
          "  dir: 1.10",
          "  workspace: 007",
          "  autoplan: {when_modified: [2024-01-01, 1e3]}",
        ),
        "atlantis.yaml",
      ),
    );
    expect(config.projects[0]).toMatchObject({
      name: "2024-01-01",
      dir: "1.10",
      workspace: "007",
      autoplan: { whenModified: ["2024-01-01", "1e3"] },
    });
  });

  test("YAML 1.1 booleans are accepted for autoplan.enabled, as yaml.v3 does for bool fields", () => {
    const { config } = ok(
      parseRepoConfig(
        yaml("version: 3", "projects:", "- {dir: a, autoplan: {enabled: no}}", "- {dir: b, autoplan: {enabled: On}}"),
        "atlantis.yaml",
      ),
    );
    expect(config.projects.map((p) => p.autoplan.enabled)).toEqual([false, true]);
  });

  test("null name means unnamed; projects: null means no projects", () => {
    expect(ok(parseRepoConfig(yaml("version: 3", "projects:", "- name:", "  dir: a"), "atlantis.yaml")).config.projects[0].name).toBe("");
    expect(ok(parseRepoConfig(yaml("version: 3", "projects:"), "atlantis.yaml")).config.projects).toEqual([]);
  });

  test("same dir and workspace is fine when all projects are named", () => {
    const { config } = ok(
      parseRepoConfig(yaml("version: 3", "projects:", "- {name: a, dir: x}", "- {name: b, dir: x}"), "atlantis.yaml"),
    );
    expect(config.projects.map((p) => p.name)).toEqual(["a", "b"]);
  });

  test("same dir with different workspaces needs no names", () => {
    const { config } = ok(
      parseRepoConfig(yaml("version: 3", "projects:", "- {dir: x, workspace: a}", "- {dir: x, workspace: b}"), "atlantis.yaml"),
    );
    expect(config.projects.map((p) => p.workspace)).toEqual(["a", "b"]);
  });

  test("anchors, aliases and merge keys work", () => {
    const { config } = ok(
      parseRepoConfig(
        yaml(
          "version: 3",
          "projects:",
          "- &base",
          "  name: one",
          "  dir: a",
          "  autoplan: {when_modified: ['*.tf']}",
          "- <<: *base",
          "  name: two",
          "  workspace: w",
        ),
        "atlantis.yaml",
      ),
    );
    expect(config.projects.map((p) => [p.name, p.dir, p.workspace, p.autoplan.whenModified])).toEqual([
      ["one", "a", "default", ["*.tf"]],
      ["two", "a", "w", ["*.tf"]],
    ]);
  });
});

describe("parseRepoConfig: unknown keys and compatibility-only keys", () => {
  test("unknown keys are errors with lines at every level, with a did-you-mean for typos", () => {
    const errs = errors(
      parseRepoConfig(
        yaml(
          "version: 3",
          "automerge: true",
          "colour: blue",
          "projects:",
          "- dir: a",
          "  worksapce: x",
          "  typo_key: 1",
          "  autoplan:",
          "    enabld: false",
        ),
        "atlantis.yaml",
      ),
    );
    expect(where(errs)).toEqual([
      ["colour", 3],
      ["projects[0].worksapce", 6],
      ["projects[0].typo_key", 7],
      ["projects[0].autoplan.enabld", 9],
    ]);
    expect(errs[1].message).toMatch(/did you mean 'workspace'/);
    expect(errs[2].message).toMatch(/allowed keys: name, branch, dir/);
    expect(errs.every((w) => w.file === "atlantis.yaml")).toBe(true);
  });

  test("a glob dir is kept as a pattern to expand against the checkout", () => {
    const { config, warnings } = ok(parseRepoConfig(yaml("version: 3", "projects:", "- dir: stacks/*"), "atlantis.yaml"));
    expect(config.projects[0]).toMatchObject({ dir: "stacks/*", dirIsGlob: true });
    expect(warnings).toEqual([]);
  });

  test("later YAML documents are ignored with a warning at the second document", () => {
    const { config, warnings } = ok(parseRepoConfig(yaml("---", "version: 3", "---", "version: 9"), "atlantis.yaml"));
    expect(config.version).toBe(3);
    expect(warnings).toEqual([{ file: "atlantis.yaml", message: expect.stringMatching(/more than one YAML document/), line: 3 }]);
  });
});

describe("parseRepoConfig: errors", () => {
  test.each<[string, string, string | undefined, number, RegExp]>([
    ["empty file", "", "version", 1, /^is required\. If you've just upgraded Atlantis/],
    ["only comments", "# nothing\n", "version", 1, /^is required/],
    ["bare document marker", "---\n", "version", 1, /^is required/],
    ["version missing", yaml("# c", "projects: []"), "version", 2, /^is required/],
    ["version null", yaml("projects: []", "version:"), "version", 2, /^is required/],
    ["version 1", yaml("projects: []", "version: 1"), "version", 2, /only versions 2 and 3 are supported/],
    ["version as a string", 'version: "3"\n', "version", 1, /only versions 2 and 3 are supported/],
    ["top level is a list", "- version: 3\n", undefined, 1, /top level must be a mapping/],
    ["top level is a scalar", "# c\nhello\n", undefined, 2, /top level must be a mapping/],
    ["projects is a mapping", yaml("version: 3", "projects:", "  dir: a"), "projects", 2, /must be a list/],
    ["projects is a string", yaml("version: 3", "projects: a"), "projects", 2, /must be a list/],
    ["project entry is a string", yaml("version: 3", "projects:", "- a"), "projects[0]", 3, /must be a mapping/],
    ["project entry is empty", yaml("version: 3", "projects:", "- dir: a", "-", "- dir: b"), "projects[1]", 4, /must be a mapping/],
    ["dir missing", yaml("version: 3", "projects:", "- name: x", "  workspace: w"), "projects[0].dir", 3, /is required/],
    ["dir null", yaml("version: 3", "projects:", "- name: x", "  dir:"), "projects[0].dir", 4, /is required/],
    ["dir is a list", yaml("version: 3", "projects:", "- dir: [a]"), "projects[0].dir", 3, /must be a string, got a list/],
    ["dir absolute", yaml("version: 3", "projects:", "- dir: /etc"), "projects[0].dir", 3, /relative to the repo root/],
    ["dir escapes the repo", yaml("version: 3", "projects:", "- dir: ../other"), "projects[0].dir", 3, /cannot contain '\.\.'/],
    ["dir with .. inside", yaml("version: 3", "projects:", "- dir: a/../../b"), "projects[0].dir", 3, /cannot contain '\.\.'/],
    ["workspace with a slash", yaml("version: 3", "projects:", "- dir: a", "  workspace: a/b"), "projects[0].workspace", 4, /invalid workspace "a\/b"/],
    ["workspace with ..", yaml("version: 3", "projects:", "- dir: a", "  workspace: a..b"), "projects[0].workspace", 4, /invalid workspace/],
    ["workspace with $", yaml("version: 3", "projects:", "- dir: a", "  workspace: $HOME"), "projects[0].workspace", 4, /invalid workspace/],
    ["workspace with a space", yaml("version: 3", "projects:", "- dir: a", "  workspace: 'a b'"), "projects[0].workspace", 4, /invalid workspace/],
    ["workspace with a tab", yaml("version: 3", "projects:", "- dir: a", '  workspace: "a\\tb"'), "projects[0].workspace", 4, /invalid workspace/],
    ["workspace '.'", yaml("version: 3", "projects:", "- dir: a", "  workspace: '.'"), "projects[0].workspace", 4, /invalid workspace/],
    ["workspace starting with -", yaml("version: 3", "projects:", "- dir: a", "  workspace: -x"), "projects[0].workspace", 4, /invalid workspace/],
    ["workspace starting with ~", yaml("version: 3", "projects:", "- dir: a", "  workspace: '~x'"), "projects[0].workspace", 4, /invalid workspace/],
    ["workspace empty", yaml("version: 3", "projects:", "- dir: a", "  workspace: ''"), "projects[0].workspace", 4, /invalid workspace ""/],
    ["workspace is a mapping", yaml("version: 3", "projects:", "- dir: a", "  workspace: {a: 1}"), "projects[0].workspace", 4, /must be a string/],
    ["name empty", yaml("version: 3", "projects:", "- dir: a", "  name: ''"), "projects[0].name", 4, /cannot be empty/],
    ["name is a list", yaml("version: 3", "projects:", "- dir: a", "  name: [x]"), "projects[0].name", 4, /must be a string/],
    ["autoplan is a list", yaml("version: 3", "projects:", "- dir: a", "  autoplan: [x]"), "projects[0].autoplan", 4, /must be a mapping/],
    ["autoplan is a boolean", yaml("version: 3", "projects:", "- dir: a", "  autoplan: false"), "projects[0].autoplan", 4, /must be a mapping/],
    ["enabled is a string", yaml("version: 3", "projects:", "- dir: a", "  autoplan:", "    enabled: 'maybe'"), "projects[0].autoplan.enabled", 5, /must be true or false/],
    ["enabled is a number", yaml("version: 3", "projects:", "- dir: a", "  autoplan:", "    enabled: 1"), "projects[0].autoplan.enabled", 5, /must be true or false/],
    ["when_modified is a string", yaml("version: 3", "projects:", "- dir: a", "  autoplan:", "    when_modified: '*.tf'"), "projects[0].autoplan.when_modified", 5, /must be a list of file patterns/],
    ["when_modified item is a mapping", yaml("version: 3", "projects:", "- dir: a", "  autoplan:", "    when_modified:", "    - '*.tf'", "    - {x: 1}"), "projects[0].autoplan.when_modified[1]", 7, /must be a string/],
    ["when_modified item is empty", yaml("version: 3", "projects:", "- dir: a", "  autoplan:", "    when_modified:", "    - '*.tf'", "    -"), "projects[0].autoplan.when_modified[1]", 7, /got empty/],
  ])("%s", (_name, text, path, line, message) => {
    const errs = errors(parseRepoConfig(text, "atlantis.yaml"));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toEqual({ file: "atlantis.yaml", message: expect.stringMatching(message), line, ...(path ? { path } : {}) });
  });

  test("duplicate project names: Atlantis's message, at the second occurrence", () => {
    const errs = errors(
      parseRepoConfig(yaml("version: 3", "projects:", "- {name: x, dir: a}", "- {name: y, dir: b}", "- {name: x, dir: c}"), "atlantis.yaml"),
    );
    expect(errs).toEqual([
      {
        file: "atlantis.yaml",
        path: "projects[2].name",
        line: 5,
        message: 'found two or more projects with name "x"; project names must be unique',
      },
    ]);
  });

  test("a name used three times is reported once", () => {
    const errs = errors(
      parseRepoConfig(yaml("version: 3", "projects:", "- {name: x, dir: a}", "- {name: x, dir: b}", "- {name: x, dir: c}"), "atlantis.yaml"),
    );
    expect(where(errs)).toEqual([["projects[1].name", 4]]);
  });

  test("unnamed projects sharing dir and workspace (dir spelled differently)", () => {
    const errs = errors(parseRepoConfig(yaml("version: 3", "projects:", "- dir: .", "- dir: ./", "  name: b"), "atlantis.yaml"));
    expect(errs).toEqual([
      {
        file: "atlantis.yaml",
        path: "projects[1]",
        line: 4,
        message: expect.stringMatching(/^there are two or more projects with dir: "\." workspace: "default" that are not all named; /),
      },
    ]);
  });

  test("all errors are reported at once, each with its own line", () => {
    const errs = errors(
      parseRepoConfig(
        yaml(
          "version: 4", //                     1
          "projects:", //                      2
          "- dir: /abs", //                    3
          "  workspace: a/b", //               4
          "- name: x", //                      5
          "- name: ''", //                     6
          "  dir: ok", //                      7
          "  autoplan:", //                    8
          "    enabled: sometimes", //         9
          "    when_modified: '*.tf'", //      10
          "- 42", //                           11
        ),
        "atoll.yaml",
      ),
    );
    expect(where(errs)).toEqual([
      ["version", 1],
      ["projects[0].dir", 3],
      ["projects[0].workspace", 4],
      ["projects[1].dir", 5],
      ["projects[2].name", 6],
      ["projects[2].autoplan.enabled", 9],
      ["projects[2].autoplan.when_modified", 10],
      ["projects[3]", 11],
    ]);
    expect(errs.every((e) => e.file === "atoll.yaml")).toBe(true);
  });

  test("errors inside flow style and merged values point at the right lines", () => {
    const errs = errors(
      parseRepoConfig(
        yaml(
          "version: 3",
          "defaults: &d",
          "  workspace: 'bad ws'",
          "projects: [",
          "  {dir: a},",
          "  {dir: '../b'},",
          "  {<<: *d, dir: c},",
          "  ]",
        ),
        "atlantis.yaml",
      ),
    );
    expect(where(errs)).toEqual([
      ["defaults", 2],
      ["projects[1].dir", 6],
      ["projects[2].workspace", 3],
    ]);
  });

  test("warnings are not returned alongside errors, but do not hide them", () => {
    const result = parseRepoConfig(yaml("version: 3", "emoji_reaction: eyes", "projects:", "- name: x"), "atlantis.yaml");
    expect(where(errors(result))).toEqual([["projects[0].dir", 4]]);
  });

  test.each<[string, string, number, RegExp]>([
    ["unclosed flow sequence", yaml("version: 3", "projects: [", "  {dir: a}"), 4, /^invalid YAML: /],
    ["bad indentation", yaml("version: 3", "projects:", "  - dir: a", " name: x"), 4, /^invalid YAML: bad indentation/],
    ["duplicate key", yaml("version: 3", "projects: []", "version: 2"), 3, /^invalid YAML: duplicated mapping key/],
    ["tab indentation", yaml("version: 3", "projects:", "\t- dir: a"), 3, /^invalid YAML: /],
    ["unknown alias", yaml("version: 3", "projects:", "- *nope"), 3, /^invalid YAML: unidentified alias "nope"/],
    ["unterminated quote", yaml("version: 3", "projects:", "- dir: 'a"), 4, /^invalid YAML: /],
  ])("invalid YAML: %s → one error with js-yaml's reason and line", (_name, text, line, message) => {
    const errs = errors(parseRepoConfig(text, "atlantis.yaml"));
    expect(errs).toEqual([{ file: "atlantis.yaml", line, message: expect.stringMatching(message) }]);
  });

  test("the config file name is used in issues and in the version hint", () => {
    const errs = errors(parseRepoConfig("projects: []\n", "atoll.yaml"));
    expect(errs[0].file).toBe("atoll.yaml");
    expect(errs[0].message).toContain("rewrite your atoll.yaml for version 3");
  });
});

describe("helpers", () => {
  test.each<[ConfigIssue, string]>([
    [{ file: "atlantis.yaml", line: 3, path: "projects[0].dir", message: "is required" }, "atlantis.yaml:3: projects[0].dir: is required"],
    [{ file: "atlantis.yaml", line: 1, message: "invalid YAML: x" }, "atlantis.yaml:1: invalid YAML: x"],
    [{ file: "atoll.yaml", message: "boom" }, "atoll.yaml: boom"],
  ])("formatConfigIssue %#", (issue, expected) => {
    expect(formatConfigIssue(issue)).toBe(expected);
  });

  test.each<[string, ReturnType<typeof cleanRepoDir>]>([
    ["a/b", { ok: true, dir: "a/b" }],
    ["./", { ok: true, dir: "." }],
    ["a/./b/", { ok: true, dir: "a/b" }],
    ["/x", { ok: false, reason: expect.stringMatching(/not absolute/) }],
    ["..", { ok: false, reason: expect.stringMatching(/'\.\.'/) }],
    ["a/../b", { ok: false, reason: expect.stringMatching(/'\.\.'/) }],
    ["a..b", { ok: true, dir: "a..b" }],
  ])("cleanRepoDir(%j)", (dir, expected) => {
    expect(cleanRepoDir(dir)).toEqual(expected);
  });
});

describe("Go (RE2) regex flags", () => {
  test.each<[string, string, boolean]>([
    ["(?i)^MAIN$", "main", true],
    ["^MAIN$", "main", false],
    ["(?is)^rel.ase$", "RELEASE", true],
    ["^release/.*", "release/1.2", true],
  ])("branch /%s/ on base %s → kept: %s", (regex, base, kept) => {
    const result = parseRepoConfig(yaml("version: 3", "projects:", "- dir: a", `  branch: /${regex}/`), "atlantis.yaml", { baseBranch: base });
    expect(ok(result).config.projects.length).toBe(kept ? 1 : 0);
  });

  test("an invalid regex is still an error", () => {
    expect(where(errors(parseRepoConfig(yaml("version: 3", "projects:", "- dir: a", "  branch: /(?i)[/"), "atlantis.yaml")))).toEqual([["projects[0].branch", 4]]);
  });
});
