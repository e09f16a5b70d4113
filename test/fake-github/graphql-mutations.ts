/**
 * The GraphQL mutation the fake serves: `minimizeComment(input: { subjectId, classifier })`,
 * as GitHub defines it (https://docs.github.com/graphql/reference/mutations#minimizecomment).
 * The query engine (`graphql.ts`) has no mutations or input objects, so this one is checked
 * by hand — strictly: any other field, argument, classifier or selection is refused as GitHub
 * would refuse it, and recorded as unhandled by the server.
 */
import { parse, GraphqlSyntaxError, type FieldNode, type GraphqlError, type GraphqlResult, type SelectionNode, type ValueNode } from "./graphql.js";
import type { FakeState } from "./state.js";

const CLASSIFIERS = ["ABUSE", "DUPLICATE", "OFF_TOPIC", "OUTDATED", "RESOLVED", "SPAM"];
/** What `minimizedComment` (the `Minimizable` interface) offers. */
const MINIMIZABLE_FIELDS = new Set(["isMinimized", "minimizedReason", "viewerCanMinimize", "__typename"]);

/** Whether the document's operation is a mutation (then `runMutation` answers it). */
export function isMutation(query: string): boolean {
  try {
    return parse(query).operations.some((o) => o.operation === "mutation");
  } catch {
    return false;
  }
}

function fields(selections: SelectionNode[] | undefined): FieldNode[] {
  return (selections ?? []).filter((s): s is FieldNode => s.kind === "Field");
}

export function runMutation(state: FakeState, request: { query: string; variables?: unknown }): GraphqlResult {
  const reject = (message: string): GraphqlResult => ({ body: { errors: [{ message }] }, rejected: true });
  let doc;
  try {
    doc = parse(request.query);
  } catch (e) {
    if (!(e instanceof GraphqlSyntaxError)) throw e;
    return reject(e.message);
  }
  const op = doc.operations.length === 1 ? doc.operations[0] : undefined;
  if (!op || op.operation !== "mutation") return reject("Send exactly one mutation operation");
  const vars = (request.variables && typeof request.variables === "object" ? request.variables : {}) as Record<string, unknown>;
  const declared = new Map(op.variables.map((v) => [v.name, v.type]));
  const roots = fields(op.selections);
  if (roots.length !== 1 || roots[0].name !== "minimizeComment") return reject(`Field '${roots[0]?.name ?? ""}' doesn't exist on type 'Mutation'`);
  const root = roots[0];
  const input = root.args.find((a) => a.name === "input");
  if (!input || root.args.length !== 1) return reject("Field 'minimizeComment' is missing required arguments: input");
  const value = (v: ValueNode, type: string): unknown => {
    if (v.kind === "Variable") {
      if (!declared.has(v.name)) throw new Error(`Variable $${v.name} is used but not declared`);
      if (declared.get(v.name)!.replace("!", "") !== type) throw new Error(`Type mismatch on variable $${v.name} (${declared.get(v.name)} / ${type}!)`);
      return vars[v.name];
    }
    if (type === "ReportedContentClassifiers" && v.kind === "Enum") return v.value;
    if (type === "ID" && v.kind === "String") return v.value;
    throw new Error(`Argument '${type}' has an invalid value`);
  };
  let subjectId: unknown;
  let classifier: unknown;
  try {
    if (input.value.kind !== "Object") throw new Error("Argument 'input' on Field 'minimizeComment' has an invalid value. Expected type 'MinimizeCommentInput!'.");
    const names = input.value.fields.map((f) => f.name);
    const unknown = names.filter((n) => !["subjectId", "classifier", "clientMutationId"].includes(n));
    if (unknown.length) throw new Error(`InputObject 'MinimizeCommentInput' doesn't accept argument '${unknown[0]}'`);
    const get = (n: string) => (input.value as Extract<ValueNode, { kind: "Object" }>).fields.find((f) => f.name === n)?.value;
    if (!get("subjectId") || !get("classifier")) throw new Error("Argument 'input' on Field 'minimizeComment' has an invalid value: subjectId and classifier are required");
    subjectId = value(get("subjectId")!, "ID");
    classifier = value(get("classifier")!, "ReportedContentClassifiers");
  } catch (e) {
    return reject((e as Error).message);
  }
  if (typeof classifier !== "string" || !CLASSIFIERS.includes(classifier)) return reject(`Argument 'classifier' has an invalid value (${String(classifier)})`);
  const payloadFields = fields(root.selections);
  const bad = payloadFields.filter((f) => f.name !== "minimizedComment" && f.name !== "clientMutationId");
  if (bad.length) return reject(`Field '${bad[0].name}' doesn't exist on type 'MinimizeCommentPayload'`);
  const minimized = payloadFields.find((f) => f.name === "minimizedComment");
  for (const f of fields(minimized?.selections)) if (!MINIMIZABLE_FIELDS.has(f.name)) return reject(`Field '${f.name}' doesn't exist on type 'Minimizable'`);

  const comment = state.comments.find((c) => c.nodeId === subjectId);
  if (!comment) {
    const error: GraphqlError = { message: `Could not resolve to a node with the global id of '${String(subjectId)}'`, type: "NOT_FOUND", path: ["minimizeComment"] };
    return { body: { data: { minimizeComment: null }, errors: [error] }, rejected: false };
  }
  comment.minimized = { reason: classifier.toLowerCase() };
  const out: Record<string, unknown> = {};
  for (const f of fields(minimized?.selections)) {
    out[f.alias ?? f.name] = f.name === "isMinimized" ? true : f.name === "minimizedReason" ? comment.minimized.reason : f.name === "viewerCanMinimize" ? true : "IssueComment";
  }
  return { body: { data: { [root.alias ?? root.name]: minimized ? { [minimized.alias ?? "minimizedComment"]: out } : {} } }, rejected: false };
}
