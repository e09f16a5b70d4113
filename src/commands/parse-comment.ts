/**
 * Turns a pull-request comment into a command, a reply, or nothing — a pure function with no
 * I/O so every Atlantis quirk we copy (or deliberately fix) is pinned down by unit tests.
 *
 * Processing order follows Atlantis's `comment_parser.go` (see reference §1.1):
 * trim → multi-line check → addressing / near-miss → shell lexing → help → command →
 * GNU-style flags → positional check → blocked extra args → -d → -w → -p.
 */
import { split, quote } from "shlex";
import { COMMAND_ORDER, commandUsage, errorBody, fence, helpText } from "./usage.js";

import type { CommandName } from "./command-name.js";

export type { CommandName } from "./command-name.js";

export type AutoMergeMethod = "merge" | "squash" | "rebase";
export const AUTO_MERGE_METHODS: readonly AutoMergeMethod[] = ["merge", "squash", "rebase"];

export interface ParseOptions {
  /** Words that address Atoll (case-insensitive). Default `["atoll", "atlantis"]`. */
  names?: string[];
  /** The app's bot login (`my-app[bot]` or `my-app`); enables `@my-app plan`. */
  botLogin?: string;
  /** Commands users may run (words as typed: `state`, not `state_rm`). Default {@link DEFAULT_ALLOW_COMMANDS}. */
  allowCommands?: string[];
  /** Terraform flags refused after `--` (exact match or `<flag>=...`). */
  blockedExtraArgs?: string[];
}

export interface CommandRequest {
  kind: "command";
  command: CommandName;
  /** Normalised repo-relative dir, `""` when `-d` was not given. */
  dir: string;
  /** `""` when `-w` was not given. */
  workspace: string;
  /** `""` when `-p` was not given. */
  project: string;
  /** Tokens after `--`, as lexed (quotes removed). */
  extraArgs: string[];
  verbose: boolean;
  /** Addressing word to use in suggested commands (`atoll`, `atlantis`, `@my-app`). */
  name: string;
  /** `import`: `[ADDRESS, ID]`; `state_rm`: the addresses. Absent for other commands. */
  args?: string[];
  /** `apply --auto-merge-disabled` / `--auto-merge-method m`; absent when neither was given. */
  autoMerge?: { disabled: true } | { method: AutoMergeMethod };
}

export interface ReplyResult {
  kind: "reply";
  /** Markdown ready to post. */
  body: string;
  isError: boolean;
}

export type ParseResult = { kind: "ignore" } | CommandRequest | ReplyResult;

export const DEFAULT_NAMES: readonly string[] = ["atoll", "atlantis"];
/**
 * Allowed unless the operator says otherwise: Atlantis's defaults (`version, plan, apply, unlock,
 * approve_policies, cancel`) plus `destroy` and `help`. `import` and `state` change state outside
 * a reviewed plan, so (as in Atlantis) they must be allowed explicitly.
 */
export const DEFAULT_ALLOW_COMMANDS: readonly string[] = ["version", "plan", "destroy", "apply", "cancel", "unlock", "approve_policies", "help"];
/** Every command word this parser knows. */
export const KNOWN_COMMANDS: readonly string[] = COMMAND_ORDER;
export const DEFAULT_BLOCKED_EXTRA_ARGS: readonly string[] = ["-chdir", "--chdir", "-plugin-dir", "--plugin-dir"];

/** Command words that make a near-miss first word worth answering (avoids replying to chat). */
const NEAR_MISS_GATE: ReadonlySet<string> = new Set(COMMAND_ORDER);
const HELP_WORDS = new Set(["help", "-h", "--help"]);
/** The only characters shlex treats as separators; used for the first/second word too. */
const LEXER_SPACE = /[ \t\r\n]+/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/** Longest user-supplied value echoed back, so replies stay short whatever was typed. */
const MAX_SHOWN = 100;

const IGNORE: ParseResult = { kind: "ignore" };

/**
 * Parse a comment body. Never throws: every input maps to ignore, a command or a reply (the
 * only throwing dependency, the shell lexer, is caught and turned into an error reply; a fuzz
 * test guards the rest, which is why there is no blanket try/catch hiding bugs).
 */
