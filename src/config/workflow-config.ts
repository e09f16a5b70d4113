/**
 * `workflows:` — custom workflows, as Atlantis reads them in atlantis.yaml and repos.yaml.
 *
 * ```yaml
 * workflows:
 *   custom:
 *     plan:
 *       steps:
 *       - env: {name: TF_VAR_region, command: "cat region.txt"}
 *       - init: {extra_args: ["-backend-config=env/$WORKSPACE.hcl"]}
 *       - run: ./check.sh
 *       - plan
 *     apply:
 *       steps: [apply]
 * ```
 *
 * Rules (Atlantis's): stages are `plan`, `apply`, `import`, `state_rm`, `policy_check`; a
 * missing stage or `steps:` null gets the default steps, `steps: []` runs nothing; a workflow
 * written as `name: ~` gets every default. A step is a built-in name (`init`, `plan`, `apply`,
 * `show`, `import`, `state_rm`, `policy_check`), a built-in with `{extra_args: [...]}`, `run`
 * (string, or map with `command`, `output`, `shell`, `shellArgs`), `env` (`name` plus `value` or
 * `command`) or `multienv` (string or map). A step map holds exactly one key. Steps are not
 * checked for sense (an `apply` stage may contain `plan`), as in Atlantis.
 */
import { split as shlexSplit } from "shlex";
import type { BuiltinStepName, RunOutputMode, StageName, Workflow, WorkflowStep } from "./config-types.js";
import { STAGE_NAMES, defaultStageSteps } from "./default-workflow.js";
import { describe, isMapping, regexProblem, type ConfigReader, type Obj, type Read } from "./yaml-reader.js";
import type { YamlPath } from "./yaml-lines.js";

const BUILTIN_STEPS: readonly BuiltinStepName[] = ["init", "plan", "apply", "show", "import", "state_rm", "policy_check"];
const RUN_KEYS = ["command", "output", "shell", "shellArgs"] as const;
const ENV_KEYS = ["name", "value", "command", "shell", "shellArgs"] as const;
const MULTIENV_KEYS = ["command", "output", "shell", "shellArgs"] as const;
const RUN_OUTPUTS = ["show", "hide", "strip_refreshing"] as const;

export const DEFAULT_SHELL = "sh";
export const DEFAULT_SHELL_ARGS: readonly string[] = ["-c"];

/** Atlantis config version; v2 re-tokenizes `run` commands (quotes are stripped). */
type Version = 2 | 3;

function bad<T>(): Read<T> {
  return { kind: "bad" };
}

/** `shell` + `shellArgs` of a run/env/multienv step or a workflow hook; `shellArgs` is a space-split string or a list. */
export function readShell(raw: Obj, path: YamlPath, r: ConfigReader): { shell: string; shellArgs: string[] } | undefined {
  let ok = true;
  const shell = r.nonEmptyString(raw.shell, [...path, "shell"]);
  if (shell.kind === "bad") ok = false;
  let shellArgs: string[] = [...DEFAULT_SHELL_ARGS];
  const rawArgs = raw.shellArgs;
  if (rawArgs !== undefined && rawArgs !== null) {
    if (shell.kind === "absent") {
      r.error([...path, "shellArgs"], "requires 'shell' to be set as well");
      ok = false;
    }
    if (typeof rawArgs === "string") shellArgs = rawArgs.split(" ").filter((a) => a !== "");
    else {
      const list = r.stringList(rawArgs, [...path, "shellArgs"], "shell arguments");
      if (list.kind === "ok") shellArgs = list.value;
      else ok = false;
    }
  }
  return ok ? { shell: shell.kind === "ok" ? shell.value : DEFAULT_SHELL, shellArgs } : undefined;
}

function runCommand(command: string, version: Version): string {
  if (version !== 2) return command;
  try {
    return shlexSplit(command).join(" ");
  } catch {
    return command;
  }
}

function readRunOutput(raw: unknown, path: YamlPath, r: ConfigReader): RunOutputMode[] | undefined {
  if (raw === null || raw === undefined) return [{ mode: "show" }];
  const items = Array.isArray(raw) ? raw : [raw];
  const out: RunOutputMode[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const itemPath = Array.isArray(raw) ? [...path, i] : path;
    if (typeof item === "string" && (RUN_OUTPUTS as readonly string[]).includes(item)) {
      out.push({ mode: item as (typeof RUN_OUTPUTS)[number] });
    } else if (isMapping(item) && Object.keys(item).length === 1 && "filter_regex" in item) {
      const re = r.nonEmptyString(item.filter_regex, [...itemPath, "filter_regex"]);
      if (re.kind !== "ok") {
        if (re.kind === "absent") r.error([...itemPath, "filter_regex"], "must be a regular expression");
        ok = false;
        return;
      }
      const problem = regexProblem(re.value);
      if (problem) {
        r.error([...itemPath, "filter_regex"], `invalid regular expression ${JSON.stringify(re.value)}: ${problem}`);
        ok = false;
      } else out.push({ mode: "filter_regex", regex: re.value });
    } else {
      r.error(itemPath, `must be "show", "hide", "strip_refreshing" or {filter_regex: "<regex>"} (or a list of those), got ${describe(item)}`);
      ok = false;
    }
  });
  return ok ? out : undefined;
}

