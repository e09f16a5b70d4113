/**
 * Plan insight rendering (src/render/plan-insight.ts) and annotations
 * (src/runner/reporting/plan-annotations.ts): modules of addresses, replacements grouped with
 * their reasons and forcing paths, the stateful red line, and annotation levels.
 */
import { describeReplacement, moduleOf, replacementsByModule, statefulBanner } from "../../src/render/plan-insight.js";
import { annotationsFor } from "../../src/runner/reporting/plan-annotations.js";
import type { Declaration } from "../../src/terraform/hcl-declarations.js";
import { isStatefulType } from "../../src/terraform/stateful-types.js";
import { emptyPlanSummary, type PlanSummary } from "../../src/terraform/plan-summary-types.js";
import { planDelta } from "../../src/terraform/plan-delta.js";
import { sincePushBlock } from "../../src/render/plan-insight.js";
import { decidingPattern, whyModified } from "../../src/projects/find-projects.js";
import { loadRepoConfig } from "../../src/config/load-repo-config.js";

const plan = (p: Partial<PlanSummary>): PlanSummary => ({ ...emptyPlanSummary(), hasChanges: true, ...p });

test.each([
  ["aws_instance.web", ""],
  ["module.net.aws_subnet.a", "module.net"],
  ['module.net["eu.west"].module.sub[0].aws_subnet.a["k.x"]', "module.net.module.sub"],
  ["data.aws_ami.x", ""],
])("moduleOf(%s) = %j", (address, module) => {
  expect(moduleOf(address)).toBe(module);
});

test("a replacement says why and what forces it; many paths are counted", () => {
  expect(describeReplacement({ address: "a.b", reason: "tainted" })).toBe("`a.b` — tainted");
  expect(describeReplacement({ address: "a.b", reason: "cannot update in place", paths: ["ami", "tags[\"x\"]"] }, " will be **replaced**")).toBe(
    "`a.b` will be **replaced** — cannot update in place, forced by `ami`, `tags[\"x\"]`",
  );
  const many = describeReplacement({ address: "a.b", paths: Array.from({ length: 12 }, (_, i) => `p${i}`) });
  expect(many).toMatch(/`p9` and 2 more$/);
});

test("replacements group by module, the root module first", () => {
  const groups = replacementsByModule(plan({ replaced: [{ address: "module.z.a.b" }, { address: "x.y" }, { address: "module.a.c.d" }, { address: "module.z.e.f" }] }));
  expect(groups.map(([m, l]) => [m, l.length])).toEqual([["", 1], ["module.a", 1], ["module.z", 2]]);
});

test("the stateful banner: empty without stateful changes; counts destroys and replacements", () => {
  expect(statefulBanner(plan({}))).toBe("");
  const b = statefulBanner(plan({ stateful: [{ address: "aws_db_instance.m", type: "aws_db_instance", action: "destroy" }] }));
  expect(b).toBe("> [!CAUTION]\n> **Stateful resource at risk.** This plan destroys 1 resource that holds data; applying it loses that data unless it is backed up or moved:\n> - `aws_db_instance.m` (`aws_db_instance`) will be **destroyed**");
});

test("built-in stateful types and operator globs", () => {
  expect(isStatefulType("aws_db_instance")).toBe(true);
  expect(isStatefulType("aws_fsx_lustre_file_system")).toBe(true);
  expect(isStatefulType("aws_instance")).toBe(false);
  expect(isStatefulType("acme_ledger", ["acme_*"])).toBe(true);
  expect(isStatefulType("terraform_data", ["acme_*"])).toBe(false);
});

