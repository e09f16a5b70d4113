import { projectFlags, projectKey, projectLabel } from "../../src/projects/project.js";

describe("project helpers", () => {
  test.each([
    [{ name: "core", dir: "a", workspace: "w" }, "-p core"],
    [{ name: "", dir: ".", workspace: "default" }, "-d ."],
    [{ name: "", dir: ".", workspace: "staging" }, "-w staging"],
    [{ name: "", dir: "week2", workspace: "default" }, "-d week2"],
    [{ name: "", dir: "net", workspace: "prod" }, "-d net -w prod"],
    [{ name: "", dir: "my dir", workspace: "default" }, '-d "my dir"'],
    [{ name: "my proj", dir: ".", workspace: "default" }, '-p "my proj"'],
  ])("flags of %j: %s", (p, flags) => expect(projectFlags(p)).toBe(flags));

  test("labels and keys", () => {
    expect(projectLabel({ name: "", dir: "week2", workspace: "default" })).toBe("week2");
    expect(projectLabel({ name: "", dir: "week2", workspace: "prod" })).toBe("week2 (workspace prod)");
    expect(projectKey({ name: "a", dir: "b", workspace: "c" })).not.toBe(projectKey({ name: "", dir: "b", workspace: "c" }));
  });
});
