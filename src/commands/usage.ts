/**
 * Help and usage texts for comment commands.
 *
 * The texts are plain text meant to be shown inside a fenced code block (as Atlantis does), so
 * column alignment survives GitHub's markdown rendering. Every example uses the addressing word
 * the user typed (`atoll`, `atlantis`, `@my-app`, ...) so it can be copied verbatim.
 */

/** Canonical order in which commands are listed (Atlantis lists `version` first). */
export const COMMAND_ORDER = ["version", "plan", "apply", "unlock", "help"] as const;

/** One-line descriptions used in the help overview. */
const SUMMARIES: Record<(typeof COMMAND_ORDER)[number], string> = {
  version: "Show the Terraform version used by each project.",
  plan: "Run terraform plan for the projects changed in this pull request.",
  apply: "Apply the plans of this pull request that are not applied yet.",
  unlock: "Release the locks of this pull request and discard its plans.",
  help: "Show this help.",
};

/** Longer descriptions used in per-command usage. */
const DETAILS: Record<string, string> = {
  version:
    "Runs terraform version for every project, or only the targeted one.\n" +
    "  Arguments after -- are passed to terraform version.",
  plan:
    "Without -d, -w or -p every project changed by this pull request is planned.\n" +
    "  Arguments after -- are passed to terraform plan.",
  apply:
    "Without -d, -w or -p every pending plan of this pull request is applied.\n" +
    "  Run plan first; apply uses the saved plan.",
};

/** The flags shared by `plan`, `apply` and `version`, in pflag's table layout. */
const FLAG_TABLE = [
  "  -d, --dir string         Project directory, relative to the repository root.",
  "  -w, --workspace string   Terraform workspace of the project.",
  "  -p, --project string     Project name from the repo config (not with -d or -w).",
  "      --verbose            Append the log of the run to the reply.",
  "  -h, --help               Show this usage.",
].join("\n");

const EXAMPLES: Record<string, string[]> = {
  version: ["version", "version -d envs/prod"],
  plan: ["plan", "plan -d envs/prod -w staging", "plan -p api -- -target=module.db"],
  apply: ["apply", "apply -d envs/prod", "apply -p api"],
  unlock: ["unlock"],
  help: ["help"],
};

/** A short selection for the overview; per-command usage shows the full {@link EXAMPLES}. */
const HELP_EXAMPLES = [
  "plan",
  "plan -d envs/prod -w staging",
  "plan -p api -- -target=module.db",
  "apply -d envs/prod",
  "unlock",
  "version",
];

const FLAGGED_COMMANDS = new Set(["plan", "apply", "version"]);

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
  for (const command of commands) lines.push(`  ${command.padEnd(9)}${SUMMARIES[command]}`);

  const flagged = commands.filter((c) => FLAGGED_COMMANDS.has(c));
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
  const cmd = command.trim().toLowerCase();
  if (cmd === "unlock") {
    return [
      "Usage of unlock:",
      `  ${name} unlock`,
      "  Releases the locks of this pull request and discards its plans.",
      "  Arguments or flags are not supported.",
    ].join("\n");
  }
  if (cmd === "help") {
    return ["Usage of help:", `  ${name} help`, "  Shows the available commands and their flags."].join("\n");
  }
  if (!FLAGGED_COMMANDS.has(cmd)) {
    return `Run "${name} help" for usage.`;
  }
  return [
    `Usage of ${cmd}:`,
    `  ${name} ${cmd} [flags] [-- <extra terraform arguments>]`,
    `  ${DETAILS[cmd]}`,
    "",
    "Flags:",
    FLAG_TABLE,
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
