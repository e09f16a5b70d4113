import { escapeCommentArgs, workflowEnv, type WorkflowEnvInput } from "../../src/runner/workflow/workflow-env.js";

const input: WorkflowEnvInput = {
  projectName: "web",
  projectDir: "stacks/web",
  absoluteDir: "/data/checkouts/acme/infra/7/abc/stacks/web",
  workspace: "staging",
  repoOwner: "acme",
  repoName: "infra",
  headRepoOwner: "fork-owner",
  headRepoName: "infra-fork",
  headBranch: "feature/x",
  baseBranch: "main",
  headCommit: "0123456789abcdef0123456789abcdef01234567",
  pullNumber: 7,
  pullUrl: "https://github.com/acme/infra/pull/7",
  pullAuthor: "alice",
  user: "bob",
  commentArgs: ["-target=aws_s3_bucket.a", "-lock=false"],
  terraformVersion: "1.11.4",
  planFile: "/data/artifacts/0123.tfplan",
  showFile: "/data/artifacts/0123.json",
};

describe("workflowEnv", () => {
  test("every Atlantis variable", () => {
    expect(workflowEnv({ ...input, approved: true, mergeable: false })).toEqual({
      WORKSPACE: "staging",
      ATLANTIS_TERRAFORM_VERSION: "1.11.4",
      DIR: "/data/checkouts/acme/infra/7/abc/stacks/web",
      PLANFILE: "/data/artifacts/0123.tfplan",
      SHOWFILE: "/data/artifacts/0123.json",
      POLICYCHECKFILE: "/data/artifacts/0123-policyout.json",
      BASE_REPO_NAME: "infra",
      BASE_REPO_OWNER: "acme",
      HEAD_REPO_NAME: "infra-fork",
      HEAD_REPO_OWNER: "fork-owner",
      HEAD_BRANCH_NAME: "feature/x",
      HEAD_COMMIT: "0123456789abcdef0123456789abcdef01234567",
      BASE_BRANCH_NAME: "main",
      PROJECT_NAME: "web",
      PULL_NUM: "7",
      PULL_URL: "https://github.com/acme/infra/pull/7",
      PULL_AUTHOR: "alice",
      REPO_REL_DIR: "stacks/web",
      USER_NAME: "bob",
      COMMENT_ARGS: "\\-\\t\\a\\r\\g\\e\\t\\=\\a\\w\\s\\_\\s\\3\\_\\b\\u\\c\\k\\e\\t\\.\\a,\\-\\l\\o\\c\\k\\=\\f\\a\\l\\s\\e",
      ATLANTIS_PR_APPROVED: "true",
      ATLANTIS_PR_MERGEABLE: "false",
    });
  });

  test("unknown facts are left out, not guessed", () => {
    const env = workflowEnv({ ...input, terraformVersion: undefined, commentArgs: [], projectName: "" });
    expect(env).not.toHaveProperty("ATLANTIS_TERRAFORM_VERSION");
    expect(env).not.toHaveProperty("ATLANTIS_PR_APPROVED");
    expect(env).not.toHaveProperty("ATLANTIS_PR_MERGEABLE");
    expect(env.COMMENT_ARGS).toBe("");
    expect(env.PROJECT_NAME).toBe("");
  });

  test("an explicit policy check file wins; a plan file without .tfplan gets a suffix", () => {
    expect(workflowEnv({ ...input, policyCheckFile: "/x/p.json" }).POLICYCHECKFILE).toBe("/x/p.json");
    expect(workflowEnv({ ...input, planFile: "/x/plan" }).POLICYCHECKFILE).toBe("/x/plan-policyout.json");
  });
});

describe("escapeCommentArgs", () => {
  test("backslash before every character, commas between args", () => {
    expect(escapeCommentArgs(["-var", "a=b c"])).toBe("\\-\\v\\a\\r,\\a\\=\\b\\ \\c");
    expect(escapeCommentArgs([])).toBe("");
    expect(escapeCommentArgs([""])).toBe("");
  });

  test("a shell that reads the value gets the literal characters back", async () => {
    const { execa } = await import("execa");
    const args = ["-var=x=$(touch /tmp/pwned) `id` 'q' \"d\";", "é"];
    // As a workflow would use it: unquoted in `sh -c`, split on the commas.
    const r = await execa("sh", ["-c", 'IFS=,; for a in $(printf %s "$COMMENT_ARGS"); do eval "printf \'%s\\n\' $a"; done'], {
      env: { COMMENT_ARGS: escapeCommentArgs(args), PATH: process.env.PATH },
      extendEnv: false,
    });
    expect(r.stdout.split("\n")).toEqual(args);
  });
});
