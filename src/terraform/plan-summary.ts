import { emptyPlanSummary, type PlanSummary } from "./plan-summary-types.js";
import { isStatefulType } from "./stateful-types.js";

export interface SummarizeOptions {
  /** Resource types (globs) counted as stateful on top of the built-in list (ATOLL_STATEFUL_TYPES). */
  statefulTypes?: readonly string[];
}

/**
 * Summarise a saved plan from the parsed output of `terraform show -json <planfile>`.
 *
 * The JSON plan is the only stable machine interface terraform offers (the human output
 * changes between versions), so counts are derived from `resource_changes` with the same
 * rules terraform's own renderer uses for its `Plan: X to add, Y to change, Z to destroy.` line:
 * only managed resources count, a replacement counts once in "add" and once in "destroy",
 * and move-only / import-only changes (action `no-op`) are not counted.
 */
export function summarizePlan(showJson: unknown, options: SummarizeOptions = {}): PlanSummary {
  const doc = asPlanDocument(showJson);
  const summary: PlanSummary = emptyPlanSummary();
  const stateful: NonNullable<PlanSummary["stateful"]> = [];
  let resourceChanges = false;

  for (const rc of doc.resourceChanges) {
    if (!isManaged(rc)) continue;
    const kind = classifyActions(rc.actions, rc.address);
    if (rc.importing) summary.import++;
    const moved = rc.previousAddress !== undefined && rc.previousAddress !== rc.address;
    if (moved) summary.move++;
    switch (kind) {
      case "create":
        summary.add++;
        break;
      case "update":
        summary.change++;
        break;
      case "delete":
        summary.destroy++;
        summary.destroyed.push(rc.deposed === undefined ? rc.address : `${rc.address} (deposed object ${rc.deposed})`);
        if (rc.type && isStatefulType(rc.type, options.statefulTypes)) stateful.push({ address: rc.address, type: rc.type, action: "destroy" });
        break;
      case "replace":
        summary.add++;
        summary.destroy++;
        summary.replace++;
        summary.replaced.push(withReason(rc.address, rc.actionReason, rc.replacePaths));
        if (rc.type && isStatefulType(rc.type, options.statefulTypes)) stateful.push({ address: rc.address, type: rc.type, action: "replace" });
        break;
      case "forget":
        summary.forget++;
        break;
      case "no-op":
      case "read":
        break;
    }
    // Imports and moves are "no-op" actions but still change the state when applied,
    // and terraform reports such plans as applyable, so they count as changes too.
    if ((kind !== "no-op" && kind !== "read") || rc.importing || moved) resourceChanges = true;
  }

  summary.stateful = stateful;
  summary.outputChanges = doc.outputActions.some((actions) => !isNoOp(actions));
  summary.hasChanges = resourceChanges || summary.outputChanges;
  return summary;
}

/** Most addresses `planChanges` keeps (a plan history entry stays small). */
export const MAX_PLAN_CHANGES = 5_000;

/**
 * What a plan changes, address by address (`create`, `update`, `delete`, `replace`, `forget`,
 * `import`, `move`): the plan history compares it with the previous push's. No-ops are left out.
 */
export function planChanges(showJson: unknown, max = MAX_PLAN_CHANGES): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const rc of asPlanDocument(showJson).resourceChanges) {
    if (!isManaged(rc) || n >= max) continue;
    const kind = classifyActions(rc.actions, rc.address);
    const moved = rc.previousAddress !== undefined && rc.previousAddress !== rc.address;
    const action = kind === "no-op" || kind === "read" ? (rc.importing ? "import" : moved ? "move" : undefined) : kind;
    if (action === undefined) continue;
    out[rc.deposed === undefined ? rc.address : `${rc.address} (deposed object ${rc.deposed})`] = action;
    n++;
  }
  return out;
}

/** The result of reducing terraform's action list to what a reviewer cares about. */
type ChangeKind = "create" | "update" | "delete" | "replace" | "forget" | "no-op" | "read";

/**
 * Map terraform's `change.actions` array to one kind. Replacements are the two-element lists
 * (`delete,create` is the default order, `create,delete` is create_before_destroy).
 */
function classifyActions(actions: string[], address: string): ChangeKind {
  const key = actions.join(",");
  switch (key) {
    case "create":
    case "update":
    case "delete":
    case "forget":
    case "no-op":
    case "read":
      return key;
    case "delete,create":
    case "create,delete":
      return "replace";
    default:
      throw new Error(`Unsupported plan actions [${key}] for ${address} in terraform show -json output`);
  }
}

