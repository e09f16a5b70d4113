/**
 * Property-based tests (fast-check, 10,000 runs each) of the two pure parsers that read what
 * users write: `parseComment` (PR comments) and `loadRepoConfig` (atlantis.yaml / atoll.yaml).
 * Whatever the input, each returns an answer — never a throw — and the answer keeps Atoll's
 * promises: `-d` stays inside the repository, replies fit in a GitHub comment, config errors name
 * the file and (where there is one) a line inside it.
 */
import fc from "fast-check";
import { parseComment } from "../../src/commands/parse-comment.js";
import { loadRepoConfig } from "../../src/config/load-repo-config.js";
import { dump } from "js-yaml";

const COMMENT_WORDS = [
  "atoll", "atlantis", "@atoll-test", "@atoll-test[bot]", "terraform", "plan", "apply", "unlock", "import", "state", "rm", "cancel",
  "destroy", "version", "help", "approve_policies", "-d", "-p", "-w", "--verbose", "--", "-destroy", "-target=x", "--auto-merge-method",
  "--auto-merge-disabled", "squash", "merge", "rebase", "dir", "../x", "/", "/net", "stacks/*", "**", "..", ".", "'", '"', "\\", "`", "\n",
  "\t", "aws_instance.web", "i-123", "-var", "a=b", "$(id)", ";", "|", "&&", "ü", "🚀",
];

const DIRS = [".", "net", "stacks/*", "/", "/net", "../x", "a/../..", "a/./b", "**", "x y", "ü"];
const flag = fc.oneof(
  fc.tuple(fc.constantFrom("-d", "--dir"), fc.constantFrom(...DIRS)).map((t) => t.join(" ")),
  fc.tuple(fc.constantFrom("-p", "--project"), fc.constantFrom("net", "app", "x")).map((t) => t.join(" ")),
  fc.tuple(fc.constantFrom("-w", "--workspace"), fc.constantFrom("default", "staging", "../w")).map((t) => t.join(" ")),
  fc.constantFrom("--verbose", "--auto-merge-disabled", "--auto-merge-method squash", "--auto-merge-method nope"),
);
/** Well-formed commands (and near misses): an address, a command, flags, maybe extra args. */
const wellFormed = fc
  .tuple(
    fc.constantFrom("atoll", "atlantis", "@atoll-test"),
    fc.constantFrom("plan", "apply", "destroy", "unlock", "version", "cancel", "import aws_instance.x i-1", "state rm aws_instance.x", "approve_policies"),
    fc.array(flag, { maxLength: 3 }),
    fc.option(fc.array(fc.constantFrom("-destroy", "-target=x", "-var", "a=b", "-lock=false", "'quoted arg'"), { maxLength: 3 })),
  )
  .map(([name, cmd, flags, extra]) => [name, cmd, ...flags, ...(extra ? ["--", ...extra] : [])].join(" "));

const comment = fc.oneof(
  wellFormed,
  // Mostly addressed to Atoll, so the grammar past the first word is exercised.
  fc
    .tuple(fc.constantFrom("atoll", "atlantis", "@atoll-test", "Atlantis", ""), fc.array(fc.oneof(fc.constantFrom(...COMMENT_WORDS), fc.string({ maxLength: 8 })), { maxLength: 14 }))
    .map(([first, words]) => [first, ...words].join(" ")),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 60 }),
);

describe("parseComment: properties", () => {
  const kinds = { ignore: 0, reply: 0, command: 0 };
  test("any comment gets ignore, a reply or a command — never a throw; -d stays in the repository; replies fit a comment (10,000 runs)", () => {
    fc.assert(
      fc.property(comment, fc.boolean(), (body, everything) => {
        const result = parseComment(body, {
          botLogin: "atoll-test[bot]",
          ...(everything ? { allowCommands: ["version", "plan", "apply", "unlock", "approve_policies", "import", "state", "cancel", "destroy"] } : {}),
        });
        expect(["ignore", "reply", "command"]).toContain(result.kind);
        kinds[result.kind]++;
        if (result.kind === "reply") {
          expect(typeof result.body).toBe("string");
          expect(result.body.length).toBeLessThanOrEqual(65_536);
        }
        if (result.kind === "command") {
          expect(result.dir.split("/")).not.toContain("..");
          expect(result.dir.startsWith("/")).toBe(false);
          expect(Array.isArray(result.extraArgs)).toBe(true);
        }
      }),
      { numRuns: 10_000 },
    );
    // The inputs reach every kind of answer (the property is not vacuous).
    expect(kinds.command).toBeGreaterThan(500);
    expect(kinds.reply).toBeGreaterThan(500);
  });
});

