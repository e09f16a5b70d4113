import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import {
  operationName,
  parseGoTime,
  parseStateLockError,
  renderStateLockError,
  type StateLockError,
} from "../../src/terraform/state-lock-error.js";
import { TERRAFORM } from "../helpers/terraform-fixture.js";


/** The shape the `pg` backend prints: our own lock attempt's info, not the holder's. */
const PG_OUTPUT = `
Error: Error acquiring the state lock

Error message: Workspace is already locked: default
Lock Info:
  ID:        d5fbb0a4-9ad6-6e2e-9b0d-5b3fd8ab7c8e
  Path:      
  Operation: OperationTypePlan
  Who:       atoll@runner-1
  Version:   1.11.4
  Created:   2026-11-25 03:14:33.606792017 +0000 UTC
  Info:      


Terraform acquires a state lock to protect the state from being written
by multiple users at the same time. Please resolve the issue above and try
again. For most commands, you can disable locking with the "-lock=false"
flag, but this is not recommended.
`;

const PG_CREATED = new Date("2026-11-25T03:14:33.606Z");
const at = (base: Date, deltaMs: number) => new Date(base.getTime() + deltaMs);

/** A holder's lock as the local/s3 backends print it. */
const HOLDER_OUTPUT = `Acquiring state lock. This may take a few moments...

Error: Error acquiring the state lock

Error message: ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        0a1b2c3d-0000-1111-2222-333344445555
  Path:      bucket/env/week2/terraform.tfstate
  Operation: OperationTypeApply
  Who:       bob@laptop
  Version:   1.11.4
  Created:   2026-11-25 03:14:33.606792017 +0000 UTC
  Info:      nightly job


Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.
`;

/** What terraform prints with colours enabled (ANSI removed): a box-drawing gutter. */
const gutter = (plain: string) =>
  plain
    .trim()
    .split("\n")
    .map((l, i, all) => (i === 0 ? "╷\n│ " + l : "│ " + l) + (i === all.length - 1 ? "\n╵" : ""))
    .join("\n");

