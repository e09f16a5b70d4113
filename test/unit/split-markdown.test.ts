import {
  DEFAULT_CONTINUATION_HEADER,
  DEFAULT_CONTINUED_FOOTER,
  MAX_COMMENT_CHARS,
  splitMarkdown,
} from "../../src/render/split-markdown.js";
import { rng } from "../helpers/rng.js";

/*
 * The checks below use their own small markdown scanner (not the one in the module) as the
 * oracle: which fences and folds are open after a given prefix of the original document.
 */

type Open = { kind: "fence"; char: string; len: number; opener: string } | { kind: "details"; summary?: string };

function scanLine(stack: Open[], line: string): Open[] {
  const top = stack[stack.length - 1];
  if (top?.kind === "fence") {
    const close = /^ {0,3}(`+|~+)\s*$/.exec(line);
    return close && close[1][0] === top.char && close[1].length >= top.len ? stack.slice(0, -1) : stack;
  }
  const fence = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
  if (fence && !(fence[1][0] === "`" && fence[2].includes("`"))) {
    return [...stack, { kind: "fence", char: fence[1][0], len: fence[1].length, opener: line }];
  }
  const next = [...stack];
  for (const m of line.matchAll(/<details>|<\/details>|<summary>(.*?)<\/summary>/g)) {
    if (m[0] === "<details>") next.push({ kind: "details" });
    else if (m[0] === "</details>") next.pop();
    else {
      const last = next[next.length - 1];
      if (last?.kind === "details" && last.summary === undefined) next[next.length - 1] = { kind: "details", summary: m[1] };
    }
  }
  return next;
}

/** Open blocks after the complete lines of `text` (a trailing partial line is ignored). */
function openAfter(text: string): Open[] {
  const lines = text.split("\n");
  lines.pop();
  return lines.reduce(scanLine, [] as Open[]);
}

/** Every fence and fold opened in `part` is closed in `part`, and nothing is closed that was not opened. */
function expectBalanced(part: string): void {
  let stack: Open[] = [];
  for (const line of part.split("\n")) {
    const depthDetails = stack.filter((b) => b.kind === "details").length;
    const closesDetails = stack[stack.length - 1]?.kind !== "fence" && line.includes("</details>");
    if (closesDetails) expect(depthDetails).toBeGreaterThan(0);
    stack = scanLine(stack, line);
  }
  expect(stack).toEqual([]);
}

const reopenText = (open: Open[]): string =>
  open
    .map((b) => (b.kind === "fence" ? `${b.opener}\n` : `<details><summary>${b.summary ?? "Details"} (continued)</summary>\n\n`))
    .join("");
const closeText = (open: Open[]): string =>
  [...open]
    .reverse()
    .map((b) => (b.kind === "fence" ? `\n${b.char.repeat(b.len)}` : "\n</details>"))
    .join("");

/**
 * Strip the glue from every part (header, reopened blocks, closers, footer) and check that what
 * remains, concatenated, is exactly the original document; a part boundary either replaces one
 * "\n" of the original (line boundary) or falls inside a line that was too long.
 */
function expectReconstructs(original: string, parts: string[], header = DEFAULT_CONTINUATION_HEADER, footer = DEFAULT_CONTINUED_FOOTER): void {
  let offset = 0;
  parts.forEach((part, i) => {
    let rest = part;
    if (i > 0) {
      const open = reopenText(openAfter(original.slice(0, offset)));
      const prefix = `${header}\n\n${open}`;
      expect(rest.startsWith(prefix)).toBe(true);
      rest = rest.slice(prefix.length);
    }
    if (i === parts.length - 1) {
      expect(rest).toBe(original.slice(offset));
      offset = original.length;
      return;
    }
    expect(rest.endsWith(`\n\n${footer}`)).toBe(true);
    rest = rest.slice(0, rest.length - footer.length - 2);
    const remaining = original.slice(offset);
    let common = 0;
    while (common < rest.length && rest[common] === remaining[common]) common++;
    let end = -1;
    for (let len = common; len >= 0; len--) {
      const candidateEnd = offset + len;
      const lineBoundary = original[candidateEnd] === "\n";
      const closers = closeText(openAfter(original.slice(0, candidateEnd + (lineBoundary ? 1 : 0))));
      if (rest === original.slice(offset, candidateEnd) + closers) {
        end = candidateEnd;
        break;
      }
    }
    expect({ part: i, matched: end >= 0 }).toEqual({ part: i, matched: true });
    expect(end).toBeGreaterThan(offset); // every part makes progress
    offset = end + (original[end] === "\n" ? 1 : 0);
  });
  expect(offset).toBe(original.length);
}

function expectValidSplit(original: string, parts: string[], maxChars: number): void {
  expect(parts.length).toBeGreaterThan(0);
  for (const part of parts) {
    expect(part.length).toBeLessThanOrEqual(maxChars);
    expectBalanced(part);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(part)).toBe(false);
  }
  expectReconstructs(original, parts);
}


describe("splitMarkdown", () => {
  test("a document that fits is returned as is, also exactly at the limit", () => {
    expect(splitMarkdown("hello\nworld")).toEqual(["hello\nworld"]);
    expect(splitMarkdown("")).toEqual([""]);
    const exact = "x".repeat(100);
    expect(splitMarkdown(exact, { maxChars: 100 })).toEqual([exact]);
    const big = "a".repeat(MAX_COMMENT_CHARS);
    expect(splitMarkdown(big)).toEqual([big]);
  });

  test("one character over the limit splits into two parts with header and footer", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${String(i).padStart(2, "0")} ${"-".repeat(20)}`);
    const doc = lines.join("\n");
    const maxChars = 500;
    const parts = splitMarkdown(doc, { maxChars });
    expect(parts.length).toBeGreaterThan(1);
    expect(parts[0].endsWith(`\n\n${DEFAULT_CONTINUED_FOOTER}`)).toBe(true);
    expect(parts[1].startsWith(`${DEFAULT_CONTINUATION_HEADER}\n\n`)).toBe(true);
    expect(parts[parts.length - 1].includes(DEFAULT_CONTINUED_FOOTER)).toBe(false);
    expectValidSplit(doc, parts, maxChars);
    // Greedy filling: a part plus the next line would not have fit.
    const firstLines = parts[0].split("\n\n**Warning**")[0].split("\n");
    const nextLine = lines[firstLines.length];
    expect(parts[0].length + nextLine.length + 1).toBeGreaterThan(maxChars);
  });

  test("parts use the budget exactly: a part can be exactly maxChars long", () => {
    const footer = "F";
    const header = "H";
    // Part 1: "aaaa\n\nF" is 7 chars; part 2: "H\n\nbbbb" is 7 chars.
    const parts = splitMarkdown("aaaa\nbbbb", { maxChars: 7, continuedFooter: footer, continuationHeader: header });
    expect(parts).toEqual(["aaaa\n\nF", "H\n\nbbbb"]);
  });

  test("custom header and footer", () => {
    const doc = Array.from({ length: 50 }, (_, i) => `row ${i}`).join("\n");
    const parts = splitMarkdown(doc, { maxChars: 120, continuedFooter: "(more below)", continuationHeader: "(continued)" });
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(120);
    expectReconstructs(doc, parts, "(continued)", "(more below)");
  });

  test("a fenced diff block spanning parts is closed and reopened with its info string", () => {
    const body = Array.from({ length: 200 }, (_, i) => `+ resource "terraform_data" "r${i}" {}`);
    const doc = ["Intro", "", "```diff", ...body, "```", "", "Outro"].join("\n");
    const parts = splitMarkdown(doc, { maxChars: 1000 });
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts.slice(1, -1)) {
      expect(p).toContain("\n```diff\n");
      expect(p).toMatch(/\n```\n\n\*\*Warning\*\*/);
    }
    expectValidSplit(doc, parts, 1000);
  });

  test("tilde fences and a longer backtick fence containing ``` lines", () => {
    const inner = Array.from({ length: 60 }, (_, i) => (i % 7 === 0 ? "```" : `content line ${i}`));
    const doc = ["~~~hcl", ...inner.slice(0, 20), "~~~", "", "````text", ...inner, "````", "done"].join("\n");
    const parts = splitMarkdown(doc, { maxChars: 300 });
    expect(parts.length).toBeGreaterThan(3);
    expect(parts.some((p) => p.includes("\n~~~hcl\n"))).toBe(true);
    expect(parts.filter((p) => p.includes("````text")).length).toBeGreaterThan(1);
    expectValidSplit(doc, parts, 300);
  });

  test("nested details containing a fence are reopened with their summary", () => {
    const project = (n: number) => [
      `### ${n}. dir: \`p${n}\``,
      "<details><summary>Show Output</summary>",
      "",
      "<details>",
      `<summary>Inner ${n}</summary>`,
      "",
      "```diff",
      ...Array.from({ length: 40 }, (_, i) => `! input = "${i}" -> "${i + 1}"`),
      "```",
      "</details>",
      "</details>",
      "",
    ];
    const doc = [1, 2, 3].flatMap(project).join("\n");
    const parts = splitMarkdown(doc, { maxChars: 700 });
    expect(parts.length).toBeGreaterThan(4);
    expect(parts.some((p) => p.includes("<details><summary>Show Output (continued)</summary>\n\n<details><summary>Inner 2 (continued)</summary>\n\n```diff\n"))).toBe(true);
    expectValidSplit(doc, parts, 700);
  });

  test("a very long single line is cut at code-point boundaries", () => {
    const line = "ab😀中".repeat(50_000); // 250 000 UTF-16 units, with surrogate pairs
    const doc = `first\n${line}\nlast`;
    const parts = splitMarkdown(doc, { maxChars: 10_000 });
    expect(parts.length).toBeGreaterThanOrEqual(26);
    expectValidSplit(doc, parts, 10_000);
  });

  test("a long line inside an open fence stays inside the fence in every part", () => {
    const doc = ["<details><summary>Show Output</summary>", "", "```diff", "x".repeat(5000), "```", "</details>"].join("\n");
    const parts = splitMarkdown(doc, { maxChars: 1000 });
    expect(parts.length).toBeGreaterThan(5);
    expectValidSplit(doc, parts, 1000);
  });

  test("1 MB of terraform-like output inside a fold", () => {
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < 1_000_000; i++) {
      const l = `      + input${i} = "${"v".repeat(i % 90)}" # 中文 😀`;
      lines.push(l);
      size += l.length + 1;
    }
    const doc = ["Ran Plan for dir: `x`", "", "<details><summary>Show Output</summary>", "", "```diff", ...lines, "```", "</details>", "", "done"].join("\n");
    const parts = splitMarkdown(doc);
    expect(parts.length).toBeGreaterThanOrEqual(Math.ceil(doc.length / MAX_COMMENT_CHARS));
    expect(parts.length).toBeLessThanOrEqual(Math.ceil(doc.length / (MAX_COMMENT_CHARS - 500)));
    expectValidSplit(doc, parts, MAX_COMMENT_CHARS);
  });

  test("property: random documents of lines, long lines, fences and folds", () => {
    const next = rng(0x5eed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
    for (let round = 0; round < 60; round++) {
      const out: string[] = [];
      const open: string[] = [];
      const n = 20 + Math.floor(next() * 200);
      for (let i = 0; i < n; i++) {
        const r = next();
        const inFence = open[open.length - 1]?.startsWith("`") || open[open.length - 1]?.startsWith("~");
        if (r < 0.05 && !inFence) {
          out.push(pick(["<details><summary>Show Output</summary>", "<details>", "<details><summary>S😀</summary>"]), "");
          open.push("details");
        } else if (r < 0.1 && !inFence) {
          const fence = pick(["```", "````", "~~~"]);
          out.push(fence + pick(["", "diff", "hcl"]));
          open.push(fence);
        } else if (r < 0.17 && open.length > 0) {
          const top = open.pop()!;
          out.push(top === "details" ? "</details>" : top);
        } else if (r < 0.2) {
          out.push("😀中x".repeat(Math.floor(next() * 600)));
        } else if (r < 0.25 && (open[open.length - 1] === "````" || open[open.length - 1] === "~~~")) {
          out.push("```"); // a shorter or different fence inside a fence is content
        } else {
          out.push(`${pick(["+", "-", "!", " ", "#"])} line ${i} ${"z".repeat(Math.floor(next() * 80))}`);
        }
      }
      while (open.length > 0) {
        const top = open.pop()!;
        out.push(top === "details" ? "</details>" : top);
      }
      const doc = out.join("\n");
      const maxChars = 400 + Math.floor(next() * 3000);
      expectValidSplit(doc, splitMarkdown(doc, { maxChars }), maxChars);
    }
  });

  test("rejects limits that cannot hold the glue", () => {
    expect(() => splitMarkdown("x".repeat(100), { maxChars: 10 })).toThrow(RangeError);
    expect(() => splitMarkdown("x", { maxChars: 0 })).toThrow(RangeError);
  });
});