export function parseComment(body: string, options: ParseOptions = {}): ParseResult {
  return parse(body, options);
}

interface Context {
  name: string;
  allowed: string[];
  blocked: string[];
}

function parse(body: string, options: ParseOptions): ParseResult {
  if (typeof body !== "string") return IGNORE;
  const text = trimComment(body);
  // A command followed by more text is prose that happens to start with our name.
  if (/[\r\n]/.test(text)) return IGNORE;

  const firstWord = text.split(LEXER_SPACE, 1)[0] ?? "";
  if (firstWord === "") return IGNORE;
  const names = (options.names ?? DEFAULT_NAMES).map((n) => n.trim()).filter((n) => n !== "" && !LEXER_SPACE.test(n));
  const allowed = normaliseAllowed(options.allowCommands ?? DEFAULT_ALLOW_COMMANDS);
  const name = addressedName(firstWord, names, options.botLogin);
  if (name === undefined) return nearMiss(text, firstWord, names, options.botLogin);

  const ctx: Context = {
    name,
    allowed,
    blocked: (options.blockedExtraArgs ?? DEFAULT_BLOCKED_EXTRA_ARGS).filter((b) => b !== ""),
  };
  const rest = text.slice(firstWord.length);
  let args: string[];
  try {
    args = split(rest);
  } catch (err) {
    return lexerError(err, rest, ctx);
  }

  // The bare name (`atlantis`, `@my-app`) shows help, as in Atlantis.
  if (args.length === 0) {
    return allowed.includes("help") ? helpReply(ctx) : IGNORE;
  }
  const commandWord = args[0].toLowerCase();
  if (HELP_WORDS.has(commandWord) && allowed.includes("help")) return helpReply(ctx);
  if (!allowed.includes(commandWord)) {
    return KNOWN_COMMANDS.includes(commandWord) && commandWord !== "help" ? notEnabled(commandWord, ctx) : unknownCommand(args[0], ctx);
  }
  const rest_ = args.slice(1);
  switch (commandWord) {
    case "unlock":
    case "cancel":
      return parseBare(commandWord, rest_, ctx);
    case "approve_policies":
      return parseApprovePolicies(rest_, ctx);
    case "state":
      return parseState(rest_, ctx);
    case "import":
      return parseTargeted("import", rest_, ctx);
    default:
      return parseTargeted(commandWord as "plan" | "destroy" | "apply" | "version", rest_, ctx);
  }
}

/** Trim whitespace, then backticks (GitLab-style copy/paste), then whitespace again. */
function trimComment(body: string): string {
  return body.trim().replace(/^`+|`+$/g, "").trim();
}

function normaliseAllowed(allow: readonly string[]): string[] {
  const set = new Set(allow.map((c) => c.trim().toLowerCase()));
  return COMMAND_ORDER.filter((c) => set.has(c));
}

/** Strip an optional leading `@` and optional `[bot]` suffix from a login. */
function loginSlug(login: string): string {
  return login.trim().replace(/^@/, "").replace(/\[bot\]$/i, "");
}

/**
 * The name to use in suggestions when `word` addresses us, else undefined. Configured names
 * match case-insensitively; `@slug` and `@slug[bot]` match the app's login. A bare `@` never
 * matches (Atlantis matched it when its GitHub user was unset).
 */
function addressedName(word: string, names: string[], botLogin: string | undefined): string | undefined {
  const lower = word.toLowerCase();
  const byName = names.find((n) => n.toLowerCase() === lower);
  if (byName !== undefined) return byName;
  if (botLogin === undefined || !word.startsWith("@")) return undefined;
  const slug = loginSlug(botLogin);
  const typed = loginSlug(word.slice(1));
  if (slug === "" || typed === "") return undefined;
  return typed.toLowerCase() === slug.toLowerCase() ? `@${slug}` : undefined;
}

/**
 * Reply "Did you mean ...?" when the first word looks like a misspelled name (or `terraform`)
 * and the second word is a command, so ordinary chat is never answered. Words starting with `@`
 * are excluded: `@atlantis plan` is addressed to another bot, not a typo of `atlantis`.
 */