describe("parseStateLockError", () => {
  test.each([
    "",
    "Terraform has compared your real infrastructure against your configuration\nand found no differences, so no changes are needed.\n",
    "Error: Unsupported argument\n\n  on main.tf line 2:\n   2:   foo = 1\n",
    // Mentions of locks that are not a lock failure.
    "Acquiring state lock. This may take a few moments...\nReleasing state lock. This may take a few moments...\n",
  ])("no lock error → null (%#)", (output) => {
    expect(parseStateLockError(output)).toBeNull();
  });

  test("a holder's lock info, fields and backend message", () => {
    expect(parseStateLockError(HOLDER_OUTPUT)).toEqual({
      message: "ConditionalCheckFailedException: The conditional request failed",
      holderKnown: true,
      lockInfo: {
        id: "0a1b2c3d-0000-1111-2222-333344445555",
        path: "bucket/env/week2/terraform.tfstate",
        operation: "OperationTypeApply",
        who: "bob@laptop",
        version: "1.11.4",
        created: "2026-11-25 03:14:33.606792017 +0000 UTC",
        createdAt: new Date("2026-11-25T03:14:33.606Z"),
        info: "nightly job",
      },
    });
  });

  test("pg-style output (our own attempt, created inside the step window) → holder unknown", () => {
    const e = parseStateLockError(PG_OUTPUT, {
      stepStartedAt: at(PG_CREATED, -1_500),
      stepEndedAt: at(PG_CREATED, 400),
      operation: "plan",
    });
    expect(e).toMatchObject({ holderKnown: false, message: "Workspace is already locked: default" });
    expect(e!.lockInfo).toMatchObject({ id: "d5fbb0a4-9ad6-6e2e-9b0d-5b3fd8ab7c8e", path: "", who: "atoll@runner-1" });
  });

  test.each([
    ["created 5 s before the step started", false, { stepStartedAt: at(PG_CREATED, 4_900), stepEndedAt: at(PG_CREATED, 9_000), operation: "plan" }],
    ["created more than 5 s before the step", true, { stepStartedAt: at(PG_CREATED, 5_100), stepEndedAt: at(PG_CREATED, 9_000), operation: "plan" }],
    ["created up to 5 s after the step ended", false, { stepStartedAt: at(PG_CREATED, -9_000), stepEndedAt: at(PG_CREATED, -4_900), operation: "plan" }],
    ["created more than 5 s after the step", true, { stepStartedAt: at(PG_CREATED, -9_000), stepEndedAt: at(PG_CREATED, -5_100), operation: "plan" }],
    ["another operation than ours", true, { stepStartedAt: at(PG_CREATED, -1_000), stepEndedAt: at(PG_CREATED, 1_000), operation: "apply" }],
    ["our operation unknown: the time decides", false, { stepStartedAt: at(PG_CREATED, -1_000), stepEndedAt: at(PG_CREATED, 1_000) }],
    ["no end: open window", false, { stepStartedAt: at(PG_CREATED, -1_000), operation: "plan" }],
    ["no step window: trusted", true, {}],
  ] as [string, boolean, Parameters<typeof parseStateLockError>[1]][])("%s → holderKnown %s", (_name, known, opts) => {
    expect(parseStateLockError(PG_OUTPUT, opts)!.holderKnown).toBe(known);
  });

  test("empty Lock Info fields: parsed as empty, holder unknown", () => {
    const output = [
      "Error: Error acquiring the state lock",
      "",
      "Error message: HTTP remote state already locked: failed to unmarshal body",
      "Lock Info:",
      "  ID:        ",
      "  Path:      ",
      "  Operation: ",
      "  Who:       ",
      "  Version:   ",
      "  Created:   ",
      "  Info:      ",
      "",
    ].join("\n");
    expect(parseStateLockError(output)).toEqual({
      message: "HTTP remote state already locked: failed to unmarshal body",
      holderKnown: false,
      lockInfo: { id: "", path: "", operation: "", who: "", version: "", created: "", createdAt: null, info: "" },
    });
  });

  test("no Lock Info block at all: holder unknown, message kept", () => {
    expect(parseStateLockError("Error: Error acquiring the state lock\n\nError message: timeout while waiting\n\nTerraform acquires a state lock to protect")).toEqual({
      message: "timeout while waiting",
      holderKnown: false,
      lockInfo: null,
    });
  });

  test("CRLF line endings parse the same", () => {
    expect(parseStateLockError(HOLDER_OUTPUT.replace(/\n/g, "\r\n"))).toEqual(parseStateLockError(HOLDER_OUTPUT));
  });

  test("│ gutters (terraform with colours, ANSI removed) parse the same", () => {
    const withGutter = gutter(HOLDER_OUTPUT.slice(HOLDER_OUTPUT.indexOf("Error:")));
    expect(withGutter).toContain("│   ID:        0a1b2c3d");
    expect(parseStateLockError(withGutter)).toEqual(parseStateLockError(HOLDER_OUTPUT));
  });

  test("ANSI colours and gutter together parse the same", () => {
    const coloured = gutter(HOLDER_OUTPUT.slice(HOLDER_OUTPUT.indexOf("Error:")))
      .split("\n")
      .map((l) => l.replace(/^(│|╷|╵)/, "\u001b[31m$1\u001b[0m\u001b[0m"))
      .join("\n");
    expect(parseStateLockError(coloured)).toEqual(parseStateLockError(HOLDER_OUTPUT));
  });

  test('the older "Error locking state:" form, with a multi-line backend message', () => {
    const output = [
      "Error locking state: Error acquiring the state lock: ConditionalCheckFailedException: The conditional request failed",
      "\tstatus code: 400, request id: ABC",
      "Lock Info:",
      "  ID:        0a1b2c3d",
      "  Path:      bucket/terraform.tfstate",
      "  Operation: migration in progress",
      "  Who:       carol@ci",
      "  Version:   0.12.31",
      "  Created:   2019-03-01 10:00:00.5 +0100 CET",
      "  Info:      ",
    ].join("\n");
    const e = parseStateLockError(output);
    expect(e).toMatchObject({
      holderKnown: true,
      message: "ConditionalCheckFailedException: The conditional request failed\n\tstatus code: 400, request id: ABC",
    });
    expect(e!.lockInfo).toMatchObject({ operation: "migration in progress", who: "carol@ci", createdAt: new Date("2019-03-01T09:00:00.500Z") });
  });
});

