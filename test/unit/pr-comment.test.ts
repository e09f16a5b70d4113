import type { Project } from "../../src/projects/project.js";
import { codeBlock, diffMarkdownFormat, inlineCode, renderPrComment, suggestedCommands } from "../../src/render/pr-comment.js";
import type { ProjectResult } from "../../src/runner/reporting/project-result.js";
import { emptyPlanSummary, type PlanSummary } from "../../src/terraform/plan-summary-types.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const week2: Project = { name: "", dir: "week2", workspace: "default" };

/** Plan output as terraform 1.11 prints it with -no-color (captured from a real run). */
const PLAN_OUTPUT = `terraform_data.a: Refreshing state... [id=e7244ba5-d68d-ef86-8542-4445b1fc0800]

Terraform used the selected providers to generate the following execution
plan. Resource actions are indicated with the following symbols:
  + create
  ~ update in-place
-/+ destroy and then create replacement

Terraform will perform the following actions:

  # terraform_data.a will be updated in-place
  ~ resource "terraform_data" "a" {
        id     = "e7244ba5-d68d-ef86-8542-4445b1fc0800"
      ~ input  = "one" -> "two"
      ~ output = "one" -> (known after apply)
    }

  # terraform_data.b must be replaced
-/+ resource "terraform_data" "b" {
      ~ id               = "9cee91f2-548f-7df6-55ac-8b8b2dd519dc" -> (known after apply)
      ~ triggers_replace = "x" -> "y" # forces replacement
    }

  # terraform_data.c will be destroyed
  # (because terraform_data.c is not in configuration)
  - resource "terraform_data" "c" {
      - id = "672d69a9" -> null
    }

  # terraform_data.d will be created
  + resource "terraform_data" "d" {
      + id     = (known after apply)
      + input  = "d"
    }

Plan: 2 to add, 1 to change, 2 to destroy.
`;

function summary(over: Partial<PlanSummary> = {}): PlanSummary {
  return { ...emptyPlanSummary(), ...over };
}

const CHANGES = summary({
  add: 2,
  change: 1,
  destroy: 2,
  replace: 1,
  destroyed: ["terraform_data.c"],
  replaced: [{ address: "terraform_data.b", reason: "cannot update in place" }],
  hasChanges: true,
});

function planResult(over: Partial<ProjectResult> = {}): ProjectResult {
  return {
    project: week2,
    command: "plan",
    outcome: "success",
    headline: "Plan: 2 to add, 1 to change, 2 to destroy.",
    output: PLAN_OUTPUT,
    plan: CHANGES,
    hasChanges: true,
    ...over,
  };
}

