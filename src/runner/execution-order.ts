/**
 * The order projects of one command run in: `execution_order_group` ascending (groups run one
 * after another), and inside a group one by one or — with `parallel_plan` / `parallel_apply` — up
 * to `poolSize` at a time. With `abort_on_execution_order_fail`, a failure in one group skips
 * every later group. Results come back in input order.
 */
import { projectFlags, type Project } from "../projects/project.js";
import type { ProjectResult } from "./reporting/project-result.js";
import type { CommandContext } from "./runner-deps.js";

/** Run `fn` over `items` with at most `limit` running at once; results in input order. */
export async function runPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** Items grouped by ascending group number; order inside a group is kept. */
export function executionGroups<T>(items: readonly T[], groupOf: (item: T) => number): T[][] {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const g = groupOf(item);
    groups.set(g, [...(groups.get(g) ?? []), item]);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((g) => groups.get(g)!);
}

/** The most items that run at once: the largest group, capped by the pool (1 without `parallel`). */
export function peakConcurrency<T>(items: readonly T[], opts: Pick<OrderOptions<T, unknown>, "groupOf" | "parallel" | "poolSize">): number {
  if (items.length === 0) return 0;
  if (!opts.parallel) return 1;
  return Math.max(1, Math.min(opts.poolSize, Math.max(...executionGroups(items, opts.groupOf).map((g) => g.length))));
}

export interface OrderOptions<T, R> {
  groupOf: (item: T) => number;
  parallel: boolean;
  poolSize: number;
  /** Skip later groups once a result of a group failed. */
  abortOnFailure: boolean;
  failed: (result: R) => boolean;
  /** The result for an item skipped because an earlier group failed. */
  skipped: (item: T) => R;
  /** Asked before each group after the first: who cancelled the run (`cancel`), if anyone did. */
  cancelledBy?: () => Promise<string | undefined>;
  /** The result for an item not started because `by` cancelled the run. */
  cancelled?: (item: T, by: string) => R;
}

/** Run every item in execution order; results in input order. */
export async function runInExecutionOrder<T, R>(items: readonly T[], opts: OrderOptions<T, R>, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Map<T, R>();
  let aborted = false;
  let cancelledBy: string | undefined;
  const groups = executionGroups(items, opts.groupOf);
  for (const [index, group] of groups.entries()) {
    if (!aborted && index > 0 && cancelledBy === undefined && opts.cancelled) cancelledBy = await opts.cancelledBy?.();
    if (cancelledBy !== undefined && opts.cancelled) {
      for (const item of group) results.set(item, opts.cancelled(item, cancelledBy));
      continue;
    }
    if (aborted) {
      for (const item of group) results.set(item, opts.skipped(item));
      continue;
    }
    const groupResults = await runPool(group, opts.parallel ? opts.poolSize : 1, (item) => fn(item));
    group.forEach((item, i) => results.set(item, groupResults[i]));
    if (opts.abortOnFailure && groupResults.some(opts.failed)) aborted = true;
  }
  return items.map((item) => results.get(item)!);
}

/**
 * Serialise work per key (e.g. a project directory: one `.terraform` dir and one selected
 * workspace, so two projects in the same directory never run terraform at the same time).
 */
export function keyedSerializer(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn);
    tails.set(key, run.catch(() => undefined));
    return run;
  };
}

/**
 * The `cancel` hooks of a command's execution order: asks the context who cancelled (before each
 * group after the first) and gives the projects not started a "cancelled" result (`onCancelled`
 * sees each, e.g. to write its check run).
 */
export function cancellation<T extends { project: Project } | Project>(
  ctx: Pick<CommandContext, "cancelRequested" | "name" | "log">,
  command: "plan" | "apply",
  onCancelled?: (result: ProjectResult) => void,
): Pick<OrderOptions<T, ProjectResult>, "cancelledBy" | "cancelled"> {
  return {
    cancelledBy: async () => {
      try {
        return await ctx.cancelRequested?.();
      } catch (error) {
        ctx.log.warn({ err: error }, "could not ask whether the command was cancelled; going on");
        return undefined;
      }
    },
    cancelled: (item, by) => {
      const project: Project = "project" in item ? (item as { project: Project }).project : (item as Project);
      const verb = command === "plan" ? "planned" : "applied";
      const result: ProjectResult = {
        project,
        command,
        outcome: "cancelled",
        headline: `Not ${verb}: cancelled by @${by} (\`${ctx.name} cancel\`) before it started. Comment \`${ctx.name} ${command} ${projectFlags(project)}\` to run it.`,
        output: "",
      };
      onCancelled?.(result);
      return result;
    },
  };
}
