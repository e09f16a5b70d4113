import { quote } from "shlex";
import {
  KNOWN_COMMANDS,
  levenshtein,
  normaliseDir,
  parseComment,
  workspaceProblem,
  type CommandName,
  type CommandRequest,
  type ParseOptions,
  type ParseResult,
} from "../../src/commands/parse-comment.js";
import { commandUsage, errorBody, fence, helpText } from "../../src/commands/usage.js";

const BOT: ParseOptions = { botLogin: "my-app[bot]" };
/** Every command allowed (import and state are off by default). */
const ALL: ParseOptions = { allowCommands: [...KNOWN_COMMANDS] };
const EN_DASH = "\u2013";

/** Full expected command object: defaults plus the fields a case sets. */
function cmd(command: CommandName, fields: Partial<CommandRequest> = {}): CommandRequest {
  return {
    kind: "command",
    command,
    dir: "",
    workspace: "",
    project: "",
    extraArgs: [],
    verbose: false,
    name: "atoll",
    ...fields,
  };
}

/**
 * True when every fenced block is closed: an opening line of N≥3 backticks must be followed by
 * a closing line of at least N backticks and nothing else, and nothing may remain open.
 */
function fencesBalanced(body: string): boolean {
  let open: number | undefined;
  for (const line of body.split("\n")) {
    const match = /^(`{3,})(.*)$/.exec(line);
    if (!match) continue;
    const ticks = match[1].length;
    if (open === undefined) {
      open = ticks;
    } else if (ticks >= open && match[2].trim() === "") {
      open = undefined;
    }
  }
  return open === undefined;
}

function reply(result: ParseResult): { body: string; isError: boolean } {
  if (result.kind !== "reply") throw new Error(`expected a reply, got ${JSON.stringify(result)}`);
  return result;
}

describe("parseComment: commands", () => {
  const cases: Array<[string, string, ParseOptions | undefined, CommandRequest]> = [
    // Addressing
    ["plain plan", "atoll plan", undefined, cmd("plan")],
    ["atlantis alias", "atlantis plan", undefined, cmd("plan", { name: "atlantis" })],
    ["upper-case name", "ATOLL plan", undefined, cmd("plan")],
    ["capitalised name and command", "Atlantis Plan", undefined, cmd("plan", { name: "atlantis" })],
    ["surrounding whitespace", "  \n atoll plan \t ", undefined, cmd("plan")],
    ["tabs between words", "\tatoll\tplan\t", undefined, cmd("plan")],
    ["inline backticks", "`atoll plan`", undefined, cmd("plan")],
    ["fenced block", "```\natoll plan\n```", undefined, cmd("plan")],
    ["trailing blank lines", "atoll plan\n\n", undefined, cmd("plan")],
    ["trailing CRLF blank lines", "atoll plan\r\n\r\n", undefined, cmd("plan")],
    ["@slug", "@my-app plan", BOT, cmd("plan", { name: "@my-app" })],
    ["@slug[bot]", "@my-app[bot] plan", BOT, cmd("plan", { name: "@my-app" })],
    ["@slug case-insensitive, login without [bot]", "@My-App[BOT] plan", { botLogin: "my-app" }, cmd("plan", { name: "@my-app" })],
    ["@slug with login without [bot]", "@my-app apply", { botLogin: "my-app" }, cmd("apply", { name: "@my-app" })],
    ["@slug with no names configured", "@my-app plan", { names: [], botLogin: "my-app[bot]" }, cmd("plan", { name: "@my-app" })],
    ["names still work with a bot login", "atoll plan", BOT, cmd("plan")],
    ["custom name", "atoll-prod plan", { names: ["atoll-prod"] }, cmd("plan", { name: "atoll-prod" })],
    ["custom name keeps configured spelling", "atoll-PROD plan", { names: ["Atoll-Prod"] }, cmd("plan", { name: "Atoll-Prod" })],
    // Commands
    ["apply", "atoll apply", undefined, cmd("apply")],
    ["unlock", "atoll unlock", undefined, cmd("unlock")],
    ["version", "atoll version", undefined, cmd("version")],
    ["only allowed command", "atoll plan", { allowCommands: ["plan"] }, cmd("plan")],
    // Every flag form
    ["-d x", "atoll plan -d dir1", undefined, cmd("plan", { dir: "dir1" })],
    ["-dx", "atoll plan -ddir1", undefined, cmd("plan", { dir: "dir1" })],
    ["-d=x", "atoll plan -d=dir1", undefined, cmd("plan", { dir: "dir1" })],
    ["--dir x", "atoll plan --dir dir1", undefined, cmd("plan", { dir: "dir1" })],
    ["--dir=x", "atoll plan --dir=dir1", undefined, cmd("plan", { dir: "dir1" })],
    ["-w x", "atoll plan -w staging", undefined, cmd("plan", { workspace: "staging" })],
    ["-wx", "atoll plan -wstaging", undefined, cmd("plan", { workspace: "staging" })],
    ["-w=x", "atoll plan -w=staging", undefined, cmd("plan", { workspace: "staging" })],
    ["--workspace x", "atoll plan --workspace staging", undefined, cmd("plan", { workspace: "staging" })],
    ["--workspace=x", "atoll plan --workspace=staging", undefined, cmd("plan", { workspace: "staging" })],
    ["-p x", "atoll plan -p api", undefined, cmd("plan", { project: "api" })],
    ["-px", "atoll plan -papi", undefined, cmd("plan", { project: "api" })],
    ["-p=x", "atoll plan -p=api", undefined, cmd("plan", { project: "api" })],
    ["--project x", "atoll plan --project api", undefined, cmd("plan", { project: "api" })],
    ["--project=x", "atoll plan --project=api", undefined, cmd("plan", { project: "api" })],
    ["--verbose", "atoll plan --verbose", undefined, cmd("plan", { verbose: true })],
    ["--verbose=true", "atoll plan --verbose=true", undefined, cmd("plan", { verbose: true })],
    ["--verbose=false", "atoll plan --verbose=false", undefined, cmd("plan", { verbose: false })],
    ["last --verbose wins", "atoll plan --verbose --verbose=0", undefined, cmd("plan", { verbose: false })],
    ["-h=false is not help", "atoll plan -h=false", undefined, cmd("plan")],
    ["-d and -w together", "atoll plan -d a -w b --verbose", undefined, cmd("plan", { dir: "a", workspace: "b", verbose: true })],
    ["flags in any order", "atoll apply --verbose -w b -d a", undefined, cmd("apply", { dir: "a", workspace: "b", verbose: true })],
    ["repeated -d: last wins", "atoll plan -d a -d b", undefined, cmd("plan", { dir: "b" })],
    ["repeated -w long/short: last wins", "atoll plan -w a --workspace=b", undefined, cmd("plan", { workspace: "b" })],
    ["repeated -p: last wins", "atoll plan -p a --project b", undefined, cmd("plan", { project: "b" })],
    ["-d value that is a lone dash", "atoll plan -d -", undefined, cmd("plan", { dir: "-" })],
    ["-d=value starting with a dash", "atoll plan -d=-x", undefined, cmd("plan", { dir: "-x" })],
    ["quoted dir with a space", 'atoll plan -d "my dir"', undefined, cmd("plan", { dir: "my dir" })],
    ["unicode dir", "atoll plan -d envs/zürich", undefined, cmd("plan", { dir: "envs/zürich" })],
    ["version with -d", "atoll version -d x", undefined, cmd("version", { dir: "x" })],
    ["apply with -p and --verbose", "atoll apply -p api --verbose", undefined, cmd("apply", { project: "api", verbose: true })],
    // -d normalisation
    ["./x", "atoll plan -d ./x", undefined, cmd("plan", { dir: "x" })],
    ["x/", "atoll plan -d x/", undefined, cmd("plan", { dir: "x" })],
    ["quoted 'x y/'", "atoll plan -d 'x y/'", undefined, cmd("plan", { dir: "x y" })],
    ["a/../b", "atoll plan -d a/../b", undefined, cmd("plan", { dir: "b" })],
    [".", "atoll plan -d .", undefined, cmd("plan", { dir: "." })],
    ["./", "atoll plan -d ./", undefined, cmd("plan", { dir: "." })],
    ["a/..", "atoll plan -d a/..", undefined, cmd("plan", { dir: "." })],
    ["a//b/./c", "atoll plan -d a//b/./c", undefined, cmd("plan", { dir: "a/b/c" })],
    ["a/b/../../c/", "atoll plan -d a/b/../../c/", undefined, cmd("plan", { dir: "c" })],
    // Workspaces that are allowed
    ["default workspace given", "atoll plan -w default", undefined, cmd("plan", { workspace: "default" })],
    ["shell metacharacters in workspace", "atoll plan -w 'a;b&c|d'", undefined, cmd("plan", { workspace: "a;b&c|d" })],
    ["dots and dashes inside workspace", "atoll plan -w my_ws-1.2", undefined, cmd("plan", { workspace: "my_ws-1.2" })],
    // -- and extra args
    ["quoted extra args", "atoll plan -- -var 'a=b c'", undefined, cmd("plan", { extraArgs: ["-var", "a=b c"] })],
    ["atlantis quoted extra args", "atlantis plan -- -var 'a=b c'", undefined, cmd("plan", { name: "atlantis", extraArgs: ["-var", "a=b c"] })],
    ["flags then extra args", "atoll plan -d x -- -target=a -target=b", undefined, cmd("plan", { dir: "x", extraArgs: ["-target=a", "-target=b"] })],
    ["double-quoted escapes", 'atoll plan -- -var "x=\\"q\\""', undefined, cmd("plan", { extraArgs: ["-var", 'x="q"'] })],
    ["empty --", "atoll plan --", undefined, cmd("plan")],
    ["flags after -- are extra args", "atoll plan -- -d x", undefined, cmd("plan", { extraArgs: ["-d", "x"] })],
    ["-h after -- is an extra arg", "atoll plan -- -h", undefined, cmd("plan", { extraArgs: ["-h"] })],
    ["second -- is an extra arg", "atoll plan -- --", undefined, cmd("plan", { extraArgs: ["--"] })],
    ["unknown-looking args after -- pass", "atoll plan -- foo --abc", undefined, cmd("plan", { extraArgs: ["foo", "--abc"] })],
    ["prefix of a blocked flag is fine", "atoll plan -- -chdirx", undefined, cmd("plan", { extraArgs: ["-chdirx"] })],
    ["apply passes extra args through", "atoll apply -- -lock=false", undefined, cmd("apply", { extraArgs: ["-lock=false"] })],
    ["version passes extra args through", "atoll version -- -json", undefined, cmd("version", { extraArgs: ["-json"] })],
    ["custom blocked list replaces defaults", "atoll plan -- -chdir=x", { blockedExtraArgs: ["-var-file"] }, cmd("plan", { extraArgs: ["-chdir=x"] })],
    // import ADDRESS ID (extra args are kept apart; the runner puts them before ADDRESS ID)
    ["atlantis import -d dir ADDR ID", "atlantis import -d dir ADDR ID", ALL, cmd("import", { name: "atlantis", dir: "dir", args: ["ADDR", "ID"] })],
    ["import with flags after the args", "atoll import aws_s3_bucket.b my-bucket -w staging --verbose", ALL, cmd("import", { workspace: "staging", verbose: true, args: ["aws_s3_bucket.b", "my-bucket"] })],
    ["import with a quoted address and -p", "atoll import -p api 'module.db.x[\"k\"]' id-1", ALL, cmd("import", { project: "api", args: ['module.db.x["k"]', "id-1"] })],
    ["import with extra args", "atoll import ADDR ID -- -var x=1", ALL, cmd("import", { args: ["ADDR", "ID"], extraArgs: ["-var", "x=1"] })],
    // state rm ADDRESS...
    ["atlantis state rm -p proj 'ADDR'", "atlantis state rm -p proj 'ADDR'", ALL, cmd("state_rm", { name: "atlantis", project: "proj", args: ["ADDR"] })],
    ["state flags before rm", "atoll state -d x rm a.b c.d", ALL, cmd("state_rm", { dir: "x", args: ["a.b", "c.d"] })],
    ["state RM upper-case", "atoll state RM a.b", ALL, cmd("state_rm", { args: ["a.b"] })],
    ["state rm with extra args", "atoll state rm a.b -- -lock=false", ALL, cmd("state_rm", { args: ["a.b"], extraArgs: ["-lock=false"] })],
    // cancel, destroy
    ["cancel", "atlantis cancel", undefined, cmd("cancel", { name: "atlantis" })],
    ["destroy", "atoll destroy", undefined, cmd("destroy")],
    ["destroy -d", "atoll destroy -d envs/dev -w blue", undefined, cmd("destroy", { dir: "envs/dev", workspace: "blue" })],
    ["destroy -p with extra args", "atoll destroy -p api -- -target=a.b", undefined, cmd("destroy", { project: "api", extraArgs: ["-target=a.b"] })],
    // -d globs and leading slashes
    ["glob -d", "atlantis plan -d 'stacks/*'", undefined, cmd("plan", { name: "atlantis", dir: "stacks/*" })],
    ["glob -d cleaned", "atoll plan -d ./stacks//*/", undefined, cmd("plan", { dir: "stacks/*" })],
    ["glob ? and [", "atoll apply -d 'env-?/[ab]'", undefined, cmd("apply", { dir: "env-?/[ab]" })],
    ["glob **", "atoll plan -d '/**/prod'", undefined, cmd("plan", { dir: "**/prod" })],
    ["-d /network is the repo's network dir", "atlantis plan -d /network", undefined, cmd("plan", { name: "atlantis", dir: "network" })],
    ["-d / is the repo root", "atoll plan -d /", undefined, cmd("plan", { dir: "." })],
    ["-d //a/./b", "atoll plan -d //a/./b", undefined, cmd("plan", { dir: "a/b" })],
    // apply's automerge flags
    ["--auto-merge-method squash", "atlantis apply --auto-merge-method squash", undefined, cmd("apply", { name: "atlantis", autoMerge: { method: "squash" } })],
    ["--auto-merge-method=REBASE", "atoll apply -d x --auto-merge-method=REBASE", undefined, cmd("apply", { dir: "x", autoMerge: { method: "rebase" } })],
    ["--auto-merge-disabled", "atlantis apply -p x --auto-merge-disabled", undefined, cmd("apply", { name: "atlantis", project: "x", autoMerge: { disabled: true } })],
    ["--auto-merge-disabled=false", "atoll apply --auto-merge-disabled=false", undefined, cmd("apply")],
  ];

  test.each(cases)("%s: %j", (_label, body, options, expected) => {
    expect(parseComment(body, options)).toEqual(expected);
  });
});

describe("parseComment: ignored comments", () => {
  const cases: Array<[string, string, ParseOptions | undefined]> = [
    ["empty", "", undefined],
    ["whitespace only", "  \n\t ", undefined],
    ["only backticks", "```", undefined],
    ["multi-line command", "atoll plan\nbecause of X", undefined],
    ["multi-line with CR", "atoll plan\rmore", undefined],
    ["multi-line after a blank line", "atoll plan\n \nmore", undefined],
    ["fenced block with info string", "```sh\natoll plan\n```", undefined],
    ["name not first", "please atoll plan", undefined],
    ["name glued to command", "atollplan", undefined],
    ["ordinary chat", "lgtm, thanks!", undefined],
    ["Atlantis `run` alias is not supported", "run plan", undefined],
    ["other configured server", "atlantis plan", { names: ["atoll"] }],
    ["default name not configured", "atoll plan", { names: ["atoll-prod"] }],
    ["bare @", "@ plan", BOT],
    ["bare @ without bot login", "@ plan", undefined],
    ["@[bot] with an empty slug", "@[bot] plan", { botLogin: "[bot]" }],
    ["empty bot login", "@ plan", { botLogin: "" }],
    ["@slug without a bot login", "@my-app plan", undefined],
    ["other bot", "@other-bot plan", BOT],
    ["other Atlantis bot", "@atlantis plan", BOT],
    ["bot with a longer slug", "@my-app-2 plan", BOT],
    ["near-miss of the slug", "@my-ap plan", BOT],
    ["name alone when help is disallowed", "atoll", { allowCommands: ["plan"] }],
    ["near-miss without a command word", "atlants is broken", undefined],
    ["near-miss alone", "atol", undefined],
    ["near-miss before a flag", "atol -d x", undefined],
    ["terraform in chat", "terraform is great", undefined],
    ["distance 3 is not a near-miss", "atooooll plan", undefined],
    ["distance 4 is not a near-miss", "atlantis-x plan", { names: ["atoll", "atlantis-prod"] }],
    ["terraform with nothing to suggest", "terraform plan", { names: [] }],
    ["short unrelated word", "tf plan", undefined],
  ];

  test.each(cases)("%s: %j", (_label, body, options) => {
    expect(parseComment(body, options)).toEqual({ kind: "ignore" });
  });

  test("a non-string body is ignored", () => {
    expect(parseComment(undefined as unknown as string)).toEqual({ kind: "ignore" });
  });
});

