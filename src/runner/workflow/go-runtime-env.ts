/**
 * The Go runtime settings terraform (and its providers, which inherit them) start with.
 *
 * Terraform and its providers are Go programs, and Go sizes itself for a process that has the
 * machine to itself. Atoll starts many short ones, often several at once, so it sets:
 *
 * - **GOMAXPROCS = cores / concurrent** (at least 1) when several run at once. Each would otherwise
 *   schedule onto every core and they fight over the same cores; dividing them costs each nothing
 *   it could have had. Measured on 2 cores, 20 small projects, 4 at a time: 1.07 s → 0.90 s wall
 *   and 2.1 → 1.75 CPU-seconds.
 * - **GOGC = 400** (`ATOLL_TERRAFORM_GOGC`; 100 is Go's default and sets nothing). A terraform run
 *   lives for seconds and most of its heap is live until it exits — its start alone allocates
 *   some 10 MB — so Go's default collects again and again for nothing. At 400 the heap may grow to
 *   5× its live data instead of 2×; init, plan and show -json of a small project take about 15 %
 *   less CPU (2 cores: 2.15 → 1.83 CPU-seconds for 20 of each; README "Performance").
 * - **GOMEMLIMIT = half the machine's memory / concurrent**, with that GOGC: a soft limit, so the
 *   larger heap never costs more memory than a fair share — Go collects harder as it nears it.
 *
 * What the operator set in Atoll's environment is left alone (GOMAXPROCS; GOGC or GOMEMLIMIT, which
 * then also leaves the other unset), and a workflow's own `env` steps still override all of it:
 * this is only the steps' starting environment.
 */
import { availableParallelism, totalmem } from "node:os";

/** Go's own default GOGC: Atoll sets nothing. */
export const GO_DEFAULT_GOGC = 100;

export interface GoRuntimeOptions {
  /** GOGC for terraform (ATOLL_TERRAFORM_GOGC); 100 or absent: Go's default. */
  gogc?: number;
  cores?: number;
  totalMemBytes?: number;
  env?: NodeJS.ProcessEnv;
}

export function goRuntimeEnv(concurrent: number, opts: GoRuntimeOptions = {}): Record<string, string> {
  const env = opts.env ?? process.env;
  const isSet = (name: string) => (env[name] ?? "").trim() !== "";
  const share = Math.max(1, concurrent);
  const out: Record<string, string> = {};
  if (concurrent > 1 && !isSet("GOMAXPROCS")) {
    const cores = opts.cores ?? availableParallelism();
    out.GOMAXPROCS = String(Math.max(1, Math.floor(cores / concurrent)));
  }
  const gogc = opts.gogc ?? GO_DEFAULT_GOGC;
  if (gogc !== GO_DEFAULT_GOGC && !isSet("GOGC") && !isSet("GOMEMLIMIT")) {
    out.GOGC = String(gogc);
    const limitMiB = Math.floor((opts.totalMemBytes ?? totalmem()) / 2 / share / 2 ** 20);
    out.GOMEMLIMIT = `${Math.max(64, limitMiB)}MiB`;
  }
  return out;
}
