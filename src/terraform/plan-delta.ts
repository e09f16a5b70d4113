/**
 * What changed in a project's plan since the previous push: resources newly planned (or planned
 * with another action — an update that became a replacement), and resources no longer planned.
 * Pure; the plan history (`Store.listPlanHistory`) keeps each plan's address → action map.
 */

export interface PlanDelta {
  /** The commit of the plan compared with. */
  sinceSha: string;
  /** Planned now and not before. */
  added: { address: string; action: string }[];
  /** Planned before and now, with another action. */
  changed: { address: string; from: string; to: string }[];
  /** Planned before, not now. */
  dropped: { address: string; action: string }[];
}

export function planDelta(previous: { headSha: string; changes: Record<string, string> }, current: Record<string, string>): PlanDelta {
  const delta: PlanDelta = { sinceSha: previous.headSha, added: [], changed: [], dropped: [] };
  for (const [address, action] of Object.entries(current)) {
    const before = previous.changes[address];
    if (before === undefined) delta.added.push({ address, action });
    else if (before !== action) delta.changed.push({ address, from: before, to: action });
  }
  for (const [address, action] of Object.entries(previous.changes)) {
    if (!(address in current)) delta.dropped.push({ address, action });
  }
  const byAddress = (a: { address: string }, b: { address: string }) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);
  delta.added.sort(byAddress);
  delta.changed.sort(byAddress);
  delta.dropped.sort(byAddress);
  return delta;
}

/** Whether the two plans change the same resources the same way. */
export function isSameChange(delta: PlanDelta): boolean {
  return delta.added.length === 0 && delta.changed.length === 0 && delta.dropped.length === 0;
}
