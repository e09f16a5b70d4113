import { JobLog, currentJobLog, runWithJobLog } from "../../src/logs/job-log.js";
import { runProcess } from "../../src/adapters/run-process.js";

function memoryStore() {
  const chunks: { jobId: number; seq: number; text: string }[] = [];
  return { chunks, text: () => chunks.map((c) => c.text).join(""), appendJobLog: async (jobId: number, seq: number, text: string) => void chunks.push({ jobId, seq, text }) };
}

describe("JobLog", () => {
  test("lines are redacted whole, even when a secret arrives split across chunks", async () => {
    const store = memoryStore();
    const log = new JobLog(store, 7, { maxBytes: 10_000 });
    const tap = log.process("terraform plan -var=token=ghs_SECRET", ["ghs_SECRET"]);
    tap.write("token is ghs_SE");
    tap.write("CRET here\npartial ");
    tap.write(Buffer.from("end"));
    tap.end("exit 0, 0.1 s");
    await log.flush();
    expect(store.text()).toBe("$ terraform plan -var=token=***\ntoken is *** here\npartial end\n[exit 0, 0.1 s]\n");
    expect(store.text()).not.toContain("ghs_");
    expect(store.chunks.every((c) => c.jobId === 7)).toBe(true);
  });

  test("chunks are numbered in order; a full batch is written at once", async () => {
    const store = memoryStore();
    const log = new JobLog(store, 1, { maxBytes: 1_000_000, batchBytes: 10, flushMs: 10_000 });
    log.note("first line that fills a batch");
    log.note("second");
    await log.flush();
    expect(store.chunks.map((c) => c.seq)).toEqual([1, 2]);
    expect(store.text()).toBe("first line that fills a batch\nsecond\n");
  });

  test("the size cap keeps the head and says the log was cut", async () => {
    const store = memoryStore();
    const log = new JobLog(store, 1, { maxBytes: 2048 });
    for (let i = 0; i < 500; i++) log.note(`line ${i}`);
    await log.flush();
    expect(store.text().startsWith("line 0\nline 1\n")).toBe(true);
    expect(store.text()).toContain("[Atoll: the log was cut here at 2 KB (ATOLL_JOB_LOG_MAX_BYTES)");
    expect(store.text()).not.toContain("line 499");
    expect(Buffer.byteLength(store.text())).toBeLessThan(2048 + 300);
  });

  test("a store error is reported, not thrown", async () => {
    const errors: unknown[] = [];
    const log = new JobLog({ appendJobLog: async () => Promise.reject(new Error("db down")) }, 1, { maxBytes: 100, onError: (e) => errors.push(e) });
    log.note("x");
    await log.flush();
    expect(errors).toHaveLength(1);
  });

  test("runProcess streams live output into the current job's log, and only when asked", async () => {
    const store = memoryStore();
    const log = new JobLog(store, 3, { maxBytes: 10_000 });
    await runWithJobLog(log, async () => {
      expect(currentJobLog()).toBe(log);
      await runProcess({ file: "sh", args: ["-c", "echo out; echo err >&2; echo s3cret"], env: { PATH: process.env.PATH ?? "" }, timeoutMs: 10_000, redact: ["s3cret"], live: "sh -c demo" });
      await runProcess({ file: "sh", args: ["-c", "echo not-live"], env: { PATH: process.env.PATH ?? "" }, timeoutMs: 10_000 });
    });
    expect(currentJobLog()).toBeUndefined();
    const text = store.text();
    expect(text).toMatch(/^\$ sh -c demo\n/);
    expect(text).toContain("out\n");
    expect(text).toContain("err\n");
    expect(text).toContain("***\n");
    expect(text).not.toContain("s3cret");
    expect(text).toMatch(/\[exit 0, \d+\.\d s\]\n$/);
    expect(text).not.toContain("not-live");
  });
});
