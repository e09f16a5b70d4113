/** Posting Atoll's PR comments. */
import { splitMarkdown } from "../../render/split-markdown.js";
import type { CommentRef } from "../../ports/github.js";
import type { CommandContext } from "../runner-deps.js";
import { WritePriority, writeQueueOf } from "./write-queue.js";

/**
 * At most this many comments per command (Atlantis's default). Beyond it the beginning is dropped:
 * the end of terraform's output holds the summary and the errors. GitHub's secondary rate limits
 * also make longer bursts of comments fail.
 */
export const MAX_COMMENTS_PER_COMMAND = 100;

/** Post a reply; long text is split into several comments with markdown kept valid. */
export async function postComment(ctx: Pick<CommandContext, "github" | "pullNumber">, body: string): Promise<void> {
  await postParts(ctx, splitMarkdown(body));
}

/** Post already-split comment parts, in order, keeping the last ones when there are too many; returns what was posted. */
export async function postParts(
  ctx: Pick<CommandContext, "github" | "pullNumber">,
  parts: string[],
  max = MAX_COMMENTS_PER_COMMAND,
): Promise<CommentRef[]> {
  let toPost = parts;
  if (parts.length > max) {
    const dropped = parts.length - (max - 1);
    toPost = [
      `> [!WARNING]\n> This output needs ${parts.length} comments; only the last ${max - 1} are posted and the first ` +
        `${dropped} were dropped. Each project's check run holds the end of its output too.`,
      ...parts.slice(dropped),
    ];
  }
  // Comments go ahead of every check-run write waiting in the installation's queue.
  const queue = writeQueueOf(ctx.github);
  const posted: CommentRef[] = [];
  for (const part of toPost) posted.push(await queue.run(WritePriority.comment, () => ctx.github.createComment(ctx.pullNumber, part)));
  return posted;
}
