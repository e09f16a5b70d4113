import { defaultTruncationNote, headUtf8, tailUtf8, truncateUtf8 } from "../../src/render/truncate-utf8.js";
import { rng } from "../helpers/rng.js";

const bytes = (s: string): number => Buffer.byteLength(s, "utf8");

/** A string has no lone surrogates, i.e. no character was split in half. */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      return false;
    }
  }
  return true;
}


const ALPHABET = ["a", "Z", " ", "\n", "é", "ß", "€", "中", "文", "😀", "🚀", "𝄞", "👩‍💻"];

function randomText(next: () => number, maxLen: number): string {
  const n = Math.floor(next() * maxLen);
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

/** Undo truncation: the kept parts must be an exact prefix and suffix of the input. */
function splitAtNote(result: string, note: string): { head: string; tail: string } {
  const at = result.indexOf(note);
  expect(at).toBeGreaterThanOrEqual(0);
  return { head: result.slice(0, at), tail: result.slice(at + note.length) };
}

describe("truncateUtf8", () => {
  test("returns text unchanged when it fits, including exactly at the limit", () => {
    expect(truncateUtf8("hello", 5)).toBe("hello");
    expect(truncateUtf8("hello", 100)).toBe("hello");
    expect(truncateUtf8("", 0)).toBe("");
    const emoji = "😀😀"; // 8 bytes, 4 UTF-16 units
    expect(truncateUtf8(emoji, 8)).toBe(emoji);
  });

  test("ASCII over the limit keeps a third of the head and the rest of the tail, with the note", () => {
    const text = "0123456789".repeat(100); // 1000 bytes
    const out = truncateUtf8(text, 200);
    expect(bytes(out)).toBeLessThanOrEqual(200);
    const m = /\n\n… \[(\d+) bytes omitted: output exceeds GitHub's limit\] …\n\n/.exec(out);
    expect(m).not.toBeNull();
    const note = m![0];
    const { head, tail } = splitAtNote(out, note);
    expect(text.startsWith(head)).toBe(true);
    expect(text.endsWith(tail)).toBe(true);
    expect(Number(m![1])).toBe(text.length - head.length - tail.length);
    // ASCII has no boundaries to lose, so the whole budget is used.
    expect(bytes(out)).toBe(200);
    expect(tail.length).toBeGreaterThan(head.length);
    expect(Math.abs(head.length - Math.floor((200 - bytes(note)) / 3))).toBeLessThanOrEqual(1);
  });

  test("keep: head and keep: tail", () => {
    const text = "line\n".repeat(100); // 500 bytes
    const note = (n: number) => `[-${n}]`;

    const head = truncateUtf8(text, 50, { keep: "head", note });
    expect(bytes(head)).toBe(50);
    const hm = /\[-(\d+)\]$/.exec(head)!;
    const kept = head.slice(0, hm.index);
    expect(text.startsWith(kept)).toBe(true);
    expect(Number(hm[1])).toBe(text.length - kept.length);

    const tail = truncateUtf8(text, 50, { keep: "tail", note });
    expect(bytes(tail)).toBe(50);
    const tm = /^\[-(\d+)\]/.exec(tail)!;
    const keptTail = tail.slice(tm[0].length);
    expect(text.endsWith(keptTail)).toBe(true);
    expect(Number(tm[1])).toBe(text.length - keptTail.length);
  });

  test("the omitted count is exact even when the note grows by a digit", () => {
    // 10 000 bytes dropped vs 9 999: the number gains a digit, which itself costs a byte.
    const text = "x".repeat(10_050);
    const out = truncateUtf8(text, 60, { note: (n) => `<${n}>` });
    expect(bytes(out)).toBeLessThanOrEqual(60);
    const m = /<(\d+)>/.exec(out)!;
    expect(Number(m[1])).toBe(text.length - (out.length - m[0].length));
  });

  test("never splits an emoji (surrogate pair) at the cut", () => {
    const text = "😀".repeat(1000); // 4 bytes each
    for (let limit = 60; limit < 80; limit++) {
      const out = truncateUtf8(text, limit, { note: () => "~" });
      expect(bytes(out)).toBeLessThanOrEqual(limit);
      expect(isWellFormed(out)).toBe(true);
      const { head, tail } = splitAtNote(out, "~");
      expect(head).toMatch(/^(😀)*$/u);
      expect(tail).toMatch(/^(😀)*$/u);
      // At most 3 bytes can be lost at each of the two boundaries.
      expect(bytes(out)).toBeGreaterThan(limit - 8);
    }
  });

  test("never splits a CJK character (3 bytes) at the cut", () => {
    const text = "中文字符".repeat(500);
    for (let limit = 30; limit < 40; limit++) {
      const out = truncateUtf8(text, limit, { note: () => "|", keep: "head" });
      expect(bytes(out)).toBeLessThanOrEqual(limit);
      const head = out.slice(0, -1);
      expect(text.startsWith(head)).toBe(true);
      expect(bytes(head) % 3).toBe(0);
      expect(bytes(head)).toBeGreaterThan(limit - 1 - 3);
    }
  });

  test("tiny limits: no note if it cannot fit, never over the limit", () => {
    const text = "abc😀def";
    expect(truncateUtf8(text, 0)).toBe("");
    for (let limit = 0; limit < bytes(text); limit++) {
      for (const keep of ["head", "tail", "both"] as const) {
        const out = truncateUtf8(text, limit, { keep });
        expect(bytes(out)).toBeLessThanOrEqual(limit);
        expect(isWellFormed(out)).toBe(true);
      }
    }
    expect(truncateUtf8(text, 3, { keep: "head" })).toBe("abc");
    expect(truncateUtf8(text, 6, { keep: "head" })).toBe("abc");
    expect(truncateUtf8(text, 7, { keep: "head" })).toBe("abc😀");
    expect(truncateUtf8(text, 3, { keep: "tail" })).toBe("def");
  });

  test("rejects a negative or non-numeric limit", () => {
    expect(() => truncateUtf8("x", -1)).toThrow(RangeError);
    expect(() => truncateUtf8("x", Number.NaN)).toThrow(RangeError);
  });

  test("property: random strings with astral characters, all keep modes and many limits", () => {
    const next = rng(0xa7011);
    for (let round = 0; round < 400; round++) {
      const text = randomText(next, 300);
      const total = bytes(text);
      const limit = Math.floor(next() * (total + 20));
      const keep = (["head", "tail", "both"] as const)[round % 3];
      const out = truncateUtf8(text, limit, { keep });
      expect(bytes(out)).toBeLessThanOrEqual(limit);
      expect(isWellFormed(out)).toBe(true);
      if (total <= limit) {
        expect(out).toBe(text);
        continue;
      }
      const m = /\n\n… \[(\d+) bytes omitted: output exceeds GitHub's limit\] …\n\n/.exec(out);
      if (m === null) {
        // Only allowed when the note alone is bigger than the limit.
        expect(bytes(defaultTruncationNote(total - limit))).toBeGreaterThan(limit);
        continue;
      }
      const { head, tail } = splitAtNote(out, m[0]);
      expect(text.startsWith(head)).toBe(true);
      expect(text.endsWith(tail)).toBe(true);
      expect(Number(m[1])).toBe(total - bytes(head) - bytes(tail));
      if (keep === "head") expect(tail).toBe("");
      if (keep === "tail") expect(head).toBe("");
    }
  });

  test("a lone surrogate in the input is kept as is and counted as 3 bytes", () => {
    const text = "ab\ud800cd";
    expect(bytes(text)).toBe(7);
    expect(truncateUtf8(text, 7)).toBe(text);
    expect(headUtf8(text, 5)).toBe("ab\ud800");
    expect(headUtf8(text, 4)).toBe("ab");
    expect(tailUtf8(text, 5)).toBe("\ud800cd");
  });

  test("headUtf8 / tailUtf8 cut at code-point boundaries", () => {
    expect(headUtf8("a😀b", 4)).toBe("a");
    expect(headUtf8("a😀b", 5)).toBe("a😀");
    expect(tailUtf8("a😀b", 4)).toBe("b");
    expect(tailUtf8("a😀b", 5)).toBe("😀b");
    expect(tailUtf8("é", 1)).toBe("");
  });

  test("multi-megabyte input is cut quickly and within the limit", () => {
    const text = "résumé 中文 😀\n".repeat(200_000); // ≈ 4 MB
    const out = truncateUtf8(text, 65_535);
    expect(bytes(out)).toBeLessThanOrEqual(65_535);
    expect(bytes(out)).toBeGreaterThan(65_535 - 10);
    expect(isWellFormed(out)).toBe(true);
  });
});
