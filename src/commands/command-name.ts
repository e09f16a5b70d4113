/**
 * The commands that become jobs, and how each is typed in a comment. Its own module (no imports)
 * so job specs and the store can name commands without loading the comment parser.
 */

/** Commands that become jobs (`state rm` is `state_rm`, as its workflow stage is named). */
export type CommandName = "plan" | "destroy" | "apply" | "unlock" | "version" | "cancel" | "import" | "state_rm";

/** How a command is typed in a comment (`state_rm` is `state rm`), for replies and retry hints. */
export function commandWords(command: CommandName): string {
  return command === "state_rm" ? "state rm" : command;
}