function nearMiss(text: string, word: string, names: string[], botLogin: string | undefined): ParseResult {
  const second = (text.split(LEXER_SPACE)[1] ?? "").toLowerCase();
  if (!NEAR_MISS_GATE.has(second) || word.startsWith("@")) return IGNORE;
  const lower = word.toLowerCase();
  let suggestion: string | undefined;
  if (lower === "terraform") {
    const slug = botLogin === undefined ? "" : loginSlug(botLogin);
    suggestion = names[0] ?? (slug === "" ? undefined : `@${slug}`);
  } else {
    let best = 3;
    for (const candidate of names) {
      const distance = levenshtein(lower, candidate.toLowerCase(), 2);
      if (distance >= 1 && distance < best) {
        best = distance;
        suggestion = candidate;
      }
    }
  }
  if (suggestion === undefined) return IGNORE;
  return {
    kind: "reply",
    body: `Did you mean to use ${inlineCode(suggestion)} instead of ${inlineCode(word)}?`,
    isError: true,
  };
}

/**
 * Edit distance between two strings (by code point). Returns `max + 1` as soon as the distance
 * is known to exceed `max`, so a huge first word costs nothing.
 */
export function levenshtein(a: string, b: string, max = Infinity): number {
  const x = [...a];
  const y = [...b];
  if (Math.abs(x.length - y.length) > max) return max + 1;
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      rowMin = Math.min(rowMin, current[j]);
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  const distance = previous[y.length];
  return distance > max ? max + 1 : distance;
}

function helpReply(ctx: Context): ReplyResult {
  return { kind: "reply", body: fence(helpText(ctx.name, ctx.allowed)), isError: false };
}

function usageReply(command: string, ctx: Context): ReplyResult {
  return { kind: "reply", body: fence(commandUsage(command, ctx.name)), isError: false };
}

function errorReply(message: string, usage: string): ReplyResult {
  return { kind: "reply", body: errorBody(message, usage), isError: true };
}

/** Pointer to the help overview (or the list of commands when `help` itself is disabled). */
function generalHint(ctx: Context): string {
  const lines = [`Available commands: ${ctx.allowed.join(", ") || "none"}`];
  if (ctx.allowed.includes("help")) lines.unshift(`Run "${ctx.name} help" for usage.`);
  return lines.join("\n");
}

/** When the lexer fails we still show the usage of the command the user seemed to type. */
function lexerError(err: unknown, rest: string, ctx: Context): ReplyResult {
  const reason = err instanceof Error ? err.message : String(err);
  const word = (rest.trim().split(LEXER_SPACE)[0] ?? "").toLowerCase();
  const usage = ctx.allowed.includes(word) && word !== "help" ? commandUsage(word, ctx.name) : generalHint(ctx);
  return errorReply(`could not parse the comment: ${reason}`, usage);
}

function unknownCommand(word: string, ctx: Context): ReplyResult {
  return errorReply(`unknown command ${show(word)}`, generalHint(ctx));
}

/**
 * A known command the operator has not allowed: say so and how to allow it (Atlantis answers
 * "unknown command", which sends users looking for typos).
 */
function notEnabled(word: string, ctx: Context): ReplyResult {
  const wanted = [...ctx.allowed, word].join(",");
  return errorReply(
    `the ${show(word)} command is not enabled on this Atoll server`,
    `An operator can enable it by adding it to ATOLL_ALLOW_COMMANDS (for example\nATOLL_ALLOW_COMMANDS=${wanted}) and restarting Atoll.\n${generalHint(ctx)}`,
  );
}

/** `unlock` and `cancel` take nothing; any argument gets Atlantis's fixed usage reply. */
function parseBare(cmd: "unlock" | "cancel", args: string[], ctx: Context): ParseResult {
  if (args.length === 1 && (args[0] === "-h" || args[0] === "--help")) return usageReply(cmd, ctx);
  if (args.length > 0) {
    return errorReply(`${cmd} does not support arguments or flags (got: ${showArgs(args)})`, commandUsage(cmd, ctx.name));
  }
  return command(cmd, { dir: "", workspace: "", project: "", verbose: false, extraArgs: [] }, ctx);
}

