import type { CheckAction } from "../../src/ports/github.js";
import type { Project } from "../../src/projects/project.js";
import {
  APPLY_ACTION,
  MAX_CHECK_OUTPUT_BYTES,
  PLAN_ACTION,
  UNLOCK_ACTION,
  renderAggregateCheck,
  renderInProgressCheck,
  renderProjectCheck,
  type AggregateProjectState,
} from "../../src/render/check-run-output.js";
import type { ProjectOutcome, ProjectResult } from "../../src/runner/reporting/project-result.js";
import { emptyPlanSummary, type PlanSummary } from "../../src/terraform/plan-summary-types.js";

const bytes = (s: string): number => Buffer.byteLength(s, "utf8");
const week2: Project = { name: "", dir: "week2", workspace: "default" };

function summary(over: Partial<PlanSummary> = {}): PlanSummary {
  return { ...emptyPlanSummary(), ...over };
}

function planResult(over: Partial<ProjectResult> = {}): ProjectResult {
  return {
    project: week2,
    command: "plan",
    outcome: "success",
    headline: "Plan: 1 to add, 1 to change, 0 to destroy.",
    output: '  ~ resource "terraform_data" "a" {\n      ~ input = "1" -> "2"\n    }\n\nPlan: 1 to add, 1 to change, 0 to destroy.\n',
    plan: summary({ add: 1, change: 1, hasChanges: true }),
    hasChanges: true,
    ...over,
  };
}

/** GitHub's documented limits for check-run actions. */
function expectValidActions(actions: CheckAction[]): void {
  expect(actions.length).toBeLessThanOrEqual(3);
  for (const a of actions) {
    expect(a.label.length).toBeGreaterThan(0);
    expect(a.label.length).toBeLessThanOrEqual(20);
    expect(a.description.length).toBeLessThanOrEqual(40);
    expect(a.identifier.length).toBeLessThanOrEqual(20);
  }
  expect(new Set(actions.map((a) => a.identifier)).size).toBe(actions.length);
}

