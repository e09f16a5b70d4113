import type { CheckAction, CheckConclusion, CheckRunOutput, CheckStatus } from "../ports/github.js";
import { projectFlags, projectLabel, type Project } from "../projects/project.js";
import type { ProjectCommand, ProjectOutcome, ProjectResult } from "../runner/reporting/project-result.js";
import type { PlanSummary } from "../terraform/plan-summary-types.js";
import { COMMAND_TITLE, codeBlock, codeFence, describeProject, diffMarkdownFormat, inlineCode, plural, suggestedCommands } from "./pr-comment.js";
import { headUtf8, truncateUtf8 } from "./truncate-utf8.js";
import { carriedLine, moduleHeading, replacementsByModule, sincePushBlock, statefulBanner } from "./plan-insight.js";

/**
 * Check-run bodies: one check per project (its plan or apply), and the aggregate "plan" and
 * "apply" checks that branch protection can require. GitHub rejects `summary` / `text` over
 * 65,535 UTF-8 *bytes*, so every field is cut by bytes here, never by characters.
 */

/** GitHub's byte limit for `output.summary` and `output.text`. */
export const MAX_CHECK_OUTPUT_BYTES = 65_535;
/** Titles are one line in the checks UI; keep them readable. */
export const MAX_CHECK_TITLE_CHARS = 120;
/** How many destroyed or replaced addresses the summary lists (each) before "and N more". */
export const MAX_SUMMARY_ADDRESSES = 50;
/** Modules whose replacements the summary lists (each under its heading) before "and N more". */
const MAX_MODULE_GROUPS = 10;
/** Addresses longer than this (huge for_each keys) are shortened in the summary. */
const MAX_ADDRESS_CHARS = 300;
/**
 * Byte budget of each address list, so that even 50 maximal multi-byte addresses per list leave
 * room for the readiness line and next steps after the warning.
 */
const MAX_LIST_BYTES = 20_000;

/** `requested_action.identifier` values of the check-run buttons (≤ 20 characters each). */
export const APPLY_ACTION = "apply";
export const PLAN_ACTION = "plan";
export const UNLOCK_ACTION = "unlock";
export type CheckActionIdentifier = typeof APPLY_ACTION | typeof PLAN_ACTION | typeof UNLOCK_ACTION;

const APPLY_BUTTON: CheckAction = { label: "Apply", description: "Apply this plan", identifier: APPLY_ACTION };
const PLAN_BUTTON: CheckAction = { label: "Re-plan", description: "Run terraform plan again", identifier: PLAN_ACTION };
const UNLOCK_BUTTON: CheckAction = { label: "Unlock", description: "Discard this PR's plans and locks", identifier: UNLOCK_ACTION };

export interface Readiness {
  approvedBy: string[];
  changesRequestedBy: string[];
  /** Approvers whose approval, given at an earlier commit, still holds: the plan is unchanged since (`sha`). */
  unchangedSince?: { user: string; sha: string }[];
  /** Approvers of an earlier plan that has changed since: their approval does not count. */
  staleApprovals?: { user: string; sha?: string }[];
  /** The apply requirements of this project and whether each is met (absent: none configured). */
  requirements?: { requirement: string; met: boolean; reason?: string }[];
}

export interface ProjectCheck {
  status: "completed";
  conclusion: CheckConclusion;
  output: CheckRunOutput;
  actions: CheckAction[];
}

const CONCLUSION: Record<ProjectOutcome, CheckConclusion> = {
  success: "success",
  failed: "failure",
  timed_out: "timed_out",
  // Refusals (stale plan, lock held, approval missing…) block the PR until acted on.
  refused: "failure",
  cancelled: "cancelled",
};

/** The completed check of one project's plan, apply or version run. */
export function renderProjectCheck(result: ProjectResult, opts: { name: string; readiness?: Readiness }): ProjectCheck {
  const actions = projectActions(result);
  return {
    status: "completed",
    conclusion: CONCLUSION[result.outcome],
    output: {
      title: checkTitle(result.headline || defaultHeadline(result)),
      summary: renderSummary(result, opts, actions),
      ...outputText(result),
      ...(result.annotations?.length ? { annotations: result.annotations } : {}),
    },
    actions,
  };
}

