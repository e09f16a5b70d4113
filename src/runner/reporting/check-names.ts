/**
 * Names and external ids of the check runs Atoll owns. The PR number lives in `external_id`
 * because check-run payloads of fork PRs carry no pull request list.
 */
import { projectLabel, type Project } from "../../projects/project.js";

export const PLAN_CHECK = "atoll/plan";
export const APPLY_CHECK = "atoll/apply";

export type CheckKind = "plan" | "apply";

export function aggregateCheckName(kind: CheckKind): string {
  return kind === "plan" ? PLAN_CHECK : APPLY_CHECK;
}

/** `atoll/plan: week2`, `atoll/apply: network (workspace staging)`; capped well below GitHub's limits. */
export function projectCheckName(kind: CheckKind, project: Project): string {
  const name = `${aggregateCheckName(kind)}: ${projectLabel(project)}`;
  return name.length > 200 ? `${name.slice(0, 199)}…` : name;
}

export interface CheckRef {
  pullNumber: number;
  kind: CheckKind;
  /** Absent for the aggregate check runs. */
  project?: Project;
}

export function encodeExternalId(ref: CheckRef): string {
  const body: Record<string, unknown> = { atoll: 1, pr: ref.pullNumber, k: ref.kind };
  if (ref.project) Object.assign(body, { n: ref.project.name, d: ref.project.dir, w: ref.project.workspace });
  return JSON.stringify(body);
}

/** Parse an external id written by `encodeExternalId`; null for anything else (another app's, or garbage). */
export function decodeExternalId(value: string | null | undefined): CheckRef | null {
  if (!value) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const o = raw as Record<string, unknown>;
  if (o.atoll !== 1 || !Number.isInteger(o.pr) || (o.pr as number) < 1) return null;
  if (o.k !== "plan" && o.k !== "apply") return null;
  const ref: CheckRef = { pullNumber: o.pr as number, kind: o.k };
  if (o.d !== undefined) {
    if (typeof o.n !== "string" || typeof o.d !== "string" || typeof o.w !== "string") return null;
    ref.project = { name: o.n, dir: o.d, workspace: o.w };
  }
  return ref;
}
