/**
 * Text helpers of the workflow runner: `$VAR` expansion in `extra_args`, terraform's refresh
 * noise removed (`strip_refreshing`), and the layout of a stage's shown output (see the module
 * comment of `workflow-runner.ts`).
 */

/** Expand `$VAR` and `${VAR}` from `vars` (unknown → ""); a `$` not starting a name stays as is. */
export function expandVars(text: string, vars: Record<string, string>): string {
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    return Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : "";
  });
}

const REFRESHING_LINE = /^.*: Refreshing state\.\.\./;
const REFRESH_PREAMBLE = [
  "Refreshing Terraform state in-memory prior to plan...",
  "The refreshed state will be used to calculate this plan, but will not be",
  "persisted to local or remote state storage.",
];

/**
 * Drop terraform's refresh noise: `x.y: Refreshing state... [id=…]` lines and the old (< 0.15)
 * "Refreshing Terraform state in-memory prior to plan..." preamble, then leading blank lines.
 */
export function stripRefreshing(text: string): string {
  const lines = text.split("\n").filter((l) => {
    const t = l.trimEnd();
    return !REFRESHING_LINE.test(t) && !REFRESH_PREAMBLE.includes(t.trim());
  });
  while (lines.length > 1 && lines[0].trim() === "") lines.shift();
  return lines.join("\n");
}

/** The `$ <command>` heading of a shell step: its first line, `…` when it has more. */
export function commandHeading(command: string): string {
  const trimmed = command.trim();
  const nl = trimmed.indexOf("\n");
  return `$ ${nl < 0 ? trimmed : `${trimmed.slice(0, nl).trimEnd()} …`}`;
}

/** One step's shown output. */
export interface Section {
  text: string;
  /** Line shown before the text when more than one step shows output. */
  heading?: string;
}

/** The stage's output: one shown section as is; several with their headings, a blank line apart. */
export function layout(sections: Section[]): string {
  const shown = sections.filter((s) => s.text.trim() !== "");
  if (shown.length === 1) return shown[0].text;
  return shown
    .map((s) => {
      const body = s.text.replace(/\n+$/, "");
      return s.heading ? `${s.heading}\n${body}` : body;
    })
    .join("\n\n")
    .concat(shown.length > 0 ? "\n" : "");
}
