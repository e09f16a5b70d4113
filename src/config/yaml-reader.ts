/**
 * Typed, line-aware reading of a YAML config document: the shared toolkit of the repo config,
 * workflow and server-policy parsers.
 *
 * Every reader takes the raw (js-yaml-loaded) value and its key path, reports a problem with the
 * file, the formatted key path and the line, and returns a {@link Read}: absent (missing or
 * null), a value, or bad (already reported). Parsers collect every problem in one pass instead
 * of stopping at the first, so a user fixes a file in one round trip.
 *
 * Typing follows yaml.v3 (what Atlantis decodes with): the YAML 1.2 core schema plus `<<` merge
 * keys, so `2024-01-01` stays a string; string fields accept numbers and booleans *as written*
 * (`name: 1.10` is "1.10"); bool fields also accept the YAML 1.1 spellings yaml.v3 accepts
 * (`yes`, `on`, …).
 */
import { CORE_SCHEMA, YAMLException, loadAll, mergeTag } from "js-yaml";
import { minimatch } from "minimatch";
import type { ConfigIssue } from "./config-types.js";
import { formatYamlPath, yamlIndex, type YamlIndex, type YamlPath } from "./yaml-lines.js";

export type Obj = Record<string, unknown>;

/** Outcome of reading one key: absent (missing or null), a value, or a reported error. */
export type Read<T> = { kind: "absent" } | { kind: "ok"; value: T } | { kind: "bad" };

const ABSENT = { kind: "absent" } as const;
const BAD = { kind: "bad" } as const;

const LOAD_SCHEMA = CORE_SCHEMA.withTags(mergeTag);

/** yaml.v3 accepts these YAML 1.1 spellings when decoding into a bool field. */
const YAML11_BOOLEANS = new Map<string, boolean>([
  ...["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"].map((s) => [s, true] as const),
  ...["n", "N", "no", "No", "NO", "off", "Off", "OFF"].map((s) => [s, false] as const),
]);

