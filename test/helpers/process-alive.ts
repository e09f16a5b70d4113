import { readFile } from "node:fs/promises";

/**
 * True while `pid` is a live (non-zombie) process. `kill(pid, 0)` is not enough here: a killed
 * orphan stays a zombie until init reaps it, and in containers init often never does.
 */
export async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  return state !== "Z" && state !== "X";
}
