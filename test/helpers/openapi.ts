/**
 * GitHub's REST API description as a test oracle.
 *
 * Mocks (nock scopes, the fake GitHub server) accept whatever we tell them to accept, so a test
 * that mocks `POST /repos/o/r/check-runs` would happily pass with a body GitHub rejects with a
 * 422. This module closes that gap: every request body the app sends is checked against the
 * official OpenAPI description (`@octokit/openapi`, dereferenced api.github.com variant), plus the
 * few limits GitHub enforces more strictly than the description says (see `GITHUB_LIMITS`).
 *
 * The description is 73 MB; it is read lazily, once per module instance (i.e. once per process,
 * or once per test file under jest's per-file module registry), and reduced to a small index of
 * request-body schemas so the rest of the document can be garbage collected.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS (`module.exports = plugin; exports.default = plugin`). Node hands us
// the function as the default import, while TypeScript under `nodenext` types the default import
// as the module object; accept either shape.
type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats: FormatsPlugin =
  typeof addFormatsModule === "function"
    ? (addFormatsModule as unknown as FormatsPlugin)
    : (addFormatsModule as unknown as { default: FormatsPlugin }).default;

/**
 * Limits GitHub enforces that the OpenAPI schema gets wrong or does not state.
 * - Check-run `output.summary` / `output.text`: the schema says `maxLength: 65535` (characters);
 *   the API rejects anything over 65535 UTF-8 **bytes** ("summary exceeds a maximum bytesize of
 *   65535", github/docs#35252). Non-ASCII plan output (box drawing, emoji) hits this first.
 * - Issue comment `body`: no maxLength in the schema at all; the API answers 422 "body is too
 *   long (maximum is 65536 characters)". Characters are counted as Unicode code points.
 */
export const GITHUB_LIMITS = {
  checkRunOutputSummaryBytes: 65535,
  checkRunOutputTextBytes: 65535,
  issueCommentBodyChars: 65536,
} as const;

export interface OperationInfo {
  method: string;
  template: string;
  operationId: string;
  /** `requestBody.required` from the description. */
  bodyRequired: boolean;
  /** JSON request-body schema, or undefined when the operation takes no JSON body. */
  bodySchema?: object;
  /** True when the operation declares a request body in a non-JSON media type only (uploads). */
  nonJsonBody: boolean;
}

export interface RouteMatch {
  template: string;
  params: Record<string, string>;
}

interface CompiledTemplate {
  template: string;
  /** Per segment: literal text, or null for a `{param}` segment. */
  segments: Array<string | null>;
  strict: RegExp;
  /** Variant where known slash-carrying params (`path`, `ref`, …) may span several segments. */
  loose: RegExp | null;
  paramNames: string[];
}

interface SpecIndex {
  /** "POST /repos/{owner}/{repo}/check-runs" → operation */
  operations: Map<string, OperationInfo>;
  /** METHOD → templates available for that method */
  templatesByMethod: Map<string, CompiledTemplate[]>;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/**
 * Parameters whose values legitimately contain `/` (file paths, git refs, branch names). Octokit
 * percent-encodes the slash, but other clients (and git-style URLs written by hand in tests) do
 * not, and GitHub accepts both.
 */
const SLASHY_PARAMS = new Set(["path", "ref", "branch", "basehead"]);

let index: SpecIndex | undefined;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compileTemplate(template: string): CompiledTemplate {
  const paramNames: string[] = [];
  const segments: Array<string | null> = [];
  let strictSrc = "";
  let looseSrc = "";
  let hasSlashy = false;
  for (const seg of template.split("/").slice(1)) {
    // A segment is either a single `{param}` or literal text, possibly mixed (`{owner}.git` does
    // not occur in the REST description, but handle it generically).
    const whole = /^\{([^}]+)\}$/.exec(seg);
    segments.push(whole ? null : seg);
    let strictSeg = "";
    let looseSeg = "";
    for (const part of seg.split(/(\{[^}]+\})/)) {
      const p = /^\{([^}]+)\}$/.exec(part);
      if (p) {
        paramNames.push(p[1]);
        strictSeg += "([^/]+)";
        if (SLASHY_PARAMS.has(p[1])) {
          hasSlashy = true;
          looseSeg += "(.+?)";
        } else {
          looseSeg += "([^/]+)";
        }
      } else {
        strictSeg += escapeRegExp(part);
        looseSeg += escapeRegExp(part);
      }
    }
    strictSrc += "/" + strictSeg;
    looseSrc += "/" + looseSeg;
  }
  if (template === "/") {
    strictSrc = looseSrc = "/";
  }
  return {
    template,
    segments,
    paramNames,
    strict: new RegExp(`^${strictSrc}$`),
    loose: hasSlashy ? new RegExp(`^${looseSrc}$`) : null,
  };
}

