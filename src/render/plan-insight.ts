/**
 * Plan insight shared by the PR comment and the check run: the red line for stateful resources
 * that are destroyed or replaced, and each replacement with its reason and the attribute paths
 * that force it, grouped by module.
 */
import type { PlanSummary } from "../terraform/plan-summary-types.js";
import { isSameChange, type PlanDelta } from "../terraform/plan-delta.js";

type Replaced = PlanSummary["replaced"][number];

/** Inline code that survives backticks in the text (as `pr-comment.ts`'s inlineCode). */
function code(text: string): string {
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * The module call an address belongs to, without instance keys (`module.a.module.b` for
 * `module.a["x"].module.b[0].t.n`), or "" for the root module: the module a reviewer looks at.
 */
export function moduleOf(address: string): string {
  const parts = address.replace(/\[(?:"(?:[^"\\]|\\.)*"|[^\]]*)\]/g, "").split(".");
  const out: string[] = [];
  let i = 0;
  while (parts[i] === "module" && i + 2 < parts.length) {
    out.push(parts[i], parts[i + 1]);
    i += 2;
  }
  return out.join(".");
}

/** `addr`{verb} — cannot update in place, forced by `ami`, `subnet_id` */
export function describeReplacement(r: Replaced, verb = "", maxPaths = 10): string {
  const why = r.reason ? ` — ${r.reason}` : "";
  const paths = r.paths ?? [];
  const listed = paths.slice(0, maxPaths).map(code).join(", ");
  const forced = paths.length ? `, forced by ${listed}${paths.length > maxPaths ? ` and ${paths.length - maxPaths} more` : ""}` : "";
  return `${code(r.address)}${verb}${why}${forced}`;
}

/** Replacements grouped by module (root first, then modules by name): `[module, lines]`. */
export function replacementsByModule(plan: PlanSummary, verb = ""): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const r of plan.replaced) {
    const m = moduleOf(r.address);
    groups.set(m, [...(groups.get(m) ?? []), describeReplacement(r, verb)]);
  }
  return [...groups].sort(([a], [b]) => (a === b ? 0 : a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1));
}

/** The heading of a module's group: "In the root module" / "In `module.net`". */
export function moduleHeading(module: string): string {
  return module === "" ? "In the root module" : `In ${code(module)}`;
}

/**
 * The red line at the top: stateful resources this plan destroys or replaces (their data is
 * lost). Empty when there are none.
 */
export function statefulBanner(plan: PlanSummary, max = 20): string {
  const list = plan.stateful ?? [];
  if (list.length === 0) return "";
  const destroyed = list.filter((s) => s.action === "destroy").length;
  const replaced = list.length - destroyed;
  const what = [destroyed ? `destroys ${destroyed}` : "", replaced ? `replaces ${replaced}` : ""].filter(Boolean).join(" and ");
  const lines = [
    "> [!CAUTION]",
    `> **Stateful ${list.length === 1 ? "resource" : "resources"} at risk.** This plan ${what} ${list.length === 1 ? "resource that holds" : "resources that hold"} data; applying it loses that data unless it is backed up or moved:`,
  ];
  for (const s of list.slice(0, max)) lines.push(`> - ${code(s.address)} (${code(s.type)}) will be **${s.action === "destroy" ? "destroyed" : "replaced"}**`);
  if (list.length > max) lines.push(`> - … and ${list.length - max} more`);
  return lines.join("\n");
}

/** A plan carried to a new commit unchanged: what was checked, and that apply checks it again. */
export function carriedLine(from: string): string {
  return `**Carried from ${from.slice(0, 7)}:** none of this project's inputs changed since that plan (the files git tracks in its directory and its local modules, the repo config, the base commit), so Atoll kept the plan instead of running terraform again. Apply checks the inputs again.`;
}

const VERB: Record<string, string> = {
  create: "created",
  update: "updated",
  delete: "destroyed",
  replace: "replaced",
  forget: "forgotten",
  import: "imported",
  move: "moved",
};

/** "Since the last push": what the plan does now that it did not at the previous commit, and what it no longer does. */
export function sincePushBlock(delta: PlanDelta, max = 20): string {
  const at = delta.sinceSha.slice(0, 7);
  if (isSameChange(delta)) return `**Since the last push** (plan at ${at}): the same resources, with the same actions.`;
  const lines = [`**Since the last push** (plan at ${at}):`];
  const list = (items: string[], label: string) => {
    if (items.length === 0) return;
    lines.push(`- ${label}: ${items.slice(0, max).join(", ")}${items.length > max ? ` and ${items.length - max} more` : ""}`);
  };
  list(delta.added.map((a) => `${code(a.address)} (${VERB[a.action] ?? a.action})`), "newly planned");
  list(delta.changed.map((c) => `${code(c.address)} (${VERB[c.from] ?? c.from} → ${VERB[c.to] ?? c.to})`), "planned differently");
  list(delta.dropped.map((d) => `${code(d.address)} (was ${VERB[d.action] ?? d.action})`), "no longer planned");
  return lines.join("\n");
}
