/**
 * Byte-bounded truncation for GitHub fields whose limits are enforced in UTF-8 bytes
 * (check-run `summary` and `text`: "exceeds a maximum bytesize of 65535"), even though the
 * documentation says characters. Cutting by `string.length` would overshoot on emoji or CJK
 * output, and cutting a `Buffer` would split characters, so this works on code points.
 */

export type TruncateKeep = "head" | "tail" | "both";

export interface TruncateOptions {
  /** The visible marker inserted where text was removed. */
  note?: (omittedBytes: number) => string;
  /**
   * Which end to keep. Default "both": about a third from the start and two thirds from the
   * end, because terraform output ends with the plan summary and the errors.
   */
  keep?: TruncateKeep;
}

export function defaultTruncationNote(omittedBytes: number): string {
  return `\n\n… [${omittedBytes} bytes omitted: output exceeds GitHub's limit] …\n\n`;
}

/** UTF-8 size of one code point; lone surrogates count 3 bytes, as Buffer.byteLength does. */
function codePointBytes(cp: number): number {
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3;
  return 4;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** The longest prefix of `text` that fits in `maxBytes`, ending on a code-point boundary. */
export function headUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i) as number;
    const size = codePointBytes(cp);
    if (bytes + size > maxBytes) break;
    bytes += size;
    i += cp > 0xffff ? 2 : 1;
  }
  return text.slice(0, i);
}

/** The longest suffix of `text` that fits in `maxBytes`, starting on a code-point boundary. */
export function tailUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let j = text.length;
  while (j > 0) {
    const unit = text.charCodeAt(j - 1);
    const isPair = isLowSurrogate(unit) && j >= 2 && isHighSurrogate(text.charCodeAt(j - 2));
    const size = isPair ? 4 : codePointBytes(unit);
    if (bytes + size > maxBytes) break;
    bytes += size;
    j -= isPair ? 2 : 1;
  }
  return text.slice(j);
}

/**
 * Cut `text` to at most `maxBytes` UTF-8 bytes, inserting a note that says how much was
 * omitted. Returns `text` unchanged when it fits. When even the note does not fit (tiny
 * limits), the text is cut without a note rather than breaking the byte limit.
 */
export function truncateUtf8(text: string, maxBytes: number, opts: TruncateOptions = {}): string {
  if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative number, got ${maxBytes}`);
  const limit = Math.floor(maxBytes);
  const total = Buffer.byteLength(text, "utf8");
  if (total <= limit) return text;

  const note = opts.note ?? defaultTruncationNote;
  const keep = opts.keep ?? "both";

  // The note states the omitted byte count, which depends on how much room the note leaves:
  // start from the smallest possible omission and grow until the note's own size is stable.
  let omitted = total - limit;
  for (let attempt = 0; attempt < 8; attempt++) {
    const marker = note(omitted);
    const budget = limit - Buffer.byteLength(marker, "utf8");
    if (budget < 0) break;
    const { head, tail } = cut(text, budget, keep);
    const actual = total - Buffer.byteLength(head, "utf8") - Buffer.byteLength(tail, "utf8");
    const finalMarker = note(actual);
    if (Buffer.byteLength(finalMarker, "utf8") <= limit - budget) return head + finalMarker + tail;
    omitted = Math.max(actual, omitted + 1);
  }
  const { head, tail } = cut(text, limit, keep);
  return head + tail;
}

/** Split the byte budget between the two ends; bytes lost at the head's boundary go to the tail. */
function cut(text: string, budget: number, keep: TruncateKeep): { head: string; tail: string } {
  if (keep === "head") return { head: headUtf8(text, budget), tail: "" };
  if (keep === "tail") return { head: "", tail: tailUtf8(text, budget) };
  const head = headUtf8(text, Math.floor(budget / 3));
  return { head, tail: tailUtf8(text, budget - Buffer.byteLength(head, "utf8")) };
}
