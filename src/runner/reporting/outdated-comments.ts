/**
 * Less noise in the pull request: a new plan hides Atoll's earlier plan comments for the same
 * projects as outdated (GraphQL `minimizeComment`), as Atlantis's `--hide-prev-plan-comments`
 * does — on by default here (`ATOLL_HIDE_PREV_PLAN_COMMENTS=false` turns it off).
 *
 * Each part of a plan comment ends with a hidden marker naming its projects, so hiding does not
 * depend on parsing the visible text: a full plan hides every earlier plan comment, a targeted
 * one (`-d`, `-p`) those whose projects it planned again. Only comments this App wrote
 * (`viewerDidAuthor`) and not hidden yet are touched; hiding waits behind every other write.
 */
import type { CommentRef, PullComment } from "../../ports/github.js";
import { projectKey, type Project } from "../../projects/project.js";
import type { CommandContext } from "../runner-deps.js";
import { WritePriority, writeQueueOf } from "./write-queue.js";

const MARKER = /<!-- atoll:plan ([A-Za-z0-9_-]*) -->/;

/** The hidden line that ends each part of a plan comment for `projects`. */
export function planCommentMarker(projects: Project[]): string {
  // base64url: an HTML comment may not contain `--`, which a directory name may.
  return `<!-- atoll:plan ${Buffer.from(JSON.stringify(projects.map(projectKey))).toString("base64url")} -->`;
}

/** The project keys a plan comment's marker names, or undefined for any other comment. */
export function markedProjects(body: string): string[] | undefined {
  const m = MARKER.exec(body);
  if (!m) return undefined;
  try {
    const keys: unknown = JSON.parse(Buffer.from(m[1], "base64url").toString("utf8"));
    return Array.isArray(keys) && keys.every((k) => typeof k === "string") ? keys : undefined;
  } catch {
    return undefined;
  }
}

/** Which comments a plan of `planned` (or of everything, `all`) makes outdated (pure). */
export function outdatedPlanComments(comments: PullComment[], planned: Project[], all: boolean): PullComment[] {
  const keys = new Set(planned.map(projectKey));
  return comments.filter((c) => {
    if (!c.byApp || c.isMinimized) return false;
    const marked = markedProjects(c.body);
    return marked !== undefined && (all || marked.every((k) => keys.has(k)));
  });
}

/**
 * Hide the earlier plan comments that this plan's comment (`posted`) makes outdated. The listing
 * is a GraphQL query, which Octokit paces as a write, so it waits in the cleanup lane too: it
 * never holds up the comment or a check-run result. The comments just posted are left alone.
 */
export async function hideOutdatedPlanComments(
  ctx: CommandContext,
  posted: CommentRef[],
  planned: Project[],
  all: boolean,
): Promise<void> {
  if (!ctx.deps.settings.hidePrevPlanComments) return;
  const queue = writeQueueOf(ctx.github);
  let comments: PullComment[];
  try {
    comments = await queue.run(WritePriority.cleanup, () => ctx.github.listPullComments(ctx.pullNumber));
  } catch (error) {
    ctx.log.warn({ err: error }, "could not list the pull request's comments; earlier plan comments stay visible");
    return;
  }
  const ours = new Set(posted.map((c) => c.nodeId));
  const outdated = outdatedPlanComments(
    comments.filter((c) => !ours.has(c.nodeId)),
    planned,
    all,
  );
  await Promise.all(
    outdated.map((c) =>
      queue
        .run(WritePriority.cleanup, () => ctx.github.minimizeComment(c.nodeId))
        .catch((error: unknown) => ctx.log.warn({ err: error }, "could not hide an outdated plan comment")),
    ),
  );
}
