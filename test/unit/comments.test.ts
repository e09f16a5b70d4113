import type { GitHubPort } from "../../src/ports/github.js";
import { postParts } from "../../src/runner/reporting/comments.js";

function recorder() {
  const posted: string[] = [];
  const github = { createComment: async (_n: number, body: string) => (posted.push(body), { id: posted.length }) } as unknown as GitHubPort;
  return { posted, ctx: { github, pullNumber: 1 } };
}

describe("postParts", () => {
  test("posts every part in order when within the cap", async () => {
    const { posted, ctx } = recorder();
    await postParts(ctx, ["a", "b", "c"], 3);
    expect(posted).toEqual(["a", "b", "c"]);
  });

  test("beyond the cap keeps the last parts and says how many were dropped", async () => {
    const { posted, ctx } = recorder();
    const parts = Array.from({ length: 10 }, (_, i) => `part ${i}`);
    await postParts(ctx, parts, 4);
    expect(posted).toHaveLength(4);
    expect(posted[0]).toContain("needs 10 comments");
    expect(posted[0]).toContain("first 7 were dropped");
    expect(posted.slice(1)).toEqual(["part 7", "part 8", "part 9"]);
  });
});