function defaultHeadline(result: ProjectResult): string {
  const title = COMMAND_TITLE[result.command];
  switch (result.outcome) {
    case "success":
      return `${title} succeeded`;
    case "failed":
      return `${title} failed`;
    case "timed_out":
      return `${title} timed out`;
    case "refused":
      return `${title} not run`;
    case "cancelled":
      return `${title} cancelled`;
  }
}

function hasChanges(result: ProjectResult): boolean {
  return result.hasChanges ?? result.plan?.hasChanges ?? false;
}

/** The buttons: what a user can sensibly do next from this check. */
export function projectActions(result: ProjectResult): CheckAction[] {
  if (result.command === "plan") {
    if (result.outcome === "success" && hasChanges(result)) return [APPLY_BUTTON, PLAN_BUTTON, UNLOCK_BUTTON];
    return [PLAN_BUTTON, UNLOCK_BUTTON];
  }
  if (result.command === "apply" && result.outcome !== "success") return [PLAN_BUTTON];
  return [];
}

/** First line, cut to a readable length at a code-point boundary. */
export function checkTitle(text: string): string {
  const line = text.split("\n", 1)[0].trim();
  const chars = Array.from(line);
  return chars.length <= MAX_CHECK_TITLE_CHARS ? line : `${chars.slice(0, MAX_CHECK_TITLE_CHARS - 1).join("")}…`;
}

function renderSummary(result: ProjectResult, opts: { name: string; readiness?: Readiness }, actions: CheckAction[]): string {
  const blocks: string[] = [];
  if (result.command === "plan" && result.outcome === "success" && result.plan) blocks.push(statefulBanner(result.plan));
  const destroy = result.command === "plan" && result.outcome === "success" && result.destroyPlan === true && result.plan !== undefined;
  if (destroy) blocks.push(destroyPlanAlert(result.plan!, opts.name, result.project));
  blocks.push(...(result.warnings ?? []));
  blocks.push(`**${COMMAND_TITLE[result.command]}** for ${describeProject(result.project)}`);
  // The headline is one line by contract, but refusal reasons are free text: bound it.
  blocks.push(headUtf8(result.headline, 4_000));
  if (result.why) blocks.push(`**Why it ran:** ${headUtf8(result.why, 1_000)}.`);
  if (result.carriedFrom) blocks.push(carriedLine(result.carriedFrom));
  if (result.command === "plan" && result.outcome === "success" && result.plan) {
    blocks.push(countsTable(result.plan), destroy ? "" : destroyReplaceWarning(result.plan));
  }
  if (result.command === "plan" && result.outcome === "success" && result.sincePush) blocks.push(sincePushBlock(result.sincePush));
  if (result.command === "plan" && result.outcome === "success" && result.planDigest) {
    blocks.push(`Plan digest: \`${result.planDigest.slice(0, 16)}\` (approvals count for this plan; the same change planned again has the same digest).`);
  }
  if (opts.readiness) blocks.push(readinessLine(opts.readiness));
  blocks.push(nextSteps(result, opts.name, actions));
  const summary = blocks.filter((b) => b !== "").join("\n\n");
  return truncateUtf8(summary, MAX_CHECK_OUTPUT_BYTES, { keep: "head" });
}

/** Counts as a one-row table; import/move/forget columns only when they happen. */
export function countsTable(plan: PlanSummary): string {
  const columns: [string, number][] = [
    ["Add", plan.add],
    ["Change", plan.change],
    ["Destroy", plan.destroy],
    ["Replace", plan.replace],
  ];
  if (plan.import > 0) columns.push(["Import", plan.import]);
  if (plan.move > 0) columns.push(["Move", plan.move]);
  if (plan.forget > 0) columns.push(["Forget", plan.forget]);
  return [
    `| ${columns.map(([h]) => h).join(" | ")} |`,
    `| ${columns.map(() => "---:").join(" | ")} |`,
    `| ${columns.map(([, n]) => String(n)).join(" | ")} |`,
  ].join("\n");
}