function loadIndex(): SpecIndex {
  if (index) return index;
  const require = createRequire(import.meta.url);
  // readFileSync + JSON.parse instead of require(): keeps the 73 MB document out of any module
  // cache, so only the small index below stays alive.
  const file = require.resolve("@octokit/openapi/generated/api.github.com.deref.json");
  const doc = JSON.parse(readFileSync(file, "utf8")) as {
    paths: Record<string, Record<string, {
      operationId?: string;
      requestBody?: { required?: boolean; content?: Record<string, { schema?: object }> };
    }>>;
  };
  const operations = new Map<string, OperationInfo>();
  const templatesByMethod = new Map<string, CompiledTemplate[]>();
  for (const [template, item] of Object.entries(doc.paths)) {
    const compiled = compileTemplate(template);
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (!op) continue;
      const method = m.toUpperCase();
      const content = op.requestBody?.content ?? {};
      const bodySchema = content["application/json"]?.schema;
      operations.set(`${method} ${template}`, {
        method,
        template,
        operationId: op.operationId ?? `${method} ${template}`,
        bodyRequired: op.requestBody?.required === true,
        bodySchema,
        nonJsonBody: !bodySchema && Object.keys(content).length > 0,
      });
      let list = templatesByMethod.get(method);
      if (!list) templatesByMethod.set(method, (list = []));
      list.push(compiled);
    }
  }
  index = { operations, templatesByMethod };
  return index;
}

/** Looks up an operation by method and exact path template. */
export function getOperation(method: string, template: string): OperationInfo | undefined {
  return loadIndex().operations.get(`${method.toUpperCase()} ${template}`);
}

/**
 * Reduce whatever the caller has (absolute URL, path with query string, GHES `/api/v3` prefix,
 * trailing slash) to a bare API path.
 */
