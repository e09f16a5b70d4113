/**
 * Source positions for YAML documents: map a key path such as `["projects", 1, "dir"]` to the
 * line where that key (or sequence item) is written, so config errors can point at a line.
 *
 * js-yaml builds plain JS values and keeps no positions. Its event parser (`parseEvents`) does
 * report source offsets for every node, so we rebuild a small position tree from those events.
 * Facts verified against js-yaml 5 (see test/unit/repo-config.test.ts, "yamlLineMap"):
 * - scalars carry `valueStart`/`valueEnd` (the content, inside any quotes; for `|`/`>` block
 *   scalars the content starts on the line *after* the indicator);
 * - mappings and sequences carry `start` (their first key / first `-` or the `{`/`[`);
 * - anchors (`&a`) and tags (`!!str`) carry their own offsets; aliases carry the anchor name;
 * - an empty (null) scalar has no offsets at all (`-1`), so an empty sequence item (`-` alone)
 *   is located by scanning forward for its `-` indicator.
 * Offsets are UTF-16 indices into the original input (a BOM counts as one char).
 */
import {
  COLLECTION_STYLE,
  EVENT_ID,
  SCALAR_STYLE,
  getScalarValue,
  parseEvents,
  type Event,
  type ScalarEvent,
} from "js-yaml";

/** A path into a YAML document: mapping keys as strings, sequence indices as numbers. */
export type YamlPath = readonly (string | number)[];

interface ScalarPos {
  kind: "scalar";
  /** Decoded scalar text ("" for an empty/null scalar), as YAML libraries see it before typing. */
  text: string;
  /** True for a plain (unquoted, non-block) scalar: only those can be the `<<` merge key. */
  plain: boolean;
}
interface SeqPos {
  kind: "seq";
  items: PosNode[];
  /** 0-based line of each item, where it appears (an alias item → the alias, not the anchor). */
  itemLines: number[];
}
interface MapEntry {
  /** undefined for keys that are not scalars (complex keys; js-yaml rejects those anyway). */
  key: string | undefined;
  keyLine: number;
  isMerge: boolean;
  value: PosNode | undefined;
}
interface MapPos {
  kind: "map";
  entries: MapEntry[];
}
type PosNode = ScalarPos | SeqPos | MapPos;

/** Line lookups for one YAML text. Both functions return undefined for paths that do not exist. */
export interface YamlIndex {
  /**
   * 1-based line of the node at `path`: for a mapping entry the line of its key, for a sequence
   * item the line of the item, for `[]` the line where the document content starts.
   * Paths run through aliases and `<<` merge keys the way values are loaded.
   */
  lineOf(path: YamlPath): number | undefined;
  /**
   * Source text of the scalar at `path` (decoded, without quotes). Lets callers read `1.10`
   * as the string "1.10" where the typed loader would have produced the number 1.1.
   */
  scalarText(path: YamlPath): string | undefined;
}

const EMPTY_INDEX: YamlIndex = { lineOf: () => undefined, scalarText: () => undefined };

/** Start offsets of every line; YAML line breaks are LF, CRLF and lone CR. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 /* \n */) starts.push(i + 1);
    else if (c === 13 /* \r */ && text.charCodeAt(i + 1) !== 10) starts.push(i + 1);
  }
  return starts;
}

/** 0-based line containing `offset` (binary search over line starts). */
function lineAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Offset of the next block-sequence indicator (`-` followed by a blank or the end) at or after
 * `from`, skipping comments. Used only for items without any offsets of their own (empty items),
 * where the next such indicator is necessarily the item's own.
 */
function nextDashIndicator(text: string, from: number): number | undefined {
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++;
      continue;
    }
    if (c === "-" && (i + 1 >= text.length || /\s/.test(text[i + 1]))) return i;
    i++;
  }
  return undefined;
}

/** Smallest non-negative offset among the candidates (absent offsets are -1). */
function firstOffset(...offsets: number[]): number | undefined {
  let best: number | undefined;
  for (const o of offsets) if (o >= 0 && (best === undefined || o < best)) best = o;
  return best;
}

interface Frame {
  node: SeqPos | MapPos;
  /** For mappings: the entry whose key has been read and whose value is still to come. */
  pending?: MapEntry;
  /** Whether the collection is block style (only block sequences have `-` indicators). */
  block: boolean;
}

