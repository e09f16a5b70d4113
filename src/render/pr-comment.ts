import { join as shellJoin } from "shlex";
import { projectFlags, type Project } from "../projects/project.js";
import type { ProjectCommand, ProjectResult } from "../runner/reporting/project-result.js";
import { carriedLine, moduleHeading, replacementsByModule, sincePushBlock, statefulBanner } from "./plan-insight.js";
import type { PlanSummary } from "../terraform/plan-summary-types.js";
import { MAX_COMMENT_CHARS, splitMarkdown } from "./split-markdown.js";

/**
 * The pull-request comment that reports a command's results, laid out like Atlantis's so users
 * switching over find what they expect: a "Ran Plan for …" first line (Atlantis and people's
 * scripts recognise comments by it), the one-line result outside any fold, the terraform output
 * folded in a ```diff block, and the comment commands to run next.
 */

export interface PrCommentInput {
  command: ProjectCommand;
  /** The command prefix users type ("atoll" or "atlantis"), used in suggested commands. */
  name: string;
  results: ProjectResult[];
  headSha: string;
  /** Extra terraform arguments of the plan, repeated in the suggested re-plan command. */
  extraArgs?: string[];
  /** Extra paragraphs (e.g. warnings) rendered at the end. */
  notes?: string[];
  /** A hidden line ending every part (`<!-- … -->`): plan comments name their projects so later plans can hide them. */
  marker?: string;
}

/** Modules whose replacements are listed (each under its heading) before "and N more". */
const MAX_MODULE_GROUPS = 10;
/** How many destroyed/replaced addresses are listed before "and N more". */
export const MAX_LISTED_ADDRESSES = 20;

export const COMMAND_TITLE: Record<ProjectCommand, string> = { plan: "Plan", apply: "Apply", version: "Version", import: "Import", state_rm: "State rm" };

/** Render the comment; returns the parts to post in order (one unless the output is too long). */
export function renderPrComment(input: PrCommentInput): string[] {
  const markdown = input.results.length === 1 ? renderSingle(input, input.results[0]) : renderMulti(input);
  if (!input.marker) return splitMarkdown(markdown);
  return splitMarkdown(markdown, { maxChars: MAX_COMMENT_CHARS - input.marker.length - 2 }).map((part) => `${part}\n\n${input.marker}`);
}

function renderSingle(input: PrCommentInput, result: ProjectResult): string {
  const blocks = [
    `Ran ${COMMAND_TITLE[input.command]} for ${describeProject(result.project)}${commitSuffix(input.headSha)}`,
    ...projectBlocks(input, result, { single: true }),
    ...(input.notes ?? []),
  ];
  return joinBlocks(blocks);
}

function renderMulti(input: PrCommentInput): string {
  const title = COMMAND_TITLE[input.command];
  const n = input.results.length;
  if (n === 0) return joinBlocks([`Ran ${title} for 0 projects.`, ...(input.notes ?? [])]);
  const blocks: string[] = [
    `Ran ${title} for ${n} ${n === 1 ? "project" : "projects"}:`,
    input.results.map((r, i) => `${i + 1}. ${describeProject(r.project)}`).join("\n"),
  ];
  if (input.headSha) blocks.push(`At commit ${shortSha(input.headSha)}.`);
  input.results.forEach((result, i) => {
    blocks.push("---", `### ${i + 1}. ${describeProject(result.project)}`, ...projectBlocks(input, result, { single: false }));
  });
  if (input.command !== "version") blocks.push("---", ...summaryBlocks(input));
  blocks.push(...(input.notes ?? []));
  return joinBlocks(blocks);
}

/** Paragraphs separated by a blank line; empty blocks are dropped. */
function joinBlocks(blocks: string[]): string {
  return blocks.filter((b) => b !== "").join("\n\n");
}

/** "project: `p` dir: `d` workspace: `w`" as in Atlantis's headers. */
export function describeProject(p: Project): string {
  const parts = [`dir: ${inlineCode(p.dir)}`, `workspace: ${inlineCode(p.workspace)}`];
  if (p.name) parts.unshift(`project: ${inlineCode(p.name)}`);
  return parts.join(" ");
}

/** A short SHA as plain text, which GitHub turns into a link to the commit. */
function commitSuffix(headSha: string): string {
  return headSha ? ` (commit ${shortSha(headSha)})` : "";
}

function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

