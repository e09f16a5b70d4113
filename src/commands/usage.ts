/**
 * Help and usage texts for comment commands.
 *
 * The texts are plain text meant to be shown inside a fenced code block (as Atlantis does), so
 * column alignment survives GitHub's markdown rendering. Every example uses the addressing word
 * the user typed (`atoll`, `atlantis`, `@my-app`, ...) so it can be copied verbatim.
 */

/**
 * Canonical order in which commands are listed: Atlantis's (`version, plan, apply, cancel,
 * unlock, approve_policies, import, state`), with Atoll's `destroy` next to `plan`.
 */
export const COMMAND_ORDER = [
  "version",
  "plan",
  "destroy",
  "apply",
  "cancel",
  "unlock",
  "approve_policies",
  "import",
  "state",
  "help",
] as const;
export type CommandWord = (typeof COMMAND_ORDER)[number];

/** One-line descriptions used in the help overview. */
const SUMMARIES: Record<CommandWord, string> = {
  version: "Show the Terraform version used by each project.",
  plan: "Run terraform plan for the projects changed in this pull request.",
  destroy: "Plan destroying every resource of the targeted project(s).",
  apply: "Apply the plans of this pull request that are not applied yet.",
  cancel: "Drop this pull request's queued commands (running terraform finishes).",
  unlock: "Release the locks of this pull request and discard its plans.",
  approve_policies: "Approve failing policy checks (none are configured on Atoll).",
  import: "terraform import ADDRESS ID into a project's state.",
  state: "terraform state rm ADDRESS... from a project's state.",
  help: "Show this help.",
};

/** Longer descriptions used in per-command usage. */
const DETAILS: Partial<Record<CommandWord, string>> = {
  version:
    "Runs terraform version for every project, or only the targeted one.\n" +
    "  Arguments after -- are passed to terraform version.",
  plan:
    "Without -d, -w or -p every project changed by this pull request is planned.\n" +
    "  -d takes a glob (envs/*) matching project directories.\n" +
    "  Arguments after -- are passed to terraform plan.",
  destroy:
    "Plans terraform plan -destroy for the targeted project(s) (every changed\n" +
    "  project without flags). Applying it needs an apply naming the project.",
  apply:
    "Without -d, -w or -p every pending plan of this pull request is applied\n" +
    "  (destroy plans only when named). Run plan first; apply uses the saved plan.",
  approve_policies: "Atoll runs no policy checks, so there is nothing to approve.",
  import:
    "Runs terraform import [extra args] ADDRESS ID in the project, then discards\n" +
    "  its plan: plan again afterwards. Arguments after -- go before ADDRESS ID.",
  state:
    "Runs terraform state rm [extra args] ADDRESS... in the project, then discards\n" +
    "  its plan: plan again afterwards. Arguments after -- go before the addresses.",
};

const TARGET_FLAGS = [
  "  -d, --dir string         Project directory (or glob), relative to the repository root.",
  "  -w, --workspace string   Terraform workspace of the project.",
  "  -p, --project string     Project name from the repo config (not with -d or -w).",
  "      --verbose            Append the log of the run to the reply.",
];
const HELP_FLAG = "  -h, --help               Show this usage.";

/** The flags shared by the targeted commands, in pflag's table layout. */
const FLAG_TABLE = [...TARGET_FLAGS, HELP_FLAG].join("\n");

/** Flags only some commands take. */
const EXTRA_FLAGS: Partial<Record<CommandWord, string[]>> = {
  apply: [
    "      --auto-merge-disabled         Do not automerge after this apply.",
    "      --auto-merge-method string    Automerge with merge, squash or rebase.",
  ],
  approve_policies: [
    "      --policy-set string           Policy set to approve.",
    "      --clear-policy-approval       Clear earlier approvals.",
  ],
};

/** What follows the command word in the synopsis. */
const SYNOPSIS: Partial<Record<CommandWord, string>> = {
  import: "[flags] [-- <extra terraform arguments>] ADDRESS ID",
  state: "rm [flags] [-- <extra terraform arguments>] ADDRESS...",
  approve_policies: "[flags]",
};

const EXAMPLES: Partial<Record<CommandWord, string[]>> = {
  version: ["version", "version -d envs/prod"],
  plan: ["plan", "plan -d envs/prod -w staging", "plan -d 'envs/*'", "plan -p api -- -target=module.db"],
  destroy: ["destroy -d envs/dev", "destroy -p api"],
  apply: ["apply", "apply -d envs/prod", "apply -p api --auto-merge-method squash"],
  import: ["import -d envs/prod aws_s3_bucket.logs my-logs-bucket", "import -p api 'module.db.aws_db_instance.this[0]' db-1"],
  state: ["state rm -d envs/prod aws_s3_bucket.logs", "state rm -p api 'module.db.random_id.x[\"a\"]'"],
  approve_policies: ["approve_policies"],
  cancel: ["cancel"],
  unlock: ["unlock"],
  help: ["help"],
};

