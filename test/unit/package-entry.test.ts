/** The package entry exports the config loader as documented: `import { loadRepoConfig } from "atoll"`. */
import { loadRepoConfig, parseServerPolicy } from "../../src/index.js";

describe("package entry", () => {
  test("loadRepoConfig: ok with the resolved config", () => {
    const result = loadRepoConfig("version: 3\nprojects:\n- dir: network\n  workspace: prod\n");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.projects.map((p) => [p.dir, p.workspace])).toEqual([["network", "prod"]]);
    expect(result.warnings).toEqual([]);
  });

  test("loadRepoConfig: every error with message, path and line", () => {
    const result = loadRepoConfig("version: 3\nprojects:\n- dir: a\n  workflow: custom\n  colour: blue\n", { fileName: "atoll.yaml" });
    expect(result).toEqual({
      ok: false,
      errors: [
        {
          file: "atoll.yaml",
          path: "projects[0].workflow",
          line: 4,
          message: "repo config not allowed to set 'workflow' key: server-side config needs 'allowed_overrides: [workflow]'",
        },
        { file: "atoll.yaml", path: "projects[0].colour", line: 5, message: expect.stringContaining("unknown key in a project") },
      ],
    });
  });

  test("loadRepoConfig with a server policy that allows the override", () => {
    const policy = parseServerPolicy("repos:\n- id: /.*/\n  allowed_overrides: [workflow]\nworkflows:\n  custom: {}\n", "policy.yaml");
    if (!policy.ok) throw new Error(JSON.stringify(policy.errors));
    const result = loadRepoConfig("version: 3\nprojects:\n- dir: a\n  workflow: custom\n", { policy: policy.policy, repo: { owner: "acme", name: "infra" } });
    expect(result.ok).toBe(true);
  });
});
