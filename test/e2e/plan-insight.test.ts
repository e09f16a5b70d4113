/**
 * Plan insight end to end (real server, git, terraform, PostgreSQL state): a plan that replaces
 * and destroys resources says why each replacement happens and which attribute forces it, opens
 * with a red line for stateful resources (a type the operator configured), and annotates the
 * `.tf` lines that declare each one — more than GitHub's 50 per request, sent in batches.
 */
import path from "node:path";
import Database from "better-sqlite3";
import type { PullRecord } from "../fake-github/state.js";
import { OWNER, REPO, appComments, completedRun, expectCleanGitHub, startE2eEnv, stateAddresses, type E2eEnv } from "./e2e-env.js";

const backend = `terraform {\n  backend "pg" {\n    schema_name = "insight"\n  }\n}\n`;
const root = (v: string, gone: boolean) =>
  [
    backend,
    `resource "terraform_data" "db" {\n  triggers_replace = "${v}"\n}\n`,
    `resource "terraform_data" "many" {\n  count            = 60\n  triggers_replace = "${v}-\${count.index}"\n}\n`,
    `module "inner" {\n  source = "./modules/inner"\n  v      = "${v}"\n}\n`,
    gone ? `resource "terraform_data" "gone" {\n  input = "g"\n}\n` : "",
  ].join("\n");
const inner = `variable "v" {}\n\nresource "terraform_data" "cache" {\n  triggers_replace = var.v\n}\n`;