export function isMapping(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Short description of a wrongly-typed value for error messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return "empty";
  if (Array.isArray(v)) return "a list";
  if (isMapping(v)) return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Levenshtein distance, for "did you mean" hints on misspelt keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/** The closest known key when it is close enough to be a likely typo. */
export function suggestKey(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

/**
 * One document being read: the file name for messages, line lookups, and the issues found.
 * `lineOf` falls back to the nearest enclosing node, so "dir is required" points at its project.
 */
export class ConfigReader {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  constructor(
    readonly file: string,
    readonly index: YamlIndex,
  ) {}

  lineOf(path: YamlPath): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const line = this.index.lineOf(path.slice(0, n));
      if (line !== undefined) return line;
    }
    return undefined;
  }

  private issue(path: YamlPath, message: string, line?: number): ConfigIssue {
    const issue: ConfigIssue = { file: this.file, message };
    if (path.length > 0) issue.path = formatYamlPath(path);
    const l = line ?? this.lineOf(path);
    if (l !== undefined) issue.line = l;
    return issue;
  }
  error(path: YamlPath, message: string, line?: number): void {
    this.errors.push(this.issue(path, message, line));
  }
  warn(path: YamlPath, message: string, line?: number): void {
    this.warnings.push(this.issue(path, message, line));
  }

  /** Unknown keys are errors (Atlantis decodes strictly), with a "did you mean" when one is close. */
  checkKeys(obj: Obj, known: readonly string[], path: YamlPath, what: string): boolean {
    let ok = true;
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      const hint = suggestKey(key, known);
      this.error(
        [...path, key],
        `unknown key in ${what}` + (hint ? `; did you mean '${hint}'?` : `; allowed keys: ${known.join(", ")}`),
      );
      ok = false;
    }
    return ok;
  }

  /** A mapping value; absent for null/missing. */
  mapping(value: unknown, path: YamlPath, expected: string): Read<Obj> {
    if (value === null || value === undefined) return ABSENT;
    if (isMapping(value)) return { kind: "ok", value };
    this.error(path, `must be ${expected}, got ${describe(value)}`);
    return BAD;
  }

  /** A string key; numbers and booleans as written in the source. */
  string(value: unknown, path: YamlPath): Read<string> {
    if (value === null || value === undefined) return ABSENT;
    if (typeof value === "string") return { kind: "ok", value };
    if (typeof value === "number" || typeof value === "boolean") {
      return { kind: "ok", value: this.index.scalarText(path) ?? String(value) };
    }
    this.error(path, `must be a string, got ${describe(value)}`);
    return BAD;
  }

  /** A string key that, when present, may not be empty. */
  nonEmptyString(value: unknown, path: YamlPath, hint = ""): Read<string> {
    const s = this.string(value, path);
    if (s.kind === "ok" && s.value.trim() === "") {
      this.error(path, `cannot be empty${hint ? `; ${hint}` : ""}`);
      return BAD;
    }
    return s;
  }

  bool(value: unknown, path: YamlPath): Read<boolean> {
    if (value === null || value === undefined) return ABSENT;
    if (typeof value === "boolean") return { kind: "ok", value };
    if (typeof value === "string" && YAML11_BOOLEANS.has(value)) return { kind: "ok", value: YAML11_BOOLEANS.get(value)! };
    this.error(path, `must be true or false, got ${describe(value)}`);
    return BAD;
  }

  int(value: unknown, path: YamlPath): Read<number> {
    if (value === null || value === undefined) return ABSENT;
    if (typeof value === "number" && Number.isSafeInteger(value)) return { kind: "ok", value };
    this.error(path, `must be a whole number, got ${describe(value)}`);
    return BAD;
  }

  /** A list of strings (each element read like {@link string}); `[]` is a value, not absent. */
  stringList(value: unknown, path: YamlPath, what = "strings"): Read<string[]> {
    if (value === null || value === undefined) return ABSENT;
    if (!Array.isArray(value)) {
      this.error(path, `must be a list of ${what}, got ${describe(value)}`);
      return BAD;
    }
    const out: string[] = [];
    let ok = true;
    value.forEach((item, i) => {
      const s = this.string(item, [...path, i]);
      if (s.kind === "ok") out.push(s.value);
      else {
        if (s.kind === "absent") this.error([...path, i], `must be one of the ${what}, got empty`);
        ok = false;
      }
    });
    return ok ? { kind: "ok", value: out } : BAD;
  }

  /** A string from a fixed set. */
  oneOf<T extends string>(value: unknown, path: YamlPath, allowed: readonly T[]): Read<T> {
    const s = this.string(value, path);
    if (s.kind !== "ok") return s;
    if ((allowed as readonly string[]).includes(s.value)) return { kind: "ok", value: s.value as T };
    this.error(path, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(s.value)}`);
    return BAD;
  }

  /** A list of strings from a fixed set; duplicates dropped. `message` words the error for one bad element. */
  listOf<T extends string>(value: unknown, path: YamlPath, allowed: readonly T[], message: (item: string) => string): Read<T[]> {
    const list = this.stringList(value, path, allowed.join("/"));
    if (list.kind !== "ok") return list;
    const out: T[] = [];
    let ok = true;
    list.value.forEach((item, i) => {
      if (!(allowed as readonly string[]).includes(item)) {
        this.error([...path, i], message(item));
        ok = false;
      } else if (!out.includes(item as T)) out.push(item as T);
    });
    return ok ? { kind: "ok", value: out } : BAD;
  }

  /** A `/regex/` string (Atlantis's form for `branch` and repo `id`); returns the source between the slashes. */
  slashRegex(value: unknown, path: YamlPath): Read<string> {
    const s = this.string(value, path);
    if (s.kind !== "ok") return s;
    if (s.value.length < 2 || !s.value.startsWith("/") || !s.value.endsWith("/")) {
      this.error(path, `must be a regular expression between slashes, like "/main/", got ${JSON.stringify(s.value)}`);
      return BAD;
    }
    const source = s.value.slice(1, -1);
    const problem = regexProblem(source);
    if (problem) {
      this.error(path, `invalid regular expression ${s.value}: ${problem}`);
      return BAD;
    }
    return { kind: "ok", value: source };
  }

  /** A list of glob patterns that must compile. */
  globList(value: unknown, path: YamlPath, what = "file patterns"): Read<string[]> {
    const list = this.stringList(value, path, what);
    if (list.kind !== "ok") return list;
    let ok = true;
    list.value.forEach((pattern, i) => {
      const problem = globProblem(pattern.startsWith("!") ? pattern.slice(1) : pattern);
      if (problem) {
        this.error([...path, i], `invalid pattern ${JSON.stringify(pattern)}: ${problem}`);
        ok = false;
      }
    });
    return ok ? list : BAD;
  }
}

/**
 * A regex written for Atlantis (Go RE2) as a JavaScript RegExp. JavaScript covers RE2's common
 * syntax; RE2's leading flag group (`(?i)`, `(?s)`, `(?m)`, combined like `(?is)`) becomes flags,
 * since Node 20 has no inline flags.
 */
export function goRegExp(source: string, extraFlags = ""): RegExp {
  const m = /^\(\?([ims]+)\)/.exec(source);
  const flags = new Set([...extraFlags, ...(m ? m[1] : "")]);
  return new RegExp(m ? source.slice(m[0].length) : source, [...flags].join(""));
}

/** Why a regex source does not compile, or undefined (see {@link goRegExp}). */
export function regexProblem(source: string): string | undefined {
  try {
    goRegExp(source);
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "");
  }
}

/** Why a glob pattern is malformed, or undefined. */
export function globProblem(pattern: string): string | undefined {
  if (pattern.trim() === "") return "empty pattern";
  const brackets = pattern.replace(/\\./g, "");
  let depth = 0;
  for (const c of brackets) {
    if (c === "[") depth++;
    else if (c === "]" && depth > 0) depth--;
  }
  if (depth > 0) return "unclosed '['";
  const braces = (brackets.match(/{/g) ?? []).length - (brackets.match(/}/g) ?? []).length;
  if (braces !== 0) return "unbalanced '{' and '}'";
  if (minimatch.makeRe(pattern) === false) return "not a valid glob";
  return undefined;
}

/** Load the first YAML document, or report the syntax error with its line. */
export function loadFirstDocument(
  text: string,
  fileName: string,
): { ok: true; value: unknown; documents: number } | { ok: false; issue: ConfigIssue } {
  try {
    const docs = loadAll(text, { schema: LOAD_SCHEMA, filename: fileName });
    return { ok: true, value: docs[0], documents: docs.length };
  } catch (e) {
    const issue: ConfigIssue = { file: fileName, message: "" };
    if (e instanceof YAMLException) {
      issue.message = `invalid YAML: ${e.reason}`;
      if (e.mark) issue.line = e.mark.line + 1;
    } else {
      issue.message = `invalid YAML: ${e instanceof Error ? e.message : String(e)}`;
    }
    return { ok: false, issue };
  }
}

/**
 * Line where the second YAML document starts, for the "ignored documents" warning. Found by
 * the second `---` marker at the start of a line (the first one may open document one).
 */
function secondDocumentLine(text: string): number | undefined {
  const lines = text.split(/\r\n|\r|\n/);
  const markers = lines.flatMap((l, i) => (/^---(\s|$)/.test(l) ? [i] : []));
  const firstContent = lines.findIndex((l) => l.trim() !== "" && !l.trimStart().startsWith("#") && !l.startsWith("%"));
  const opensFirst = markers.length > 0 && markers[0] === firstContent;
  const marker = opensFirst ? markers[1] : markers[0];
  return marker === undefined ? undefined : marker + 1;
}

/**
 * Load a config file's first document and set up its reader. An empty file (or only comments, or
 * a bare `---`) reads as an empty mapping; more than one document is a warning.
 */
export function openDocument(
  text: string,
  fileName: string,
): { ok: true; root: unknown; reader: ConfigReader } | { ok: false; errors: ConfigIssue[] } {
  const loaded = loadFirstDocument(text, fileName);
  if (!loaded.ok) return { ok: false, errors: [loaded.issue] };
  const reader = new ConfigReader(fileName, yamlIndex(text));
  if (loaded.documents > 1) {
    reader.warn([], "the file contains more than one YAML document; only the first is used", secondDocumentLine(text));
  }
  const root = loaded.value === null || loaded.value === undefined ? {} : loaded.value;
  return { ok: true, root, reader };
}

/** `file:line: path: message`, the form used when showing issues on a terminal or in logs. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}
