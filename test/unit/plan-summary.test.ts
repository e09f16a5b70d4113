import { execa } from "execa";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { withDir } from "tmp-promise";
import { summarizePlan, type SummarizeOptions } from "../../src/terraform/plan-summary.js";
import type { PlanSummary } from "../../src/terraform/plan-summary-types.js";
import { TERRAFORM } from "../helpers/terraform-fixture.js";

/**
 * Every case runs the real terraform binary (built-in `terraform_data` resources, local state),
 * so the summary is checked against terraform's own JSON *and* its own human-readable
 * "Plan:" line from the same run.
 */

const TF_ENV = {
  TF_IN_AUTOMATION: "1",
  TF_CLI_CONFIG_FILE: "/nonexistent/atoll-test.tfrc",
  CHECKPOINT_DISABLE: "1",
};

interface Project {
  dir: string;
  /** Run terraform; throws with the output when the exit code is not allowed. */
  run(args: string[], okCodes?: number[]): Promise<string>;
  write(hcl: string): Promise<void>;
  apply(): Promise<void>;
  /** plan -out, then show -json; returns the summary and the human plan text. */
  plan(extraArgs?: string[], options?: SummarizeOptions): Promise<{ summary: PlanSummary; text: string; exitCode: number }>;
}

async function withProject(fn: (p: Project) => Promise<void>): Promise<void> {
  await withDir(
    async ({ path: dir }) => {
      const p: Project = {
        dir,
        async run(args, okCodes = [0]) {
          const r = await execa(TERRAFORM, args, { cwd: dir, env: TF_ENV, all: true, reject: false });
          if (!okCodes.includes(r.exitCode ?? -1)) {
            throw new Error(`terraform ${args.join(" ")} exited ${r.exitCode}:\n${r.all}`);
          }
          return r.all ?? "";
        },
        async write(hcl) {
          await writeFile(path.join(dir, "main.tf"), hcl);
        },
        async apply() {
          await p.run(["apply", "-auto-approve", "-input=false", "-no-color"]);
        },
        async plan(extraArgs = [], options = {}) {
          const r = await execa(
            TERRAFORM,
            ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=test.tfplan", ...extraArgs],
            { cwd: dir, env: TF_ENV, all: true, reject: false },
          );
          if (r.exitCode !== 0 && r.exitCode !== 2) throw new Error(`terraform plan exited ${r.exitCode}:\n${r.all}`);
          const show = await execa(TERRAFORM, ["show", "-json", "test.tfplan"], { cwd: dir, env: TF_ENV });
          const doc: unknown = JSON.parse(show.stdout);
          return { summary: summarizePlan(doc, options), text: r.all ?? "", exitCode: r.exitCode };
        },
      };
      await p.run(["init", "-input=false", "-no-color"]);
      await fn(p);
    },
    { unsafeCleanup: true, prefix: "atoll-plan-summary-" },
  );
}

interface PlanLine {
  import: number;
  add: number;
  change: number;
  destroy: number;
}

/** Parse terraform's own "Plan: [N to import, ]X to add, Y to change, Z to destroy[, N to forget]." line. */
function planLine(text: string): PlanLine | undefined {
  const m = /^Plan: (?:(\d+) to import, )?(\d+) to add, (\d+) to change, (\d+) to destroy(?:, \d+ to forget)?\.$/m.exec(text);
  if (!m) return undefined;
  return { import: Number(m[1] ?? 0), add: Number(m[2]), change: Number(m[3]), destroy: Number(m[4]) };
}

/** The summary's counts must equal what terraform printed in the same run. */
function expectMatchesTerraform(summary: PlanSummary, text: string): PlanLine {
  const line = planLine(text);
  if (line === undefined) throw new Error(`no "Plan:" line in terraform output:\n${text}`);
  expect({ import: summary.import, add: summary.add, change: summary.change, destroy: summary.destroy }).toEqual(line);
  return line;
}