/** The root node and its line, built from the first document's events. */
function buildTree(text: string, events: readonly Event[]): { root: PosNode; rootLine: number } | undefined {
  const starts = lineStarts(text);
  const anchors = new Map<string, PosNode>();
  const stack: Frame[] = [];
  let root: { root: PosNode; rootLine: number } | undefined;
  /** Furthest source offset consumed so far; forward scans for empty items start here. */
  let cursor = 0;
  let docs = 0;

  const attach = (node: PosNode | undefined, offset: number | undefined, scalarKey?: ScalarPos): void => {
    const parent = stack[stack.length - 1];
    if (!parent) {
      if (node && !root) root = { root: node, rootLine: offset === undefined ? 0 : lineAt(starts, offset) };
      return;
    }
    if (parent.node.kind === "seq") {
      let at = offset;
      if (at === undefined && parent.block) at = nextDashIndicator(text, cursor);
      if (at !== undefined) cursor = Math.max(cursor, at + 1);
      parent.node.items.push(node ?? { kind: "scalar", text: "", plain: true });
      parent.node.itemLines.push(lineAt(starts, at ?? cursor));
      return;
    }
    if (parent.pending) {
      parent.pending.value = node;
      parent.pending = undefined;
      return;
    }
    const keyScalar = scalarKey ?? (node?.kind === "scalar" ? node : undefined);
    const entry: MapEntry = {
      key: keyScalar?.text,
      keyLine: lineAt(starts, offset ?? cursor),
      isMerge: keyScalar !== undefined && keyScalar.plain && keyScalar.text === "<<",
      value: undefined,
    };
    parent.node.entries.push(entry);
    parent.pending = entry;
  };

  const remember = (anchorStart: number, anchorEnd: number, node: PosNode): void => {
    if (anchorStart >= 0) anchors.set(text.slice(anchorStart, anchorEnd), node);
  };

  for (const ev of events) {
    switch (ev.type) {
      case EVENT_ID.DOCUMENT:
        docs++;
        if (docs > 1) return root; // only the first document is indexed (and loaded)
        break;
      case EVENT_ID.SCALAR: {
        const node = scalarNode(text, ev);
        const at = firstOffset(ev.anchorStart - 1, ev.tagStart, ev.valueStart);
        attach(node, at);
        remember(ev.anchorStart, ev.anchorEnd, node);
        cursor = Math.max(cursor, ev.valueEnd, ev.tagEnd, ev.anchorEnd);
        break;
      }
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING: {
        const node: SeqPos | MapPos =
          ev.type === EVENT_ID.SEQUENCE ? { kind: "seq", items: [], itemLines: [] } : { kind: "map", entries: [] };
        attach(node, firstOffset(ev.anchorStart - 1, ev.tagStart, ev.start));
        remember(ev.anchorStart, ev.anchorEnd, node);
        cursor = Math.max(cursor, ev.start + 1, ev.tagEnd, ev.anchorEnd);
        stack.push({ node, block: ev.style === COLLECTION_STYLE.BLOCK });
        break;
      }
      case EVENT_ID.ALIAS: {
        const target = anchors.get(text.slice(ev.anchorStart, ev.anchorEnd));
        // `*a` as a key: the key is the anchored scalar's text.
        attach(target, ev.anchorStart - 1, target?.kind === "scalar" ? target : undefined);
        cursor = Math.max(cursor, ev.anchorEnd);
        break;
      }
      case EVENT_ID.POP:
        stack.pop();
        break;
    }
  }
  return root;
}

function scalarNode(text: string, ev: ScalarEvent): ScalarPos {
  const hasValue = ev.valueStart >= 0;
  return {
    kind: "scalar",
    text: hasValue ? getScalarValue(text, ev) : "",
    plain: ev.style === SCALAR_STYLE.PLAIN && ev.tagStart < 0,
  };
}

/** Merge sources of a `<<` value: one mapping, or a sequence of mappings (earlier ones win). */
function mergeSources(value: PosNode | undefined): MapPos[] {
  if (!value) return [];
  if (value.kind === "map") return [value];
  if (value.kind === "seq") return value.items.filter((n): n is MapPos => n.kind === "map");
  return [];
}

/**
 * The entry for `key` in a mapping: explicit keys win over merged ones (YAML merge semantics);
 * among explicit duplicates the last one wins, like the loader.
 */
function findEntry(map: MapPos, key: string, seen: Set<MapPos> = new Set()): MapEntry | undefined {
  if (seen.has(map)) return undefined;
  seen.add(map);
  for (let i = map.entries.length - 1; i >= 0; i--) {
    const e = map.entries[i];
    if (!e.isMerge && e.key === key) return e;
  }
  for (const e of map.entries) {
    if (!e.isMerge) continue;
    for (const source of mergeSources(e.value)) {
      const found = findEntry(source, key, seen);
      if (found) return found;
    }
  }
  return undefined;
}

/** Walk `path`, returning the node reached and the 0-based line of its last step. */
function walk(
  tree: { root: PosNode; rootLine: number },
  path: YamlPath,
): { node: PosNode | undefined; line: number } | undefined {
  let node: PosNode | undefined = tree.root;
  let line = tree.rootLine;
  for (const seg of path) {
    if (!node) return undefined;
    if (node.kind === "seq") {
      const index = typeof seg === "number" ? seg : /^\d+$/.test(seg) ? Number(seg) : -1;
      if (index < 0 || index >= node.items.length) return undefined;
      line = node.itemLines[index];
      node = node.items[index];
    } else if (node.kind === "map") {
      const entry = findEntry(node, String(seg));
      if (!entry) return undefined;
      line = entry.keyLine;
      node = entry.value;
    } else {
      return undefined;
    }
  }
  return { node, line };
}

/**
 * Index a YAML text for line lookups. Never throws: text that does not parse yields an index
 * that knows no paths (the loader reports the syntax error with its own line).
 */
export function yamlIndex(text: string): YamlIndex {
  let tree: ReturnType<typeof buildTree>;
  try {
    tree = buildTree(text, parseEvents(text, {}));
  } catch {
    return EMPTY_INDEX;
  }
  if (!tree) return EMPTY_INDEX;
  const found = tree;
  return {
    lineOf(path) {
      const hit = walk(found, path);
      return hit ? hit.line + 1 : undefined;
    },
    scalarText(path) {
      const hit = walk(found, path);
      return hit?.node?.kind === "scalar" ? hit.node.text : undefined;
    },
  };
}

/** Path → 1-based line of that key or item (see {@link YamlIndex.lineOf}). */
export function yamlLineMap(text: string): (path: YamlPath) => number | undefined {
  return yamlIndex(text).lineOf;
}

/**
 * Render a path the way error messages name keys: `projects[1].autoplan.when_modified[0]`.
 * Keys that are not simple identifiers are quoted: `projects[0]["odd key"]`.
 */
export function formatYamlPath(path: YamlPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