describe("renderProjectCheck", () => {
  test.each<[ProjectResult["command"], ProjectOutcome, string]>([
    ["plan", "success", "success"],
    ["plan", "failed", "failure"],
    ["plan", "timed_out", "timed_out"],
    ["plan", "refused", "failure"],
    ["apply", "success", "success"],
    ["apply", "failed", "failure"],
    ["apply", "timed_out", "timed_out"],
    ["apply", "refused", "failure"],
    ["version", "success", "success"],
    ["version", "failed", "failure"],
  ])("%s %s → %s", (command, outcome, conclusion) => {
    const check = renderProjectCheck(planResult({ command, outcome }), { name: "atoll" });
    expect(check.status).toBe("completed");
    expect(check.conclusion).toBe(conclusion);
    expectValidActions(check.actions);
  });

  test("successful plan with changes: Apply, Re-plan, Unlock and the matching comment commands", () => {
    const check = renderProjectCheck(planResult(), { name: "atoll" });
    expect(check.actions.map((a) => a.identifier)).toEqual([APPLY_ACTION, PLAN_ACTION, UNLOCK_ACTION]);
    expect(check.actions.map((a) => a.label)).toEqual(["Apply", "Re-plan", "Unlock"]);
    expect(check.output.title).toBe("Plan: 1 to add, 1 to change, 0 to destroy.");
    const s = check.output.summary;
    expect(s).toContain("**Plan** for dir: `week2` workspace: `default`");
    expect(s).toContain("| Add | Change | Destroy | Replace |\n| ---: | ---: | ---: | ---: |\n| 1 | 1 | 0 | 0 |");
    expect(s).not.toContain("Import");
    expect(s).not.toContain("[!WARNING]");
    expect(s).toContain("- `atoll apply -d week2` to apply this plan");
    expect(s).toContain("- `atoll plan -d week2` to plan again");
    expect(s).toContain("- `atoll unlock` to discard this pull request's plans and locks");
    expect(check.output.text).toBe(
      '```diff\n!   resource "terraform_data" "a" {\n!       input = "1" -> "2"\n    }\n\nPlan: 1 to add, 1 to change, 0 to destroy.\n```',
    );
  });

  test("plan without changes and failed plans: Re-plan and Unlock only", () => {
    const none = renderProjectCheck(planResult({ hasChanges: false, plan: summary(), headline: "No changes." }), { name: "atoll" });
    expect(none.actions.map((a) => a.identifier)).toEqual([PLAN_ACTION, UNLOCK_ACTION]);
    expect(none.output.summary).not.toContain("to apply this plan");
    for (const outcome of ["failed", "timed_out", "refused"] as const) {
      const check = renderProjectCheck(planResult({ outcome, headline: `it ${outcome}` }), { name: "atlantis" });
      expect(check.actions.map((a) => a.identifier)).toEqual([PLAN_ACTION, UNLOCK_ACTION]);
      expect(check.output.summary).toContain("`atlantis plan -d week2` to plan again");
      expect(check.output.summary).not.toContain("| Add |");
    }
  });

  test("apply results: no buttons on success, Re-plan on failure", () => {
    const ok = renderProjectCheck(planResult({ command: "apply", headline: "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." }), { name: "atoll" });
    expect(ok.actions).toEqual([]);
    expect(ok.output.summary).not.toContain("Next steps");
    expect(ok.output.text?.startsWith("```\n")).toBe(true);
    const failed = renderProjectCheck(planResult({ command: "apply", outcome: "failed", headline: "terraform apply failed (exit code 1)" }), { name: "atoll" });
    expect(failed.actions.map((a) => a.identifier)).toEqual([PLAN_ACTION]);
  });

  test("refused: failure with the reason, no text when nothing ran", () => {
    const reason = "the plan is from commit abc1234 but the head is def5678; run `atoll plan` before apply";
    const check = renderProjectCheck(planResult({ command: "apply", outcome: "refused", headline: reason, output: "", plan: undefined }), { name: "atoll" });
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toBe(reason);
    expect(check.output.summary).toContain(reason);
    expect(check.output.text).toBeUndefined();
  });

  test("import, move and forget columns appear when non-zero", () => {
    const check = renderProjectCheck(planResult({ plan: summary({ import: 2, move: 1, hasChanges: true }) }), { name: "atoll" });
    expect(check.output.summary).toContain("| Add | Change | Destroy | Replace | Import | Move |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n| 0 | 0 | 0 | 0 | 2 | 1 |");
  });

  test("the warning lists destroyed and replaced addresses with reasons", () => {
    const plan = summary({
      add: 2,
      destroy: 3,
      replace: 2,
      destroyed: ["terraform_data.gone"],
      replaced: [{ address: "terraform_data.r", reason: "tainted" }, { address: "terraform_data.q" }],
      hasChanges: true,
    });
    const s = renderProjectCheck(planResult({ plan }), { name: "atoll" }).output.summary;
    expect(s).toContain(
      [
        "> [!WARNING]",
        "> **1 resource will be destroyed:**",
        ">",
        "> - `terraform_data.gone`",
        ">",
        "> **2 resources will be replaced:**",
        ">",
        "> - `terraform_data.r` — tainted",
        "> - `terraform_data.q`",
      ].join("\n"),
    );
  });

  test("replacements say why and which attributes force them, grouped by module; stateful ones get a red line at the top", () => {
    const plan = summary({
      add: 3,
      destroy: 4,
      replace: 3,
      destroyed: ["aws_s3_bucket.logs"],
      replaced: [
        { address: "module.db.aws_db_instance.main", reason: "cannot update in place", paths: ["engine_version", "storage_encrypted"] },
        { address: "aws_instance.web[0]", reason: "-replace requested" },
        { address: "module.db.terraform_data.x", reason: "replace_triggered_by" },
      ],
      stateful: [
        { address: "aws_s3_bucket.logs", type: "aws_s3_bucket", action: "destroy" },
        { address: "module.db.aws_db_instance.main", type: "aws_db_instance", action: "replace" },
      ],
      hasChanges: true,
    });
    const s = renderProjectCheck(planResult({ plan }), { name: "atoll" }).output.summary;
    expect(s.startsWith("> [!CAUTION]\n> **Stateful resources at risk.** This plan destroys 1 and replaces 1 resources that hold data")).toBe(true);
    expect(s).toContain("> - `aws_s3_bucket.logs` (`aws_s3_bucket`) will be **destroyed**\n> - `module.db.aws_db_instance.main` (`aws_db_instance`) will be **replaced**");
    expect(s).toContain(
      [
        "> **3 resources will be replaced:**",
        ">",
        "> In the root module:",
        "> - `aws_instance.web[0]` — -replace requested",
        ">",
        "> In `module.db`:",
        "> - `module.db.aws_db_instance.main` — cannot update in place, forced by `engine_version`, `storage_encrypted`",
        "> - `module.db.terraform_data.x` — replace_triggered_by",
      ].join("\n"),
    );
  });

  test("readiness lines", () => {
    const render = (approvedBy: string[], changesRequestedBy: string[]) =>
      renderProjectCheck(planResult(), { name: "atoll", readiness: { approvedBy, changesRequestedBy } }).output.summary;
    expect(render(["alice", "bob"], [])).toContain("Approved by @alice, @bob.");
    expect(render([], [])).toContain("No approving review yet.");
    const both = render(["alice"], ["carol"]);
    expect(both).toContain("Approved by @alice. Changes requested by @carol.");
    expect(render([], ["carol"])).toContain("No approving review yet. Changes requested by @carol.");
    expect(renderProjectCheck(planResult(), { name: "atoll" }).output.summary).not.toMatch(/Approved|approving/);
  });

  test("titles are one line and cut to a readable length", () => {
    const long = `${"x".repeat(300)}\nsecond line`;
    const title = renderProjectCheck(planResult({ outcome: "refused", headline: long }), { name: "atoll" }).output.title;
    expect(Array.from(title).length).toBeLessThanOrEqual(120);
    expect(title.endsWith("…")).toBe(true);
    expect(title).not.toContain("\n");
    expect(renderProjectCheck(planResult({ outcome: "failed", headline: "" }), { name: "atoll" }).output.title).toBe("Plan failed");
  });

  test("a 3000-resource destroy/replace plan keeps the summary within 65535 bytes", () => {
    // Long for_each keys with multi-byte characters, like real module addresses can have.
    const address = (i: number) => `module.network["région-東京-${i}"].terraform_data.subnet["${"ü".repeat(200)}-${i}"]`;
    const destroyed = Array.from({ length: 3000 }, (_, i) => address(i));
    const replaced = Array.from({ length: 3000 }, (_, i) => ({ address: address(i + 3000), reason: "cannot update in place" }));
    const plan = summary({ add: 3000, destroy: 6000, replace: 3000, destroyed, replaced, hasChanges: true });
    const output = destroyed.map((a) => `  # ${a} will be destroyed\n  - resource "terraform_data" "subnet" {\n      - id = "x" -> null\n    }`).join("\n");
    const check = renderProjectCheck(planResult({ plan, output, headline: "Plan: 3000 to add, 0 to change, 6000 to destroy." }), {
      name: "atoll",
      readiness: { approvedBy: [], changesRequestedBy: [] },
    });
    expect(bytes(check.output.summary)).toBeLessThanOrEqual(MAX_CHECK_OUTPUT_BYTES);
    expect(bytes(check.output.text ?? "")).toBeLessThanOrEqual(MAX_CHECK_OUTPUT_BYTES);
    expect(check.output.summary).toContain("**3000 resources will be destroyed:**");
    const listedDestroyed = check.output.summary
      .split("> **3000 resources will be replaced:**")[0]
      .split("\n")
      .filter((l) => l.startsWith("> - `module.network")).length;
    const more = /> - … and (\d+) more/.exec(check.output.summary)!;
    expect(listedDestroyed).toBeGreaterThan(10);
    expect(listedDestroyed).toBeLessThanOrEqual(50);
    expect(listedDestroyed + Number(more[1])).toBe(3000);
    // The end of the summary (readiness and next steps) survives the capping.
    expect(check.output.summary).toContain("No approving review yet.");
    expect(check.output.summary).toContain("`atoll unlock`");
  });

  test("even maximal multi-byte addresses leave room for readiness and next steps", () => {
    const address = (i: number) => `terraform_data.x["${"😀".repeat(400)}${i}"]`;
    const plan = summary({
      destroy: 200,
      replace: 100,
      destroyed: Array.from({ length: 100 }, (_, i) => address(i)),
      replaced: Array.from({ length: 100 }, (_, i) => ({ address: address(i + 100), reason: "tainted" })),
      hasChanges: true,
    });
    const s = renderProjectCheck(planResult({ plan }), { name: "atoll", readiness: { approvedBy: ["alice"], changesRequestedBy: [] } }).output.summary;
    expect(bytes(s)).toBeLessThanOrEqual(MAX_CHECK_OUTPUT_BYTES);
    expect(s).toMatch(/> - … and \d+ more/);
    expect(s).toContain("Approved by @alice.");
    expect(s).toContain("`atoll unlock` to discard");
    expect(s).not.toContain("bytes omitted");
  });

  test("3 MB of multi-byte output is cut to 65535 bytes, keeping the start and the end", () => {
    const line = "terraform_data.x: Still creating... 中文 résumé 😀 ``` [10s elapsed]";
    const lines = Array.from({ length: Math.ceil(3_000_000 / bytes(line)) }, (_, i) => `${line} #${i}`);
    const output = `FIRST LINE\n${lines.join("\n")}\nError: the very last error`;
    expect(bytes(output)).toBeGreaterThan(3_000_000);
    const check = renderProjectCheck({ project: week2, command: "apply", outcome: "failed", headline: "terraform apply failed (exit code 1)", output }, { name: "atoll" });
    const text = check.output.text!;
    expect(bytes(text)).toBeLessThanOrEqual(MAX_CHECK_OUTPUT_BYTES);
    expect(bytes(text)).toBeGreaterThan(MAX_CHECK_OUTPUT_BYTES - 10);
    // The output contains ``` so the fence is longer, and the block is closed.
    expect(text.startsWith("````\nFIRST LINE\n")).toBe(true);
    expect(text.endsWith("Error: the very last error\n````")).toBe(true);
    expect(text).toMatch(/\n\n… \[\d+ bytes omitted: output exceeds GitHub's limit\] …\n\n/);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)).toBe(false);
  });

  test("summary is capped in bytes even with a huge refusal reason", () => {
    const check = renderProjectCheck(planResult({ outcome: "refused", headline: "é".repeat(100_000), output: "" }), { name: "atoll" });
    expect(bytes(check.output.summary)).toBeLessThanOrEqual(MAX_CHECK_OUTPUT_BYTES);
  });
});

describe("renderInProgressCheck", () => {
  test("title and summary name the command and project", () => {
    const check = renderInProgressCheck("plan", { name: "app", dir: "infra", workspace: "default" }, "Waiting for the project lock.");
    expect(check).toEqual({
      status: "in_progress",
      output: {
        title: "Plan in progress…",
        summary: "Running `terraform plan` for project: `app` dir: `infra` workspace: `default`.\n\nWaiting for the project lock.",
      },
    });
    expect(renderInProgressCheck("apply", week2).output.summary).toBe("Running `terraform apply` for dir: `week2` workspace: `default`.");
  });
});

describe("renderAggregateCheck", () => {
  const p = (dir: string): Project => ({ name: "", dir, workspace: "default" });
  const row = (dir: string, over: Partial<AggregateProjectState>): AggregateProjectState => ({
    project: p(dir),
    plan: "success",
    hasChanges: true,
    apply: "none",
    ...over,
  });

  test("no projects: both checks succeed so required checks never block", () => {
    for (const kind of ["plan", "apply"] as const) {
      const check = renderAggregateCheck(kind, [], "atoll");
      expect(check).toMatchObject({ status: "completed", conclusion: "success", output: { title: "0 projects" } });
    }
  });

  test("plan: pending, failed, success", () => {
    const pending = renderAggregateCheck("plan", [row("a", {}), row("b", { plan: "pending" }), row("c", { plan: "failed" })], "atoll");
    expect(pending.status).toBe("in_progress");
    expect(pending.conclusion).toBeUndefined();
    expect(pending.output.title).toBe("2/3 planned, 1 failed");
    expect(pending.output.summary).toContain("- `b`: planning…");

    const failed = renderAggregateCheck("plan", [row("a", {}), row("b", { hasChanges: false }), row("c", { plan: "failed" })], "atoll");
    expect(failed).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "2/3 projects planned, 1 failed" } });
    expect(failed.output.summary).toContain("- `a`: planned, has changes\n- `b`: planned, no changes\n- `c`: plan failed");
    expect(failed.output.summary).toContain("`atoll plan`");

    const ok = renderAggregateCheck("plan", [row("a", {}), row("b", { hasChanges: false })], "atoll");
    expect(ok).toMatchObject({ status: "completed", conclusion: "success", output: { title: "2/2 projects planned" } });
  });

  test("apply: waits (queued) until every change is applied, listing what remains", () => {
    const waiting = renderAggregateCheck("apply", [row("a", { apply: "success" }), row("b", {}), row("c", { hasChanges: false })], "atlantis");
    expect(waiting.status).toBe("queued");
    expect(waiting.conclusion).toBeUndefined();
    expect(waiting.output.title).toBe("2/3 applied (1 up to date)");
    expect(waiting.output.summary).toContain("**Remaining (1):**\n- `b`: planned, waiting for apply");
    expect(waiting.output.summary).toContain("Comment `atlantis apply`");
    expect(waiting.output.summary).toContain("- `a`: applied\n- `b`: planned, waiting for apply\n- `c`: up to date");

    const planning = renderAggregateCheck("apply", [row("a", { plan: "pending" })], "atoll");
    expect(planning.status).toBe("queued");
    expect(planning.output.title).toBe("0/1 applied");
    // Nothing applied yet: each project is listed once, under "Remaining".
    const none = renderAggregateCheck("apply", [row("a", {}), row("b", {})], "atoll");
    expect(none.output.summary.match(/- `a`/g)).toHaveLength(1);
    expect(none.output.summary).toContain("**Remaining (2):**");

    const running = renderAggregateCheck("apply", [row("a", { apply: "pending" }), row("b", { apply: "success" })], "atoll");
    expect(running.status).toBe("in_progress");
    expect(running.output.summary).toContain("- `a`: applying…");
  });

  test("apply: any failure fails the check; all applied succeeds", () => {
    const failed = renderAggregateCheck("apply", [row("a", { apply: "failed" }), row("b", { apply: "success" })], "atoll");
    expect(failed).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "1/2 applied, 1 failed" } });

    const done = renderAggregateCheck("apply", [row("a", { apply: "success" }), row("b", { hasChanges: false }), row("c", { hasChanges: false })], "atoll");
    expect(done).toMatchObject({ status: "completed", conclusion: "success", output: { title: "3/3 applied (2 up to date)" } });

    const allUpToDate = renderAggregateCheck("apply", [row("a", { hasChanges: false })], "atoll");
    expect(allUpToDate).toMatchObject({ status: "completed", conclusion: "success", output: { title: "1/1 applied (1 up to date)" } });
  });

  test("a failed plan keeps the apply check pending", () => {
    const check = renderAggregateCheck("apply", [row("a", { plan: "failed" }), row("b", { apply: "success" })], "atoll");
    expect(check.status).toBe("queued");
    expect(check.output.summary).toContain("- `a`: plan failed, plan again");
  });

  test("thousands of projects stay within the byte limit", () => {
    const rows = Array.from({ length: 5000 }, (_, i) => row(`environments/東京/service-${i}/${"deep/".repeat(10)}`, {}));
    for (const kind of ["plan", "apply"] as const) {
      const check = renderAggregateCheck(kind, rows, "atoll");
      expect(bytes(check.output.summary)).toBeLessThanOrEqual(MAX_CHECK_OUTPUT_BYTES);
    }
  });
});