describe("parseGoTime", () => {
  test.each([
    ["2026-11-25 03:14:33.606792017 +0000 UTC", "2026-11-25T03:14:33.606Z"],
    ["2026-11-25 03:14:33 +0000 UTC", "2026-11-25T03:14:33.000Z"],
    ["2026-11-25 03:14:33.1 -0500 EST", "2026-11-25T08:14:33.100Z"],
    ["2026-11-25 03:14:33.606792017 +0000 UTC m=+0.012345", "2026-11-25T03:14:33.606Z"],
    ["2026-11-25T03:14:33.606792017Z", "2026-11-25T03:14:33.606Z"],
  ])("%s", (text, iso) => expect(parseGoTime(text)?.toISOString()).toBe(iso));

  test.each(["", "yesterday", "25/11/2026 03:14"])("%j → null", (text) => expect(parseGoTime(text)).toBeNull());
});

describe("operationName", () => {
  test.each([
    ["OperationTypeApply", "apply"],
    ["OperationTypePlan", "plan"],
    ["OperationTypeRefresh", "refresh"],
    ["migration in progress", "migration in progress"],
    ["", ""],
  ])("%j → %j", (raw, name) => expect(operationName(raw)).toBe(name));
});

describe("renderStateLockError", () => {
  const ctx = { commandHint: "atoll plan -d week2", project: "week2" };

  test("a known holder: who, since when, operation, lock ID, and the safe next steps", () => {
    const { headline, body } = renderStateLockError(parseStateLockError(HOLDER_OUTPUT)!, ctx);
    expect(headline).toBe("Terraform state is locked by bob@laptop since 2026-11-25 03:14 UTC (apply)");
    expect(headline).not.toContain("\n");
    expect(body).toContain("- **Held by:** `bob@laptop`");
    expect(body).toContain("- **Since:** 2026-11-25 03:14:33 UTC");
    expect(body).toContain("- **Operation:** apply");
    expect(body).toContain("- **Lock ID:** `0a1b2c3d-0000-1111-2222-333344445555`");
    expect(body).toContain("- **Info:** nightly job");
    expect(body).toContain("wait for the other run to finish, then run `atoll plan -d week2` again");
    expect(body).toContain("`terraform force-unlock 0a1b2c3d-0000-1111-2222-333344445555` in the directory of project `week2`");
    expect(body).toContain("with the same backend configuration");
    expect(body).toContain("Never force-unlock while a run is active");
    // Waiting comes before force-unlocking.
    expect(body.indexOf("wait for the other run")).toBeLessThan(body.indexOf("force-unlock"));
    expect(body).not.toContain("does not record");
  });

  test("holder unknown (pg): says so, shows the backend's message, never offers our own ID", () => {
    const e = parseStateLockError(PG_OUTPUT, { stepStartedAt: at(PG_CREATED, -500), stepEndedAt: at(PG_CREATED, 500), operation: "plan" })!;
    const { headline, body } = renderStateLockError(e, ctx);
    expect(headline).toBe("Terraform state is locked by another run (this backend does not record the holder)");
    expect(body).toContain("This backend does not record who holds the lock");
    expect(body).toContain("```text\nWorkspace is already locked: default\n```");
    expect(body).not.toContain("d5fbb0a4");
    expect(body).not.toContain("atoll@runner-1");
    expect(body).toContain("`terraform force-unlock <LOCK_ID>`");
    expect(body).toContain("using the holder's lock ID");
    expect(body).toContain("then run `atoll plan -d week2` again");
  });

  test("known holder with sparse info: only what is known", () => {
    const e: StateLockError = {
      message: "locked",
      holderKnown: true,
      lockInfo: { id: "x1", path: "", operation: "", who: "", version: "", created: "", createdAt: null, info: "" },
    };
    const { headline, body } = renderStateLockError(e, ctx);
    expect(headline).toBe("Terraform state is locked");
    expect(body).not.toContain("Held by");
    expect(body).not.toContain("Since");
    expect(body).toContain("`terraform force-unlock x1`");
  });

  test("backticks in values cannot break the markdown; multi-line messages are fenced", () => {
    const e: StateLockError = {
      message: "line one\n```\nline three",
      holderKnown: true,
      lockInfo: { id: "a`b", path: "", operation: "OperationTypePlan", who: "e`vil", version: "", created: "", createdAt: null, info: "" },
    };
    const { body } = renderStateLockError(e, { commandHint: "atoll plan -p `x`", project: "p`q" });
    expect(body).toContain("`e'vil`");
    expect(body).toContain("`terraform force-unlock a'b`");
    expect(body).toContain("`atoll plan -p 'x'`");
    expect(body).toContain("````text\nline one\n```\nline three\n````");
  });
});