/** Everything rendered for one project below its header: banners first, then the result. */
function projectBlocks(input: PrCommentInput, result: ProjectResult, ctx: { single: boolean }): string[] {
  const banner = result.destroyPlan && result.outcome === "success" && result.plan ? destroyPlanBanner(result.plan, input.name, result.project) : "";
  const stateful = result.command === "plan" && result.outcome === "success" && result.plan ? statefulBanner(result.plan) : "";
  return [stateful, banner, ...(result.warnings ?? []), ...resultBlocks(input, result, ctx)];
}

function resultBlocks(input: PrCommentInput, result: ProjectResult, ctx: { single: boolean }): string[] {
  const title = COMMAND_TITLE[result.command];
  const isPlan = result.command === "plan";
  switch (result.outcome) {
    case "success": {
      const blocks = [result.headline, ...(result.carriedFrom ? [carriedLine(result.carriedFrom)] : [])];
      // A destroy plan's banner already lists what is destroyed.
      if (isPlan && result.plan && !result.destroyPlan) blocks.push(destroyWarning(result.plan));
      if (isPlan && result.sincePush) blocks.push(sincePushBlock(result.sincePush));
      blocks.push(outputBlock(result.output, { diff: isPlan, fold: result.command !== "version" }));
      if (isPlan && hasChanges(result)) {
        const cmds = suggestedCommands(input.name, result.project, input.extraArgs);
        const bullets = [
          `* To **apply** this plan, comment: ${inlineCode(cmds.apply)}`,
          `* To **plan** this project again, comment: ${inlineCode(cmds.plan)}`,
        ];
        if (ctx.single) bullets.push(`* To **discard** all plans and locks of this pull request, comment: ${inlineCode(cmds.unlock)}`);
        blocks.push(bullets.join("\n"));
      }
      return blocks;
    }
    case "failed":
      return [
        result.command === "apply" ? "**Apply Failed**" : `**${title} Error**`,
        result.headline,
        outputBlock(result.output, { diff: false, fold: true }),
      ];
    case "timed_out": // the headline says which step timed out; the output is what it printed so far
    case "refused": // the headline is the reason; usually nothing ran, so there is no output block
    case "cancelled": // the headline says who cancelled
      return [result.headline, outputBlock(result.output, { diff: false, fold: true })];
  }
}

function hasChanges(result: ProjectResult): boolean {
  return result.hasChanges ?? result.plan?.hasChanges ?? false;
}

function summaryBlocks(input: PrCommentInput): string[] {
  const n = input.results.length;
  const ok = input.results.filter((r) => r.outcome === "success");
  const cancelled = input.results.filter((r) => r.outcome === "cancelled").length;
  const failed = n - ok.length - cancelled;
  const cancelledNote = cancelled > 0 ? `, ${cancelled} cancelled` : "";
  if (input.command === "apply") {
    return ["### Apply Summary", `${n} projects, ${ok.length} applied, ${failed} failed${cancelledNote}`];
  }
  const withChanges = ok.filter(hasChanges).length;
  const blocks = ["### Plan Summary", `${n} projects, ${withChanges} with changes, ${ok.length - withChanges} unchanged, ${failed} failed${cancelledNote}`];
  const bullets: string[] = [];
  const destroys = ok.filter((r) => r.destroyPlan && hasChanges(r)).length;
  if (withChanges > destroys) {
    const except = destroys > 0 ? " (destroy plans are applied only by naming their project)" : "";
    bullets.push(`* To **apply** all unapplied plans from this pull request${except}, comment: ${inlineCode(`${input.name} apply`)}`);
  }
  bullets.push(`* To **discard** all plans and locks from this pull request, comment: ${inlineCode(`${input.name} unlock`)}`);
  blocks.push(bullets.join("\n"));
  return blocks;
}

/** The comment commands suggested for a project; `projectFlags` already quotes its values. */
export function suggestedCommands(name: string, project: Project, extraArgs: string[] = []): { apply: string; plan: string; unlock: string } {
  const flags = projectFlags(project);
  const extra = extraArgs.length > 0 ? ` -- ${shellJoin(extraArgs)}` : "";
  return {
    apply: `${name} apply ${flags}`,
    plan: `${name} plan ${flags}${extra}`,
    unlock: `${name} unlock`,
  };
}

/**
 * The tfcmt-style danger banner: destroys and replacements are what reviewers most need to see,
 * so they are listed outside the fold. Empty when the plan destroys nothing.
 */
