/**
 * A small GraphQL engine for the fake GitHub: a parser for executable documents, validation
 * against a hand-written schema, and an executor.
 *
 * Neither `graphql` (the reference implementation) nor `@octokit/graphql-schema` is installed in
 * this project, and recognising queries with regular expressions would accept anything that
 * looks roughly right. Parsing the document and checking every field, argument, fragment and
 * variable against the types the fake declares gives the app GitHub's behaviour instead: a typo
 * in a field name or a wrongly typed variable is an error response, not a silently empty answer.
 *
 * Scope: queries only (no mutations/subscriptions), no input object types, no introspection
 * beyond `__typename`. Error messages follow GitHub's (graphql-ruby) wording.
 */

// ---------------------------------------------------------------- AST

export interface Location {
  line: number;
  column: number;
}

export type ValueNode =
  | { kind: "Variable"; name: string; loc: Location }
  | { kind: "Int"; value: number; loc: Location }
  | { kind: "Float"; value: number; loc: Location }
  | { kind: "String"; value: string; loc: Location }
  | { kind: "Boolean"; value: boolean; loc: Location }
  | { kind: "Null"; loc: Location }
  | { kind: "Enum"; value: string; loc: Location }
  | { kind: "List"; values: ValueNode[]; loc: Location }
  | { kind: "Object"; fields: Array<{ name: string; value: ValueNode }>; loc: Location };

export interface DirectiveNode {
  name: string;
  args: Array<{ name: string; value: ValueNode; loc: Location }>;
  loc: Location;
}

export interface FieldNode {
  kind: "Field";
  alias?: string;
  name: string;
  args: Array<{ name: string; value: ValueNode; loc: Location }>;
  directives: DirectiveNode[];
  selections?: SelectionNode[];
  loc: Location;
}

export interface InlineFragmentNode {
  kind: "InlineFragment";
  typeCondition?: string;
  directives: DirectiveNode[];
  selections: SelectionNode[];
  loc: Location;
}

export interface FragmentSpreadNode {
  kind: "FragmentSpread";
  name: string;
  directives: DirectiveNode[];
  loc: Location;
}

export type SelectionNode = FieldNode | InlineFragmentNode | FragmentSpreadNode;

export interface VariableDefinitionNode {
  name: string;
  type: string;
  defaultValue?: ValueNode;
  loc: Location;
}

export interface OperationNode {
  operation: "query" | "mutation" | "subscription";
  name?: string;
  variables: VariableDefinitionNode[];
  directives: DirectiveNode[];
  selections: SelectionNode[];
  loc: Location;
}

export interface FragmentNode {
  name: string;
  typeCondition: string;
  directives: DirectiveNode[];
  selections: SelectionNode[];
  loc: Location;
}

export interface DocumentNode {
  operations: OperationNode[];
  fragments: FragmentNode[];
}

export class GraphqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly loc: Location,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- lexer

type TokenKind = "punct" | "name" | "int" | "float" | "string" | "eof";
interface Token {
  kind: TokenKind;
  value: string;
  loc: Location;
}

const PUNCTUATORS = new Set(["!", "$", "&", "(", ")", ":", "=", "@", "[", "]", "{", "|", "}"]);

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const loc = (at: number): Location => ({ line, column: at - lineStart + 1 });
  const fail = (msg: string, at: number): never => {
    throw new GraphqlSyntaxError(msg, loc(at));
  };
  while (i < src.length) {
    const ch = src[i];
    if (ch === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (ch === "\r") {
      i++;
      if (src[i] === "\n") i++;
      line++;
      lineStart = i;
      continue;
    }
    if (ch === " " || ch === "\t" || ch === "," || ch === "\ufeff") {
      i++;
      continue;
    }
    if (ch === "#") {
      while (i < src.length && src[i] !== "\n" && src[i] !== "\r") i++;
      continue;
    }
    const start = i;
    if (ch === ".") {
      if (src.startsWith("...", i)) {
        tokens.push({ kind: "punct", value: "...", loc: loc(start) });
        i += 3;
        continue;
      }
      fail(`Parse error on "." at [${line}, ${start - lineStart + 1}]`, start);
    }
    if (PUNCTUATORS.has(ch)) {
      tokens.push({ kind: "punct", value: ch, loc: loc(start) });
      i++;
      continue;
    }
    if (/[_A-Za-z]/.test(ch)) {
      while (i < src.length && /[_0-9A-Za-z]/.test(src[i])) i++;
      tokens.push({ kind: "name", value: src.slice(start, i), loc: loc(start) });
      continue;
    }
    if (ch === "-" || /[0-9]/.test(ch)) {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i));
      if (!m || /[_A-Za-z.]/.test(src[i + m[0].length] ?? "")) fail(`Parse error on bad number at [${line}, ${start - lineStart + 1}]`, start);
      tokens.push({ kind: m![2] || m![3] ? "float" : "int", value: m![0], loc: loc(start) });
      i += m![0].length;
      continue;
    }
    if (ch === '"') {
      const at = loc(start);
      if (src.startsWith('"""', i)) {
        const end = src.indexOf('"""', i + 3);
        if (end < 0) fail("Unterminated block string", start);
        const raw = src.slice(i + 3, end).replace(/\\"""/g, '"""');
        for (const c of raw) if (c === "\n") line++;
        i = end + 3;
        tokens.push({ kind: "string", value: blockStringValue(raw), loc: at });
        continue;
      }
      i++;
      let value = "";
      for (;;) {
        if (i >= src.length || src[i] === "\n" || src[i] === "\r") fail("Unterminated string", start);
        const c = src[i];
        if (c === '"') {
          i++;
          break;
        }
        if (c === "\\") {
          const e = src[i + 1];
          const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
          if (e in simple) {
            value += simple[e];
            i += 2;
          } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(src.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16));
            i += 6;
          } else {
            fail(`Invalid escape sequence \\${e}`, i);
          }
          continue;
        }
        value += c;
        i++;
      }
      tokens.push({ kind: "string", value, loc: at });
      continue;
    }
    fail(`Parse error on ${JSON.stringify(ch)} at [${line}, ${start - lineStart + 1}]`, start);
  }
  tokens.push({ kind: "eof", value: "", loc: loc(i) });
  return tokens;
}

