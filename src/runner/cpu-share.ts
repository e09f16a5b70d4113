/**
 * Cores for each terraform process when several run at once.
 *
 * Terraform and its providers are Go programs, and Go sizes its scheduler and garbage collector to
 * every core of the machine (GOMAXPROCS). When a parallel plan or apply runs several of them at
 * once, each behaves as if it had the machine to itself, and they fight over the same cores.
 * Dividing the cores between them (`GOMAXPROCS = cores / concurrent`, at least 1) costs each
 * nothing it could have had and removes the contention. Measured on 2 cores, 20 small projects,
 * 4 at a time: 1.07 s → 0.90 s wall and 2.1 → 1.75 CPU-seconds (README "Performance").
 *
 * Go's garbage collector is also tuned for long-running servers: with its default (`GOGC=100`) a
 * terraform run over small projects spends about a fifth of its CPU time collecting garbage it
 * would free by exiting a moment later. `GOGC=200` lets the heap grow to three times the live data
 * instead of two before collecting: measured on 2 cores, 20 small projects planned one after
 * another, ~15% less CPU time (README "Performance"), for at most 1.5× the peak heap.
 *
 * A GOMAXPROCS or GOGC the operator set in Atoll's environment is left alone, and a workflow's own
 * `env` steps still override these (they are only the starting environment of the steps).
 */
import { availableParallelism } from "node:os";

export function cpuShareEnv(
  concurrent: number,
  opts: { cores?: number; env?: NodeJS.ProcessEnv } = {},
): Record<string, string> {
  const env = opts.env ?? process.env;
  const share: Record<string, string> = {};
  if ((env.GOGC ?? "").trim() === "") share.GOGC = String(TERRAFORM_GOGC);
  if (concurrent <= 1 || (env.GOMAXPROCS ?? "").trim() !== "") return share;
  const cores = opts.cores ?? availableParallelism();
  return { ...share, GOMAXPROCS: String(Math.max(1, Math.floor(cores / concurrent))) };
}

/** `GOGC` of the terraform processes Atoll starts (see the module comment). */
export const TERRAFORM_GOGC = 200;
