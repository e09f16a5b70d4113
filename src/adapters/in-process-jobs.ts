/**
 * Bounded in-process job runner: at most `concurrency` jobs at once, at most `maxQueued` waiting,
 * and jobs sharing a key (one pull request) never overlap and keep their order — so a push and a
 * comment on the same PR never run terraform in the same checkout at the same time.
 */
import type { Job, JobRunner } from "../ports/jobs.js";

export interface InProcessJobsOptions {
  concurrency: number;
  maxQueued: number;
  onError: (job: Job, error: unknown) => void;
}

export function createInProcessJobs(opts: InProcessJobsOptions): JobRunner {
  const waiting: Job[] = [];
  const busyKeys = new Set<string>();
  let running = 0;
  let paused = false;
  let idleWaiters: (() => void)[] = [];

  function settleIdle() {
    if (running === 0 && waiting.length === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const resolve of w) resolve();
    }
  }

  function pump() {
    while (!paused && running < opts.concurrency) {
      const index = waiting.findIndex((j) => !busyKeys.has(j.key));
      if (index < 0) break;
      const [job] = waiting.splice(index, 1);
      running++;
      busyKeys.add(job.key);
      void (async () => {
        try {
          await job.run();
        } catch (error) {
          opts.onError(job, error);
        } finally {
          running--;
          busyKeys.delete(job.key);
          pump();
          settleIdle();
        }
      })();
    }
  }

  return {
    enqueue(job) {
      if (waiting.length >= opts.maxQueued) return false;
      waiting.push(job);
      // Start on the next tick so the webhook handler returns before any job work begins.
      setImmediate(pump);
      return true;
    },
    pause() {
      paused = true;
    },
    onIdle() {
      if (running === 0 && waiting.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    get running() {
      return running;
    },
    get queued() {
      return waiting.length;
    },
  };
}