/** Fences and folds must be balanced for a comment to render on its own. */
function expectBalanced(markdown: string): void {
  let fence: string | undefined;
  let details = 0;
  for (const line of markdown.split("\n")) {
    if (fence !== undefined) {
      const close = /^(`{3,}|~{3,})\s*$/.exec(line);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) fence = undefined;
      continue;
    }
    const open = /^(`{3,}|~{3,})/.exec(line);
    if (open) {
      fence = open[1];
      continue;
    }
    details += (line.match(/<details>/g) ?? []).length - (line.match(/<\/details>/g) ?? []).length;
    expect(details).toBeGreaterThanOrEqual(0);
  }
  expect(fence).toBeUndefined();
  expect(details).toBe(0);
}

function single(parts: string[]): string {
  expect(parts).toHaveLength(1);
  expectBalanced(parts[0]);
  return parts[0];
}

describe("renderPrComment: one project", () => {
  test("successful plan with changes: header, headline outside the fold, warning, diff output, next steps", () => {
    const body = single(renderPrComment({ command: "plan", name: "atoll", results: [planResult()], headSha: SHA }));
    const lines = body.split("\n");
    expect(lines[0]).toBe("Ran Plan for dir: `week2` workspace: `default` (commit 0123456)");
    const headlineAt = body.indexOf("Plan: 2 to add, 1 to change, 2 to destroy.");
    const foldAt = body.indexOf("<details><summary>Show Output</summary>");
    expect(headlineAt).toBeGreaterThan(0);
    expect(foldAt).toBeGreaterThan(headlineAt);
    expect(body.indexOf("> [!WARNING]")).toBeGreaterThan(headlineAt);
    expect(body.indexOf("> [!WARNING]")).toBeLessThan(foldAt);
    expect(body).toContain("> - `terraform_data.c` will be **destroyed**");
    expect(body).toContain("> - `terraform_data.b` will be **replaced** — cannot update in place");
    expect(body).toContain("\n```diff\n");
    expect(body).toContain('\n!   resource "terraform_data" "a" {\n');
    expect(body).toContain('\n-/+ resource "terraform_data" "b" {\n');
    expect(body).toContain("\n+       id     = (known after apply)\n");
    expect(body).toContain("* To **apply** this plan, comment: `atoll apply -d week2`");
    expect(body).toContain("* To **plan** this project again, comment: `atoll plan -d week2`");
    expect(body).toContain("* To **discard** all plans and locks of this pull request, comment: `atoll unlock`");
    // Next steps come after the output.
    expect(body.indexOf("To **apply**")).toBeGreaterThan(body.indexOf("</details>"));
  });

  test("named project, the atlantis prefix and extra args in the re-plan command", () => {
    const project: Project = { name: "my app", dir: "infra/app", workspace: "staging" };
    const body = single(
      renderPrComment({
        command: "plan",
        name: "atlantis",
        results: [planResult({ project })],
        headSha: SHA,
        extraArgs: ["-var", "size=large x", "-target=terraform_data.a"],
      }),
    );
    expect(body.split("\n")[0]).toBe("Ran Plan for project: `my app` dir: `infra/app` workspace: `staging` (commit 0123456)");
    expect(body).toContain('comment: `atlantis apply -p "my app"`');
    expect(body).toContain(`comment: \`atlantis plan -p "my app" -- -var 'size=large x' -target=terraform_data.a\``);
    expect(body).toContain("comment: `atlantis unlock`");
    expect(body).not.toContain("atoll");
  });

  test("suggested commands use projectFlags as is (already quoted) for dirs with spaces", () => {
    const cmds = suggestedCommands("atoll", { name: "", dir: "my dir", workspace: "prod" });
    expect(cmds).toEqual({ apply: 'atoll apply -d "my dir" -w prod', plan: 'atoll plan -d "my dir" -w prod', unlock: "atoll unlock" });
  });

  test("plan without changes: no warning and no next steps", () => {
    const body = single(
      renderPrComment({
        command: "plan",
        name: "atoll",
        results: [
          planResult({
            headline: "No changes. Your infrastructure matches the configuration.",
            output: "No changes. Your infrastructure matches the configuration.\n",
            plan: summary(),
            hasChanges: false,
          }),
        ],
        headSha: SHA,
      }),
    );
    expect(body).toContain("\n\nNo changes. Your infrastructure matches the configuration.\n\n<details>");
    expect(body).not.toContain("[!WARNING]");
    expect(body).not.toContain("To **apply**");
    expect(body).not.toContain("unlock");
  });

  test("the destroy warning lists at most 20 destroyed and 20 replaced addresses, and says how many more", () => {
    const destroyed = Array.from({ length: 30 }, (_, i) => `terraform_data.d[${i}]`);
    const replaced = Array.from({ length: 5 }, (_, i) => ({ address: `terraform_data.r[${i}]`, reason: "tainted" }));
    const plan = summary({ destroy: 35, add: 5, replace: 5, destroyed, replaced, hasChanges: true });
    const body = single(renderPrComment({ command: "plan", name: "atoll", results: [planResult({ plan })], headSha: SHA }));
    expect(body).toContain("> This plan destroys 30 resources and replaces 5 resources. Check carefully before applying:");
    const listed = body.split("\n").filter((l) => /^> - `terraform_data\./.test(l));
    expect(listed).toHaveLength(25);
    expect(body).toContain("> - and 10 more");
    // Many destroys do not hide the replacements.
    expect(body).toContain("> - `terraform_data.r[4]` will be **replaced** — tainted");
  });

  test("output containing ``` gets a longer fence", () => {
    const output = 'Plan: 1 to add\n```\nnot the end\n````\nstill output\n';
    const body = single(renderPrComment({ command: "plan", name: "atoll", results: [planResult({ output, plan: summary({ add: 1, hasChanges: true }) })], headSha: SHA }));
    expect(body).toContain("\n`````diff\nPlan: 1 to add\n```\nnot the end\n````\nstill output\n`````\n</details>");
  });

  test("failed plan: Plan Error, the headline, plain folded output, no apply suggestion", () => {
    const output = "Error: Unsupported argument\n\n  on main.tf line 1:\n   1: resource \"terraform_data\" \"a\" { nope = 1 }\n";
    const body = single(
      renderPrComment({
        command: "plan",
        name: "atoll",
        results: [planResult({ outcome: "failed", headline: "terraform plan failed (exit code 1)", output, plan: undefined, hasChanges: undefined })],
        headSha: SHA,
      }),
    );
    expect(body).toContain("\n\n**Plan Error**\n\nterraform plan failed (exit code 1)\n\n<details><summary>Show Output</summary>\n\n```\nError: Unsupported argument");
    expect(body).not.toContain("```diff");
    expect(body).not.toContain("To **apply**");
  });

  test("failed apply: Apply Failed", () => {
    const body = single(
      renderPrComment({
        command: "apply",
        name: "atoll",
        results: [{ project: week2, command: "apply", outcome: "failed", headline: "terraform apply failed (exit code 1)", output: "Error: boom\n" }],
        headSha: SHA,
      }),
    );
    expect(body.split("\n")[0]).toBe("Ran Apply for dir: `week2` workspace: `default` (commit 0123456)");
    expect(body).toContain("**Apply Failed**\n\nterraform apply failed (exit code 1)");
    expect(body).toContain("Error: boom");
  });

  test("successful apply shows the headline and the output", () => {
    const body = single(
      renderPrComment({
        command: "apply",
        name: "atoll",
        results: [{ project: week2, command: "apply", outcome: "success", headline: "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.", output: "terraform_data.a: Creating...\nApply complete!\n" }],
        headSha: SHA,
      }),
    );
    expect(body).toContain("\n\nApply complete! Resources: 1 added, 0 changed, 0 destroyed.\n\n<details>");
    expect(body).toContain("terraform_data.a: Creating...");
    expect(body).not.toContain("To **");
  });

  test("refused: only the reason, no output block when there is no output", () => {
    const reason = "no current plan found; run `atoll plan` before apply";
    const body = single(
      renderPrComment({ command: "apply", name: "atoll", results: [{ project: week2, command: "apply", outcome: "refused", headline: reason, output: "" }], headSha: SHA }),
    );
    expect(body).toBe(`Ran Apply for dir: \`week2\` workspace: \`default\` (commit 0123456)\n\n${reason}`);
  });

  test("timed out: the headline and the partial output", () => {
    const body = single(
      renderPrComment({
        command: "plan",
        name: "atoll",
        results: [planResult({ outcome: "timed_out", headline: "timed out after 600s during terraform plan", output: "terraform_data.a: Refreshing state...\n", plan: undefined })],
        headSha: SHA,
      }),
    );
    expect(body).toContain("\n\ntimed out after 600s during terraform plan\n\n<details>");
    expect(body).toContain("terraform_data.a: Refreshing state...");
  });

  test("version: the output as a code block, not folded", () => {
    const body = single(
      renderPrComment({
        command: "version",
        name: "atoll",
        results: [{ project: week2, command: "version", outcome: "success", headline: "Terraform v1.11.4", output: "Terraform v1.11.4\non linux_amd64\n" }],
        headSha: SHA,
      }),
    );
    expect(body).toBe("Ran Version for dir: `week2` workspace: `default` (commit 0123456)\n\nTerraform v1.11.4\n\n```\nTerraform v1.11.4\non linux_amd64\n```");
  });

  test("notes are rendered at the end", () => {
    const body = single(renderPrComment({ command: "plan", name: "atoll", results: [planResult()], headSha: SHA, notes: ["first note", "**second** note"] }));
    expect(body.endsWith("\n\nfirst note\n\n**second** note")).toBe(true);
  });
});

describe("renderPrComment: several projects", () => {
  const a: Project = { name: "", dir: "a", workspace: "default" };
  const b: Project = { name: "bee", dir: "b", workspace: "default" };
  const c: Project = { name: "", dir: "c", workspace: "prod" };

  test("plan: list, one section per project, and the summary line", () => {
    const results: ProjectResult[] = [
      planResult({ project: a }),
      planResult({ project: b, headline: "No changes. Your infrastructure matches the configuration.", plan: summary(), hasChanges: false, output: "No changes.\n" }),
      planResult({ project: c, outcome: "failed", headline: "terraform init failed (exit code 1)", output: "Error: backend\n", plan: undefined }),
    ];
    const body = single(renderPrComment({ command: "plan", name: "atoll", results, headSha: SHA, notes: ["a note"] }));
    expect(body.startsWith(
      "Ran Plan for 3 projects:\n\n1. dir: `a` workspace: `default`\n2. project: `bee` dir: `b` workspace: `default`\n3. dir: `c` workspace: `prod`\n\nAt commit 0123456.",
    )).toBe(true);
    const s1 = body.indexOf("### 1. dir: `a` workspace: `default`");
    const s2 = body.indexOf("### 2. project: `bee` dir: `b` workspace: `default`");
    const s3 = body.indexOf("### 3. dir: `c` workspace: `prod`");
    const sum = body.indexOf("### Plan Summary");
    expect(0 < s1 && s1 < s2 && s2 < s3 && s3 < sum).toBe(true);
    expect(body.slice(s1, s2)).toContain("comment: `atoll apply -d a`");
    expect(body.slice(s1, s2)).not.toContain("unlock");
    expect(body.slice(s2, s3)).not.toContain("To **apply**");
    expect(body.slice(s3, sum)).toContain("**Plan Error**");
    expect(body).toContain("### Plan Summary\n\n3 projects, 1 with changes, 1 unchanged, 1 failed\n\n");
    expect(body).toContain("* To **apply** all unapplied plans from this pull request, comment: `atoll apply`");
    expect(body).toContain("* To **discard** all plans and locks from this pull request, comment: `atoll unlock`");
    expect(body.endsWith("\n\na note")).toBe(true);
  });

  test("plan summary without changes does not suggest apply", () => {
    const none = { headline: "No changes.", plan: summary(), hasChanges: false, output: "" };
    const body = single(renderPrComment({ command: "plan", name: "atoll", results: [planResult({ project: a, ...none }), planResult({ project: b, ...none })], headSha: SHA }));
    expect(body).toContain("2 projects, 0 with changes, 2 unchanged, 0 failed");
    expect(body).not.toContain("`atoll apply`");
  });

  test("apply: applied / failed counts", () => {
    const ok = (p: Project): ProjectResult => ({ project: p, command: "apply", outcome: "success", headline: "Apply complete!", output: "ok\n" });
    const results: ProjectResult[] = [ok(a), ok(b), { project: c, command: "apply", outcome: "failed", headline: "terraform apply failed (exit code 1)", output: "Error\n" }];
    const body = single(renderPrComment({ command: "apply", name: "atoll", results, headSha: SHA }));
    expect(body.startsWith("Ran Apply for 3 projects:")).toBe(true);
    expect(body).toContain("### Apply Summary\n\n3 projects, 2 applied, 1 failed");
    expect(body).toContain("**Apply Failed**");
  });

  test("version: a block per project and no summary", () => {
    const v = (p: Project): ProjectResult => ({ project: p, command: "version", outcome: "success", headline: "Terraform v1.11.4", output: "Terraform v1.11.4\n" });
    const body = single(renderPrComment({ command: "version", name: "atoll", results: [v(a), v(c)], headSha: SHA }));
    expect(body).toContain("### 1. dir: `a` workspace: `default`\n\nTerraform v1.11.4\n\n```\nTerraform v1.11.4\n```");
    expect(body).toContain("### 2. dir: `c` workspace: `prod`");
    expect(body).not.toContain("Summary");
  });

  test("no projects", () => {
    expect(renderPrComment({ command: "plan", name: "atoll", results: [], headSha: SHA, notes: ["nothing to do"] })).toEqual([
      "Ran Plan for 0 projects.\n\nnothing to do",
    ]);
  });
});

describe("renderPrComment: long output", () => {
  test("3 MB of plan output is split into balanced parts within GitHub's limit", () => {
    const line = '      + input = "中文 résumé 😀 ~ -> value" # padding padding padding padding';
    const output = `${Array.from({ length: Math.ceil(3_000_000 / line.length) }, (_, i) => `${line} ${i}`).join("\n")}\nPlan: 1 to add, 0 to change, 0 to destroy.\n`;
    const parts = renderPrComment({ command: "plan", name: "atoll", results: [planResult({ output })], headSha: SHA });
    expect(parts.length).toBeGreaterThan(40);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(65_536);
      expectBalanced(part);
    }
    expect(parts[0].startsWith("Ran Plan for dir: `week2` workspace: `default`")).toBe(true);
    expect(parts[0]).toContain("> [!WARNING]");
    expect(parts[1].startsWith("Continued from previous comment.\n\n<details><summary>Show Output (continued)</summary>\n\n```diff\n")).toBe(true);
    const last = parts[parts.length - 1];
    expect(last).toContain("+       input");
    expect(last).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    expect(last).toContain("comment: `atoll apply -d week2`");
  });
});

describe("markdown helpers", () => {
  test("diffMarkdownFormat moves markers to column 0 and turns ~ into !", () => {
    const converted = diffMarkdownFormat(PLAN_OUTPUT).split("\n");
    expect(converted).toContain("+   create");
    expect(converted).toContain("!   update in-place");
    expect(converted).toContain("-/+ destroy and then create replacement");
    expect(converted).toContain('!       input  = "one" -> "two"');
    expect(converted).toContain('-   resource "terraform_data" "c" {');
    expect(converted).toContain('-       id = "672d69a9" -> null');
    // Unchanged lines and alignment.
    expect(converted).toContain('        id     = "e7244ba5-d68d-ef86-8542-4445b1fc0800"');
    expect(converted).toContain("  # terraform_data.a will be updated in-place");
    expect(converted).toContain("Plan: 2 to add, 1 to change, 2 to destroy.");
    const original = PLAN_OUTPUT.split("\n");
    expect(converted.map((l) => l.length)).toEqual(original.map((l) => l.length));
    // Only markers followed by a space move; flags and words do not.
    expect(diffMarkdownFormat("  -target=x\n  +5\n  ~\n")).toBe("  -target=x\n  +5\n!  \n");
  });

  test("inlineCode and codeBlock survive backticks", () => {
    expect(inlineCode("plain")).toBe("`plain`");
    expect(inlineCode("a`b")).toBe("``a`b``");
    expect(inlineCode("`x`")).toBe("`` `x` ``");
    expect(codeBlock("x\n``` y\n", "diff")).toBe("````diff\nx\n``` y\n````");
    expect(codeBlock("no fence")).toBe("```\nno fence\n```");
  });
});

describe("destroy plans in the comment", () => {
  const destroyed = ["terraform_data.a", "terraform_data.b"];
  const destroy = planResult({ destroyPlan: true, headline: "Destroy plan: 2 to destroy.", plan: summary({ destroy: 2, destroyed, hasChanges: true }), hasChanges: true });

  test("opens with a red banner listing every resource, and names the project to apply it", () => {
    const body = single(renderPrComment({ command: "plan", name: "atlantis", results: [destroy], headSha: SHA }));
    const [title, banner] = body.split("\n\n");
    expect(title).toMatch(/^Ran Plan for dir: `week2`/);
    expect(banner).toBe(
      [
        "> [!CAUTION]",
        "> **Destroy plan.** Applying it destroys 2 resources of this project:",
        "> - `terraform_data.a`",
        "> - `terraform_data.b`",
        ">",
        "> A bare `atlantis apply` skips destroy plans. To apply this one, comment `atlantis apply -d week2`.",
      ].join("\n"),
    );
    expect(body).not.toContain("[!WARNING]");
  });

  test("every resource is listed, however many (the comment is split into parts)", () => {
    const many = Array.from({ length: 3000 }, (_, i) => `terraform_data.r${i}`);
    const parts = renderPrComment({ command: "plan", name: "atoll", results: [planResult({ destroyPlan: true, plan: summary({ destroy: many.length, destroyed: many, hasChanges: true }) })], headSha: SHA });
    const all = parts.join("\n");
    for (const a of [many[0], many[1500], many[2999]]) expect(all).toContain(`\`${a}\``);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(65536);
  });

  test("the summary of several projects says a bare apply skips destroy plans", () => {
    const other = planResult({ project: { name: "", dir: "b", workspace: "default" } });
    const body = renderPrComment({ command: "plan", name: "atoll", results: [destroy, other], headSha: SHA }).join("\n");
    expect(body).toContain("To **apply** all unapplied plans from this pull request (destroy plans are applied only by naming their project), comment: `atoll apply`");
    const onlyDestroy = renderPrComment({ command: "plan", name: "atoll", results: [destroy, { ...destroy, project: { name: "", dir: "c", workspace: "default" } }], headSha: SHA }).join("\n");
    expect(onlyDestroy).not.toContain("To **apply** all unapplied plans");
  });
});