type Values = Record<string, string | boolean | undefined>;

type FlagParse =
  | { ok: true; values: Values; positionals: string[]; extraArgs: string[] }
  | { ok: false; help: true }
  | { ok: false; help: false; message: string };

interface FlagSpec {
  key: string;
  long: string;
  short?: string;
  takesValue: boolean;
}

const TARGET_FLAGS: FlagSpec[] = [
  { key: "dir", long: "dir", short: "d", takesValue: true },
  { key: "workspace", long: "workspace", short: "w", takesValue: true },
  { key: "project", long: "project", short: "p", takesValue: true },
  { key: "verbose", long: "verbose", takesValue: false },
  { key: "help", long: "help", short: "h", takesValue: false },
];

const FLAGS_OF: Record<string, FlagSpec[]> = {
  apply: [
    ...TARGET_FLAGS,
    { key: "autoMergeDisabled", long: "auto-merge-disabled", takesValue: false },
    { key: "autoMergeMethod", long: "auto-merge-method", takesValue: true },
  ],
  approve_policies: [
    ...TARGET_FLAGS,
    { key: "policySet", long: "policy-set", takesValue: true },
    { key: "clearPolicyApproval", long: "clear-policy-approval", takesValue: false },
  ],
};

/** Positional arguments each command takes (before `--`). */
const POSITIONALS: Record<string, (args: string[]) => string | undefined> = {
  import: (args) =>
    args.length === 2 ? undefined : args.length < 2 ? "import needs two arguments: ADDRESS ID" : `unknown argument(s) \u2013 ${showArgs(args.slice(2))}`,
  state_rm: (args) => (args.length > 0 ? undefined : "state rm needs at least one ADDRESS"),
};

type Targeted = "plan" | "destroy" | "apply" | "version" | "import" | "state_rm";

/** Commands with -d/-w/-p: flags, then positionals, extra args, -d, -w, -p, command-specific flags. */
function parseTargeted(cmd: Targeted, args: string[], ctx: Context, usageWord: string = cmd): ParseResult {
  const usage = commandUsage(usageWord, ctx.name);
  const parsed = parseFlags(args, FLAGS_OF[cmd] ?? TARGET_FLAGS);
  if (!parsed.ok) return parsed.help ? usageReply(usageWord, ctx) : errorReply(parsed.message, usage);
  const { values, positionals, extraArgs } = parsed;

  const positionalProblem = POSITIONALS[cmd]?.(positionals);
  if (POSITIONALS[cmd] === undefined && positionals.length > 0) return errorReply(`unknown argument(s) \u2013 ${showArgs(positionals)}`, usage);
  if (positionalProblem !== undefined) return errorReply(positionalProblem, usage);
  for (const arg of [...extraArgs, ...positionals]) {
    const message = checkExtraArg(arg, ctx.blocked);
    if (message !== undefined) return errorReply(message, usage);
  }
  const target = parseTarget(values, usage);
  if ("reply" in target) return target.reply;

  const fields: CommandFields = { ...target, verbose: values.verbose === true, extraArgs };
  if (POSITIONALS[cmd] !== undefined) fields.args = positionals;
  if (cmd === "apply") {
    const autoMerge = parseAutoMerge(values);
    if (typeof autoMerge === "string") return errorReply(autoMerge, usage);
    if (autoMerge !== undefined) fields.autoMerge = autoMerge;
  }
  return command(cmd, fields, ctx);
}