interface ReplyCase {
  label: string;
  body: string;
  options?: ParseOptions;
  isError: boolean;
  contains: string[];
  excludes?: string[];
}

const replyCases: ReplyCase[] = [
  // Help
  { label: "name alone", body: "atoll", isError: false, contains: ["Commands:", "  plan ", "  apply ", "  unlock ", "  version ", "-d, --dir", "atoll plan -d"] },
  { label: "help", body: "atoll help", isError: false, contains: ["Commands:", "atoll apply"] },
  { label: "-h", body: "atoll -h", isError: false, contains: ["Commands:"] },
  { label: "--help", body: "atoll --help", isError: false, contains: ["Commands:"] },
  { label: "HELP upper-case", body: "atoll HELP", isError: false, contains: ["Commands:"] },
  { label: "anything after help is ignored", body: "atoll help me --now", isError: false, contains: ["Commands:"] },
  { label: "help uses atlantis when typed", body: "atlantis --help", isError: false, contains: ["atlantis plan"], excludes: ["atoll plan"] },
  { label: "help uses @slug", body: "@my-app[bot] help", options: BOT, isError: false, contains: ["@my-app plan", "@my-app unlock"] },
  {
    label: "help lists only allowed commands",
    body: "atoll help",
    options: { allowCommands: ["plan", "help"] },
    isError: false,
    contains: ["  plan ", "atoll plan"],
    excludes: ["apply", "unlock", "version"],
  },
  // Per-command usage
  { label: "plan -h", body: "atoll plan -h", isError: false, contains: ["Usage of plan:", "-d, --dir", "-w, --workspace", "-p, --project", "--verbose"], excludes: ["Error"] },
  { label: "plan --help", body: "atoll plan --help", isError: false, contains: ["Usage of plan:"] },
  { label: "apply -h", body: "atoll apply -h", isError: false, contains: ["Usage of apply:", "atoll apply -d"] },
  { label: "version --help", body: "atoll version --help", isError: false, contains: ["Usage of version:"] },
  { label: "unlock -h", body: "atoll unlock -h", isError: false, contains: ["Usage of unlock:", "not supported"] },
  { label: "-h after other flags", body: "atoll plan -d x -h", isError: false, contains: ["Usage of plan:"] },
  { label: "-h=true", body: "atoll plan -h=true", isError: false, contains: ["Usage of plan:"] },
  { label: "-h before an unknown flag wins", body: "atoll plan -h --abc", isError: false, contains: ["Usage of plan:"] },
  { label: "unknown flag before -h wins", body: "atoll plan --abc -h", isError: true, contains: ["Error: unknown flag: --abc."] },
  { label: "plan usage with @slug", body: "@my-app plan -h", options: BOT, isError: false, contains: ["@my-app plan -d"] },
  // Near-misses
  { label: "atlants", body: "atlants plan", isError: true, contains: ["Did you mean to use `atlantis` instead of `atlants`?"] },
  { label: "atol", body: "atol plan", isError: true, contains: ["Did you mean to use `atoll` instead of `atol`?"] },
  { label: "altantis (distance 2)", body: "altantis apply", isError: true, contains: ["`atlantis` instead of `altantis`"] },
  { label: "atlantisss (distance 2)", body: "atlantisss unlock", isError: true, contains: ["`atlantis` instead of `atlantisss`"] },
  { label: "case kept as typed", body: "Atoll1 version", isError: true, contains: ["`atoll` instead of `Atoll1`"] },
  { label: "help as the command word", body: "atols help", isError: true, contains: ["`atoll` instead of `atols`"] },
  { label: "command word is case-insensitive", body: "atol PLAN", isError: true, contains: ["`atoll` instead of `atol`"] },
  { label: "terraform", body: "terraform plan", isError: true, contains: ["Did you mean to use `atoll` instead of `terraform`?"] },
  { label: "Terraform capitalised", body: "Terraform apply", isError: true, contains: ["`atoll` instead of `Terraform`"] },
  { label: "terraform with custom name", body: "terraform plan", options: { names: ["atlantis"] }, isError: true, contains: ["`atlantis` instead of `terraform`"] },
  { label: "terraform with only a bot", body: "terraform plan", options: { names: [], botLogin: "my-app[bot]" }, isError: true, contains: ["`@my-app` instead of `terraform`"] },
  { label: "closest custom name", body: "atoll-prd plan", options: { names: ["atoll-dev", "atoll-prod"] }, isError: true, contains: ["`atoll-prod` instead of `atoll-prd`"] },
  { label: "tie picks the first name", body: "atoll-ab plan", options: { names: ["atoll-aa", "atoll-bb"] }, isError: true, contains: ["`atoll-aa` instead"] },
  { label: "backtick in the typo", body: "a`oll plan", isError: true, contains: ["Did you mean to use `atoll` instead of `` a`oll ``?"] },
  // Lexer errors
  { label: "unclosed double quote", body: 'atoll plan -- -var "a=b', isError: true, contains: ["Error: could not parse the comment: Got EOF while in a quoted string.", "Usage of plan:"] },
  { label: "unclosed single quote", body: "atoll plan -d 'x", isError: true, contains: ["quoted string"] },
  { label: "trailing backslash", body: "atoll plan -- a\\", isError: true, contains: ["escape sequence"] },
  { label: "unclosed quote in the command", body: 'atoll "plan', isError: true, contains: ["could not parse", 'Run "atoll help" for usage.'] },
  // Unknown commands
  {
    label: "unknown command",
    body: "atoll foo",
    isError: true,
    contains: ['Error: unknown command "foo".', 'Run "atoll help" for usage.', "Available commands: version, plan, destroy, apply, cancel, unlock, approve_policies, help"],
  },
  { label: "flag as command", body: "atoll -d x", isError: true, contains: ['unknown command "-d"'] },
  { label: "command typed as written", body: "atoll Destroyer", isError: true, contains: ['unknown command "Destroyer"'] },
  {
    label: "disallowed apply says how to enable it and is not listed",
    body: "atoll apply",
    options: { allowCommands: ["plan", "unlock", "help"] },
    isError: true,
    contains: ['Error: the "apply" command is not enabled on this Atoll server.', "ATOLL_ALLOW_COMMANDS=plan,unlock,help,apply", "Available commands: plan, unlock, help"],
    excludes: ["version"],
  },
  {
    label: "help disallowed: help is an unknown command without a help hint",
    body: "atoll help",
    options: { allowCommands: ["plan"] },
    isError: true,
    contains: ['unknown command "help"', "Available commands: plan"],
    excludes: ["for usage"],
  },
  { label: "help disallowed: -h", body: "atoll -h", options: { allowCommands: ["plan", "apply"] }, isError: true, contains: ['unknown command "-h"'] },
  { label: "allowCommands is case-insensitive", body: "atoll unlock", options: { allowCommands: ["PLAN", "help"] }, isError: true, contains: ["Available commands: plan, help"] },
  { label: "import is not enabled by default", body: "atlantis import -d x aws_s3_bucket.b name", isError: true, contains: ['the "import" command is not enabled', "ATOLL_ALLOW_COMMANDS=", ",import"] },
  { label: "state is not enabled by default", body: "atlantis state rm -p proj 'ADDR'", isError: true, contains: ['the "state" command is not enabled', ",state"] },
  // import / state / cancel / approve_policies
  { label: "import with one argument", body: "atoll import aws_s3_bucket.b", options: ALL, isError: true, contains: ["Error: import needs two arguments: ADDRESS ID.", "Usage of import:", "ADDRESS ID"] },
  { label: "import with three arguments", body: "atoll import a b c", options: ALL, isError: true, contains: [`unknown argument(s) ${EN_DASH} c.`] },
  { label: "import -h", body: "atoll import -h", options: ALL, isError: false, contains: ["Usage of import:", "-d, --dir"] },
  { label: "import blocked extra arg", body: "atoll import a b -- -chdir=..", options: ALL, isError: true, contains: ['flag "-chdir=.." is not allowed'] },
  { label: "state without subcommand", body: "atoll state", options: ALL, isError: true, contains: ["Error: subcommand required (state rm ADDRESS...).", "Usage of state:"] },
  { label: "state mv", body: "atoll state mv a b", options: ALL, isError: true, contains: ["Error: invalid subcommand mv (not rm)."] },
  { label: "state rm without an address", body: "atoll state rm -d x", options: ALL, isError: true, contains: ["Error: state rm needs at least one ADDRESS."] },
  { label: "state rm -h", body: "atoll state rm -h", options: ALL, isError: false, contains: ["Usage of state:", "rm [flags]"] },
  { label: "state rm -p with -d", body: "atoll state rm -p a -d b x", options: ALL, isError: true, contains: ["cannot use -p/--project"] },
  { label: "cancel with a flag", body: "atoll cancel -d x", isError: true, contains: ["Error: cancel does not support arguments or flags (got: -d x).", "Usage of cancel:"] },
  { label: "cancel -h", body: "atoll cancel -h", isError: false, contains: ["Usage of cancel:", "running terraform finishes"] },
  { label: "approve_policies", body: "atlantis approve_policies", isError: false, contains: ["Policy checks are not configured on this Atoll server", "`atlantis apply`"] },
  { label: "approve_policies with its flags", body: "atoll approve_policies -p api --policy-set s1 --clear-policy-approval", isError: false, contains: ["not configured"] },
  { label: "approve_policies bad flag", body: "atoll approve_policies --nope", isError: true, contains: ["unknown flag: --nope.", "Usage of approve_policies:"] },
  { label: "approve_policies argument", body: "atoll approve_policies now", isError: true, contains: [`unknown argument(s) ${EN_DASH} now.`] },
  // apply's automerge flags
  { label: "both automerge flags", body: "atoll apply --auto-merge-disabled --auto-merge-method squash", isError: true, contains: ["Error: cannot use --auto-merge-method at the same time as --auto-merge-disabled."] },
  { label: "bad automerge method", body: "atoll apply --auto-merge-method fast", isError: true, contains: ['invalid --auto-merge-method "fast": use one of merge, squash, rebase'] },
  { label: "automerge flags are apply's only", body: "atoll plan --auto-merge-disabled", isError: true, contains: ["unknown flag: --auto-merge-disabled."] },
  { label: "apply usage lists automerge flags", body: "atoll apply -h", isError: false, contains: ["--auto-merge-method string"] },
  // Near-misses of the new commands, and the bare name
  { label: "terraform import", body: "terraform import a b", isError: true, contains: ["Did you mean to use `atoll` instead of `terraform`?"] },
  { label: "terraform destroy", body: "terraform destroy", isError: true, contains: ["instead of `terraform`"] },
  { label: "atlantis alone", body: "atlantis", isError: false, contains: ["Usage: atlantis <command>", "  destroy ", "  cancel "], excludes: ["  import "] },
  { label: "@slug alone", body: "@my-app", options: BOT, isError: false, contains: ["Usage: @my-app <command>"] },
  { label: "help with everything allowed", body: "atoll help", options: ALL, isError: false, contains: ["  import ", "  state ", "atoll state rm -d envs/prod"] },
  // Flag errors
  { label: "unknown long flag", body: "atoll plan --abc", isError: true, contains: ["```\nError: unknown flag: --abc.\nUsage of plan:"] },
  { label: "unknown long flag with value", body: "atoll plan --abc=1", isError: true, contains: ["Error: unknown flag: --abc."] },
  { label: "long flags are case-sensitive", body: "atoll plan --Dir x", isError: true, contains: ["unknown flag: --Dir."] },
  { label: "unknown shorthand", body: "atoll plan -e", isError: true, contains: ["Error: unknown shorthand flag: 'e' in -e."] },
  { label: "unknown shorthand in a group", body: "atoll plan -xyz", isError: true, contains: ["unknown shorthand flag: 'x' in -xyz."] },
  { label: "verbose has no shorthand", body: "atoll apply -ve", isError: true, contains: ["unknown shorthand flag: 'v' in -ve.", "Usage of apply:"] },
  { label: "-d at the end", body: "atoll plan -d", isError: true, contains: ["Error: flag needs an argument: 'd' in -d."] },
  { label: "--dir at the end", body: "atoll plan --dir", isError: true, contains: ["Error: flag needs an argument: --dir."] },
  { label: "-d followed by a flag", body: "atoll plan -d --verbose", isError: true, contains: ["flag needs an argument: 'd' in -d."] },
  { label: "-w followed by --", body: "atoll plan -w -- x", isError: true, contains: ["flag needs an argument: 'w' in -w."] },
  { label: "--project followed by a flag", body: "atoll plan --project -d x", isError: true, contains: ["flag needs an argument: --project."] },
  { label: "bad boolean", body: "atoll plan --verbose=maybe", isError: true, contains: ['invalid argument "maybe" for "--verbose" flag'] },
  { label: "three dashes", body: "atoll plan ---x", isError: true, contains: ["bad flag syntax: ---x."] },
  { label: "--=x", body: "atoll plan --=x", isError: true, contains: ["bad flag syntax: --=x."] },
  // Positional arguments
  { label: "positional", body: "atoll plan foo", isError: true, contains: [`Error: unknown argument(s) ${EN_DASH} foo.`, "Usage of plan:"] },
  { label: "positionals among flags", body: "atoll plan foo -d x bar", isError: true, contains: [`unknown argument(s) ${EN_DASH} foo bar.`] },
  { label: "positional before --", body: "atoll plan -d x foo -- y", isError: true, contains: [`unknown argument(s) ${EN_DASH} foo.`] },
  { label: "empty positional stays visible", body: "atoll plan ''", isError: true, contains: [`unknown argument(s) ${EN_DASH} ''.`] },
  { label: "lone dash is positional", body: "atoll plan -", isError: true, contains: [`unknown argument(s) ${EN_DASH} -.`] },
  { label: "apply positional", body: "atoll apply now", isError: true, contains: [`${EN_DASH} now.`, "Usage of apply:"] },
  { label: "version positional", body: "atoll version x", isError: true, contains: [`${EN_DASH} x.`, "Usage of version:"] },
  // unlock
  { label: "unlock with a flag", body: "atoll unlock -d x", isError: true, contains: ["Error: unlock does not support arguments or flags (got: -d x).", "Usage of unlock:", "Arguments or flags are not supported."] },
  { label: "unlock with an argument", body: "atoll unlock now", isError: true, contains: ["(got: now)"] },
  { label: "unlock with --", body: "atoll unlock --", isError: true, contains: ["(got: --)"] },
  { label: "unlock with --verbose", body: "atoll unlock --verbose", isError: true, contains: ["(got: --verbose)"] },
  // Blocked extra args
  { label: "-chdir=..", body: "atoll plan -- -chdir=..", isError: true, contains: ['Error: flag "-chdir=.." is not allowed in extra args.', "Usage of plan:"] },
  { label: "--chdir with separate value", body: "atoll plan -- --chdir /tmp", isError: true, contains: ['flag "--chdir" is not allowed'] },
  { label: "-plugin-dir=", body: "atoll plan -- -plugin-dir=x", isError: true, contains: ['flag "-plugin-dir=x" is not allowed'] },
  { label: "--plugin-dir=", body: "atoll plan -- --plugin-dir=x", isError: true, contains: ['flag "--plugin-dir=x" is not allowed'] },
  { label: "blocked after allowed args", body: "atoll plan -- -var x=1 -chdir", isError: true, contains: ['flag "-chdir" is not allowed'] },
  { label: "blocked on apply", body: "atoll apply -- -chdir=x", isError: true, contains: ['flag "-chdir=x" is not allowed', "Usage of apply:"] },
  { label: "custom blocked list", body: "atoll plan -- -var-file=x.tfvars", options: { blockedExtraArgs: ["-var-file"] }, isError: true, contains: ['flag "-var-file=x.tfvars" is not allowed'] },
  { label: "NUL in extra args", body: "atoll plan -- $'a\\x00b'", isError: true, contains: ['extra argument "a\\u0000b" contains a NUL character'] },
  // -d refusals
  { label: "..", body: "atoll plan -d ..", isError: true, contains: ['invalid -d/--dir "..": the path leads outside the repository'] },
  { label: "../x", body: "atoll plan -d ../x", isError: true, contains: ['"../x": the path leads outside'] },
  { label: "a/../../x", body: "atoll plan --dir=a/../../x", isError: true, contains: ['"a/../../x": the path leads outside'] },
  { label: "empty dir", body: "atoll plan -d ''", isError: true, contains: ['invalid -d/--dir "": must not be empty'] },
  { label: "empty --dir=", body: "atoll plan --dir=", isError: true, contains: ["must not be empty"] },
  { label: "empty -d=", body: "atoll plan -d=", isError: true, contains: ["must not be empty"] },
  { label: "backslash in dir", body: "atoll plan -d 'a\\b'", isError: true, contains: ['invalid -d/--dir "a\\\\b"', "path separator"] },
  { label: "control character in dir", body: "atoll plan -d $'a\\tb'", isError: true, contains: ['"a\\tb": must not contain control characters'] },
  { label: "NUL in dir", body: "atoll plan -d $'a\\x00'", isError: true, contains: ["must not contain control characters"] },
  { label: "glob with ..", body: "atoll plan -d 'envs/../*'", isError: true, contains: ['invalid -d/--dir "envs/../*": \'..\' is not allowed in a glob pattern'] },
  { label: "glob leaving the repo", body: "atoll plan -d '../*'", isError: true, contains: ["'..' is not allowed in a glob pattern"] },
  // Workspace refusals
  { label: "workspace with /", body: "atoll plan -w a/b", isError: true, contains: ['Error: invalid workspace "a/b": must not contain "/".'] },
  { label: "workspace with \\", body: "atoll plan -w 'a\\b'", isError: true, contains: ['invalid workspace "a\\\\b": must not contain "\\"'] },
  { label: "workspace with ..", body: "atoll plan -w a..b", isError: true, contains: ['invalid workspace "a..b": must not contain ".."'] },
  { label: "workspace with $", body: "atoll plan -w 'a$b'", isError: true, contains: ['invalid workspace "a$b": must not contain "$"'] },
  { label: "workspace with a space", body: "atoll plan -w 'a b'", isError: true, contains: ['invalid workspace "a b": must not contain whitespace'] },
  { label: "workspace with a control char", body: "atoll plan -w $'a\\x01'", isError: true, contains: ["must not contain control characters"] },
  { label: "workspace .", body: "atoll plan -w .", isError: true, contains: ['invalid workspace ".": must not be "."'] },
  { label: "workspace leading -", body: "atoll plan -w=-x", isError: true, contains: ['invalid workspace "-x": must not start with "-"'] },
  { label: "workspace leading ~", body: "atoll plan -w ~x", isError: true, contains: ['invalid workspace "~x": must not start with "~"'] },
  { label: "empty workspace", body: "atoll plan -w ''", isError: true, contains: ['invalid workspace "": must not be empty'] },
  // -p
  { label: "-p with -d", body: "atoll plan -p api -d x", isError: true, contains: ["Error: cannot use -p/--project at same time as -d/--dir or -w/--workspace."] },
  { label: "-p with -w", body: "atoll apply -p api -w ws", isError: true, contains: ["cannot use -p/--project"] },
  { label: "--project after --dir", body: "atoll plan --dir x --project api", isError: true, contains: ["cannot use -p/--project"] },
  { label: "-p with an explicit -d .", body: "atoll plan -p api -d .", isError: true, contains: ["cannot use -p/--project"] },
  { label: "dir error comes before the -p conflict", body: "atoll plan -p api -d ../x", isError: true, contains: ["leads outside"], excludes: ["cannot use"] },
  { label: "empty project", body: "atoll plan -p ''", isError: true, contains: ['invalid project name "": must not be empty'] },
  { label: "whitespace-only project", body: "atoll plan -p '  '", isError: true, contains: ['invalid project name "  ": must not be only whitespace'] },
  { label: "control char in project", body: "atoll plan -p $'a\\nb'", isError: true, contains: ['invalid project name "a\\nb": must not contain control characters'] },
  // Hostile values stay inside the fence and the reply stays short
  { label: "newline + fence in an argument", body: "atoll plan $'\\n```\\n@everyone'", isError: true, contains: ["\\n```\\n@everyone"], excludes: ["\n@everyone"] },
  { label: "backticks in an argument", body: "atoll plan ```x", isError: true, contains: ["````\nError: unknown argument(s)"] },
  { label: "huge argument", body: `atoll plan ${"x".repeat(10000)}`, isError: true, contains: ["…"] },
  { label: "huge command word", body: `atoll ${"y".repeat(10000)}`, isError: true, contains: ["unknown command", "…"] },
];