function isNoOp(actions: string[]): boolean {
  return actions.length === 1 && actions[0] === "no-op";
}

/** Data sources appear in `resource_changes` with `read` (or `delete` when dropped) but never count. */
function isManaged(rc: ResourceChange): boolean {
  return rc.mode === undefined || rc.mode === "managed";
}

/** Readable forms of terraform's `action_reason` values that explain a replacement. */
const REPLACE_REASONS: Record<string, string> = {
  replace_because_tainted: "tainted",
  replace_because_cannot_update: "cannot update in place",
  replace_by_request: "-replace requested",
  replace_by_triggers: "replace_triggered_by",
};

function withReason(address: string, actionReason: string | undefined, paths: string[]): PlanSummary["replaced"][number] {
  const reason = actionReason === undefined ? undefined : REPLACE_REASONS[actionReason];
  return { address, ...(reason !== undefined ? { reason } : {}), ...(paths.length ? { paths } : {}) };
}

/** `["network_interface", 0, "subnet_id"]` → `network_interface[0].subnet_id`. */
export function formatAttributePath(path: unknown[]): string {
  let out = "";
  for (const step of path) {
    if (typeof step === "number") out += `[${step}]`;
    else if (typeof step === "string") out += /^[A-Za-z_][A-Za-z0-9_-]*$/.test(step) ? (out ? `.${step}` : step) : `[${JSON.stringify(step)}]`;
  }
  return out;
}

interface ResourceChange {
  address: string;
  previousAddress?: string;
  mode?: string;
  actions: string[];
  actionReason?: string;
  /** The resource type (`aws_db_instance`). */
  type?: string;
  /** `replace_paths`, formatted. */
  replacePaths: string[];
  importing: boolean;
  /** Set for leftover objects of an interrupted create_before_destroy replacement. */
  deposed?: string;
}

interface PlanDocument {
  resourceChanges: ResourceChange[];
  outputActions: string[][];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validate the parts of the document we read. `terraform show -json` of a *state* also has
 * `format_version`, so a plan is recognised by `planned_values`, which every plan carries.
 */
function asPlanDocument(value: unknown): PlanDocument {
  if (!isRecord(value)) throw new Error("Not a terraform plan: expected the JSON object printed by `terraform show -json <planfile>`");
  const version = value.format_version;
  if (typeof version !== "string" || !/^1\.\d+$/.test(version)) {
    throw new Error(`Not a terraform plan: unsupported or missing format_version ${JSON.stringify(version)} (expected 1.x)`);
  }
  if (!isRecord(value.planned_values)) {
    throw new Error("Not a terraform plan: planned_values is missing (is this the output of `terraform show -json` without a plan file?)");
  }
  const rawChanges = value.resource_changes ?? [];
  if (!Array.isArray(rawChanges)) throw new Error("Not a terraform plan: resource_changes is not an array");
  const rawOutputs = value.output_changes ?? {};
  if (!isRecord(rawOutputs)) throw new Error("Not a terraform plan: output_changes is not an object");

  return {
    resourceChanges: rawChanges.map((rc, i) => parseResourceChange(rc, i)),
    outputActions: Object.entries(rawOutputs).map(([name, oc]) => parseActions(isRecord(oc) ? oc.actions : undefined, `output ${name}`)),
  };
}

function parseResourceChange(rc: unknown, index: number): ResourceChange {
  if (!isRecord(rc) || typeof rc.address !== "string" || !isRecord(rc.change)) {
    throw new Error(`Not a terraform plan: resource_changes[${index}] has no address or change`);
  }
  return {
    address: rc.address,
    previousAddress: typeof rc.previous_address === "string" ? rc.previous_address : undefined,
    mode: typeof rc.mode === "string" ? rc.mode : undefined,
    actions: parseActions(rc.change.actions, rc.address),
    actionReason: typeof rc.action_reason === "string" ? rc.action_reason : undefined,
    type: typeof rc.type === "string" ? rc.type : undefined,
    replacePaths: Array.isArray(rc.change.replace_paths)
      ? rc.change.replace_paths.filter((p): p is unknown[] => Array.isArray(p)).map(formatAttributePath).filter((p) => p !== "")
      : [],
    importing: isRecord(rc.change.importing),
    deposed: typeof rc.deposed === "string" ? rc.deposed : undefined,
  };
}

function parseActions(actions: unknown, what: string): string[] {
  if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === "string")) {
    throw new Error(`Not a terraform plan: ${what} has no change.actions list`);
  }
  return actions as string[];
}