/** `-d`, `-w` and `-p` checked and normalised (Atlantis order: dir, workspace, project). */
function parseTarget(values: Values, usage: string): Pick<CommandRequest, "dir" | "workspace" | "project"> | { reply: ReplyResult } {
  const raw = { dir: values.dir as string | undefined, workspace: values.workspace as string | undefined, project: values.project as string | undefined };
  let dir = "";
  if (raw.dir !== undefined) {
    const result = normaliseDir(raw.dir);
    if ("error" in result) return { reply: errorReply(result.error, usage) };
    dir = result.dir;
  }
  if (raw.workspace !== undefined) {
    const reason = workspaceProblem(raw.workspace);
    if (reason !== undefined) return { reply: errorReply(`invalid workspace ${show(raw.workspace)}: ${reason}`, usage) };
  }
  if (raw.project !== undefined) {
    const reason = projectProblem(raw.project);
    if (reason !== undefined) return { reply: errorReply(`invalid project name ${show(raw.project)}: ${reason}`, usage) };
    // Stricter than Atlantis, which cannot tell `-d .` from "not given": any -d/-w conflicts.
    if (raw.dir !== undefined || raw.workspace !== undefined) {
      return { reply: errorReply("cannot use -p/--project at same time as -d/--dir or -w/--workspace", usage) };
    }
  }
  return { dir, workspace: raw.workspace ?? "", project: raw.project ?? "" };
}

/** `--auto-merge-disabled` / `--auto-merge-method`: the choice, an error message, or undefined. */
function parseAutoMerge(values: Values): CommandRequest["autoMerge"] | string {
  const method = values.autoMergeMethod as string | undefined;
  if (values.autoMergeDisabled === true && method !== undefined) {
    return "cannot use --auto-merge-method at the same time as --auto-merge-disabled";
  }
  if (values.autoMergeDisabled === true) return { disabled: true };
  if (method === undefined) return undefined;
  const lower = method.toLowerCase() as AutoMergeMethod;
  if (!AUTO_MERGE_METHODS.includes(lower)) {
    return `invalid --auto-merge-method ${show(method)}: use one of ${AUTO_MERGE_METHODS.join(", ")}`;
  }
  return { method: lower };
}

/**
 * `state rm ADDRESS...`: the subcommand is the first positional; flags may sit before or after
 * it (`state -d x rm a`, `state rm -d x a`), as pflag allows.
 */
function parseState(args: string[], ctx: Context): ParseResult {
  const usage = commandUsage("state", ctx.name);
  const parsed = parseFlags(args, TARGET_FLAGS);
  if (!parsed.ok) return parsed.help ? usageReply("state", ctx) : errorReply(parsed.message, usage);
  const sub = parsed.positionals[0];
  if (sub === undefined) return errorReply("subcommand required (state rm ADDRESS...)", usage);
  if (sub.toLowerCase() !== "rm") return errorReply(`invalid subcommand ${show(sub, false)} (not rm)`, usage);
  const index = args.indexOf(sub);
  return parseTargeted("state_rm", [...args.slice(0, index), ...args.slice(index + 1)], ctx, "state");
}

/**
 * `approve_policies`: flags are checked like Atlantis's, then the answer is that this server has
 * no policy checks to approve (Atoll does not run conftest), instead of an "unknown command".
 */
function parseApprovePolicies(args: string[], ctx: Context): ParseResult {
  const usage = commandUsage("approve_policies", ctx.name);
  const parsed = parseFlags(args, FLAGS_OF.approve_policies);
  if (!parsed.ok) return parsed.help ? usageReply("approve_policies", ctx) : errorReply(parsed.message, usage);
  if (parsed.positionals.length > 0) return errorReply(`unknown argument(s) \u2013 ${showArgs(parsed.positionals)}`, usage);
  const target = parseTarget(parsed.values, usage);
  if ("reply" in target) return target.reply;
  return {
    kind: "reply",
    body:
      "**Policy checks are not configured on this Atoll server**, so there are no failing policies to approve. " +
      "Atoll does not run conftest policy checks (`policies` in a server policy file has no effect); " +
      "what an apply needs is set with `apply_requirements` (approved, mergeable, undiverged). " +
      `\`${ctx.name} apply\` reports any requirement that is not met.`,
    isError: false,
  };
}

type CommandFields = Pick<CommandRequest, "dir" | "workspace" | "project" | "verbose" | "extraArgs"> &
  Partial<Pick<CommandRequest, "args" | "autoMerge">>;