describe("with real terraform (local backend, state outside the working directories)", () => {
  let work: string;
  let holder: ResultPromise | undefined;
  let release: string;

  function env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, TF_CLI_CONFIG_FILE: path.join(work, "missing.terraformrc"), TF_IN_AUTOMATION: "1" };
  }
  const tf = (cwd: string, args: string[]) => execa(TERRAFORM, args, { cwd, env: env(), extendEnv: false, reject: false, all: true });

  /** Polls for the holder's lock record; retries a half-written file until it is whole JSON. */
  async function readLockRecord(file: string, timeoutMs: number): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return JSON.parse(await readFile(file, "utf8")) as Record<string, string>;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`no lock record in ${file} within ${timeoutMs} ms: ${String(error)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), "atoll-state-lock-"));
    release = path.join(work, "release");
    holder = undefined;
  });

  afterEach(async () => {
    // Let the holder finish (it waits for this file), whatever happened in the test.
    await writeFile(release, "");
    if (holder) await holder;
    await rm(work, { recursive: true, force: true });
  });

  test("a plan blocked by a running apply names the apply's lock", async () => {
    const statePath = path.join(work, "state", "terraform.tfstate");
    // The local backend writes the holder's record next to the state file.
    const lockInfoPath = path.join(work, "state", ".terraform.tfstate.lock.info");
    const backend = `terraform {\n  backend "local" {\n    path = ${JSON.stringify(statePath)}\n  }\n}\n`;
    const dirA = path.join(work, "a");
    const dirB = path.join(work, "b");
    await Promise.all([mkdir(dirA), mkdir(dirB), mkdir(path.dirname(statePath))]);
    // The apply holds the lock until the test releases it (bounded, in case the test dies).
    await writeFile(
      path.join(dirA, "main.tf"),
      `${backend}resource "terraform_data" "slow" {\n  provisioner "local-exec" {\n    command = "for i in $(seq 1 600); do [ -e ${release} ] && exit 0; sleep 0.1; done"\n  }\n}\n`,
    );
    await writeFile(path.join(dirB, "main.tf"), `${backend}resource "terraform_data" "other" {\n  input = "b"\n}\n`);
    for (const dir of [dirA, dirB]) {
      const init = await tf(dir, ["init", "-input=false", "-no-color"]);
      expect(init.exitCode).toBe(0);
    }

    holder = tf(dirA, ["apply", "-auto-approve", "-input=false", "-no-color"]);
    const record = await readLockRecord(lockInfoPath, 30_000);

    const stepStartedAt = new Date();
    const plain = await tf(dirB, ["plan", "-input=false", "-no-color", "-lock-timeout=0s"]);
    // Same again with colours: ANSI codes and the │ gutter.
    const coloured = await tf(dirB, ["plan", "-input=false", "-lock-timeout=0s"]);
    const stepEndedAt = new Date();

    await writeFile(release, "");
    expect((await holder).exitCode).toBe(0);
    expect(plain.exitCode).toBe(1);
    expect(coloured.all).toContain("│");
    expect(coloured.all).toContain("\u001b[");

    const opts = { stepStartedAt, stepEndedAt, operation: "plan" as const };
    const e = parseStateLockError(String(plain.all), opts);
    expect(e).not.toBeNull();
    expect(e!.holderKnown).toBe(true);
    expect(e!.lockInfo).toMatchObject({
      id: record.ID,
      operation: "OperationTypeApply",
      who: record.Who,
      path: statePath,
      version: record.Version,
    });
    expect(e!.lockInfo!.who).not.toBe("");
    expect(e!.lockInfo!.createdAt?.toISOString()).toBe(new Date(record.Created).toISOString());
    expect(e!.message).not.toBe("");
    expect(e!.message).not.toMatch(/Lock Info|Error message/);
    expect(parseStateLockError(String(coloured.all), opts)).toEqual(e);

    const { headline, body } = renderStateLockError(e!, { commandHint: "atoll plan -d b", project: "b" });
    expect(headline).toMatch(new RegExp(`^Terraform state is locked by ${record.Who} since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(apply\\)$`));
    expect(body).toContain(`\`terraform force-unlock ${record.ID}\``);

    // The same output read as if our own step had been that apply (pg-style self report): the
    // heuristic must then refuse to name a holder.
    const created = e!.lockInfo!.createdAt!;
    expect(parseStateLockError(String(plain.all), { stepStartedAt: created, stepEndedAt: created, operation: "apply" })!.holderKnown).toBe(false);
  });
});
