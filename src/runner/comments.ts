/** Posting Atoll's PR comments. */
import { splitMarkdown } from "../render/split-markdown.js";
import type { CommandContext } from "./runner-deps.js";

/** Post a reply; long text is split into several comments with markdown kept valid. */
export async function postComment(ctx: CommandContext, body: string): Promise<void> {
  await postParts(ctx, splitMarkdown(body));
}

/** Post already-split comment parts, in order. */
export async function postParts(ctx: CommandContext, parts: string[]): Promise<void> {
  for (const part of parts) await ctx.github.createComment(ctx.pullNumber, part);
}