function command(cmd: CommandName, fields: CommandFields, ctx: Context): CommandRequest {
  return { kind: "command", command: cmd, ...fields, name: ctx.name };
}

/** A token that would be parsed as a flag; such a token is never taken as a flag's value. */
function looksLikeFlag(token: string): boolean {
  return token.length > 1 && token.startsWith("-");
}

/**
 * GNU-style flag parsing after spf13/pflag: flags and positionals may be interleaved, `--`
 * ends flags, `-dx`, `-d=x`, `-d x`, `--dir=x`, `--dir x` all work, a repeated flag's last
 * value wins, and the first error (or `-h`) stops parsing. Unlike pflag, a value is never
 * taken from a token that looks like a flag, so `-d --verbose` reports the missing value
 * instead of planning a directory called `--verbose` (`--dir=-x` still works).
 */
function parseFlags(args: string[], specs: FlagSpec[]): FlagParse {
  const values: Values = {};
  const positionals: string[] = [];
  let i = 0;

  /** Apply one flag occurrence; returns an error message, "help", or undefined. */
  const set = (spec: FlagSpec, value: string | undefined, label: string): string | undefined => {
    if (!spec.takesValue) {
      const on = value === undefined ? true : parseBool(value);
      if (on === undefined) return `invalid argument ${show(value ?? "")} for "${label}" flag: not a boolean`;
      if (spec.key === "help") return on ? "help" : undefined;
      values[spec.key] = on;
      return undefined;
    }
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || looksLikeFlag(next)) return `flag needs an argument: ${label}`;
      value = next;
      i++;
    }
    values[spec.key] = value;
    return undefined;
  };

  for (; i < args.length; i++) {
    const token = args[i];
    if (token === "--") {
      return { ok: true, values, positionals, extraArgs: args.slice(i + 1) };
    }
    let outcome: string | undefined;
    if (token.startsWith("--")) {
      const body = token.slice(2);
      if (body.startsWith("-") || body.startsWith("=")) {
        return { ok: false, help: false, message: `bad flag syntax: ${show(token, false)}` };
      }
      const eq = body.indexOf("=");
      const flagName = eq === -1 ? body : body.slice(0, eq);
      const value = eq === -1 ? undefined : body.slice(eq + 1);
      const spec = specs.find((f) => f.long === flagName);
      if (spec === undefined) return { ok: false, help: false, message: `unknown flag: --${show(flagName, false)}` };
      outcome = set(spec, value, `--${flagName}`);
    } else if (looksLikeFlag(token)) {
      outcome = parseShorthands([...token.slice(1)], specs, set);
    } else {
      positionals.push(token);
      continue;
    }
    if (outcome === "help") return { ok: false, help: true };
    if (outcome !== undefined) return { ok: false, help: false, message: outcome };
  }
  return { ok: true, values, positionals, extraArgs: [] };
}

/**
 * One `-abc` token: boolean shorthands may be combined (`-h...`), a value flag takes the rest
 * of the token (`-dx`, `-d=x`) or the next token. Messages match pflag's.
 */