function readRunStep(raw: unknown, path: YamlPath, r: ConfigReader, version: Version): Read<WorkflowStep> {
  if (typeof raw === "string" || typeof raw === "number") {
    const command = String(raw);
    if (command.trim() === "") {
      r.error(path, "cannot be an empty command");
      return bad();
    }
    return { kind: "ok", value: { kind: "run", command: runCommand(command, version), output: [{ mode: "show" }], shell: DEFAULT_SHELL, shellArgs: [...DEFAULT_SHELL_ARGS] } };
  }
  if (!isMapping(raw)) {
    r.error(path, `must be a command string or a mapping with 'command', got ${describe(raw)}`);
    return bad();
  }
  let ok = r.checkKeys(raw, RUN_KEYS, path, "a run step");
  const command = r.nonEmptyString(raw.command, [...path, "command"]);
  if (command.kind === "absent") r.error([...path, "command"], "is required");
  if (command.kind !== "ok") ok = false;
  const shell = readShell(raw, path, r);
  const output = readRunOutput(raw.output, [...path, "output"], r);
  if (!ok || !shell || !output || command.kind !== "ok") return bad();
  return { kind: "ok", value: { kind: "run", command: runCommand(command.value, version), output, ...shell } };
}

function readEnvStep(raw: unknown, path: YamlPath, r: ConfigReader): Read<WorkflowStep> {
  if (!isMapping(raw)) {
    r.error(path, `must be a mapping with 'name' and 'value' or 'command', got ${describe(raw)}`);
    return bad();
  }
  let ok = r.checkKeys(raw, ENV_KEYS, path, "an env step");
  const name = r.nonEmptyString(raw.name, [...path, "name"]);
  if (name.kind === "absent") r.error([...path, "name"], "is required");
  if (name.kind === "ok" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name.value)) {
    r.error([...path, "name"], `${JSON.stringify(name.value)} is not a valid environment variable name`);
    ok = false;
  }
  if (name.kind !== "ok") ok = false;
  const value = r.string(raw.value, [...path, "value"]);
  const command = r.nonEmptyString(raw.command, [...path, "command"]);
  if (value.kind === "bad" || command.kind === "bad") ok = false;
  if (value.kind === "ok" && command.kind === "ok") {
    r.error(path, "env step can set either 'value' or 'command', not both");
    ok = false;
  } else if (value.kind === "absent" && command.kind === "absent") {
    r.error(path, "env step needs 'value' or 'command'");
    ok = false;
  }
  if (command.kind !== "ok" && (raw.shell !== undefined || raw.shellArgs !== undefined) && value.kind === "ok") {
    r.error([...path, "shell"], "only applies with 'command'");
    ok = false;
  }
  const shell = readShell(raw, path, r);
  if (!ok || !shell || name.kind !== "ok") return bad();
  return {
    kind: "ok",
    value: {
      kind: "env",
      name: name.value,
      ...(value.kind === "ok" ? { value: value.value } : {}),
      ...(command.kind === "ok" ? { command: command.value } : {}),
      ...shell,
    },
  };
}

function readMultienvStep(raw: unknown, path: YamlPath, r: ConfigReader, version: Version): Read<WorkflowStep> {
  if (typeof raw === "string") {
    if (raw.trim() === "") {
      r.error(path, "cannot be an empty command");
      return bad();
    }
    return { kind: "ok", value: { kind: "multienv", command: runCommand(raw, version), output: "show", shell: DEFAULT_SHELL, shellArgs: [...DEFAULT_SHELL_ARGS] } };
  }
  if (!isMapping(raw)) {
    r.error(path, `must be a command string or a mapping with 'command', got ${describe(raw)}`);
    return bad();
  }
  let ok = r.checkKeys(raw, MULTIENV_KEYS, path, "a multienv step");
  const command = r.nonEmptyString(raw.command, [...path, "command"]);
  if (command.kind === "absent") r.error([...path, "command"], "is required");
  if (command.kind !== "ok") ok = false;
  const output = r.oneOf(raw.output, [...path, "output"], ["show", "hide"] as const);
  if (output.kind === "bad") ok = false;
  const shell = readShell(raw, path, r);
  if (!ok || !shell || command.kind !== "ok") return bad();
  return {
    kind: "ok",
    value: { kind: "multienv", command: runCommand(command.value, version), output: output.kind === "ok" ? output.value : "show", ...shell },
  };
}

function readBuiltinArgs(name: BuiltinStepName, raw: unknown, path: YamlPath, r: ConfigReader): Read<WorkflowStep> {
  if (raw === null || raw === undefined) return { kind: "ok", value: { kind: "builtin", name, extraArgs: [] } };
  if (!isMapping(raw)) {
    r.error(path, `must be a mapping with 'extra_args', got ${describe(raw)}`);
    return bad();
  }
  const extra = Object.keys(raw).filter((k) => k !== "extra_args");
  if (extra.length > 0) {
    r.error([...path, extra[0]], `built-in steps only support a single extra_args key, found "${extra[0]}" in step ${name}`);
    return bad();
  }
  const args = r.stringList(raw.extra_args, [...path, "extra_args"], "arguments");
  if (args.kind === "bad") return bad();
  return { kind: "ok", value: { kind: "builtin", name, extraArgs: args.kind === "ok" ? args.value : [] } };
}

