/**
 * JobRunner: runs work outside the webhook request. Webhook handlers only enqueue; the HTTP
 * response goes out at once. Today's implementation is in process (`src/adapters/in-process-jobs.ts`).
 */
export interface Job {
  /** Jobs with the same key run one after another, in order (e.g. one pull request). */
  key: string;
  /** For logs. */
  name: string;
  run: () => Promise<void>;
}

export interface JobRunner {
  /** Queue a job; false when the queue is full (the caller tells the user). */
  enqueue(job: Job): boolean;
  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void>;
  /** Start no more jobs (running ones continue); used when shutting down. */
  pause?(): void;
  readonly running: number;
  readonly queued: number;
}