const YAML_KEYS = [
  "version", "projects", "dir", "workspace", "name", "autoplan", "when_modified", "enabled", "apply_requirements", "workflow", "workflows",
  "plan", "apply", "steps", "run", "init", "extra_args", "automerge", "parallel_plan", "parallel_apply", "terraform_version", "depends_on",
  "execution_order_group", "import_requirements", "repo_locks", "mode", "allowed_regexp_prefixes", "delete_source_branch_on_merge",
];
const YAML_VALUES = ["3", "2", "true", "false", "null", "~", "[]", "{}", "'*.tf'", ".", "..", "/etc", "net", "default", "approved", "- x", "&a", "*a", "!!binary x", "'unterminated", "\"\\u0000\"", "1e999", "0x10"];

/** Structured repo configs (mostly valid), dumped as YAML. */
const project = fc.record(
  {
    dir: fc.constantFrom(".", "net", "app/x", "../up", "/abs", "a/../b", ""),
    workspace: fc.constantFrom("default", "staging", ""),
    name: fc.constantFrom("net", "app", "net-staging"),
    autoplan: fc.record({ enabled: fc.boolean(), when_modified: fc.array(fc.constantFrom("*.tf", "../modules/**/*.tf", "**/*.tfvars", "["), { maxLength: 3 }) }, { requiredKeys: [] }),
    apply_requirements: fc.array(fc.constantFrom("approved", "mergeable", "undiverged", "nope"), { maxLength: 2 }),
    execution_order_group: fc.integer({ min: -1, max: 3 }),
    depends_on: fc.array(fc.constantFrom("net", "app", "missing"), { maxLength: 2 }),
  },
  { requiredKeys: ["dir"] },
);
const config = fc
  .record(
    { version: fc.constantFrom(3, 3, 3, 2), automerge: fc.boolean(), parallel_plan: fc.boolean(), projects: fc.array(project, { maxLength: 4 }) },
    { requiredKeys: ["version"] },
  )
  .map((doc) => dump(doc));

/** YAML-ish documents: keys and values of atlantis.yaml at random indentation, and noise. */
const yamlText = fc.oneof(
  config,
  config,
  fc
    .array(
      fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean(), fc.constantFrom(...YAML_KEYS), fc.oneof(fc.constantFrom(...YAML_VALUES), fc.string({ maxLength: 6 }), fc.constant(""))),
      { maxLength: 16 },
    )
    .map((lines) => lines.map(([indent, item, key, value]) => `${" ".repeat(indent)}${item ? "- " : ""}${key}: ${value}`).join("\n")),
  fc.string({ maxLength: 300 }),
);

describe("loadRepoConfig: properties", () => {
  const outcomes = { ok: 0, errors: 0 };
  test("any document gets a config or errors naming the file (and a line inside it) — never a throw (10,000 runs)", () => {
    fc.assert(
      fc.property(yamlText, (text) => {
        const result = loadRepoConfig(text, { fileName: "atlantis.yaml" });
        outcomes[result.ok ? "ok" : "errors"]++;
        if (result.ok) {
          for (const p of result.config.projects) {
            expect(p.dir.split("/")).not.toContain("..");
            expect(p.dir.startsWith("/")).toBe(false);
          }
          return;
        }
        expect(result.errors.length).toBeGreaterThan(0);
        const lineCount = text.split(/\r\n|\r|\n/).length;
        for (const e of result.errors) {
          expect(e.file).toBe("atlantis.yaml");
          expect(e.message.length).toBeGreaterThan(0);
          if (e.line !== undefined) {
            expect(e.line).toBeGreaterThanOrEqual(1);
            expect(e.line).toBeLessThanOrEqual(lineCount + 1);
          }
        }
      }),
      { numRuns: 10_000 },
    );
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(outcomes.errors).toBeGreaterThan(100);
  });
});
