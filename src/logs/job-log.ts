/**
 * A job's log: what terraform (and `run` steps shown in comments) print while the job runs, kept
 * in the store so it survives restarts and any replica can serve it (`web/` streams it live).
 *
 * - **What goes in.** Only output a comment would show: terraform's own commands (not
 *   `show -json`, which holds every value of the plan), `run` steps whose output is shown, and
 *   notes Atoll writes (which project starts). Secrets are redacted exactly as in comments — the
 *   same list, applied per line, so a secret can never be split across two writes.
 * - **How.** `runWithJobLog` makes a log current for everything a job does (AsyncLocalStorage, so
 *   no parameter threads through every layer); `runProcess` taps it for calls marked `live`.
 *   Lines are batched (a write per `flushMs` or `batchBytes`) and appended in order.
 * - **Size.** At most `maxBytes` per job are kept; then one note says the log was cut, and the
 *   rest is dropped (the comment and check runs keep the end of terraform's output).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { redact } from "../adapters/redact.js";

/** Where log chunks go (the store). */
export interface JobLogStore {
  appendJobLog(jobId: number, seq: number, text: string): Promise<void>;
}

export interface JobLogOptions {
  maxBytes: number;
  flushMs?: number;
  batchBytes?: number;
  onError?: (error: unknown) => void;
}

/** One running process's output: complete lines only, redacted, then into the log. */
export interface ProcessTap {
  write(chunk: Buffer | string): void;
  end(summary: string): void;
}

export class JobLog {
  private seq = 0;
  private pending = "";
  private kept = 0;
  private cut = false;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: JobLogStore,
    readonly jobId: number,
    private readonly opts: JobLogOptions,
  ) {}

  /** A line Atoll writes (e.g. which project starts). */
  note(text: string): void {
    this.add(`${text}\n`);
  }

  /** A tap for one process, announced by `header` (its command line, already redacted). */
  process(header: string, secrets: readonly string[] | undefined): ProcessTap {
    this.add(`$ ${redact(header, secrets)}\n`);
    let partial = "";
    return {
      write: (chunk) => {
        const text = partial + chunk.toString();
        const lastBreak = text.lastIndexOf("\n");
        if (lastBreak === -1) {
          partial = text;
          // A line longer than a batch is written as it is (terraform never prints secrets that long).
          if (partial.length > (this.opts.batchBytes ?? 32_768)) {
            this.add(redact(partial, secrets));
            partial = "";
          }
          return;
        }
        partial = text.slice(lastBreak + 1);
        this.add(redact(text.slice(0, lastBreak + 1), secrets));
      },
      end: (summary) => {
        if (partial !== "") this.add(`${redact(partial, secrets)}\n`);
        partial = "";
        this.add(`[${summary}]\n`);
      },
    };
  }

  private add(text: string): void {
    if (this.cut || text === "") return;
    const size = Buffer.byteLength(text, "utf8");
    if (this.kept + size > this.opts.maxBytes) {
      this.cut = true;
      this.pending += `\n[Atoll: the log was cut here at ${Math.round(this.opts.maxBytes / 1024)} KB (ATOLL_JOB_LOG_MAX_BYTES); the pull request comment and check runs show the end of the output.]\n`;
      this.flushSoon(true);
      return;
    }
    this.kept += size;
    this.pending += text;
    this.flushSoon(this.pending.length >= (this.opts.batchBytes ?? 32_768));
  }

  private flushSoon(now: boolean): void {
    if (now) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.opts.flushMs ?? 250);
  }

  /** Write what is pending; resolves when everything written so far is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending !== "") {
      const text = this.pending;
      const seq = ++this.seq;
      this.pending = "";
      this.chain = this.chain.then(() => this.store.appendJobLog(this.jobId, seq, text)).catch((error: unknown) => this.opts.onError?.(error));
    }
    return this.chain;
  }
}

const current = new AsyncLocalStorage<JobLog>();

/** Run `fn` with `log` as the current job log, then write what is left. */
export async function runWithJobLog<T>(log: JobLog, fn: () => Promise<T>): Promise<T> {
  try {
    return await current.run(log, fn);
  } finally {
    await log.flush();
  }
}

/** The log of the job running this code, if any. */
export function currentJobLog(): JobLog | undefined {
  return current.getStore();
}
