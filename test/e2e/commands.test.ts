/**
 * Every Atlantis command end to end (real server, git, terraform, PostgreSQL state): `import` then
 * a re-plan without changes, `state rm` then a re-plan that creates, `cancel` of a queued command
 * and of a running plan's later execution-order group, `-d` globs and `-d /x`, `destroy` with its
 * guarded apply, and the local-state warning and refusal.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { PullRecord } from "../fake-github/state.js";
import {
  Gate,
  OWNER,
  REPO,
  appComments,
  completedRun,
  expectCleanGitHub,
  latestRun,
  pgTf,
  startE2eEnv,
  stateAddresses,
  waitComment,
  type E2eEnv,
} from "./e2e-env.js";

const CONFIG = `version: 3
projects:
  - {name: imp, dir: imp}
  - {name: srm, dir: srm}
  - {name: des, dir: des}
  - {name: g1, dir: stacks/one}
  - {name: g2, dir: stacks/two}
  - {name: other, dir: other}
  - {name: c1, dir: cancel/one, execution_order_group: 1}
  - {name: c2, dir: cancel/two, execution_order_group: 2}
  - {name: loc, dir: loc}
  - {name: impreq, dir: impreq, import_requirements: [approved]}
`;

const noBackend = (resources: string[]) => resources.map((r) => `resource "terraform_data" "${r}" {\n  input = "${r}"\n}\n`).join("\n");

describe("every command", () => {
  let env: E2eEnv;
  let gate: Gate;
  beforeAll(async () => {
    gate = await Gate.create();
    // Per-project import_requirements are an override the operator must allow (as in Atlantis).
    const policyFile = path.join(gate.file, "..", "policy.yaml");
    await fs.writeFile(policyFile, "repos:\n  - id: acme/infra\n    allowed_overrides: [import_requirements]\n");
    env = await startE2eEnv({ env: { ATOLL_ALLOW_COMMANDS: "all", ATOLL_POLICY_FILE: policyFile, ...gate.env("plan") } });
    await env.repo.commit(
      "main",
      {
        "atoll.yaml": CONFIG,
        "imp/main.tf": pgTf("imp", []),
        "srm/main.tf": pgTf("srm", []),
        "des/main.tf": pgTf("des", []),
        "stacks/one/main.tf": pgTf("gone", []),
        "stacks/two/main.tf": pgTf("gtwo", []),
        "other/main.tf": pgTf("other", []),
        "cancel/one/main.tf": pgTf("cone", []),
        "cancel/two/main.tf": pgTf("ctwo", []),
        "loc/main.tf": noBackend(["x"]),
        "impreq/main.tf": pgTf("impreq", []),
      },
      "initial",
    );
    env.github.setPermission(OWNER, REPO, "bob", "write");
  }, 120_000);
  afterAll(async () => {
    await gate?.open();
    await env?.stop();
    await gate?.remove();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  async function openPull(number: number, files: Record<string, string>): Promise<PullRecord> {
    const branch = `pr-${number}`;
    await env.repo.commit(branch, files, `change ${number}`, { from: "main" });
    const pull = await env.github.createPull(OWNER, REPO, { number, head: branch, base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pull, "opened"));
    return pull;
  }

  /** Comment as bob and wait for Atoll's reply matching `re`. */
  async function say(pr: PullRecord, body: string, re: RegExp, what: string): Promise<string> {
    const before = appComments(env, pr.number).length;
    await env.atoll.send(env.comment(pr, "bob", body));
    return (await waitComment(env, pr.number, re, what, before)).body;
  }

  test("import ADDRESS ID, then a re-plan shows no change", async () => {
    // An existing object, declared in the PR: the plan would create it.
    const pr = await openPull(1, { "imp/main.tf": `${pgTf("imp", [])}\nresource "terraform_data" "imported" {}\n` });
    expect((await completedRun(env, pr.headSha, "atoll/plan: imp")).output.title).toContain("1 to add");

    const reply = await say(pr, "atlantis import -p imp terraform_data.imported an-id", /Ran Import/, "import reply");
    expect(reply).toContain("Import successful!");
    expect(reply).toMatch(/plan of this project was discarded.*`atlantis plan -p imp`/s);
    expect(await stateAddresses(env, "imp")).toEqual(["terraform_data.imported"]);
    // The plan made before the import is gone: applying it is refused.
    expect(await say(pr, "atoll apply -p imp", /Nothing applied|no plan/i, "apply after import")).toMatch(/no plan for project `imp`/i);

    const plan = await say(pr, "atoll plan -p imp", /Ran Plan/, "re-plan after import");
    expect(plan).toContain("No changes. Your infrastructure matches the configuration.");
  }, 180_000);

  test("import needs write access and the project's import_requirements", async () => {
    const pr = await openPull(7, { "impreq/main.tf": `${pgTf("impreq", [])}\nresource "terraform_data" "imported" {}\n` });
    await completedRun(env, pr.headSha, "atoll/plan: impreq");
    const before = appComments(env, 7).length;
    await env.atoll.send(env.comment(pr, "alice", "atoll import -p impreq terraform_data.imported an-id"));
    const noWrite = await waitComment(env, 7, /import refused/, "import without write access", before);
    expect(noWrite.body).toContain("@alice does not have write access");

    const unmet = await say(pr, "atoll import -p impreq terraform_data.imported an-id", /Ran Import/, "import with requirements unmet");
    expect(unmet).toContain("Import requirements not met for impreq");
    expect(unmet).toContain("approved");
    expect(await stateAddresses(env, "impreq")).toEqual([]);

    await env.atoll.send(await env.review(pr, "carol", "approved"));
    const done = await say(pr, "atoll import -p impreq terraform_data.imported an-id", /Ran Import/, "import once approved");
    expect(done).toContain("Import successful!");
    expect(await stateAddresses(env, "impreq")).toEqual(["terraform_data.imported"]);
  }, 180_000);

  test("state rm ADDRESS, then a re-plan shows a create", async () => {
    const pr = await openPull(2, { "srm/main.tf": pgTf("srm", ["a"]) });
    await completedRun(env, pr.headSha, "atoll/plan: srm");
    await say(pr, "atoll apply -p srm", /Apply complete!/, "apply srm");
    expect(await stateAddresses(env, "srm")).toEqual(["terraform_data.a"]);

    const reply = await say(pr, "atlantis state rm -p srm 'terraform_data.a'", /Ran State rm/, "state rm reply");
    expect(reply).toContain("Successfully removed 1 resource instance(s).");
    expect(await stateAddresses(env, "srm")).toEqual([]);
    const plan = await say(pr, "atoll plan -p srm", /Ran Plan/, "re-plan after state rm");
    expect(plan).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
  }, 180_000);

  test("destroy: a red banner listing every resource, skipped by a bare apply, applied by name; the state is empty after", async () => {
    const pr = await openPull(3, { "des/main.tf": pgTf("des", ["a", "b"]) });
    await completedRun(env, pr.headSha, "atoll/plan: des");
    await say(pr, "atoll apply", /Apply complete!/, "apply des");
    expect(await stateAddresses(env, "des")).toEqual(["terraform_data.a", "terraform_data.b"]);

    const plan = await say(pr, "atoll destroy -p des", /Ran Plan/, "destroy plan");
    const banner = plan.split("\n\n")[1];
    expect(banner).toMatch(/^> \[!CAUTION\]\n> \*\*Destroy plan\.\*\* Applying it destroys 2 resources of this project:/);
    expect(banner).toContain("> - `terraform_data.a`");
    expect(banner).toContain("> - `terraform_data.b`");
    // The project's check run is written after the comment.
    const run = await env.github.waitFor(() => {
      const r = latestRun(env, pr.headSha, "atoll/plan: des");
      return r && /^Destroy plan/.test(r.output.title ?? "") ? r : undefined;
    }, { what: "the destroy plan's check run" });
    expect(run.output.title).toBe("Destroy plan: 2 to destroy.");
    expect(run.output.summary?.startsWith("> [!CAUTION]\n> **Destroy plan.** Applying it destroys 2 resources")).toBe(true);

    const skipped = await say(pr, "atoll apply", /Ran Apply/, "bare apply skips the destroy plan");
    expect(skipped).toMatch(/destroy plan.*only applied when named.*`atoll apply -p des`/is);
    expect(await stateAddresses(env, "des")).toEqual(["terraform_data.a", "terraform_data.b"]);

    const applied = await say(pr, "atoll apply -p des", /Ran Apply/, "named apply of the destroy plan");
    expect(applied).toContain("Apply complete! Resources: 0 added, 0 changed, 2 destroyed.");
    expect(await stateAddresses(env, "des")).toEqual([]);
  }, 180_000);

  test("-d globs match project dirs; -d /x is the repo's x", async () => {
    const pr = await openPull(4, { "stacks/one/main.tf": pgTf("gone", ["a"]), "stacks/two/main.tf": pgTf("gtwo", ["a"]), "other/main.tf": pgTf("other", ["a"]) });
    await completedRun(env, pr.headSha, "atoll/plan");
    const globbed = await say(pr, "atlantis plan -d 'stacks/*'", /Ran Plan/, "glob plan");
    expect(globbed).toMatch(/^Ran Plan for 2 projects:/);
    expect(globbed).toContain("project: `g1` dir: `stacks/one`");
    expect(globbed).toContain("project: `g2` dir: `stacks/two`");
    expect(globbed).not.toContain("dir: `other`");

    const slash = await say(pr, "atlantis plan -d /other", /Ran Plan/, "plan -d /other");
    expect(slash).toMatch(/^Ran Plan for project: `other` dir: `other`/);
    const none = await say(pr, "atoll plan -d 'nope/*'", /Cannot plan/, "glob matching nothing");
    expect(none).toContain('no configured project matches -d "nope/*"');
  }, 180_000);

  test("cancel drops queued commands and the running plan's later groups; running terraform finishes", async () => {
    await gate.close();
    const pr = await openPull(5, { "cancel/one/main.tf": pgTf("cone", ["a"]), "cancel/two/main.tf": pgTf("ctwo", ["a"]) });
    await gate.heldPid(env); // c1's plan is running, held at the gate
    // Stored before the webhook is answered: queued behind the running plan once `send` returns.
    await env.atoll.send(env.comment(pr, "bob", "atoll version"));

    const reply = await say(pr, "atlantis cancel", /Cancelled|Nothing to cancel/, "cancel reply");
    expect(reply).toMatch(/\*\*Cancelled\*\* by @bob/);
    expect(reply).toContain("`version`");
    expect(reply).toMatch(/running `autoplan`.*stops before its next execution-order group/s);

    await gate.open();
    const comment = await waitComment(env, 5, /Ran Plan/, "the plan's comment");
    expect(comment.body).toContain("Plan: 1 to add");
    expect(comment.body).toMatch(/cancelled by @bob/i);
    const c2 = await completedRun(env, pr.headSha, "atoll/plan: c2");
    expect(c2.conclusion).toBe("cancelled");
    expect((await completedRun(env, pr.headSha, "atoll/plan: c1")).conclusion).toBe("success");
    // The cancelled `version` never ran.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(appComments(env, 5).some((c) => /Ran Version/.test(c.body))).toBe(false);
  }, 180_000);

  test("local state: the plan warns, the apply is refused with the reason and the fix", async () => {
    const pr = await openPull(6, { "loc/main.tf": noBackend(["x", "y"]) });
    const run = await completedRun(env, pr.headSha, "atoll/plan: loc");
    expect(run.output.summary).toContain("**Local state.**");
    const plan = appComments(env, 6).find((c) => /Ran Plan/.test(c.body))!;
    expect(plan.body).toContain("> **Local state.** This project configures no backend");
    const refusal = await say(pr, "atoll apply -p loc", /Ran Apply/, "local-state apply");
    expect(refusal).toMatch(/state.*would be lost/i);
    expect(refusal).toContain("ATOLL_ALLOW_LOCAL_STATE=true");
    expect(refusal).toContain('backend "pg"');
    expect(refusal).not.toContain("Apply complete!");
  }, 180_000);
});
