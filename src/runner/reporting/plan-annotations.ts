/**
 * Check-run annotations for a plan: on the `.tf` lines that declare each resource the plan
 * destroys or replaces (found with the HCL parser, `terraform/hcl-declarations.ts`), so they show
 * in the pull request's "Files changed". Warning level; failure for stateful resources.
 */
import type { CheckAnnotation } from "../../ports/github.js";
import { locateDeclarations, type Declaration } from "../../terraform/hcl-declarations.js";
import type { PlanSummary } from "../../terraform/plan-summary-types.js";

/** GitHub's limit per create or update request. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** At most this many per run (GitHub keeps them all; a reviewer reads the first). */
export const MAX_ANNOTATIONS = 500;

/** `aws_x.y (deposed object abc)` → `aws_x.y` */
const plainAddress = (a: string) => a.replace(/ \(deposed object [^)]*\)$/, "");

/** The annotations for a plan, given where its addresses are declared (pure). */
export function annotationsFor(plan: PlanSummary, declared: Map<string, Declaration>): CheckAnnotation[] {
  const stateful = new Set((plan.stateful ?? []).map((s) => s.address));
  const out: CheckAnnotation[] = [];
  const add = (address: string, what: "destroyed" | "replaced", detail: string) => {
    const d = declared.get(plainAddress(address));
    if (!d || out.length >= MAX_ANNOTATIONS) return;
    const isStateful = stateful.has(plainAddress(address));
    const via = d.kind === "module" ? ` (declared in module \`${d.name}\`, whose source is not in this repository)` : "";
    out.push({
      path: d.file,
      start_line: d.startLine,
      end_line: d.endLine,
      annotation_level: isStateful ? "failure" : "warning",
      title: `${isStateful ? `Stateful resource ${what}` : what === "destroyed" ? "Destroyed" : "Replaced"}: ${address}`.slice(0, 255),
      message: `This plan ${what === "destroyed" ? "destroys" : "replaces"} ${address}${via}.${detail}${isStateful ? " It holds data, which is lost unless it is backed up or moved." : ""}`,
    });
  };
  for (const address of plan.destroyed) add(address, "destroyed", "");
  for (const r of plan.replaced) {
    const why = r.reason ? ` Reason: ${r.reason}.` : "";
    const paths = r.paths?.length ? ` Forced by: ${r.paths.join(", ")}.` : "";
    add(r.address, "replaced", `${why}${paths}`);
  }
  return out;
}

/** Find the declarations in the checkout and build the annotations (empty when nothing is destroyed or replaced). */
export async function planAnnotations(checkoutDir: string, projectDir: string, plan: PlanSummary): Promise<CheckAnnotation[]> {
  const addresses = [...plan.destroyed, ...plan.replaced.map((r) => r.address)].map(plainAddress);
  if (addresses.length === 0) return [];
  return annotationsFor(plan, await locateDeclarations(checkoutDir, projectDir, addresses));
}