/** One element of a `steps:` list. */
export function readStep(raw: unknown, path: YamlPath, r: ConfigReader, version: Version = 3): Read<WorkflowStep> {
  if (typeof raw === "string") {
    if ((BUILTIN_STEPS as readonly string[]).includes(raw)) {
      return { kind: "ok", value: { kind: "builtin", name: raw as BuiltinStepName, extraArgs: [] } };
    }
    if (raw === "env" || raw === "multienv" || raw === "run") {
      r.error(path, `step "${raw}" needs arguments, e.g. "- ${raw === "env" ? "env: {name: X, value: y}" : `${raw}: <command>`}"`);
      return bad();
    }
    r.error(path, `"${raw}" is not a valid step type, maybe you omitted the 'run' key`);
    return bad();
  }
  if (!isMapping(raw)) {
    r.error(path, `each step must be a step name or a single-key mapping, got ${describe(raw)}`);
    return bad();
  }
  const keys = Object.keys(raw);
  if (keys.length !== 1) {
    r.error(path, keys.length === 0 ? "step element is empty" : `step element can only contain a single key, found ${keys.length}: ${keys.join(",")}`);
    return bad();
  }
  const key = keys[0];
  const value = raw[key];
  const valuePath = [...path, key];
  if (key === "run") return readRunStep(value, valuePath, r, version);
  if (key === "env") return readEnvStep(value, valuePath, r);
  if (key === "multienv") return readMultienvStep(value, valuePath, r, version);
  if ((BUILTIN_STEPS as readonly string[]).includes(key)) return readBuiltinArgs(key as BuiltinStepName, value, valuePath, r);
  r.error(valuePath, `"${key}" is not a valid step type, maybe you omitted the 'run' key`);
  return bad();
}

function readStage(stage: StageName, raw: unknown, path: YamlPath, r: ConfigReader, version: Version): WorkflowStep[] | undefined {
  if (raw === null || raw === undefined) return defaultStageSteps(stage);
  if (!isMapping(raw)) {
    r.error(path, `must be a mapping with 'steps', got ${describe(raw)}`);
    return undefined;
  }
  if (!r.checkKeys(raw, ["steps"], path, `the ${stage} stage`)) return undefined;
  const steps = raw.steps;
  if (steps === null || steps === undefined) return defaultStageSteps(stage);
  if (!Array.isArray(steps)) {
    r.error([...path, "steps"], `must be a list of steps, got ${describe(steps)}`);
    return undefined;
  }
  const out: WorkflowStep[] = [];
  let ok = true;
  steps.forEach((s, i) => {
    const step = readStep(s, [...path, "steps", i], r, version);
    if (step.kind === "ok") out.push(step.value);
    else ok = false;
  });
  return ok ? out : undefined;
}

/** One workflow (`name: {plan: …, apply: …}` or `name: ~`). */
export function readWorkflow(name: string, raw: unknown, path: YamlPath, r: ConfigReader, version: Version = 3): Read<Workflow> {
  const stages: Partial<Record<StageName, WorkflowStep[]>> = {};
  if (raw !== null && raw !== undefined && !isMapping(raw)) {
    r.error(path, `must be a mapping of stages (plan, apply, …), got ${describe(raw)}`);
    return bad();
  }
  const obj: Obj = isMapping(raw) ? raw : {};
  let ok = r.checkKeys(obj, STAGE_NAMES, path, `workflow "${name}"`);
  for (const stage of STAGE_NAMES) {
    const steps = readStage(stage, obj[stage], [...path, stage], r, version);
    if (steps) stages[stage] = steps;
    else ok = false;
  }
  if (!ok) return bad();
  return {
    kind: "ok",
    value: {
      name,
      plan: stages.plan!,
      apply: stages.apply!,
      import: stages.import!,
      state_rm: stages.state_rm!,
      policy_check: stages.policy_check!,
    },
  };
}

/** The `workflows:` mapping. Names must be non-empty. */
export function readWorkflows(raw: unknown, path: YamlPath, r: ConfigReader, version: Version = 3): Read<Record<string, Workflow>> {
  const map = r.mapping(raw, path, "a mapping of workflow names to workflows");
  if (map.kind !== "ok") return map;
  const out: Record<string, Workflow> = Object.create(null) as Record<string, Workflow>;
  let ok = true;
  for (const [name, value] of Object.entries(map.value)) {
    if (name.trim() === "") {
      r.error([...path, name], "workflow names cannot be empty");
      ok = false;
      continue;
    }
    const wf = readWorkflow(name, value, [...path, name], r, version);
    if (wf.kind === "ok") out[name] = wf.value;
    else ok = false;
  }
  return ok ? { kind: "ok", value: out } : bad();
}