/** A short selection for the overview; per-command usage shows the full {@link EXAMPLES}. */
const HELP_EXAMPLES = [
  "plan",
  "plan -d envs/prod -w staging",
  "plan -p api -- -target=module.db",
  "destroy -d envs/dev",
  "apply -d envs/prod",
  "import -d envs/prod aws_s3_bucket.logs my-logs-bucket",
  "state rm -d envs/prod aws_s3_bucket.logs",
  "cancel",
  "unlock",
  "version",
];

/** Commands that take -d/-w/-p (and their usage shows the flag table). */
export const FLAGGED_COMMANDS: ReadonlySet<string> = new Set(["plan", "destroy", "apply", "version", "import", "state", "approve_policies"]);
/** Commands that take neither flags nor arguments. */
const BARE_COMMANDS: Partial<Record<CommandWord, string>> = {
  unlock: "Releases the locks of this pull request and discards its plans.",
  cancel:
    "Drops this pull request's queued commands and the execution-order groups a\n" +
    "  running command has not started; running terraform finishes.",
};

/**
 * Wrap text in a fenced code block. The fence is one backtick longer than the longest backtick
 * run inside the text, so user-supplied values quoted in error messages cannot close it early.
 */
export function fence(text: string): string {
  const runs = text.match(/`+/g) ?? [];
  const longest = runs.reduce((max, run) => Math.max(max, run.length), 0);
  const marker = "`".repeat(Math.max(3, longest + 1));
  return `${marker}\n${text}\n${marker}`;
}

/**
 * Help overview listing only the allowed commands (Atlantis hides commands that are not in
 * `--allow-commands` so users are not told about commands they cannot run). Plain text; wrap it
 * with {@link fence} before posting.
 */
export function helpText(name: string, allowCommands: string[]): string {
  const allowed = new Set(allowCommands.map((c) => c.trim().toLowerCase()));
  const commands = COMMAND_ORDER.filter((c) => allowed.has(c));
  const lines = [`Usage: ${name} <command> [flags] [-- <extra terraform arguments>]`, "", "Commands:"];
  const width = Math.max(9, ...commands.map((c) => c.length + 2));
  for (const command of commands) lines.push(`  ${command.padEnd(width)}${SUMMARIES[command]}`);

  const flagged = commands.filter((c) => FLAGGED_COMMANDS.has(c) && c !== "approve_policies");
  if (flagged.length > 0) {
    lines.push("", `Flags for ${joinWords(flagged)}:`, FLAG_TABLE);
  }

  const examples = HELP_EXAMPLES.filter((e) => allowed.has(e.split(" ")[0]));
  if (examples.length > 0) {
    lines.push("", "Examples:", ...examples.map((e) => `  ${name} ${e}`));
  }
  if (flagged.length > 0) {
    lines.push("", `Use "${name} <command> --help" for more about a command.`);
  }
  return lines.join("\n");
}

/**
 * Usage of one command (`Usage of plan:` and its flag table, like pflag prints it). Plain text
 * meant to follow an `Error: ...` line inside a fenced block; wrap it with {@link fence} when
 * posting it on its own. Unknown commands get a pointer to the help overview.
 */
export function commandUsage(command: string, name: string): string {
  const cmd = command.trim().toLowerCase() as CommandWord;
  const bare = BARE_COMMANDS[cmd];
  if (bare !== undefined) {
    return [`Usage of ${cmd}:`, `  ${name} ${cmd}`, `  ${bare}`, "  Arguments or flags are not supported."].join("\n");
  }
  if (cmd === "help") {
    return ["Usage of help:", `  ${name} help`, "  Shows the available commands and their flags."].join("\n");
  }
  if (!FLAGGED_COMMANDS.has(cmd)) {
    return `Run "${name} help" for usage.`;
  }
  const flags = [...TARGET_FLAGS, ...(EXTRA_FLAGS[cmd] ?? []), HELP_FLAG];
  return [
    `Usage of ${cmd}:`,
    `  ${name} ${cmd} ${SYNOPSIS[cmd] ?? "[flags] [-- <extra terraform arguments>]"}`,
    `  ${DETAILS[cmd]}`,
    "",
    "Flags:",
    flags.join("\n"),
    "",
    "Examples:",
    ...(EXAMPLES[cmd] ?? []).map((e) => `  ${name} ${e}`),
  ].join("\n");
}

/**
 * Standard error reply: one fenced block with `Error: <message>.` followed by usage text, the
 * shape Atlantis uses for every parse error. `message` must not end with a period.
 */
export function errorBody(message: string, usage: string): string {
  return fence(`Error: ${message}.\n${usage}`);
}

function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}