/** A GitHub alert listing what will be destroyed or replaced, capped so the summary stays small. */
export function destroyReplaceWarning(plan: PlanSummary, max = MAX_SUMMARY_ADDRESSES): string {
  if (plan.destroyed.length === 0 && plan.replaced.length === 0) return "";
  const lines = ["> [!WARNING]"];
  const list = (items: string[], cap: number, budget: number, more: string): void => {
    let listed = 0;
    let used = 0;
    for (const item of items) {
      const line = `> - ${item}`;
      used += Buffer.byteLength(line, "utf8") + 1;
      if (listed >= cap || used > budget) break;
      lines.push(line);
      listed++;
    }
    if (items.length > listed) lines.push(`> - … and ${items.length - listed} more${more}`);
  };
  const section = (heading: string, items: string[]): void => {
    lines.push(`> **${heading}**`, ">");
    list(items, max, MAX_LIST_BYTES, "");
  };
  if (plan.destroyed.length > 0) {
    section(`${plural(plan.destroyed.length, "resource")} will be destroyed:`, plan.destroyed.map((a) => inlineCode(shortAddress(a))));
  }
  if (plan.replaced.length > 0) {
    if (plan.destroyed.length > 0) lines.push(">");
    // Why each one is replaced, grouped by module (each module gets its share of the list).
    const groups = replacementsByModule({ ...plan, replaced: plan.replaced.map((r) => ({ ...r, address: shortAddress(r.address) })) });
    if (groups.length === 1) section(`${plural(plan.replaced.length, "resource")} will be replaced:`, groups[0][1]);
    else {
      lines.push(`> **${plural(plan.replaced.length, "resource")} will be replaced:**`);
      const shown = groups.slice(0, MAX_MODULE_GROUPS);
      const cap = Math.max(5, Math.ceil(max / shown.length));
      const budget = Math.floor(MAX_LIST_BYTES / shown.length);
      for (const [m, entries] of shown) {
        lines.push(">", `> ${moduleHeading(m)}:`);
        list(entries, cap, budget, " in this module");
      }
      const rest = groups.slice(MAX_MODULE_GROUPS);
      if (rest.length) lines.push(">", `> … and ${plural(rest.reduce((n, [, e]) => n + e.length, 0), "more resource")} in ${plural(rest.length, "more module")}`);
    }
  }
  return lines.join("\n");
}

/** The red banner of a destroy plan, listing what it destroys within the summary's byte budget. */
export function destroyPlanAlert(plan: PlanSummary, name: string, project: Project): string {
  const count = plan.destroyed.length;
  if (count === 0) return "> [!CAUTION]\n> **Destroy plan.** This project has no resources in its state, so applying it destroys nothing.";
  const lines = ["> [!CAUTION]", `> **Destroy plan.** Applying it destroys ${plural(count, "resource")} of this project:`];
  let used = 0;
  let listed = 0;
  for (const address of plan.destroyed) {
    const line = `> - ${inlineCode(shortAddress(address))}`;
    used += Buffer.byteLength(line, "utf8") + 1;
    if (used > MAX_LIST_BYTES) break;
    lines.push(line);
    listed++;
  }
  if (count > listed) lines.push(`> - … and ${count - listed} more (all are in the plan output below)`);
  lines.push(">", `> A bare ${inlineCode(`${name} apply`)} skips destroy plans: apply this one by naming it, ${inlineCode(`${name} apply ${projectFlags(project)}`)}, or with the Apply button.`);
  return lines.join("\n");
}

function shortAddress(address: string): string {
  const chars = Array.from(address);
  return chars.length <= MAX_ADDRESS_CHARS ? address : `${chars.slice(0, MAX_ADDRESS_CHARS - 1).join("")}…`;
}

