import { destroyArgs, destroySkipReason, isDestroyPlanArgs } from "../../src/runner/gates/destroy-guard.js";
import type { ProjectState } from "../../src/ports/store.js";

describe("destroy plans", () => {
  test.each<[string[], boolean]>([
    [[], false],
    [["-destroy"], true],
    [["--destroy"], true],
    [["-destroy=true"], true],
    [["-destroy=1"], true],
    [["-destroy=false"], false],
    [["-destroy", "-destroy=false"], false],
    [["-destroy=false", "-destroy"], true],
    [["-var", "x=-destroy"], false],
    [["-destroyer"], false],
    [["-target=a", "-destroy"], true],
  ])("isDestroyPlanArgs(%j) = %s", (args, expected) => {
    expect(isDestroyPlanArgs(args)).toBe(expected);
  });

  test("destroyArgs adds -destroy once, after the user's arguments", () => {
    expect(destroyArgs([])).toEqual(["-destroy"]);
    expect(destroyArgs(["-target=a"])).toEqual(["-target=a", "-destroy"]);
    expect(destroyArgs(["-destroy"])).toEqual(["-destroy"]);
  });

  test("a bare apply skips a destroy plan, saying how to apply it by name", () => {
    const state = (extraArgs: string[], name = "api"): ProjectState => ({
      project: { name, dir: "envs/api", workspace: "default" },
      headSha: "a".repeat(40),
      plan: "success",
      hasChanges: true,
      apply: "none",
      extraArgs,
      headline: "",
      output: "",
      updatedAt: "2026-01-01T00:00:00Z",
    });
    expect(destroySkipReason(state([]), "atoll")).toBeUndefined();
    expect(destroySkipReason(state(["-destroy"]), "atlantis")).toBe(
      "Skipped: the plan of `api` is a destroy plan, which is only applied when named. Comment `atlantis apply -p api` (or use its check run's Apply button) to destroy its resources.",
    );
    expect(destroySkipReason(state(["-destroy"], ""), "atoll")).toContain("`atoll apply -d envs/api`");
  });
});
