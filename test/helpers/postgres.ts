/**
 * A throw-away PostgreSQL server for tests (Terraform's `pg` backend stores state and takes its
 * locks there, so locking and state handling are exercised for real).
 *
 * `initdb` refuses to run as root, and test containers usually are root, so in that case the
 * cluster is created and run as an unprivileged user (`postgres`, else `nobody`) via `runuser`,
 * in a temp dir chowned to that user. Clients connect over TCP on 127.0.0.1 with `trust` auth,
 * so `psql` itself can run as whoever we are. Durability is switched off (fsync etc.): the data
 * lives for one test file.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { chown, mkdtemp, rm, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { freePort } from "./atoll-process.js";

export interface PostgresServer {
  host: string;
  port: number;
  /** Database superuser (always "postgres"). */
  user: string;
  /** Temp directory holding the cluster, its socket and log (removed by `stop()`). */
  dir: string;
  /** `postgres://postgres@127.0.0.1:<port>/<db>?sslmode=disable` (db default "postgres"). */
  connString(db?: string): string;
  createDatabase(name: string): Promise<void>;
  /** Run SQL with psql (unaligned, tuples only: `a|b` per row) and return stdout. */
  psql(sql: string, db?: string): Promise<string>;
  stop(): Promise<void>;
}

const SUPERUSER = "postgres";

/** Directory of `initdb` (and, next to it, `pg_ctl`, `postgres`, `psql`). */
export function findPostgresBinDir(): string {
  for (const dir of (process.env.PATH ?? "").split(":").filter(Boolean)) {
    const p = join(dir, "initdb");
    if (existsSync(p)) return dirname(realpathSync(p));
  }
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  }
  throw new Error(
    "PostgreSQL server binaries not found (no `initdb` on PATH or in /usr/lib/postgresql/*/bin). " +
      "Install PostgreSQL (e.g. `apt-get install -y postgresql`; scripts/test.sh does this) to run these tests.",
  );
}

/** Environment without libpq variables that would redirect psql/terraform elsewhere. */
function cleanEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PG")) out[k] = v;
  return out;
}

async function idOf(user: string): Promise<{ uid: number; gid: number } | null> {
  try {
    const uid = Number((await execa("id", ["-u", user])).stdout.trim());
    const gid = Number((await execa("id", ["-g", user])).stdout.trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

const running = new Map<string, { pid: number | null; dir: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // If the test process dies without calling stop(): SIGQUIT is PostgreSQL's immediate shutdown.
  process.on("exit", () => {
    for (const { pid, dir } of running.values()) {
      if (pid) {
        try {
          process.kill(pid, "SIGQUIT");
        } catch {
          // already gone
        }
      }
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  const binDir = findPostgresBinDir();
  const bin = (name: string) => join(binDir, name);
  const psqlBin = existsSync(bin("psql")) ? bin("psql") : "psql";

  let runAs: { user: string; uid: number; gid: number } | null = null;
  if (process.getuid?.() === 0) {
    for (const user of ["postgres", "nobody"]) {
      const ids = await idOf(user);
      if (ids) {
        runAs = { user, ...ids };
        break;
      }
    }
    if (!runAs) throw new Error("running as root but neither a `postgres` nor a `nobody` user exists to run initdb as");
  }

  const dir = await mkdtemp(join(tmpdir(), "atoll-pg-"));
  if (runAs) await chown(dir, runAs.uid, runAs.gid);
  const dataDir = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  const env = { ...cleanEnv(), HOME: dir, LC_ALL: "C" };
  /** Run a server binary, as the unprivileged user when we are root. */
  const asServerUser = (cmd: string, args: string[]) =>
    runAs
      ? execa("runuser", ["-u", runAs.user, "--", cmd, ...args], { cwd: dir, env, extendEnv: false, reject: false, all: true })
      : execa(cmd, args, { cwd: dir, env, extendEnv: false, reject: false, all: true });

  let port = 0;
  let started = false;
  try {
    const init = await asServerUser(bin("initdb"), [
      "-D",
      dataDir,
      "--auth=trust",
      `--username=${SUPERUSER}`,
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    if (init.exitCode !== 0) throw new Error(`initdb failed (exit ${init.exitCode}):\n${init.all}`);
    // Appending as root keeps the file's owner.
    await appendFile(
      join(dataDir, "postgresql.conf"),
      [
        "",
        "# test settings",
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "shared_buffers = 16MB",
        "",
      ].join("\n"),
    );

    // Retry on a port clash between freePort() and the server's bind.
    let lastLog = "";
    for (let attempt = 0; attempt < 3 && !started; attempt++) {
      port = await freePort();
      const start = await asServerUser(bin("pg_ctl"), ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "-o", `-p ${port}`, "start"]);
      if (start.exitCode === 0) {
        started = true;
        break;
      }
      lastLog = `${start.all}\n${existsSync(logFile) ? readFileSync(logFile, "utf8") : ""}`;
      if (!/already in use|could not bind/i.test(lastLog)) break;
    }
    if (!started) throw new Error(`pg_ctl start failed:\n${lastLog}`);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  let pid: number | null = null;
  try {
    pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]) || null;
  } catch {
    pid = null;
  }
  installExitHook();
  running.set(dir, { pid, dir });

  const connString = (db = "postgres") => `postgres://${SUPERUSER}@127.0.0.1:${port}/${encodeURIComponent(db)}?sslmode=disable`;
  const psql = async (sql: string, db = "postgres"): Promise<string> => {
    const r = await execa(
      psqlBin,
      ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", SUPERUSER, "-d", db, "-c", sql],
      { env: { ...cleanEnv(), PGCONNECT_TIMEOUT: "10" }, extendEnv: false, reject: false },
    );
    if (r.exitCode !== 0) throw new Error(`psql failed (exit ${r.exitCode}) for ${JSON.stringify(sql)}:\n${r.stderr}`);
    return r.stdout;
  };

  let stopped = false;
  return {
    host: "127.0.0.1",
    port,
    user: SUPERUSER,
    dir,
    connString,
    psql,
    async createDatabase(name: string) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`createDatabase: unsupported name ${JSON.stringify(name)}`);
      await psql(`CREATE DATABASE "${name}"`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const r = await asServerUser(bin("pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      if (r.exitCode !== 0 && pid) {
        try {
          process.kill(pid, "SIGQUIT");
        } catch {
          // already gone
        }
      }
      running.delete(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