/** Review state that apply requirements usually depend on. */
export function readinessLine(readiness: Readiness): string {
  const parts: string[] = [];
  const users = (logins: string[]): string => logins.map((l) => `@${l}`).join(", ");
  const stale = readiness.staleApprovals ?? [];
  parts.push(readiness.approvedBy.length > 0 ? `Approved by ${users(readiness.approvedBy)}.` : stale.length > 0 ? "No approval of this plan yet." : "No approving review yet.");
  for (const u of readiness.unchangedSince ?? []) parts.push(`Plan unchanged since approval by @${u.user} (at ${u.sha.slice(0, 7)}).`);
  if (stale.length > 0) {
    const where = (s: { sha?: string }) => (s.sha ? ` at ${s.sha.slice(0, 7)}` : "");
    parts.push(`The plan changed after ${stale.map((s) => `@${s.user}${where(s)}`).join(", ")} approved: that approval does not cover this plan.`);
  }
  if (readiness.changesRequestedBy.length > 0) parts.push(`Changes requested by ${users(readiness.changesRequestedBy)}.`);
  const reqs = readiness.requirements ?? [];
  if (reqs.length === 0) return parts.join(" ");
  const lines = reqs.map((r) => (r.met ? `- ✅ \`${r.requirement}\`` : `- ❌ \`${r.requirement}\`: ${r.reason ?? "not met"}`));
  const verdict = reqs.every((r) => r.met) ? "All apply requirements are met." : "**Apply requirements not met yet** (apply is refused until they are):";
  return [parts.join(" "), "", verdict, ...lines].join("\n");
}

/** The comment commands equivalent to the buttons, for people who prefer comments (or forks). */
function nextSteps(result: ProjectResult, name: string, actions: CheckAction[]): string {
  if (actions.length === 0) return "";
  const cmds = suggestedCommands(name, result.project);
  const describe: Record<string, string> = {
    [APPLY_ACTION]: `${inlineCode(cmds.apply)} to apply this plan`,
    [PLAN_ACTION]: `${inlineCode(cmds.plan)} to plan again`,
    [UNLOCK_ACTION]: `${inlineCode(cmds.unlock)} to discard this pull request's plans and locks`,
  };
  const lines = ["Next steps (use the buttons above, or comment on the pull request):"];
  for (const action of actions) lines.push(`- ${describe[action.identifier]}`);
  return lines.join("\n");
}

/** The terraform output as `text`, fenced, cut so the whole field fits GitHub's byte limit. */
function outputText(result: ProjectResult): { text?: string } {
  if (result.output.trim() === "") return {};
  const diff = result.command === "plan" && result.outcome === "success";
  const body = diff ? diffMarkdownFormat(result.output) : result.output;
  const info = diff ? "diff" : "";
  // Overhead: opening fence + info + "\n", "\n" + closing fence. The fence is sized on the full
  // output, which is at least as long as any fence the cut output needs.
  const fence = codeFence(body);
  const overhead = 2 * fence.length + info.length + 2;
  const cut = truncateUtf8(body, Math.max(0, MAX_CHECK_OUTPUT_BYTES - overhead));
  return { text: codeBlock(cut, info, fence) };
}

/** The check shown while a project's command runs. */
export function renderInProgressCheck(
  command: ProjectCommand,
  project: Project,
  detail?: string,
): { status: "in_progress"; output: { title: string; summary: string } } {
  const title = `${COMMAND_TITLE[command]} in progress…`;
  const lines = [`Running \`terraform ${command}\` for ${describeProject(project)}.`];
  if (detail) lines.push(detail);
  return {
    status: "in_progress",
    output: { title, summary: truncateUtf8(lines.join("\n\n"), MAX_CHECK_OUTPUT_BYTES, { keep: "head" }) },
  };
}

export interface AggregateProjectState {
  project: Project;
  plan: "pending" | "success" | "failed";
  hasChanges: boolean;
  apply: "none" | "pending" | "success" | "failed";
}

export interface AggregateCheck {
  status: CheckStatus;
  conclusion?: CheckConclusion;
  output: { title: string; summary: string };
}

/**
 * The PR-wide "plan" or "apply" check. With no projects both succeed, so requiring them in
 * branch protection never blocks a pull request that touches no Terraform. The apply check
 * stays queued (pending) until every planned change is applied, so it can gate merging.
 */
export function renderAggregateCheck(kind: "plan" | "apply", projects: AggregateProjectState[], name: string): AggregateCheck {
  const m = projects.length;
  if (m === 0) {
    return {
      status: "completed",
      conclusion: "success",
      output: { title: "0 projects", summary: "No Terraform projects are affected by this pull request." },
    };
  }
  return kind === "plan" ? aggregatePlan(projects, name) : aggregateApply(projects, name);
}