/** GraphQL block string semantics: common indentation and blank first/last lines removed. */
function blockStringValue(raw: string): string {
  const lines = raw.split(/\r\n|\r|\n/);
  let common: number | null = null;
  for (const l of lines.slice(1)) {
    const indent = l.length - l.replace(/^[ \t]*/, "").length;
    if (indent < l.length && (common === null || indent < common)) common = indent;
  }
  const out = lines.map((l, n) => (n > 0 && common ? l.slice(common) : l));
  while (out.length && out[0].trim() === "") out.shift();
  while (out.length && out[out.length - 1].trim() === "") out.pop();
  return out.join("\n");
}

// ---------------------------------------------------------------- parser

class Parser {
  #pos = 0;
  constructor(readonly tokens: Token[]) {}

  /** A method, not a getter: TypeScript would narrow a getter's result across calls. */
  #peek(): Token {
    return this.tokens[this.#pos];
  }

  #fail(t: Token): never {
    const what = t.kind === "eof" ? "end of file" : JSON.stringify(t.value);
    throw new GraphqlSyntaxError(`Parse error on ${what} at [${t.loc.line}, ${t.loc.column}]`, t.loc);
  }

  #next(): Token {
    return this.tokens[this.#pos++];
  }

  #is(value: string): boolean {
    const t = this.#peek();
    return (t.kind === "punct" || t.kind === "name") && t.value === value;
  }

  #expect(value: string): Token {
    if (!this.#is(value)) this.#fail(this.#peek());
    return this.#next();
  }

  #name(): string {
    if (this.#peek().kind !== "name") this.#fail(this.#peek());
    return this.#next().value;
  }

  document(): DocumentNode {
    const doc: DocumentNode = { operations: [], fragments: [] };
    if (this.#peek().kind === "eof") this.#fail(this.#peek());
    while (this.#peek().kind !== "eof") {
      const t = this.#peek();
      if (t.kind === "punct" && t.value === "{") {
        doc.operations.push({ operation: "query", variables: [], directives: [], selections: this.selectionSet(), loc: t.loc });
      } else if (t.kind === "name" && (t.value === "query" || t.value === "mutation" || t.value === "subscription")) {
        this.#next();
        const name = this.#peek().kind === "name" ? this.#next().value : undefined;
        const variables = this.#is("(") ? this.variableDefinitions() : [];
        const directives = this.directives();
        doc.operations.push({ operation: t.value, name, variables, directives, selections: this.selectionSet(), loc: t.loc });
      } else if (t.kind === "name" && t.value === "fragment") {
        this.#next();
        const name = this.#name();
        if (name === "on") this.#fail(this.tokens[this.#pos - 1]);
        this.#expect("on");
        const typeCondition = this.#name();
        const directives = this.directives();
        doc.fragments.push({ name, typeCondition, directives, selections: this.selectionSet(), loc: t.loc });
      } else {
        this.#fail(t);
      }
    }
    return doc;
  }

  variableDefinitions(): VariableDefinitionNode[] {
    this.#expect("(");
    const defs: VariableDefinitionNode[] = [];
    while (!this.#is(")")) {
      const loc = this.#expect("$").loc;
      const name = this.#name();
      this.#expect(":");
      const type = this.typeRef();
      let defaultValue: ValueNode | undefined;
      if (this.#is("=")) {
        this.#next();
        defaultValue = this.value(true);
      }
      this.directives();
      defs.push({ name, type, defaultValue, loc });
    }
    this.#next();
    if (!defs.length) this.#fail(this.tokens[this.#pos - 1]);
    return defs;
  }

  typeRef(): string {
    let t: string;
    if (this.#is("[")) {
      this.#next();
      t = `[${this.typeRef()}]`;
      this.#expect("]");
    } else {
      t = this.#name();
    }
    if (this.#is("!")) {
      this.#next();
      t += "!";
    }
    return t;
  }

  directives(): DirectiveNode[] {
    const out: DirectiveNode[] = [];
    while (this.#is("@")) {
      const loc = this.#next().loc;
      const name = this.#name();
      out.push({ name, args: this.#is("(") ? this.arguments() : [], loc });
    }
    return out;
  }

  arguments(): Array<{ name: string; value: ValueNode; loc: Location }> {
    this.#expect("(");
    const args: Array<{ name: string; value: ValueNode; loc: Location }> = [];
    while (!this.#is(")")) {
      const loc = this.#peek().loc;
      const name = this.#name();
      this.#expect(":");
      args.push({ name, value: this.value(false), loc });
    }
    this.#next();
    if (!args.length) this.#fail(this.tokens[this.#pos - 1]);
    return args;
  }

  value(constant: boolean): ValueNode {
    const t = this.#peek();
    const loc = t.loc;
    if (t.kind === "punct" && t.value === "$" && !constant) {
      this.#next();
      return { kind: "Variable", name: this.#name(), loc };
    }
    if (t.kind === "int") return this.#next(), { kind: "Int", value: Number(t.value), loc };
    if (t.kind === "float") return this.#next(), { kind: "Float", value: Number(t.value), loc };
    if (t.kind === "string") return this.#next(), { kind: "String", value: t.value, loc };
    if (t.kind === "name") {
      this.#next();
      if (t.value === "true" || t.value === "false") return { kind: "Boolean", value: t.value === "true", loc };
      if (t.value === "null") return { kind: "Null", loc };
      return { kind: "Enum", value: t.value, loc };
    }
    if (t.kind === "punct" && t.value === "[") {
      this.#next();
      const values: ValueNode[] = [];
      while (!this.#is("]")) values.push(this.value(constant));
      this.#next();
      return { kind: "List", values, loc };
    }
    if (t.kind === "punct" && t.value === "{") {
      this.#next();
      const fields: Array<{ name: string; value: ValueNode }> = [];
      while (!this.#is("}")) {
        const name = this.#name();
        this.#expect(":");
        fields.push({ name, value: this.value(constant) });
      }
      this.#next();
      return { kind: "Object", fields, loc };
    }
    return this.#fail(t);
  }

  selectionSet(): SelectionNode[] {
    this.#expect("{");
    const out: SelectionNode[] = [];
    while (!this.#is("}")) out.push(this.selection());
    this.#next();
    if (!out.length) this.#fail(this.tokens[this.#pos - 1]);
    return out;
  }

  selection(): SelectionNode {
    const t = this.#peek();
    if (t.kind === "punct" && t.value === "...") {
      this.#next();
      if (this.#is("on")) {
        this.#next();
        const typeCondition = this.#name();
        return { kind: "InlineFragment", typeCondition, directives: this.directives(), selections: this.selectionSet(), loc: t.loc };
      }
      if (this.#is("@") || this.#is("{")) {
        return { kind: "InlineFragment", directives: this.directives(), selections: this.selectionSet(), loc: t.loc };
      }
      return { kind: "FragmentSpread", name: this.#name(), directives: this.directives(), loc: t.loc };
    }
    const loc = this.#peek().loc;
    let name = this.#name();
    let alias: string | undefined;
    if (this.#is(":")) {
      this.#next();
      alias = name;
      name = this.#name();
    }
    const args = this.#is("(") ? this.arguments() : [];
    const directives = this.directives();
    const selections = this.#is("{") ? this.selectionSet() : undefined;
    return { kind: "Field", alias, name, args, directives, selections, loc };
  }
}

export function parse(source: string): DocumentNode {
  return new Parser(tokenize(source)).document();
}

// ---------------------------------------------------------------- schema

/** A resolver's way to report GitHub's field-level errors (e.g. NOT_FOUND) with a null value. */
export class GraphqlFieldError extends Error {
  constructor(
    message: string,
    readonly type?: string,
  ) {
    super(message);
  }
}

export interface FieldDef<Ctx> {
  /** Type reference in SDL notation: `String`, `Int!`, `[CheckRun!]!`. */
  type: string;
  /** Argument name → type reference (non-null arguments are required). */
  args?: Record<string, string>;
  /** Default: the parent's property of the field's name. */
  resolve?: (parent: any, args: Record<string, unknown>, ctx: Ctx) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export type TypeDef<Ctx> =
  | { kind: "OBJECT"; name: string; interfaces?: string[]; fields: Record<string, FieldDef<Ctx>> }
  | { kind: "INTERFACE"; name: string; fields: Record<string, FieldDef<Ctx>>; resolveType(value: unknown): string }
  | { kind: "UNION"; name: string; types: string[]; resolveType(value: unknown): string }
  | { kind: "ENUM"; name: string; values: string[] }
  | { kind: "SCALAR"; name: string; /** Which literal/JSON kinds the scalar accepts as input. */ accepts: Array<"string" | "int" | "float" | "boolean"> };

export class Schema<Ctx> {
  readonly types = new Map<string, TypeDef<Ctx>>();
  constructor(
    types: TypeDef<Ctx>[],
    readonly queryType = "Query",
  ) {
    const builtins: TypeDef<Ctx>[] = [
      { kind: "SCALAR", name: "String", accepts: ["string"] },
      { kind: "SCALAR", name: "Int", accepts: ["int"] },
      { kind: "SCALAR", name: "Float", accepts: ["int", "float"] },
      { kind: "SCALAR", name: "Boolean", accepts: ["boolean"] },
      { kind: "SCALAR", name: "ID", accepts: ["string", "int"] },
    ];
    for (const t of [...builtins, ...types]) this.types.set(t.name, t);
  }

  /** Concrete object types a type condition or abstract type can be. */
  possibleTypes(name: string): string[] {
    const t = this.types.get(name);
    if (!t) return [];
    if (t.kind === "OBJECT") return [name];
    if (t.kind === "UNION") return t.types;
    if (t.kind === "INTERFACE") {
      return [...this.types.values()].filter((x) => x.kind === "OBJECT" && x.interfaces?.includes(name)).map((x) => x.name);
    }
    return [];
  }

  fieldsOf(name: string): Record<string, FieldDef<Ctx>> | undefined {
    const t = this.types.get(name);
    return t && (t.kind === "OBJECT" || t.kind === "INTERFACE") ? t.fields : undefined;
  }
}

/** `[Foo!]!` → { nonNull, list, inner } layers. */
type TypeRef = { kind: "NonNull"; of: TypeRef } | { kind: "List"; of: TypeRef } | { kind: "Named"; name: string };

function parseTypeRef(ref: string): TypeRef {
  if (ref.endsWith("!")) return { kind: "NonNull", of: parseTypeRef(ref.slice(0, -1)) };
  if (ref.startsWith("[") && ref.endsWith("]")) return { kind: "List", of: parseTypeRef(ref.slice(1, -1)) };
  return { kind: "Named", name: ref };
}

function namedType(ref: string): string {
  return ref.replace(/[[\]!]/g, "");
}

function isCompositeKind(kind: string | undefined): boolean {
  return kind === "OBJECT" || kind === "INTERFACE" || kind === "UNION";
}

// ---------------------------------------------------------------- errors

export interface GraphqlError {
  message: string;
  locations?: Location[];
  path?: Array<string | number>;
  type?: string;
  extensions?: Record<string, unknown>;
}

export interface GraphqlResult {
  /** The response body GitHub would send (always with HTTP 200). */
  body: { data?: unknown; errors?: GraphqlError[] };
  /**
   * True when the document could not be run at all (syntax, validation, variables): the app
   * asked for something the fake's schema does not have, which tests treat as unhandled.
   */
  rejected: boolean;
}

// ---------------------------------------------------------------- validation

interface VariableUsage {
  name: string;
  /** Expected type at the usage site. */
  type: string;
  loc: Location;
}

class Validator<Ctx> {
  readonly errors: GraphqlError[] = [];
  readonly usages: VariableUsage[] = [];
  readonly usedFragments = new Set<string>();
  readonly #fragments: Map<string, FragmentNode>;

  constructor(
    readonly schema: Schema<Ctx>,
    doc: DocumentNode,
  ) {
    this.#fragments = new Map(doc.fragments.map((f) => [f.name, f]));
  }

  #error(message: string, loc: Location, path: string[], code: string, extra: Record<string, unknown> = {}): void {
    this.errors.push({ message, locations: [loc], path, extensions: { code, ...extra } });
  }

  directives(directives: DirectiveNode[], path: string[]): void {
    for (const d of directives) {
      if (d.name !== "include" && d.name !== "skip") {
        this.#error(`Directive @${d.name} is not defined`, d.loc, path, "undefinedDirective", { directiveName: d.name });
        continue;
      }
      this.arguments(`@${d.name}`, { if: "Boolean!" }, d.args, d.loc, path, "Directive");
    }
  }

  arguments(
    owner: string,
    defs: Record<string, string>,
    args: Array<{ name: string; value: ValueNode; loc: Location }>,
    loc: Location,
    path: string[],
    ownerKind: "Field" | "Directive",
  ): void {
    for (const a of args) {
      const type = defs[a.name];
      if (type === undefined) {
        this.#error(`${ownerKind} '${owner}' doesn't accept argument '${a.name}'`, a.loc, [...path, a.name], "argumentNotAccepted", { name: owner, argumentName: a.name });
        continue;
      }
      this.value(a.value, type, ownerKind, owner, a.name, [...path, a.name]);
    }
    const missing = Object.entries(defs)
      .filter(([name, type]) => type.endsWith("!") && !args.some((a) => a.name === name))
      .map(([name]) => name);
    if (missing.length) {
      this.#error(`${ownerKind} '${owner}' is missing required arguments: ${missing.join(", ")}`, loc, path, "missingRequiredArguments", { arguments: missing.join(", ") });
    }
  }

  /** Check a literal (or record a variable usage) against the expected input type. */
  value(v: ValueNode, type: string, ownerKind: "Field" | "Directive", owner: string, argName: string, path: string[]): void {
    // Variables (also inside list literals) are checked against their declarations later.
    const ok = literalMatches(this.schema, v, parseTypeRef(type), (usage) => this.usages.push(usage));
    if (!ok) {
      this.#error(
        `Argument '${argName}' on ${ownerKind} '${owner}' has an invalid value (${printValue(v)}). Expected type '${type}'.`,
        v.loc,
        path,
        "argumentLiteralsIncompatible",
        { typeName: "CoercionError" },
      );
    }
  }

  selections(typeName: string, selections: SelectionNode[], path: string[], fragmentStack: string[] = []): void {
    const type = this.schema.types.get(typeName);
    for (const sel of selections) {
      this.directives(sel.directives, path);
      if (sel.kind === "Field") {
        const fieldPath = [...path, sel.alias ?? sel.name];
        if (sel.name === "__typename") {
          if (sel.args.length) this.#error(`Field '__typename' doesn't accept argument '${sel.args[0].name}'`, sel.loc, fieldPath, "argumentNotAccepted");
          if (sel.selections) this.#error(`Selections can't be made on scalars (field '__typename' returns String but has selections)`, sel.loc, fieldPath, "selectionMismatch");
          continue;
        }
        const def = this.schema.fieldsOf(typeName)?.[sel.name];
        if (!def) {
          this.#error(`Field '${sel.name}' doesn't exist on type '${typeName}'`, sel.loc, fieldPath, "undefinedField", { typeName, fieldName: sel.name });
          continue;
        }
        this.arguments(sel.name, def.args ?? {}, sel.args, sel.loc, fieldPath, "Field");
        const returns = namedType(def.type);
        const kind = this.schema.types.get(returns)?.kind;
        if (isCompositeKind(kind) && !sel.selections) {
          this.#error(`Field must have selections (field '${sel.name}' returns ${returns} but has no selections. Did you mean '${sel.name} { ... }'?)`, sel.loc, fieldPath, "selectionMismatch", { nodeName: `field '${sel.name}'`, typeName: returns });
        } else if (!isCompositeKind(kind) && sel.selections) {
          this.#error(`Selections can't be made on ${kind === "ENUM" ? "enums" : "scalars"} (field '${sel.name}' returns ${returns} but has selections [${sel.selections.map((s) => (s.kind === "Field" ? s.name : "...")).join(", ")}])`, sel.loc, fieldPath, "selectionMismatch", { nodeName: `field '${sel.name}'`, typeName: returns });
        } else if (sel.selections) {
          this.selections(returns, sel.selections, fieldPath, fragmentStack);
        }
        continue;
      }
      const condition = sel.kind === "InlineFragment" ? (sel.typeCondition ?? typeName) : this.#fragments.get(sel.name)?.typeCondition;
      if (sel.kind === "FragmentSpread") {
        if (!this.#fragments.has(sel.name)) {
          this.#error(`Fragment ${sel.name} was used, but not defined`, sel.loc, [...path, `... ${sel.name}`], "useAndDefineFragment", { fragmentName: sel.name });
          continue;
        }
        this.usedFragments.add(sel.name);
        if (fragmentStack.includes(sel.name)) {
          this.#error(`Fragment ${sel.name} contains an infinite loop`, sel.loc, path, "infiniteLoop", { fragmentName: sel.name });
          continue;
        }
      }
      const fragPath = [...path, sel.kind === "InlineFragment" ? `... on ${condition}` : `... ${sel.name}`];
      if (!condition || !this.schema.types.has(condition) || !isCompositeKind(this.schema.types.get(condition)!.kind)) {
        this.#error(`No such type ${condition}, so it can't be a fragment condition`, sel.loc, fragPath, "undefinedType", { typeName: condition });
        continue;
      }
      const here = this.schema.possibleTypes(typeName);
      if (type && !this.schema.possibleTypes(condition).some((t) => here.includes(t))) {
        this.#error(`Fragment on ${condition} can't be spread inside ${typeName}`, sel.loc, fragPath, "cannotSpreadFragment", { typeName: condition, parentName: typeName });
        continue;
      }
      if (sel.kind === "InlineFragment") this.selections(condition, sel.selections, fragPath, fragmentStack);
      else this.selections(condition, this.#fragments.get(sel.name)!.selections, fragPath, [...fragmentStack, sel.name]);
    }
  }
}

function printValue(v: ValueNode): string {
  switch (v.kind) {
    case "Variable":
      return `$${v.name}`;
    case "String":
      return JSON.stringify(v.value);
    case "Null":
      return "null";
    case "List":
      return `[${v.values.map(printValue).join(", ")}]`;
    case "Object":
      return `{${v.fields.map((f) => `${f.name}: ${printValue(f.value)}`).join(", ")}}`;
    default:
      return String(v.value);
  }
}

function literalMatches<Ctx>(
  schema: Schema<Ctx>,
  v: ValueNode,
  t: TypeRef,
  onVariable: (u: { name: string; type: string; loc: Location }) => void,
): boolean {
  if (v.kind === "Variable") {
    onVariable({ name: v.name, type: printTypeRef(t), loc: v.loc });
    return true;
  }
  if (t.kind === "NonNull") return v.kind !== "Null" && literalMatches(schema, v, t.of, onVariable);
  if (v.kind === "Null") return true;
  if (t.kind === "List") {
    // A single value is coerced to a one-element list.
    return v.kind === "List" ? v.values.every((x) => literalMatches(schema, x, t.of, onVariable)) : literalMatches(schema, v, t.of, onVariable);
  }
  const def = schema.types.get(t.name);
  if (!def) return false;
  if (def.kind === "ENUM") return v.kind === "Enum" && def.values.includes(v.value);
  if (def.kind === "SCALAR") {
    const kind = v.kind === "String" ? "string" : v.kind === "Int" ? "int" : v.kind === "Float" ? "float" : v.kind === "Boolean" ? "boolean" : null;
    return kind !== null && def.accepts.includes(kind);
  }
  return false;
}

function printTypeRef(t: TypeRef): string {
  return t.kind === "NonNull" ? `${printTypeRef(t.of)}!` : t.kind === "List" ? `[${printTypeRef(t.of)}]` : t.name;
}

/** A variable of type `varType` may be used where `expected` is wanted (spec "All Variable Usages Are Allowed"). */
function variableAllowed(varType: string, expected: string, hasDefault: boolean): boolean {
  const compatible = (v: TypeRef, e: TypeRef): boolean => {
    if (e.kind === "NonNull") return v.kind === "NonNull" && compatible(v.of, e.of);
    if (v.kind === "NonNull") return compatible(v.of, e);
    if (e.kind === "List") return v.kind === "List" && compatible(v.of, e.of);
    return v.kind === "Named" && v.name === e.name;
  };
  const v = parseTypeRef(varType);
  const e = parseTypeRef(expected);
  if (hasDefault && e.kind === "NonNull" && v.kind !== "NonNull") return compatible(v, e.of);
  return compatible(v, e);
}

/** Coerce a JSON variable value to the declared input type; returns an error message or null. */
function coerceVariable<Ctx>(schema: Schema<Ctx>, value: unknown, t: TypeRef): string | null {
  if (t.kind === "NonNull") return value === null || value === undefined ? "Expected value to not be null" : coerceVariable(schema, value, t.of);
  if (value === null || value === undefined) return null;
  if (t.kind === "List") {
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      const e = coerceVariable(schema, item, t.of);
      if (e) return e;
    }
    return null;
  }
  const def = schema.types.get(t.name);
  if (!def) return `Unknown type ${t.name}`;
  if (def.kind === "ENUM") return typeof value === "string" && def.values.includes(value) ? null : `Expected "${String(value)}" to be one of: ${def.values.join(", ")}`;
  if (def.kind === "SCALAR") {
    const kind =
      typeof value === "string" ? "string" : typeof value === "boolean" ? "boolean" : typeof value === "number" ? (Number.isInteger(value) ? "int" : "float") : null;
    if (kind && def.accepts.includes(kind)) return null;
    return `Could not coerce value ${JSON.stringify(value)} to ${t.name}`;
  }
  return `${t.name} is not an input type`;
}

// ---------------------------------------------------------------- execution

const PROPAGATE = Symbol("null propagation");

class Executor<Ctx> {
  readonly errors: GraphqlError[] = [];
  readonly #fragments: Map<string, FragmentNode>;

  constructor(
    readonly schema: Schema<Ctx>,
    doc: DocumentNode,
    readonly variables: Record<string, unknown>,
    readonly ctx: Ctx,
  ) {
    this.#fragments = new Map(doc.fragments.map((f) => [f.name, f]));
  }

  valueOf(v: ValueNode): unknown {
    switch (v.kind) {
      case "Variable":
        return this.variables[v.name] ?? null;
      case "Null":
        return null;
      case "List":
        return v.values.map((x) => this.valueOf(x));
      case "Object":
        return Object.fromEntries(v.fields.map((f) => [f.name, this.valueOf(f.value)]));
      default:
        return v.value;
    }
  }

  #included(directives: DirectiveNode[]): boolean {
    for (const d of directives) {
      const cond = this.valueOf(d.args.find((a) => a.name === "if")!.value) === true;
      if (d.name === "skip" && cond) return false;
      if (d.name === "include" && !cond) return false;
    }
    return true;
  }

  /** Response key → the field nodes merged under it, for a concrete object type. */
  collectFields(typeName: string, selections: SelectionNode[], out = new Map<string, FieldNode[]>()): Map<string, FieldNode[]> {
    for (const sel of selections) {
      if (!this.#included(sel.directives)) continue;
      if (sel.kind === "Field") {
        const key = sel.alias ?? sel.name;
        const list = out.get(key);
        if (list) list.push(sel);
        else out.set(key, [sel]);
        continue;
      }
      const frag = sel.kind === "FragmentSpread" ? this.#fragments.get(sel.name)! : sel;
      const condition = frag.typeCondition ?? typeName;
      if (!this.schema.possibleTypes(condition).includes(typeName)) continue;
      this.collectFields(typeName, frag.selections, out);
    }
    return out;
  }

  async selectionSet(typeName: string, parent: unknown, selections: SelectionNode[], path: Array<string | number>): Promise<Record<string, unknown>> {
    const result: Record<string, unknown> = {};
    for (const [key, fields] of this.collectFields(typeName, selections)) {
      result[key] = await this.field(typeName, parent, fields, [...path, key]);
    }
    return result;
  }

  async field(typeName: string, parent: unknown, fields: FieldNode[], path: Array<string | number>): Promise<unknown> {
    const node = fields[0];
    if (node.name === "__typename") return typeName;
    const def = this.schema.fieldsOf(typeName)![node.name];
    const args: Record<string, unknown> = {};
    for (const a of node.args) args[a.name] = this.valueOf(a.value);
    let raw: unknown;
    let reported = false;
    try {
      raw = def.resolve ? await def.resolve(parent, args, this.ctx) : (parent as Record<string, unknown>)[node.name];
    } catch (e) {
      if (!(e instanceof GraphqlFieldError)) throw e;
      this.errors.push({ ...(e.type ? { type: e.type } : {}), path, locations: [node.loc], message: e.message });
      raw = null;
      reported = true;
    }
    try {
      return await this.complete(parseTypeRef(def.type), fields, raw, path, reported ? null : `${typeName}.${node.name}`);
    } catch (e) {
      if (e === PROPAGATE && !def.type.endsWith("!")) return null;
      throw e;
    }
  }

  async complete(t: TypeRef, fields: FieldNode[], value: unknown, path: Array<string | number>, fieldName: string | null): Promise<unknown> {
    if (t.kind === "NonNull") {
      const inner = await this.complete(t.of, fields, value, path, fieldName);
      if (inner === null) {
        if (fieldName) this.errors.push({ message: `Cannot return null for non-nullable field ${fieldName}`, path, locations: [fields[0].loc] });
        throw PROPAGATE;
      }
      return inner;
    }
    if (value === null || value === undefined) return null;
    if (t.kind === "List") {
      const items = value as unknown[];
      const out: unknown[] = [];
      for (let i = 0; i < items.length; i++) {
        try {
          out.push(await this.complete(t.of, fields, items[i], [...path, i], fieldName));
        } catch (e) {
          if (e === PROPAGATE && t.of.kind !== "NonNull") out.push(null);
          else throw e;
        }
      }
      return out;
    }
    const def = this.schema.types.get(t.name)!;
    if (def.kind === "SCALAR" || def.kind === "ENUM") return value;
    const concrete = def.kind === "OBJECT" ? def.name : def.resolveType(value);
    const selections = fields.flatMap((f) => f.selections ?? []);
    return this.selectionSet(concrete, value, selections, path);
  }
}

/**
 * Run one GraphQL request (`{ query, variables, operationName }`) against `schema`, the way
 * GitHub's endpoint does: syntax and validation errors reject the whole document (no `data`),
 * resolver errors null the field and are listed next to the partial `data`.
 */
export async function executeGraphql<Ctx>(
  schema: Schema<Ctx>,
  request: { query: string; variables?: unknown; operationName?: unknown },
  ctx: Ctx,
): Promise<GraphqlResult> {
  const reject = (errors: GraphqlError[]): GraphqlResult => ({ body: { errors }, rejected: true });
  let doc: DocumentNode;
  try {
    doc = parse(request.query);
  } catch (e) {
    if (!(e instanceof GraphqlSyntaxError)) throw e;
    return reject([{ message: e.message, locations: [e.loc] }]);
  }

  const operationName = typeof request.operationName === "string" && request.operationName ? request.operationName : undefined;
  const op = operationName ? doc.operations.find((o) => o.name === operationName) : doc.operations.length === 1 ? doc.operations[0] : undefined;
  if (!op) {
    return reject([
      { message: operationName ? `No operation named "${operationName}"` : doc.operations.length ? "An operation name is required" : "No operations in this document" },
    ]);
  }
  if (op.operation !== "query") {
    return reject([{ message: `Schema is not configured for ${op.operation}s`, locations: [op.loc] }]);
  }

  const v = new Validator(schema, doc);
  const opLabel = op.name ? `query ${op.name}` : "query";
  v.directives(op.directives, [opLabel]);
  v.selections(schema.queryType, op.selections, [opLabel]);
  // Fragments reachable only through spreads are validated there; unused ones are an error.
  for (const f of doc.fragments) {
    if (!v.usedFragments.has(f.name)) {
      v.errors.push({ message: `Fragment ${f.name} was defined, but not used`, locations: [f.loc], path: [`fragment ${f.name}`], extensions: { code: "useAndDefineFragment", fragmentName: f.name } });
    }
  }
  const opDesc = op.name ? `operation '${op.name}'` : "anonymous query";
  const declared = new Map(op.variables.map((d) => [d.name, d]));
  for (const d of op.variables) {
    const base = namedType(d.type);
    const kind = schema.types.get(base)?.kind;
    if (kind !== "SCALAR" && kind !== "ENUM") {
      v.errors.push({ message: `${base} isn't a defined input type (on $${d.name})`, locations: [d.loc], path: [opLabel], extensions: { code: "variableRequiresValidType", typeName: base, variableName: d.name } });
    }
    if (!v.usages.some((u) => u.name === d.name)) {
      v.errors.push({ message: `Variable $${d.name} is declared by ${opDesc} but not used`, locations: [d.loc], path: [opLabel], extensions: { code: "variableNotUsed", variableName: d.name } });
    }
  }
  for (const u of v.usages) {
    const d = declared.get(u.name);
    if (!d) {
      v.errors.push({ message: `Variable $${u.name} is used by ${opDesc} but not declared`, locations: [u.loc], path: [opLabel], extensions: { code: "variableNotDefined", variableName: u.name } });
    } else if (!variableAllowed(d.type, u.type, d.defaultValue !== undefined && d.defaultValue.kind !== "Null")) {
      const nullability = namedType(d.type) === namedType(u.type) && d.type.replace(/!/g, "") === u.type.replace(/!/g, "");
      v.errors.push({
        message: `${nullability ? "Nullability" : "Type"} mismatch on variable $${u.name} and argument (${d.type} / ${u.type})`,
        locations: [u.loc],
        path: [opLabel],
        extensions: { code: "variableMismatch", variableName: u.name, typeName: d.type },
      });
    }
  }
  if (v.errors.length) return reject(v.errors);

  const provided = request.variables && typeof request.variables === "object" && !Array.isArray(request.variables) ? (request.variables as Record<string, unknown>) : {};
  const variables: Record<string, unknown> = {};
  const variableErrors: GraphqlError[] = [];
  for (const d of op.variables) {
    let value = provided[d.name];
    if (value === undefined && d.defaultValue) value = new Executor(schema, doc, {}, ctx).valueOf(d.defaultValue);
    const problem = coerceVariable(schema, value, parseTypeRef(d.type));
    if (problem) {
      variableErrors.push({
        message: `Variable $${d.name} of type ${d.type} was provided invalid value`,
        locations: [d.loc],
        extensions: { value: value ?? null, problems: [{ path: [], explanation: problem }] },
      });
    }
    variables[d.name] = value ?? null;
  }
  if (variableErrors.length) return reject(variableErrors);

  const ex = new Executor(schema, doc, variables, ctx);
  let data: unknown;
  try {
    data = await ex.selectionSet(schema.queryType, {}, op.selections, []);
  } catch (e) {
    if (e !== PROPAGATE) throw e;
    data = null;
  }
  return { body: ex.errors.length ? { data, errors: ex.errors } : { data }, rejected: false };
}