describe("parseComment: replies", () => {
  test.each(replyCases.map((c) => [c.label, c] as const))("%s", (_label, c) => {
    const result = reply(parseComment(c.body, c.options));
    expect(result.isError).toBe(c.isError);
    for (const text of c.contains) expect(result.body).toContain(text);
    for (const text of c.excludes ?? []) expect(result.body).not.toContain(text);
  });

  test("every reply body has balanced fences and stays under 2000 characters", () => {
    for (const c of replyCases) {
      const { body } = reply(parseComment(c.body, c.options));
      expect({ label: c.label, balanced: fencesBalanced(body) }).toEqual({ label: c.label, balanced: true });
      expect(body.length).toBeLessThan(2000);
    }
  });

  test("error replies (other than near-misses) are one fenced block starting with Error:", () => {
    for (const c of replyCases.filter((r) => r.isError)) {
      const { body } = reply(parseComment(c.body, c.options));
      if (body.startsWith("Did you mean")) continue;
      expect(body).toMatch(/^(`{3,})\nError: [^\n]*\.\n[\s\S]*\n\1$/);
    }
  });

  test("the fence checker itself rejects an unclosed fence", () => {
    expect(fencesBalanced("```\nError: x.\n")).toBe(false);
    expect(fencesBalanced("````\n```\n````")).toBe(true);
    expect(fencesBalanced("````\nx\n```")).toBe(false);
  });
});

describe("levenshtein", () => {
  test.each([
    ["atlantis", "atlantis", 0],
    ["atlants", "atlantis", 1],
    ["altantis", "atlantis", 2],
    ["atol", "atoll", 1],
    ["", "abc", 3],
    ["kitten", "sitting", 3],
  ])("%s vs %s = %d", (a, b, expected) => {
    expect(levenshtein(a, b)).toBe(expected);
    expect(levenshtein(b, a)).toBe(expected);
  });

  test("stops early above the bound", () => {
    expect(levenshtein("x".repeat(5000), "atoll", 2)).toBe(3);
    expect(levenshtein("kitten", "sitting", 2)).toBe(3);
  });
});

describe("normaliseDir and workspaceProblem", () => {
  test.each([
    ["x", "x"],
    ["./a/b/", "a/b"],
    ["a/./b/../c", "a/c"],
    [".", "."],
  ])("normaliseDir(%j) = %j", (raw, dir) => {
    expect(normaliseDir(raw)).toEqual({ dir });
  });

  test("workspaceProblem accepts ordinary names and refuses bad ones", () => {
    expect(workspaceProblem("prod-eu_1")).toBeUndefined();
    expect(workspaceProblem("a\u00a0b")).toBe("must not contain whitespace");
    expect(workspaceProblem("..")).toBe('must not contain ".."');
  });
});

describe("usage texts", () => {
  const all = ["plan", "apply", "unlock", "version", "help"];

  test("helpText lists commands in canonical order with the typed name", () => {
    const text = helpText("@my-app", all);
    const order = ["version", "plan", "apply", "unlock", "help"].map((c) => text.indexOf(`\n  ${c} `));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toContain("@my-app plan -d envs/prod -w staging");
    expect(text).toContain("Flags for version, plan and apply:");
    expect(text).not.toContain("atoll");
    expect(fence(text).length).toBeLessThan(2000);
  });

  test("helpText without flagged commands has no flag table", () => {
    const text = helpText("atoll", ["unlock", "help"]);
    expect(text).toContain("atoll unlock");
    expect(text).not.toContain("--dir");
  });

  test.each(["plan", "apply", "version"])("commandUsage(%s) has the flag table and examples", (command) => {
    const text = commandUsage(command, "atlantis");
    expect(text.startsWith(`Usage of ${command}:\n  atlantis ${command} [flags]`)).toBe(true);
    for (const flag of ["-d, --dir", "-w, --workspace", "-p, --project", "--verbose", "-h, --help"]) {
      expect(text).toContain(flag);
    }
    expect(text).toContain(`atlantis ${command} -d envs/prod`);
  });

  test("commandUsage for unlock, help and unknown commands", () => {
    expect(commandUsage("unlock", "atoll")).toContain("Arguments or flags are not supported.");
    expect(commandUsage("help", "atoll")).toContain("atoll help");
    expect(commandUsage("destroyer", "atoll")).toBe('Run "atoll help" for usage.');
    expect(commandUsage("cancel", "atoll")).toContain("Arguments or flags are not supported.");
  });

  test("fence outgrows backtick runs in its content", () => {
    expect(fence("a ``` b")).toBe("````\na ``` b\n````");
    expect(fence("plain")).toBe("```\nplain\n```");
    expect(errorBody("boom", "Usage of x:")).toBe("```\nError: boom.\nUsage of x:\n```");
  });
});

describe("parseComment never throws", () => {
  /** Small seeded PRNG (mulberry32) so failures are reproducible. */
  function rng(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const vocabulary = [
    "atoll", "atlantis", "@my-app[bot]", "@", "atol", "terraform", "plan", "apply", "unlock", "version",
    "help", "-h", "--help", "-d", "-dx", "-d=", "--dir", "--dir=", "-w", "-p", "--project=", "--verbose",
    "--verbose=x", "--", "-", "'", '"', "\\", "`", "```", "..", "/", "./a", "a/..", "*", "$", "$'\\x00'",
    "$'\\n'", "-chdir=..", "\n", "\r", "\t", " ", "~", "=", "ü", "\u2028", "\u0000", "[bot]", "-e", "---",
  ];

  test("random inputs always produce a well-formed result", () => {
    const random = rng(12345);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    for (let i = 0; i < 3000; i++) {
      const parts: string[] = [];
      const count = Math.floor(random() * 8);
      if (random() < 0.7) parts.push(pick(["atoll", "atlantis", "@my-app", "ATOLL", "atol", "terraform"]));
      for (let j = 0; j < count; j++) {
        parts.push(random() < 0.8 ? pick(vocabulary) : String.fromCharCode(Math.floor(random() * 0x3000)));
      }
      const body = parts.join(random() < 0.8 ? " " : "");
      let result: ParseResult;
      try {
        result = parseComment(body, BOT);
      } catch (err) {
        throw new Error(`threw on ${JSON.stringify(body)}: ${String(err)}`);
      }
      if (result.kind === "reply") {
        expect(fencesBalanced(result.body)).toBe(true);
        expect(result.body.length).toBeLessThan(2000);
      } else if (result.kind === "command") {
        if (result.dir !== "") expect(normaliseDir(result.dir)).toEqual({ dir: result.dir });
        if (result.workspace !== "") expect(workspaceProblem(result.workspace)).toBeUndefined();
        if (result.project !== "") expect(result.dir + result.workspace).toBe("");
        expect(result.extraArgs.some((a) => a === "-chdir" || a.startsWith("-chdir="))).toBe(false);
      } else {
        expect(result).toEqual({ kind: "ignore" });
      }
    }
  });

  test("random flag combinations yield valid commands or error replies", () => {
    const random = rng(777);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const segments = ["a", "b", ".", "..", "", "x y", "env-1"];
    const wsChars = ["a", "b", "-", ".", "_", "/", "$", " ", "~", "1"];
    const kinds: Record<string, number> = {};
    for (let i = 0; i < 2000; i++) {
      const tokens = [pick(["plan", "apply", "version"])];
      const path = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(segments)).join("/");
      const ws = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(wsChars)).join("");
      if (random() < 0.6) tokens.push(pick(["-d", "--dir"]), quote(path));
      if (random() < 0.4) tokens.push(pick(["-w", "--workspace"]), quote(ws));
      if (random() < 0.2) tokens.push("-p", "api");
      if (random() < 0.3) tokens.push("--verbose");
      if (random() < 0.3) tokens.push("--", pick(["-var", "-chdir=x", "-target=a"]), quote(ws));
      const result = parseComment(`atoll ${tokens.join(" ")}`);
      kinds[result.kind] = (kinds[result.kind] ?? 0) + 1;
      if (result.kind === "command") {
        const segs = result.dir.split("/");
        if (result.dir !== "") {
          expect(result.dir.startsWith("/")).toBe(false);
          expect(segs.includes("..") || segs.includes("")).toBe(false);
          expect(result.dir === "." || !segs.includes(".")).toBe(true);
        }
        if (result.workspace !== "") expect(workspaceProblem(result.workspace)).toBeUndefined();
        if (result.project !== "") expect(result.dir + result.workspace).toBe("");
        expect(result.extraArgs).not.toContain("-chdir=x");
      } else {
        expect(result.kind).toBe("reply");
        if (result.kind === "reply") expect(result.body).toMatch(/^```\nError: /);
      }
    }
    // The generator must exercise both outcomes for the invariants above to mean anything.
    expect(kinds.command).toBeGreaterThan(200);
    expect(kinds.reply).toBeGreaterThan(200);
  });
});