test("annotations: warning level, failure for stateful; deposed objects and undeclared addresses", () => {
  const decl = (file: string, line: number): Declaration => ({ file, startLine: line, endLine: line + 2, kind: "resource", type: "t", name: "n" });
  const declared = new Map([
    ["aws_instance.web", decl("main.tf", 3)],
    ["aws_db_instance.m", decl("db.tf", 1)],
    ["module.remote.x.y", { ...decl("main.tf", 20), kind: "module" as const, name: "remote" }],
  ]);
  const out = annotationsFor(
    plan({
      destroyed: ["aws_db_instance.m (deposed object 1a2b)", "nowhere.x"],
      replaced: [{ address: "aws_instance.web", reason: "tainted", paths: ["ami"] }, { address: "module.remote.x.y" }],
      stateful: [{ address: "aws_db_instance.m", type: "aws_db_instance", action: "destroy" }],
    }),
    declared,
  );
  expect(out).toEqual([
    expect.objectContaining({ path: "db.tf", start_line: 1, end_line: 3, annotation_level: "failure", title: "Stateful resource destroyed: aws_db_instance.m (deposed object 1a2b)" }),
    expect.objectContaining({ path: "main.tf", start_line: 3, annotation_level: "warning", title: "Replaced: aws_instance.web", message: "This plan replaces aws_instance.web. Reason: tainted. Forced by: ami." }),
    expect.objectContaining({ path: "main.tf", start_line: 20, message: expect.stringContaining("declared in module `remote`") }),
  ]);
});

describe("since the last push", () => {
  test("planDelta: newly planned, planned differently, no longer planned", () => {
    const d = planDelta({ headSha: "abcdef0123", changes: { "a.x": "update", "a.y": "delete", "a.z": "create" } }, { "a.x": "replace", "a.z": "create", "a.w": "create" });
    expect(d).toEqual({ sinceSha: "abcdef0123", added: [{ address: "a.w", action: "create" }], changed: [{ address: "a.x", from: "update", to: "replace" }], dropped: [{ address: "a.y", action: "delete" }] });
    expect(sincePushBlock(d)).toBe(
      "**Since the last push** (plan at abcdef0):\n- newly planned: `a.w` (created)\n- planned differently: `a.x` (updated → replaced)\n- no longer planned: `a.y` (was destroyed)",
    );
    const same = planDelta({ headSha: "abcdef0123", changes: { "a.x": "update" } }, { "a.x": "update" });
    expect(sincePushBlock(same)).toBe("**Since the last push** (plan at abcdef0): the same resources, with the same actions.");
  });
});

describe("whyModified", () => {
  const files = (...names: string[]) => names.map((filename) => ({ filename, status: "modified" as const }));
  test("a discovered directory: the changed file in it, or a module or env file under it", () => {
    expect(whyModified({ name: "", dir: "net", workspace: "default" }, files("README.md", "net/main.tf"), [])).toBe("`net/main.tf` changed and is in this directory");
    expect(whyModified({ name: "", dir: "net", workspace: "default" }, files("net/modules/vpc/main.tf"), [])).toBe(
      "`net/modules/vpc/main.tf` changed and belongs to it (a module or `env/` file under `net`)",
    );
    expect(whyModified({ name: "", dir: "net", workspace: "default" }, files("app/main.tf"), [])).toBeUndefined();
  });

  test("a configured project: the changed file and the when_modified pattern that selected it (the last matching one)", () => {
    const ok = loadRepoConfig("version: 3\nprojects:\n- name: app\n  dir: app\n  autoplan:\n    when_modified: ['*.tf', '../modules/**/*.tf', '!skip.tf']\n");
    if (!ok.ok) throw new Error("config");
    const p = { name: "app", dir: "app", workspace: "default" };
    expect(whyModified(p, files("modules/db/main.tf"), ok.config.projects)).toBe("`modules/db/main.tf` changed and matches `../modules/**/*.tf` (`when_modified` of this project)");
    expect(whyModified(p, files("app/skip.tf"), ok.config.projects)).toBeUndefined();
    expect(decidingPattern("x.tf", ["*.tf", "!x.tf", "x.tf"])).toBe("x.tf");
  });
});
