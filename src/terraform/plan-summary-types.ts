/** What a saved plan will do, derived from `terraform show -json <planfile>`. */
export interface PlanSummary {
  /** Counts as terraform's own "Plan: X to add, Y to change, Z to destroy." line (a replacement counts in add and destroy). */
  add: number;
  change: number;
  destroy: number;
  /** Resources that will be destroyed and re-created (also included in add and destroy). */
  replace: number;
  /** Resources imported by this plan. */
  import: number;
  /** Resources that only move address. */
  move: number;
  /** Resources removed from state without being destroyed (`removed` blocks). */
  forget: number;
  /** Addresses that will be destroyed (delete only, replacements excluded). */
  destroyed: string[];
  /**
   * Addresses that will be replaced, with the reason terraform gives when it gives one and the
   * attribute paths that force it (`replace_paths`, e.g. `ami`, `network_interface[0].subnet_id`).
   */
  replaced: { address: string; reason?: string; paths?: string[] }[];
  /**
   * Destroyed or replaced resources of a stateful type (databases, buckets, volumes… — see
   * `terraform/stateful-types.ts`): the ones a reviewer must not miss. Absent in summaries from
   * before it existed.
   */
  stateful?: { address: string; type: string; action: "destroy" | "replace" }[];
  /** Whether root module outputs change. */
  outputChanges: boolean;
  /** Whether applying this plan would change anything (resources or outputs). */
  hasChanges: boolean;
}

/** A summary of a plan that changes nothing; the starting point for counting. */
export function emptyPlanSummary(): PlanSummary {
  return {
    add: 0,
    change: 0,
    destroy: 0,
    replace: 0,
    import: 0,
    move: 0,
    forget: 0,
    destroyed: [],
    replaced: [],
    outputChanges: false,
    hasChanges: false,
  };
}
