/**
 * The PostgreSQL helper starts a real server that Terraform's `pg` backend can use; these tests
 * prove both halves (the server works, and terraform stores state in it) so end-to-end failures
 * can be blamed on the app rather than on the harness.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { startPostgres, type PostgresServer } from "../helpers/postgres.js";

let pg: PostgresServer | undefined;
const tempDirs: string[] = [];

beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
}, 60_000);

function server(): PostgresServer {
  if (!pg) throw new Error("postgres did not start");
  return pg;
}

test("creates a database and runs queries in it", async () => {
  const s = server();
  await s.createDatabase("helper_check");
  await s.psql("CREATE TABLE t (id int primary key, name text); INSERT INTO t VALUES (1, 'one'), (2, 'two');", "helper_check");
  expect(await s.psql("SELECT id, name FROM t ORDER BY id", "helper_check")).toBe("1|one\n2|two");
  expect(await s.psql("SELECT current_database()", "helper_check")).toBe("helper_check");
  expect(s.connString("helper_check")).toBe(`postgres://postgres@127.0.0.1:${s.port}/helper_check?sslmode=disable`);
});

test("reports SQL errors instead of swallowing them", async () => {
  await expect(server().psql("SELECT * FROM no_such_table")).rejects.toThrow(/no_such_table/);
});

test("refuses database names that would need quoting", async () => {
  await expect(server().createDatabase('x"; DROP DATABASE postgres; --')).rejects.toThrow(/unsupported name/);
});

test("terraform's pg backend stores state in it", async () => {
  const s = server();
  await s.createDatabase("tfstate");
  const dir = await mkdtemp(join(tmpdir(), "pg-backend-"));
  tempDirs.push(dir);
  await writeFile(
    join(dir, "main.tf"),
    ['terraform {', '  backend "pg" {}', '}', '', 'resource "terraform_data" "marker" {', '  input = "hello from the pg backend"', '}', ''].join("\n"),
  );
  await writeFile(join(dir, "terraformrc"), "");
  const env = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: dir,
    TF_IN_AUTOMATION: "1",
    TF_CLI_CONFIG_FILE: join(dir, "terraformrc"),
    CHECKPOINT_DISABLE: "1",
  };
  const tf = (args: string[]) => execa("terraform", args, { cwd: dir, env, extendEnv: false, all: true, reject: false });

  const init = await tf(["init", "-input=false", "-no-color", `-backend-config=conn_str=${s.connString("tfstate")}`]);
  expect({ exit: init.exitCode, out: init.exitCode === 0 ? "" : init.all }).toEqual({ exit: 0, out: "" });
  const apply = await tf(["apply", "-auto-approve", "-input=false", "-no-color"]);
  expect({ exit: apply.exitCode, out: apply.exitCode === 0 ? "" : apply.all }).toEqual({ exit: 0, out: "" });

  const rows = await s.psql("SELECT name FROM terraform_remote_state.states", "tfstate");
  expect(rows).toBe("default");
  const state = JSON.parse(await s.psql("SELECT data FROM terraform_remote_state.states WHERE name = 'default'", "tfstate")) as {
    resources: Array<{ type: string; name: string; instances: Array<{ attributes: { input: { value: string } } }> }>;
  };
  expect(state.resources.map((r) => [r.type, r.name, r.instances[0].attributes.input.value])).toEqual([
    ["terraform_data", "marker", "hello from the pg backend"],
  ]);
}, 120_000);