describe("summarizePlan with real terraform plans", () => {
  test("create only", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "a" { input = "a" }
resource "terraform_data" "b" { input = "b" }
`);
      const { summary, text, exitCode } = await p.plan();
      expect(exitCode).toBe(2);
      expect(expectMatchesTerraform(summary, text)).toEqual({ import: 0, add: 2, change: 0, destroy: 0 });
      expect(summary).toMatchObject({ replace: 0, destroyed: [], replaced: [], outputChanges: false, hasChanges: true });
    });
  });

  test("update in place after apply", async () => {
    await withProject(async (p) => {
      await p.write(`resource "terraform_data" "a" { input = "one" }\n`);
      await p.apply();
      await p.write(`resource "terraform_data" "a" { input = "two" }\n`);
      const { summary, text } = await p.plan();
      expect(expectMatchesTerraform(summary, text)).toEqual({ import: 0, add: 0, change: 1, destroy: 0 });
      expect(summary.hasChanges).toBe(true);
      expect(summary.destroyed).toEqual([]);
    });
  });

  test("delete a resource removed from the code", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "keep" { input = "k" }
resource "terraform_data" "gone" { input = "g" }
resource "terraform_data" "many" {
  count = 2
  input = count.index
}
`);
      await p.apply();
      await p.write(`resource "terraform_data" "keep" { input = "k" }\n`);
      const { summary, text } = await p.plan();
      expect(expectMatchesTerraform(summary, text)).toEqual({ import: 0, add: 0, change: 0, destroy: 3 });
      expect([...summary.destroyed].sort()).toEqual(["terraform_data.gone", "terraform_data.many[0]", "terraform_data.many[1]"]);
      expect(summary.replaced).toEqual([]);
      expect(summary.hasChanges).toBe(true);
    });
  });

  test("replace because triggers_replace changed", async () => {
    await withProject(async (p) => {
      await p.write(`resource "terraform_data" "r" { triggers_replace = "v1" }\n`);
      await p.apply();
      await p.write(`resource "terraform_data" "r" { triggers_replace = "v2" }\n`);
      const { summary, text } = await p.plan();
      expect(expectMatchesTerraform(summary, text)).toEqual({ import: 0, add: 1, change: 0, destroy: 1 });
      expect(summary.replace).toBe(1);
      // The attribute that forces it: replace_paths.
      expect(summary.replaced).toEqual([{ address: "terraform_data.r", reason: "cannot update in place", paths: ["triggers_replace"] }]);
      expect(summary.destroyed).toEqual([]);
      // terraform_data is not stateful by default.
      expect(summary.stateful).toEqual([]);
    });
  });

  test("replace requested with -replace=ADDR, and a create_before_destroy replacement", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "x" { input = "x" }
resource "terraform_data" "cbd" {
  input = "c"
  lifecycle { create_before_destroy = true }
}
`);
      await p.apply();
      const { summary, text } = await p.plan(["-replace=terraform_data.x", "-replace=terraform_data.cbd"]);
      expect(expectMatchesTerraform(summary, text)).toEqual({ import: 0, add: 2, change: 0, destroy: 2 });
      expect(summary.replace).toBe(2);
      expect([...summary.replaced].sort((a, b) => a.address.localeCompare(b.address))).toEqual([
        { address: "terraform_data.cbd", reason: "-replace requested" },
        { address: "terraform_data.x", reason: "-replace requested" },
      ]);
    });
  });

  test("replace because tainted, and because of replace_triggered_by", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "src" { input = "v1" }
resource "terraform_data" "dep" {
  input = "d"
  lifecycle { replace_triggered_by = [terraform_data.src] }
}
resource "terraform_data" "t" { input = "t" }
`);
      await p.apply();
      await p.run(["taint", "-no-color", "terraform_data.t"]);
      await p.write(`
resource "terraform_data" "src" { input = "v2" }
resource "terraform_data" "dep" {
  input = "d"
  lifecycle { replace_triggered_by = [terraform_data.src] }
}
resource "terraform_data" "t" { input = "t" }
`);
      const { summary, text } = await p.plan();
      expect(expectMatchesTerraform(summary, text)).toEqual({ import: 0, add: 2, change: 1, destroy: 2 });
      expect([...summary.replaced].sort((a, b) => a.address.localeCompare(b.address))).toEqual([
        { address: "terraform_data.dep", reason: "replace_triggered_by" },
        { address: "terraform_data.t", reason: "tainted" },
      ]);
    });
  });

  test("stateful resources: a configured type destroyed or replaced is listed with its action; others and creates are not", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "db" { triggers_replace = "v1" }
resource "terraform_data" "bucket" { input = "b" }
resource "terraform_data" "plain" { input = "p" }
`);
      await p.apply();
      await p.write(`
resource "terraform_data" "db" { triggers_replace = "v2" }
resource "terraform_data" "plain" { input = "p" }
resource "terraform_data" "new" { input = "n" }
`);
      const { summary } = await p.plan([], { statefulTypes: ["terraform_*"] });
      expect([...summary.stateful!].sort((a, b) => a.address.localeCompare(b.address))).toEqual([
        { address: "terraform_data.bucket", type: "terraform_data", action: "destroy" },
        { address: "terraform_data.db", type: "terraform_data", action: "replace" },
      ]);
      const { summary: plain } = await p.plan();
      expect(plain.stateful).toEqual([]);
    });
  });

  test("no changes", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "a" { input = "a" }
output "o" { value = "x" }
`);
      await p.apply();
      const { summary, text, exitCode } = await p.plan();
      expect(exitCode).toBe(0);
      expect(text).toContain("No changes.");
      expect(planLine(text)).toBeUndefined();
      expect(summary).toEqual({
        stateful: [],
        add: 0,
        change: 0,
        destroy: 0,
        replace: 0,
        import: 0,
        move: 0,
        forget: 0,
        destroyed: [],
        replaced: [],
        outputChanges: false,
        hasChanges: false,
      });
    });
  });

  test("empty configuration", async () => {
    await withProject(async (p) => {
      await p.write("\n");
      const { summary, exitCode } = await p.plan();
      expect(exitCode).toBe(0);
      expect(summary.hasChanges).toBe(false);
      expect(summary.add + summary.change + summary.destroy).toBe(0);
    });
  });

  test("outputs-only change", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "a" { input = "a" }
output "o" { value = "v1" }
`);
      await p.apply();
      await p.write(`
resource "terraform_data" "a" { input = "a" }
output "o" { value = "v2" }
output "added" { value = 1 }
`);
      const { summary, text, exitCode } = await p.plan();
      expect(exitCode).toBe(2);
      expect(text).toContain("Changes to Outputs:");
      expect(planLine(text)).toBeUndefined();
      expect(summary).toMatchObject({ add: 0, change: 0, destroy: 0, outputChanges: true, hasChanges: true });
    });
  });

  test("moves, imports and forgets are changes that terraform does not count in add/change/destroy", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "old" { input = "m" }
resource "terraform_data" "dropme" { input = "f" }
`);
      await p.apply();
      await p.write(`
moved {
  from = terraform_data.old
  to   = terraform_data.new
}
resource "terraform_data" "new" { input = "m" }
import {
  to = terraform_data.imported
  id = "some-id"
}
resource "terraform_data" "imported" {}
removed {
  from = terraform_data.dropme
  lifecycle { destroy = false }
}
`);
      const { summary, text, exitCode } = await p.plan();
      expect(exitCode).toBe(2);
      expect(expectMatchesTerraform(summary, text)).toEqual({ import: 1, add: 0, change: 0, destroy: 0 });
      expect(summary).toMatchObject({ move: 1, import: 1, forget: 1, destroyed: [], hasChanges: true });
    });
  });

  test("a data source read deferred to apply is not counted", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "x" { input = "state.tfstate" }
data "terraform_remote_state" "r" {
  backend = "local"
  config  = { path = terraform_data.x.output }
}
`);
      const { summary, text } = await p.plan();
      expect(text).toContain("<= data");
      expect(expectMatchesTerraform(summary, text)).toEqual({ import: 0, add: 1, change: 0, destroy: 0 });
      expect(summary.destroyed).toEqual([]);
    });
  });

  test("a 3000-resource plan", async () => {
    await withProject(async (p) => {
      await p.write(`
resource "terraform_data" "many" {
  count = 3000
  input = "item-\${count.index}"
}
`);
      const { summary, text } = await p.plan();
      expect(summary.add).toBe(3000);
      expectMatchesTerraform(summary, text);
    });
  }, 120_000);
});

describe("summarizePlan input validation", () => {
  test.each([
    ["null", null],
    ["a string", "Plan: 1 to add"],
    ["an array", []],
    ["an object without format_version", { planned_values: {} }],
    ["format version 2", { format_version: "2.0", planned_values: {} }],
    ["a state document (show -json without a plan file)", { format_version: "1.0" }],
    ["resource_changes that is not an array", { format_version: "1.2", planned_values: {}, resource_changes: {} }],
    ["a resource change without actions", { format_version: "1.2", planned_values: {}, resource_changes: [{ address: "a.b", change: {} }] }],
  ])("rejects %s", (_label, input) => {
    expect(() => summarizePlan(input)).toThrow(/Not a terraform plan/);
  });

  test("rejects unknown action combinations instead of guessing", () => {
    const doc = {
      format_version: "1.2",
      planned_values: {},
      resource_changes: [{ address: "terraform_data.a", mode: "managed", change: { actions: ["update", "delete"] } }],
    };
    expect(() => summarizePlan(doc)).toThrow(/update,delete.*terraform_data\.a/);
  });
});