describe("plan insight", () => {
  let env: E2eEnv;
  beforeAll(async () => {
    env = await startE2eEnv({ env: { ATOLL_STATEFUL_TYPES: "terraform_data", ATOLL_LOCK_SWEEP_INTERVAL: "1h", ATOLL_APPLY_REQUIREMENTS: "approved", ATOLL_PLAN_LABELS: "true" } });
    env.github.setPermission(OWNER, REPO, "bob", "write");
    await env.repo.commit("main", { "README.md": "infra" }, "initial");
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
  }, 60_000);
  afterEach(() => expectCleanGitHub(env));

  async function applied(pull: PullRecord) {
    await env.atoll.send(await env.review(pull, "carol", "approved"));
    await env.atoll.send(env.comment(pull, "bob", "atoll apply"));
    await env.github.waitFor(() => appComments(env, pull.number).find((c) => /Apply complete!/.test(c.body)), { what: "apply", timeoutMs: 120_000 });
  }

  test("replacements with reasons and forcing attributes by module, the stateful red line, and annotations on each declaration", async () => {
    // Create the resources first (a PR that applies them).
    await env.repo.commit("create", { "stack/main.tf": root("v1", true), "stack/modules/inner/main.tf": inner }, "create", { from: "main" });
    const first = await env.github.createPull(OWNER, REPO, { number: 1, head: "create", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(first, "opened"));
    await completedRun(env, first.headSha, "atoll/plan: stack", 120_000);
    await applied(first);
    await env.github.mergePull(OWNER, REPO, 1);
    await env.atoll.send(env.pullEvent(env.github.pull(OWNER, REPO, 1), "closed"));

    await env.repo.commit("change", { "stack/main.tf": root("v2", false) }, "replace everything, drop one", { from: "main" });
    const pr = await env.github.createPull(OWNER, REPO, { number: 2, head: "change", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pr, "opened"));
    const run = await completedRun(env, pr.headSha, "atoll/plan: stack", 120_000);
    const summary = run.output.summary ?? "";
    expect(summary.startsWith("> [!CAUTION]\n> **Stateful resources at risk.** This plan destroys 1 and replaces 62 resources that hold data")).toBe(true);
    expect(summary).toContain("> - `terraform_data.db` (`terraform_data`) will be **replaced**");
    expect(summary).toContain("> In the root module:\n> - `terraform_data.db` — cannot update in place, forced by `triggers_replace`");
    expect(summary).toContain("> - … and 36 more in this module");
    expect(summary).toContain("> In `module.inner`:\n> - `module.inner.terraform_data.cache` — cannot update in place, forced by `triggers_replace`");

    // 62 annotations (more than GitHub's 50 per request), all failure level (stateful), on the
    // lines that declare each resource.
    // The batch after the first 50 follows in an update (paced like every write).
    const annotations = await env.github.waitFor(() => (run.annotations.length >= 62 ? run.annotations : undefined), { what: "62 annotations" }) as { path: string; start_line: number; end_line: number; annotation_level: string; title: string; message: string }[];
    expect(annotations).toHaveLength(62);
    expect(run.history.filter((h) => Array.isArray((h.body as { output?: { annotations?: unknown[] } }).output?.annotations)).map((h) => (h.body as { output: { annotations: unknown[] } }).output.annotations.length)).toEqual([50, 12]);
    expect(new Set(annotations.map((a) => a.annotation_level))).toEqual(new Set(["failure"]));
    const byTitle = new Map(annotations.map((a) => [a.title, a]));
    expect(byTitle.get("Stateful resource replaced: terraform_data.db")).toMatchObject({ path: "stack/main.tf", start_line: 7, end_line: 9, annotation_level: "failure" });
    expect(byTitle.get("Stateful resource replaced: terraform_data.db")!.message).toContain("Reason: cannot update in place. Forced by: triggers_replace.");
    expect(byTitle.get("Stateful resource replaced: module.inner.terraform_data.cache")).toMatchObject({ path: "stack/modules/inner/main.tf", start_line: 3, end_line: 5 });
    expect(byTitle.get("Stateful resource replaced: terraform_data.many[59]")).toMatchObject({ path: "stack/main.tf", start_line: 11, end_line: 14 });
    // A resource destroyed because its block was deleted has no line in the head commit (which
    // annotations point at): it is in the summary, not annotated.
    expect(summary).toContain("`terraform_data.gone`");
    expect(annotations.filter((a) => a.title.includes("terraform_data.gone"))).toHaveLength(0);

    // The optional label says it too (and the earlier PR, which only created, has none).
    await env.github.waitFor(() => (env.github.labels(OWNER, REPO, 2).length ? true : undefined), { what: "the destroy label" });
    expect(env.github.labels(OWNER, REPO, 2)).toEqual(["atoll/destroy"]);
    expect(env.github.labels(OWNER, REPO, 1)).toEqual([]);

    // The comment says the same.
    const comment = appComments(env, 2).find((c) => /Ran Plan/.test(c.body))!;
    expect(comment.body).toContain("**Stateful resources at risk.**");
    expect(comment.body).toContain("`module.inner.terraform_data.cache` will be **replaced** — cannot update in place, forced by `triggers_replace`");
  }, 300_000);

  test("approvals are bound to the plan: a push planning the same change keeps the approval; a changed plan needs a new one", async () => {
    const tf = (v: string, note: string) => `${backend}\n# ${note}\nresource "terraform_data" "app" {\n  input = "${v}"\n}\n`;
    await env.repo.commit("app-base", { "app/main.tf": tf("a", "first") }, "app", { from: "main" });
    const setup = await env.github.createPull(OWNER, REPO, { number: 3, head: "app-base", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(setup, "opened"));
    await completedRun(env, setup.headSha, "atoll/plan: app", 120_000);
    await applied(setup);
    await env.github.mergePull(OWNER, REPO, 3);
    await env.atoll.send(env.pullEvent(env.github.pull(OWNER, REPO, 3), "closed"));

    // #4 changes app; carol approves its plan.
    await env.repo.commit("app-change", { "app/main.tf": tf("b", "first") }, "change app", { from: "main" });
    let pr = await env.github.createPull(OWNER, REPO, { number: 4, head: "app-change", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pr, "opened"));
    const planned = await completedRun(env, pr.headSha, "atoll/plan: app", 120_000);
    // Why it ran: the changed file that put the project in the plan.
    expect(planned.output.summary).toContain("**Why it ran:** `app/main.tf` changed and is in this directory; planned automatically.");
    const digest = /Plan digest: `([0-9a-f]{16})`/.exec(planned.output.summary ?? "")?.[1];
    expect(digest).toMatch(/^[0-9a-f]{16}$/);
    const approvedAt = pr.headSha;
    await env.atoll.send(await env.review(pr, "carol", "approved"));

    // A push that plans the same change (only a comment differs): same digest, the approval holds.
    await env.repo.commit("app-change", { "app/main.tf": tf("b", "second, same change") }, "reword a comment");
    pr = await env.github.syncPull(OWNER, REPO, 4);
    await env.atoll.send(env.pullEvent(pr, "synchronize"));
    const same = await completedRun(env, pr.headSha, "atoll/plan: app", 120_000);
    expect(same.output.summary).toContain(`Plan digest: \`${digest}\``);
    expect(same.output.summary).toContain(`Plan unchanged since approval by @carol (at ${approvedAt.slice(0, 7)}).`);
    expect(same.output.summary).toContain("✅ `approved`");
    expect(same.output.summary).toContain(`**Since the last push** (plan at ${approvedAt.slice(0, 7)}): the same resources, with the same actions.`);

    // A push that changes the plan: carol's approval no longer covers it, and apply is refused.
    await env.repo.commit("app-change", { "app/main.tf": tf("c", "second, same change") }, "change it again");
    pr = await env.github.syncPull(OWNER, REPO, 4);
    await env.atoll.send(env.pullEvent(pr, "synchronize"));
    const changed = await completedRun(env, pr.headSha, "atoll/plan: app", 120_000);
    expect(changed.output.summary).not.toContain(`Plan digest: \`${digest}\``);
    expect(changed.output.summary).toContain(`The plan changed after @carol at ${approvedAt.slice(0, 7)} approved: that approval does not cover this plan.`);
    expect(changed.output.summary).toContain("❌ `approved`");
    const before = appComments(env, 4).length;
    await env.atoll.send(env.comment(pr, "bob", "atoll apply"));
    const refused = await env.github.waitFor(() => appComments(env, 4).slice(before).find((c) => /Apply requirements not met|not met/.test(c.body)), { what: "apply refusal" });
    expect(refused.body).toContain("the plan changed after @carol approved it, so that approval does not cover this plan: approve again");

    // A new approval of this plan: apply goes ahead.
    await env.atoll.send(await env.review(pr, "carol", "approved"));
    await env.atoll.send(env.comment(pr, "bob", "atoll apply"));
    await env.github.waitFor(() => appComments(env, 4).find((c) => /Apply complete!/.test(c.body)), { what: "apply after the new approval", timeoutMs: 120_000 });

    // Less noise: each new plan hid the earlier plan comments as outdated; other comments stay.
    const plans = () => appComments(env, 4).filter((c) => /^Ran Plan/.test(c.body));
    await env.github.waitFor(() => (plans().filter((c) => c.minimized).length === 2 ? true : undefined), { what: "two hidden plan comments" });
    expect(plans().map((c) => c.minimized?.reason ?? "shown")).toEqual(["outdated", "outdated", "shown"]);
    expect(appComments(env, 4).filter((c) => !/^Ran Plan/.test(c.body)).every((c) => c.minimized === undefined)).toBe(true);
  }, 300_000);

  test("a push that changes none of a project's inputs keeps its plan (carried, not planned again); apply applies it", async () => {
    const tf = (schema: string, v: string) => `terraform {\n  backend "pg" {\n    schema_name = "${schema}"\n  }\n}\n\nresource "terraform_data" "x" {\n  input = "${v}"\n}\n`;
    await env.repo.commit("two", { "one/main.tf": tf("one", "a"), "two/main.tf": tf("two", "a") }, "two projects", { from: "main" });
    let pr = await env.github.createPull(OWNER, REPO, { number: 5, head: "two", base: "main", author: "alice" });
    await env.atoll.send(env.pullEvent(pr, "opened"));
    const firstSha = pr.headSha;
    for (const name of ["atoll/plan: one", "atoll/plan: two", "atoll/plan"]) await completedRun(env, firstSha, name, 120_000);
    // Two new pg-backend states initialised at once can race in terraform's pg backend: a project
    // whose first plan failed that way is planned again, so both have a plan to compare with.
    for (const dir of ["one", "two"]) {
      const first = await completedRun(env, firstSha, `atoll/plan: ${dir}`, 120_000);
      if (first.conclusion === "success") continue;
      console.log(`first plan of ${dir} failed, planning again:\n${first.output.text ?? first.output.summary}`);
      await env.atoll.send(env.comment(pr, "alice", `atoll plan -d ${dir}`));
      await env.github.waitFor(() => {
        const r = env.github.checkRuns(OWNER, REPO, { headSha: firstSha, name: `atoll/plan: ${dir}` }).at(-1);
        return r && r.id !== first.id && r.status === "completed" ? r : undefined;
      }, { what: `a new plan of ${dir}`, timeoutMs: 120_000 });
    }

    // Only `two` changes: `one` is carried to the new commit.
    await env.repo.commit("two", { "two/main.tf": tf("two", "b") }, "change two");
    pr = await env.github.syncPull(OWNER, REPO, 5);
    expect(pr.headSha).not.toBe(firstSha);
    await env.atoll.send(env.pullEvent(pr, "synchronize"));
    const one = await completedRun(env, pr.headSha, "atoll/plan: one", 120_000);
    const two = await completedRun(env, pr.headSha, "atoll/plan: two", 120_000);
    if (!one.output.summary?.includes("Carried from")) console.log(env.atoll.logs().filter((l) => /plan inputs|projects chosen/.test(l)).join("\n"));
    expect(one.output.summary).toContain(`**Carried from ${firstSha.slice(0, 7)}:** none of this project's inputs changed`);
    expect(one.actions.map((a) => a.identifier)).toContain("apply");
    expect(two.output.summary).not.toContain("Carried from");
    expect(two.output.summary).toContain("**Since the last push**");
    const oldRun = env.github.checkRuns(OWNER, REPO, { headSha: firstSha, name: "atoll/plan: one" }).at(-1)!;
    await env.github.waitFor(() => (oldRun.output.title?.startsWith("Carried to") ? true : undefined), { what: "the old run says carried" });
    const row = env.query<{ pull_number: number; carried_from: string | null; head_sha: string }>("SELECT pull_number, carried_from, head_sha FROM project_states WHERE pull_number = 5 AND project_dir = 'one'");
    expect(row).toEqual([{ pull_number: 5, carried_from: firstSha, head_sha: pr.headSha }]);

    // Apply checks the carried plan's inputs again: a fingerprint that no longer matches is refused.
    const db = new Database(path.join(env.dataDir, "atoll.db"));
    const where = "pull_number = 5 AND project_dir = 'one'";
    const real = db.prepare(`SELECT fingerprint FROM project_states WHERE ${where}`).pluck().get() as string;
    db.prepare(`UPDATE project_states SET fingerprint = 'tampered' WHERE ${where}`).run();
    await env.atoll.send(await env.review(pr, "carol", "approved"));
    const before = appComments(env, 5).length;
    await env.atoll.send(env.comment(pr, "bob", "atoll apply -d one"));
    const refused = await env.github.waitFor(() => appComments(env, 5).slice(before).find((c) => /carried from/.test(c.body)), { what: "refused carried apply" });
    expect(refused.body).toContain(`was carried from ${firstSha.slice(0, 7)}, but its inputs differ in this checkout, so it was not applied`);
    db.prepare(`UPDATE project_states SET fingerprint = ? WHERE ${where}`).run(real);
    db.close();

    // Applying uses the carried plan file (its digest checked) for `one` and the new plan for `two`.
    await applied(pr);
    expect(await stateAddresses(env, "one")).toEqual(["terraform_data.x"]);
    expect(await stateAddresses(env, "two")).toEqual(["terraform_data.x"]);
    const state = await env.pg.psql("SELECT data FROM two.states WHERE name = 'default'", "tfstate");
    expect(state).toContain('"b"');
  }, 300_000);
});
