/**
 * Split a markdown document into parts that each fit one GitHub comment, the way Atlantis does:
 * on line boundaries, with a footer saying the output continues and a header on the next part,
 * and with every fenced code block and `<details>` fold closed at the end of a part and reopened
 * at the start of the next one, so each comment renders on its own.
 *
 * Lengths are JS string lengths (UTF-16 code units). GitHub's limit is 65,536 characters and a
 * character is never fewer code units than GitHub counts, so staying under it in code units is safe.
 */

/** GitHub: "body is too long (maximum is 65536 characters)". */
export const MAX_COMMENT_CHARS = 65_536;
export const DEFAULT_CONTINUED_FOOTER = "**Warning**: Output length greater than max comment size. Continued in next comment.";
export const DEFAULT_CONTINUATION_HEADER = "Continued from previous comment.";

export interface SplitMarkdownOptions {
  /** Maximum length of every part, glue included. Default 65,536. */
  maxChars?: number;
  /** Appended to every part except the last. */
  continuedFooter?: string;
  /** Prepended to every part except the first. */
  continuationHeader?: string;
}

/** Summary used when a fold is reopened but its original `<summary>` was never seen. */
const FALLBACK_SUMMARY = "Details";

interface OpenFence {
  kind: "fence";
  char: "`" | "~";
  length: number;
  /** The opening line, info string included, used verbatim to reopen. */
  opener: string;
}

interface OpenDetails {
  kind: "details";
  summary?: string;
}

type OpenBlock = OpenFence | OpenDetails;

/** What is open at a line boundary, outermost first. Treated as immutable. */
type BlockStack = readonly OpenBlock[];

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t\r]*$/;
const DETAILS_TOKEN = /<details\b[^>]*>|<\/details\s*>|<summary\b[^>]*>(.*?)<\/summary\s*>/gi;

/**
 * The block state after `line`, following CommonMark for fences (a closing fence uses the same
 * character and is at least as long as the opening one; nothing is parsed inside a fence) and
 * counting `<details>` tags outside fences.
 */
export function advanceBlocks(stack: BlockStack, line: string): BlockStack {
  const top = stack[stack.length - 1];
  if (top?.kind === "fence") {
    const m = FENCE_CLOSE.exec(line);
    if (m && m[1][0] === top.char && m[1].length >= top.length) return stack.slice(0, -1);
    return stack;
  }
  const open = FENCE_OPEN.exec(line);
  if (open) {
    const char = open[1][0] as "`" | "~";
    // A backtick fence's info string cannot contain backticks (that is inline code instead).
    if (char === "~" || !open[2].includes("`")) {
      return [...stack, { kind: "fence", char, length: open[1].length, opener: line }];
    }
  }
  if (!line.includes("<")) return stack;
  let next: OpenBlock[] | undefined;
  for (const m of line.matchAll(DETAILS_TOKEN)) {
    next ??= [...stack];
    const token = m[0].toLowerCase();
    const last = next[next.length - 1];
    if (token.startsWith("<details")) {
      next.push({ kind: "details" });
    } else if (token.startsWith("</details")) {
      if (last?.kind === "details") next.pop();
    } else if (last?.kind === "details" && last.summary === undefined) {
      next[next.length - 1] = { kind: "details", summary: m[1].trim() };
    }
  }
  return next ?? stack;
}

/** Lines that reopen `stack` at the start of a part. */
function reopenLines(stack: BlockStack): string[] {
  const lines: string[] = [];
  for (const block of stack) {
    if (block.kind === "fence") {
      lines.push(block.opener);
    } else {
      // The blank line lets GitHub render markdown (and fences) inside the fold.
      lines.push(`<details><summary>${block.summary || FALLBACK_SUMMARY} (continued)</summary>`, "");
    }
  }
  return lines;
}

/** Lines that close `stack` at the end of a part, innermost first. */
function closeLines(stack: BlockStack): string[] {
  return [...stack].reverse().map((block) => (block.kind === "fence" ? block.char.repeat(block.length) : "</details>"));
}

/** Split `markdown` into comment-sized parts; a document that fits is returned as the only part. */
export function splitMarkdown(markdown: string, opts: SplitMarkdownOptions = {}): string[] {
  const maxChars = opts.maxChars ?? MAX_COMMENT_CHARS;
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError(`maxChars must be a positive integer, got ${maxChars}`);
  if (markdown.length <= maxChars) return [markdown];

  const footer = opts.continuedFooter ?? DEFAULT_CONTINUED_FOOTER;
  const header = opts.continuationHeader ?? DEFAULT_CONTINUATION_HEADER;

  const prefixOf = (stack: BlockStack, first: boolean): string =>
    (first ? "" : `${header}\n\n`) + reopenLines(stack).map((l) => `${l}\n`).join("");
  const suffixOf = (stack: BlockStack): string => closeLines(stack).map((l) => `\n${l}`).join("") + `\n\n${footer}`;

  const parts: string[] = [];
  let state: BlockStack = [];
  let prefix = prefixOf(state, true);
  let body: string[] = [];
  let bodyLength = 0;

  const flush = (): void => {
    parts.push(prefix + body.join("\n") + suffixOf(state));
    prefix = prefixOf(state, false);
    body = [];
    bodyLength = 0;
  };

  let lineStart = 0;
  for (const line of markdown.split("\n")) {
    const after = advanceBlocks(state, line);
    const suffixAfter = suffixOf(after).length;
    let rest = line;
    for (;;) {
      const separator = body.length > 0 ? 1 : 0;
      // The last part needs no footer, so stop reserving room for one once the rest fits.
      const restStart = lineStart + line.length - rest.length;
      if (prefix.length + bodyLength + separator + markdown.length - restStart <= maxChars) {
        body.push(markdown.slice(restStart));
        parts.push(prefix + body.join("\n"));
        return parts;
      }
      if (prefix.length + bodyLength + separator + rest.length + suffixAfter <= maxChars) {
        body.push(rest);
        bodyLength += separator + rest.length;
        break;
      }
      if (body.length > 0) {
        flush();
        continue;
      }
      // The line does not fit even in an empty part: cut it at a code-point boundary.
      const room = maxChars - prefix.length - Math.max(suffixOf(state).length, suffixAfter);
      const cut = codePointCut(rest, room);
      if (cut <= 0) {
        throw new RangeError(`maxChars ${maxChars} is too small for the continuation header, footer and reopened blocks`);
      }
      body.push(rest.slice(0, cut));
      bodyLength = cut;
      flush();
      rest = rest.slice(cut);
    }
    state = after;
    lineStart += line.length + 1;
  }
  // The last part gets no footer and no closers: it ends where the document ends.
  parts.push(prefix + body.join("\n"));
  return parts;
}

/** Largest cut ≤ `room` that does not separate a surrogate pair. */
function codePointCut(text: string, room: number): number {
  if (room <= 0) return 0;
  let cut = Math.min(room, text.length);
  const before = text.charCodeAt(cut - 1);
  const after = text.charCodeAt(cut);
  if (before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff) cut--;
  return cut;
}