describe("destroy plans and warnings", () => {
  const destroyed = ["terraform_data.a", "terraform_data.b", 'module.m.terraform_data.c["k"]'];
  const destroy = planResult({
    destroyPlan: true,
    headline: "Destroy plan: 3 to destroy.",
    plan: summary({ destroy: 3, destroyed, hasChanges: true }),
  });

  test("a destroy plan's summary opens with a red banner listing every resource, and says how to apply it", () => {
    const { output } = renderProjectCheck(destroy, { name: "atoll" });
    expect(output.summary.startsWith("> [!CAUTION]\n> **Destroy plan.** Applying it destroys 3 resources of this project:")).toBe(true);
    for (const a of destroyed) expect(output.summary).toContain(`> - \`${a}\``);
    expect(output.summary).toContain("A bare `atoll apply` skips destroy plans");
    expect(output.summary).toContain("`atoll apply -d week2`");
    // Listed once: the ordinary destroy warning is not repeated below the banner.
    expect(output.summary.split("terraform_data.a").length).toBe(2);
  });

  test("a huge destroy plan's list is cut within the summary limit, saying how many more", () => {
    const many = Array.from({ length: 5000 }, (_, i) => `terraform_data.resource_with_a_long_name_${i}`);
    const { output } = renderProjectCheck(planResult({ destroyPlan: true, plan: summary({ destroy: many.length, destroyed: many, hasChanges: true }) }), { name: "atoll" });
    expect(bytes(output.summary)).toBeLessThanOrEqual(MAX_CHECK_OUTPUT_BYTES);
    expect(output.summary).toMatch(/… and \d+ more \(all are in the plan output below\)/);
  });

  test("a destroy plan of an empty state says it destroys nothing", () => {
    const { output } = renderProjectCheck(planResult({ destroyPlan: true, plan: summary() }), { name: "atoll" });
    expect(output.summary).toContain("has no resources in its state, so applying it destroys nothing");
  });

  test("warnings come first, on any outcome", () => {
    const warning = "> [!WARNING]\n> **Local state.** something";
    for (const outcome of ["success", "failed"] as const) {
      const { output } = renderProjectCheck(planResult({ outcome, warnings: [warning] }), { name: "atoll" });
      expect(output.summary.startsWith(warning)).toBe(true);
    }
  });
});
