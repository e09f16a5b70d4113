/**
 * Hiding outdated plan comments (src/runner/reporting/outdated-comments.ts), and the fake
 * GitHub's `minimizeComment` mutation that the end-to-end tests run it against.
 */
import { markedProjects, outdatedPlanComments, planCommentMarker } from "../../src/runner/reporting/outdated-comments.js";
import { MINIMIZE_COMMENT_MUTATION } from "../../src/adapters/octokit-github.js";
import { renderPrComment } from "../../src/render/pr-comment.js";
import { MAX_COMMENT_CHARS } from "../../src/render/split-markdown.js";
import { projectKey } from "../../src/projects/project.js";
import { runMutation } from "../fake-github/graphql-mutations.js";
import { FakeState } from "../fake-github/state.js";
import { planLabels } from "../../src/runner/reporting/plan-labels.js";
import { emptyPlanSummary } from "../../src/terraform/plan-summary-types.js";
import type { ProjectState } from "../../src/ports/store.js";

const net = { name: "", dir: "net", workspace: "default" };
const app = { name: "app", dir: "a--b", workspace: "default" };

test("the marker names the projects, survives any directory name, and is not an HTML comment breaker", () => {
  const m = planCommentMarker([net, app]);
  expect(m).toMatch(/^<!-- atoll:plan [A-Za-z0-9_-]+ -->$/);
  expect(m.slice(4, -3)).not.toContain("--");
  expect(markedProjects(`Ran Plan\n\n${m}`)).toEqual([projectKey(net), projectKey(app)]);
  expect(markedProjects("Ran Plan for dir: `net`")).toBeUndefined();
  expect(markedProjects("<!-- atoll:plan !!! -->")).toBeUndefined();
});

test("every part of a long plan comment ends with the marker and stays within GitHub's limit", () => {
  const marker = planCommentMarker([net]);
  const output = "x".repeat(200_000);
  const parts = renderPrComment({ command: "plan", name: "atoll", headSha: "a".repeat(40), marker, results: [{ project: net, command: "plan", outcome: "failed", headline: "failed", output }] });
  expect(parts.length).toBeGreaterThan(2);
  for (const p of parts) {
    expect(p.endsWith(`\n\n${marker}`)).toBe(true);
    expect(p.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
  }
});

test("a full plan makes every earlier plan comment of the App outdated; a targeted one those of its projects; others are never touched", () => {
  const c = (body: string, extra: Partial<{ byApp: boolean; isMinimized: boolean }> = {}) => ({ nodeId: body.slice(0, 8), body, isMinimized: false, byApp: true, ...extra });
  const comments = [
    c(`plan net ${planCommentMarker([net])}`),
    c(`plan both ${planCommentMarker([net, app])}`),
    c(`apply net (no marker)`),
    c(`copied ${planCommentMarker([net])}`, { byApp: false }),
    c(`hidden ${planCommentMarker([net])}`, { isMinimized: true }),
  ];
  expect(outdatedPlanComments(comments, [net], true).map((x) => x.body.split(" ")[1])).toEqual(["net", "both"]);
  expect(outdatedPlanComments(comments, [net], false).map((x) => x.body.split(" ")[1])).toEqual(["net"]);
  expect(outdatedPlanComments(comments, [net, app], false).map((x) => x.body.split(" ")[1])).toEqual(["net", "both"]);
});

describe("the fake's minimizeComment", () => {
  const state = () => {
    const s = new FakeState("http://127.0.0.1:1", { id: 1, slug: "atoll", name: "Atoll", ownerLogin: "acme" });
    s.comments.push({ owner: "acme", repo: "infra", issueNumber: 1, id: 5, nodeId: "IC_5", body: "b", user: "atoll[bot]", byApp: true, createdAt: "", updatedAt: "", previousBodies: [] });
    return s;
  };

  test("Atoll's mutation hides the comment and answers as GitHub does", () => {
    const s = state();
    const r = runMutation(s, { query: MINIMIZE_COMMENT_MUTATION, variables: { id: "IC_5" } });
    expect(r).toEqual({ body: { data: { minimizeComment: { minimizedComment: { isMinimized: true } } } }, rejected: false });
    expect(s.comments[0].minimized).toEqual({ reason: "outdated" });
    expect(runMutation(s, { query: MINIMIZE_COMMENT_MUTATION, variables: { id: "IC_missing" } }).body.errors?.[0]).toMatchObject({ type: "NOT_FOUND" });
  });

  test.each([
    ["an unknown classifier", "mutation($id: ID!) { minimizeComment(input: { subjectId: $id, classifier: STALE }) { clientMutationId } }"],
    ["no classifier", "mutation($id: ID!) { minimizeComment(input: { subjectId: $id }) { clientMutationId } }"],
    ["an unknown input field", "mutation($id: ID!) { minimizeComment(input: { subjectId: $id, classifier: OUTDATED, reason: \"x\" }) { clientMutationId } }"],
    ["an undeclared variable", "mutation { minimizeComment(input: { subjectId: $id, classifier: OUTDATED }) { clientMutationId } }"],
    ["another mutation", "mutation($id: ID!) { deleteIssueComment(input: { id: $id }) { clientMutationId } }"],
    ["a field the payload lacks", "mutation($id: ID!) { minimizeComment(input: { subjectId: $id, classifier: OUTDATED }) { minimizedComment { body } } }"],
  ])("refuses %s", (_what, query) => {
    const s = state();
    expect(runMutation(s, { query, variables: { id: "IC_5" } }).rejected).toBe(true);
    expect(s.comments[0].minimized).toBeUndefined();
  });
});

describe("plan labels", () => {
  const state = (plan: "success" | "failed", hasChanges: boolean, destroy = 0) =>
    ({ project: net, headSha: "a", plan, hasChanges, apply: "none", extraArgs: [], headline: "", output: "", updatedAt: "", summary: { ...emptyPlanSummary(), destroy } }) as ProjectState;
  test.each<[string, ProjectState[], string[]]>([
    ["nothing planned", [], []],
    ["all unchanged", [state("success", false), state("success", false)], ["atoll/no-changes"]],
    ["a change", [state("success", true), state("success", false)], []],
    ["a destroy and a failure", [state("success", true, 2), state("failed", false)], ["atoll/destroy", "atoll/plan-failed"]],
  ])("%s", (_what, states, labels) => {
    expect(planLabels(states)).toEqual(labels);
    for (const l of labels) expect(l.length).toBeLessThanOrEqual(20);
  });
});
