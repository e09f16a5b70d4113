import { decodeExternalId, encodeExternalId, projectCheckName } from "../../src/runner/reporting/check-names.js";

describe("check names and external ids", () => {
  test("project check names", () => {
    expect(projectCheckName("plan", { name: "", dir: "week2", workspace: "default" })).toBe("atoll/plan: week2");
    expect(projectCheckName("apply", { name: "", dir: "net", workspace: "prod" })).toBe("atoll/apply: net (workspace prod)");
    expect(projectCheckName("plan", { name: "core", dir: "a", workspace: "b" })).toBe("atoll/plan: core");
    expect(projectCheckName("plan", { name: "x".repeat(500), dir: ".", workspace: "default" }).length).toBeLessThanOrEqual(200);
  });

  test.each([
    { pullNumber: 7, kind: "plan" as const },
    { pullNumber: 7, kind: "apply" as const, project: { name: "", dir: "a b/c", workspace: "default" } },
    { pullNumber: 123456, kind: "plan" as const, project: { name: "n\"q", dir: ".", workspace: "w" } },
  ])("round trip %j", (ref) => {
    expect(decodeExternalId(encodeExternalId(ref))).toEqual(ref);
  });

  test.each([undefined, null, "", "build-42", "{}", "[1]", '{"atoll":1,"pr":0,"k":"plan"}', '{"atoll":1,"pr":2,"k":"destroy"}', '{"atoll":2,"pr":2,"k":"plan"}', '{"atoll":1,"pr":2,"k":"plan","d":"x"}'])(
    "rejects %j",
    (v) => expect(decodeExternalId(v)).toBeNull(),
  );
});