export function normalizeApiPath(pathOrUrl: string): string {
  let p = pathOrUrl;
  if (/^https?:\/\//i.test(p)) p = new URL(p).pathname;
  p = p.replace(/[?#].*$/, "");
  if (p === "/api/v3" || p.startsWith("/api/v3/")) p = p.slice("/api/v3".length) || "/";
  if (p.length > 1) p = p.replace(/\/+$/, "");
  return p || "/";
}

/**
 * Specificity order: at the first segment where two templates differ in kind, the one with a
 * literal wins. So `/repos/{owner}/{repo}/check-runs/{check_run_id}` beats a hypothetical
 * `/repos/{owner}/{repo}/{thing}/{id}`, like GitHub's router (literals before captures).
 */
function moreSpecific(a: CompiledTemplate, b: CompiledTemplate): boolean {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const la = a.segments[i] !== null && a.segments[i] !== undefined;
    const lb = b.segments[i] !== null && b.segments[i] !== undefined;
    if (la !== lb) return la;
  }
  return a.segments.length > b.segments.length;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function matchIn(templates: CompiledTemplate[], path: string, loose: boolean): RouteMatch | null {
  let best: { t: CompiledTemplate; m: RegExpExecArray } | null = null;
  for (const t of templates) {
    const re = loose ? t.loose : t.strict;
    if (!re) continue;
    const m = re.exec(path);
    if (m && (!best || moreSpecific(t, best.t))) best = { t, m };
  }
  if (!best) return null;
  const params: Record<string, string> = {};
  best.t.paramNames.forEach((name, i) => {
    params[name] = safeDecode(best.m[i + 1]);
  });
  return { template: best.t.template, params };
}

const compiledCache = new Map<string, CompiledTemplate>();

/**
 * The matching core of `matchRoute`, over an explicit list of templates (order does not matter:
 * the most specific match wins). Exposed so the preference rule can be tested independently of
 * the order in which the REST description happens to list its paths.
 */
export function matchTemplates(templates: readonly string[], path: string): RouteMatch | null {
  const compiled = templates.map((t) => {
    let c = compiledCache.get(t);
    if (!c) compiledCache.set(t, (c = compileTemplate(t)));
    return c;
  });
  const p = normalizeApiPath(path);
  return matchIn(compiled, p, false) ?? matchIn(compiled, p, true);
}

/**
 * Match a concrete request path to its OpenAPI path template, e.g.
 * `("PATCH", "/api/v3/repos/o/r/check-runs/5?x=1")` →
 * `{ template: "/repos/{owner}/{repo}/check-runs/{check_run_id}", params: { owner: "o", repo: "r", check_run_id: "5" } }`.
 *
 * Only templates that define `method` are considered, so a path that exists for another method
 * gives null. Pagination `Link` headers from github.com point at `/repositories/{id}/…` aliases
 * that are not in the description; those are matched against the `/repos/{owner}/{repo}/…`
 * template and report `repository_id` instead of owner/repo.
 */
export function matchRoute(method: string, path: string): RouteMatch | null {
  const templates = loadIndex().templatesByMethod.get(method.toUpperCase()) ?? [];
  const p = normalizeApiPath(path);
  const found = matchIn(templates, p, false) ?? matchIn(templates, p, true);
  if (found) return found;
  const alias = /^\/repositories\/(\d+)(\/.*)$/.exec(p);
  if (alias) {
    const viaRepos = matchRoute(method, `/repos/-/-${alias[2]}`);
    if (viaRepos && viaRepos.template.startsWith("/repos/{owner}/{repo}/")) {
      const { owner: _o, repo: _r, ...rest } = viaRepos.params;
      return { template: viaRepos.template, params: { repository_id: alias[1], ...rest } };
    }
  }
  return null;
}

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

function getAjv(): Ajv {
  if (ajv) return ajv;
  // strict:false because the description uses OpenAPI keywords (`example`, `nullable`…) that are
  // not JSON Schema. allErrors so one run reports every problem. logger:false silences ajv's
  // "unknown format ignored" warnings for formats nobody validates (e.g. `int64` edge cases).
  ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  // GitHub-specific format used for "owner/name" strings.
  ajv.addFormat("repo.nwo", /^[^/\s]+\/[^/\s]+$/);
  return ajv;
}

function formatAjvErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    let msg = `data${e.instancePath} ${e.message ?? "is invalid"}`;
    if (e.keyword === "enum" && Array.isArray((e.params as { allowedValues?: unknown[] }).allowedValues)) {
      msg += `: ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
    } else if (e.keyword === "additionalProperties") {
      msg += `: ${JSON.stringify((e.params as { additionalProperty?: string }).additionalProperty)}`;
    }
    return msg;
  });
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Rules the schema does not express (see `GITHUB_LIMITS`). Keyed by "METHOD template"; each
 * returns messages in the same `data/...` style as ajv.
 */
const EXTRA_RULES: Record<string, (body: Record<string, unknown>) => string[]> = {
  "POST /repos/{owner}/{repo}/check-runs": checkRunRules,
  "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}": checkRunRules,
  "POST /repos/{owner}/{repo}/issues/{issue_number}/comments": commentRules,
  "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": commentRules,
};

function checkRunRules(body: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const output = body.output;
  if (isRecord(output)) {
    const limits = { summary: GITHUB_LIMITS.checkRunOutputSummaryBytes, text: GITHUB_LIMITS.checkRunOutputTextBytes };
    for (const [field, max] of Object.entries(limits)) {
      const v = output[field];
      if (typeof v === "string") {
        const bytes = Buffer.byteLength(v, "utf8");
        if (bytes > max) errors.push(`data/output/${field} must NOT be longer than ${max} UTF-8 bytes (is ${bytes})`);
      }
    }
  }
  // The PATCH schema encodes "completed needs a conclusion" with anyOf; the POST schema only says
  // it in the description ("Required if you provide completed_at or a status of completed").
  if ((body.status === "completed" || body.completed_at !== undefined) && body.conclusion === undefined) {
    errors.push(`data must have required property 'conclusion' when status is "completed" or completed_at is set`);
  }
  return errors;
}

function commentRules(body: Record<string, unknown>): string[] {
  if (typeof body.body !== "string") return [];
  const n = codePoints(body.body);
  const max = GITHUB_LIMITS.issueCommentBodyChars;
  return n > max ? [`data/body must NOT have more than ${max} characters (is ${n})`] : [];
}

function isMissingBody(body: unknown): boolean {
  return body === undefined || body === null || body === "";
}

/**
 * Validate a request the way GitHub would before acting on it. Returns human-readable errors,
 * empty when valid.
 *
 * `pathOrTemplate` may be a template (`/repos/{owner}/{repo}/check-runs`, as Octokit hooks see
 * it) or a concrete path/URL (as an HTTP server sees it). `body` is the parsed JSON body, or
 * undefined/null/"" when the request had none. Operations whose body is not JSON (release asset
 * uploads, `/markdown/raw`) are only checked for existence.
 *
 * `POST /graphql` is not part of the REST description; it is accepted when the body carries a
 * string `query`, which is all GitHub's endpoint requires before parsing the document.
 */
export function validateRestRequest(method: string, pathOrTemplate: string, body: unknown): string[] {
  const M = method.toUpperCase();
  const normalized = normalizeApiPath(pathOrTemplate);
  // GHES serves GraphQL at /api/graphql (next to /api/v3), github.com at /graphql.
  if (normalized === "/graphql" || normalized === "/api/graphql") {
    if (M !== "POST") return [`no such operation: ${M} ${pathOrTemplate}`];
    return isRecord(body) && typeof body.query === "string"
      ? []
      : [`POST /graphql: data must have required property 'query' (string)`];
  }
  const op = getOperation(M, normalized) ?? (() => {
    const m = matchRoute(M, normalized);
    return m ? getOperation(M, m.template) : undefined;
  })();
  if (!op) return [`no such operation: ${M} ${pathOrTemplate}`];
  const label = `${op.method} ${op.template}`;

  if (isMissingBody(body)) {
    return op.bodyRequired ? [`${label}: request body is required`] : [];
  }
  if (!op.bodySchema) return [];

  let validate = validators.get(label);
  if (!validate) {
    validate = getAjv().compile(op.bodySchema);
    validators.set(label, validate);
  }
  const errors = validate(body) ? [] : formatAjvErrors(validate.errors);
  const extra = EXTRA_RULES[label];
  if (extra && isRecord(body)) {
    for (const e of extra(body)) if (!errors.includes(e)) errors.push(e);
  }
  return errors.map((e) => `${label}: ${e}`);
}