function aggregatePlan(projects: AggregateProjectState[], name: string): AggregateCheck {
  const m = projects.length;
  const pending = projects.filter((p) => p.plan === "pending").length;
  const failed = projects.filter((p) => p.plan === "failed").length;
  const succeeded = m - pending - failed;
  const list = projectList(projects, planState);
  if (pending > 0) {
    const title = `${m - pending}/${m} planned${failed > 0 ? `, ${failed} failed` : ""}`;
    return { status: "in_progress", output: { title, summary: finish([list]) } };
  }
  if (failed > 0) {
    return {
      status: "completed",
      conclusion: "failure",
      output: {
        title: `${succeeded}/${m} projects planned, ${failed} failed`,
        summary: finish([list, `Fix the errors and comment ${inlineCode(`${name} plan`)} to plan again.`]),
      },
    };
  }
  return { status: "completed", conclusion: "success", output: { title: `${m}/${m} projects planned`, summary: finish([list]) } };
}

function aggregateApply(projects: AggregateProjectState[], name: string): AggregateCheck {
  const m = projects.length;
  const upToDate = projects.filter((p) => p.plan === "success" && !p.hasChanges && p.apply !== "failed").length;
  const applied = projects.filter((p) => p.apply === "success" || (p.plan === "success" && !p.hasChanges && p.apply !== "failed")).length;
  const failed = projects.filter((p) => p.apply === "failed").length;
  const running = projects.filter((p) => p.apply === "pending").length;
  const list = projectList(projects, applyState);
  const upToDateNote = upToDate > 0 ? ` (${upToDate} up to date)` : "";
  if (failed > 0) {
    return {
      status: "completed",
      conclusion: "failure",
      output: {
        title: `${applied}/${m} applied, ${failed} failed`,
        summary: finish([list, `Fix the errors, then comment ${inlineCode(`${name} plan`)} and ${inlineCode(`${name} apply`)}.`]),
      },
    };
  }
  if (applied === m) {
    return { status: "completed", conclusion: "success", output: { title: `${m}/${m} applied${upToDateNote}`, summary: finish([list]) } };
  }
  const remaining = projects.filter((p) => !(p.apply === "success" || (p.plan === "success" && !p.hasChanges)));
  const remainingList = remaining.map((p) => `- ${inlineCode(projectLabel(p.project))}: ${applyState(p)}`).join("\n");
  return {
    // Not completed: branch protection treats the check as pending and waits for the apply.
    status: running > 0 ? "in_progress" : "queued",
    output: {
      title: `${applied}/${m} applied${upToDateNote}`,
      summary: finish([
        // When nothing is done yet the full list is the remaining list: show it once.
        ...(remaining.length === projects.length ? [] : [list]),
        `**Remaining (${remaining.length}):**\n${remainingList}`,
        `Comment ${inlineCode(`${name} apply`)} to apply all planned changes.`,
      ]),
    },
  };
}

function planState(p: AggregateProjectState): string {
  switch (p.plan) {
    case "pending":
      return "planning…";
    case "failed":
      return "plan failed";
    case "success":
      return p.hasChanges ? "planned, has changes" : "planned, no changes";
  }
}

function applyState(p: AggregateProjectState): string {
  switch (p.apply) {
    case "success":
      return "applied";
    case "failed":
      return "apply failed";
    case "pending":
      return "applying…";
    case "none":
      if (p.plan === "pending") return "planning…";
      if (p.plan === "failed") return "plan failed, plan again";
      return p.hasChanges ? "planned, waiting for apply" : "up to date";
  }
}

function projectList(projects: AggregateProjectState[], state: (p: AggregateProjectState) => string): string {
  return projects.map((p) => `- ${inlineCode(projectLabel(p.project))}: ${state(p)}`).join("\n");
}

/** Join summary blocks and enforce the byte limit (thousands of projects is possible). */
function finish(blocks: string[]): string {
  return truncateUtf8(blocks.filter((b) => b !== "").join("\n\n"), MAX_CHECK_OUTPUT_BYTES, { keep: "head" });
}