function parseShorthands(
  chars: string[],
  specs: FlagSpec[],
  set: (spec: FlagSpec, value: string | undefined, label: string) => string | undefined,
): string | undefined {
  for (let k = 0; k < chars.length; k++) {
    const c = chars[k];
    const remaining = chars.slice(k).join("");
    const spec = specs.find((f) => f.short === c);
    if (spec === undefined) {
      return `unknown shorthand flag: '${show(c, false)}' in -${show(remaining, false)}`;
    }
    const label = `'${c}' in -${remaining}`;
    const after = chars.slice(k + 1).join("");
    if (after.startsWith("=")) return set(spec, after.slice(1), `-${c}`);
    if (spec.takesValue) return set(spec, after === "" ? undefined : after, label);
    const outcome = set(spec, undefined, `-${c}`);
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}

/** Boolean spellings accepted by Go's strconv.ParseBool (pflag's `--verbose=false`). */
function parseBool(value: string): boolean | undefined {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  return undefined;
}

/** Refuse extra args that would let a comment escape the project dir (`-chdir=..`). */
function checkExtraArg(arg: string, blocked: string[]): string | undefined {
  // NUL cannot be passed in an argv; refusing it here beats a spawn failure later.
  if (arg.includes("\u0000")) return `extra argument ${show(arg)} contains a NUL character`;
  const hit = blocked.some((b) => arg === b || arg.startsWith(`${b}=`));
  return hit ? `flag ${show(arg)} is not allowed in extra args` : undefined;
}

/**
 * Normalise `-d` as a POSIX repo-relative path (`./x` → `x`, `a/..` → `.`). A leading `/` means
 * the repository root, as in Atlantis (`/` → `.`, `/x` → `x`); paths that leave the repository
 * are refused with the value named. A value with `*`, `?` or `[` is a glob over project
 * directories (minimatch syntax, matched in `select-projects.ts`): cleaned the same way, but any
 * `..` is refused.
 */
export function normaliseDir(raw: string): { dir: string } | { error: string } {
  const fail = (reason: string) => ({ error: `invalid -d/--dir ${show(raw)}: ${reason}` });
  if (raw === "") return fail('must not be empty (use "." for the repository root)');
  if (CONTROL_CHARS.test(raw)) return fail("must not contain control characters");
  if (raw.includes("\\")) return fail('use "/" as the path separator, not "\\"');
  const isGlob = GLOB_CHARS.test(raw);
  const parts: string[] = [];
  for (const segment of raw.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (isGlob) return fail("'..' is not allowed in a glob pattern");
      if (parts.length === 0) return fail("the path leads outside the repository");
      parts.pop();
      continue;
    }
    parts.push(segment);
  }
  return { dir: parts.length === 0 ? "." : parts.join("/") };
}

/** Characters that make `-d` a glob pattern (as in Atlantis). */
export const GLOB_CHARS = /[*?[]/;

/** Atlantis's workspace rules (reference §1.4); returns the reason a name is refused. */
export function workspaceProblem(ws: string): string | undefined {
  if (ws === "") return "must not be empty";
  if (CONTROL_CHARS.test(ws)) return "must not contain control characters";
  if (/\s/.test(ws)) return "must not contain whitespace";
  if (ws.includes("/")) return 'must not contain "/"';
  if (ws.includes("\\")) return 'must not contain "\\"';
  if (ws.includes("..")) return 'must not contain ".."';
  if (ws.includes("$")) return 'must not contain "$"';
  if (ws === ".") return 'must not be "."';
  if (ws.startsWith("-")) return 'must not start with "-"';
  if (ws.startsWith("~")) return 'must not start with "~"';
  return undefined;
}

function projectProblem(project: string): string | undefined {
  if (project === "") return "must not be empty";
  if (CONTROL_CHARS.test(project)) return "must not contain control characters";
  if (project.trim() === "") return "must not be only whitespace";
  return undefined;
}

/**
 * Render a user-supplied value for an error message: truncated, with control and line-separator
 * characters escaped (so a `$'\n```'` argument cannot break out of the code fence), and
 * double-quoted by default.
 */
function show(value: string, quoted = true): string {
  const chars = [...value];
  const short = chars.length > MAX_SHOWN ? `${chars.slice(0, MAX_SHOWN).join("")}…` : value;
  if (quoted) return JSON.stringify(short).replace(/[\u2028\u2029]/g, escapeChar);
  return short.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, escapeChar);
}

function escapeChar(c: string): string {
  const short: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  return short[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** Arguments re-quoted shell-style so `""` and `"a b"` stay visible, then made safe. */
function showArgs(args: string[]): string {
  const joined = args.map((a) => quote(a)).join(" ");
  return show(joined, false);
}

/** Inline code that survives backticks inside the value (CommonMark variable-length spans). */
function inlineCode(value: string): string {
  const runs = value.match(/`+/g) ?? [];
  const longest = runs.reduce((max, run) => Math.max(max, run.length), 0);
  const ticks = "`".repeat(longest + 1);
  const pad = longest > 0 ? " " : "";
  return `${ticks}${pad}${value}${pad}${ticks}`;
}