export function destroyWarning(plan: PlanSummary, max = MAX_LISTED_ADDRESSES): string {
  if (plan.destroyed.length === 0 && plan.replaced.length === 0) return "";
  const counts = [
    plan.destroyed.length > 0 ? `destroys ${plural(plan.destroyed.length, "resource")}` : "",
    plan.replaced.length > 0 ? `replaces ${plural(plan.replaced.length, "resource")}` : "",
  ].filter(Boolean);
  const lines = ["> [!WARNING]", `> This plan ${counts.join(" and ")}. Check carefully before applying:`];
  const list = (entries: string[], cap: number, indent: string, more: string) => {
    for (const entry of entries.slice(0, cap)) lines.push(`> ${indent}- ${entry}`);
    if (entries.length > cap) lines.push(`> ${indent}- and ${entries.length - cap} more${more}`);
  };
  list(plan.destroyed.map((a) => `${inlineCode(a)} will be **destroyed**`), max, "", "");
  // Replacements with their reasons, grouped by module: each module gets its share of the list.
  const groups = replacementsByModule(plan, " will be **replaced**");
  if (groups.length === 1) list(groups[0][1], max, "", "");
  else {
    const shown = groups.slice(0, MAX_MODULE_GROUPS);
    for (const [m, entries] of shown) {
      lines.push(`> - ${moduleHeading(m)}:`);
      list(entries, Math.max(5, Math.ceil(max / shown.length)), "  ", " in this module");
    }
    const rest = groups.slice(MAX_MODULE_GROUPS);
    if (rest.length) lines.push(`> - and ${plural(rest.reduce((n, [, e]) => n + e.length, 0), "more replacement")} in ${plural(rest.length, "more module")}`);
  }
  return lines.join("\n");
}

/**
 * The red banner a destroy plan opens with: it says that applying destroys the project's
 * resources, lists every one (the comment is split into parts when long), and says how to apply.
 */
export function destroyPlanBanner(plan: PlanSummary, name: string, project: Project): string {
  const count = plan.destroyed.length;
  const lines = [
    "> [!CAUTION]",
    count > 0
      ? `> **Destroy plan.** Applying it destroys ${plural(count, "resource")} of this project:`
      : "> **Destroy plan.** This project has no resources in its state, so applying it destroys nothing.",
  ];
  for (const address of plan.destroyed) lines.push(`> - ${inlineCode(address)}`);
  if (count > 0) {
    lines.push(">", `> A bare ${inlineCode(`${name} apply`)} skips destroy plans. To apply this one, comment ${inlineCode(`${name} apply ${projectFlags(project)}`)}.`);
  }
  return lines.join("\n");
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The output in a code block, folded in `<details>` like Atlantis; "" when there is no output. */
function outputBlock(output: string, opts: { diff: boolean; fold: boolean }): string {
  if (output.trim() === "") return "";
  const code = codeBlock(opts.diff ? diffMarkdownFormat(output) : output, opts.diff ? "diff" : "");
  return opts.fold ? `<details><summary>Show Output</summary>\n\n${code}\n</details>` : code;
}

/** A fenced code block whose fence is longer than any backtick run inside, so it cannot be closed early. */
export function codeBlock(text: string, info = "", fence = codeFence(text)): string {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  return `${fence}${info}\n${body}\n${fence}`;
}

export function codeFence(text: string): string {
  return "`".repeat(Math.max(3, longestRun(text, "`") + 1));
}

/** Inline code that survives backticks in the value (CommonMark: a longer delimiter, padded). */
export function inlineCode(text: string): string {
  const delimiter = "`".repeat(longestRun(text, "`") + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${delimiter}${pad}${text}${pad}${delimiter}`;
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let current = 0;
  for (const c of text) {
    current = c === char ? current + 1 : 0;
    if (current > longest) longest = current;
  }
  return longest;
}

/**
 * Atlantis's `--enable-diff-markdown-format`: terraform indents its change markers, but GitHub's
 * diff highlighting only looks at column 0. Move `+`, `-`, `~`, `-/+`, `+/-` to the front (with
 * `~` as `!`, which GitHub colours as a change) and keep the indentation after them, so
 * alignment is preserved. Other lines are unchanged.
 */
export function diffMarkdownFormat(output: string): string {
  return output.replace(/^([ \t]+)(-\/\+|\+\/-|[-+~])(?=[ \t]|$)/gm, (_m, indent: string, marker: string) => {
    return `${marker === "~" ? "!" : marker}${indent}`;
  });
}
