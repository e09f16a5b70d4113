/**
 * The built-in steps of a workflow stage — `init`, `plan`, `apply`, `show` — run through the
 * terraform port (see the module comment of `workflow-runner.ts` for what each runs), `import`
 * and `state_rm`, and the built-in step Atoll does not support (`policy_check`).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { WorkflowStep } from "../../config/config-types.js";
import type { TerraformStepResult } from "../../ports/terraform.js";
import { DEFAULT_WORKSPACE } from "../../projects/project.js";
import type { Stage, StepEnd } from "./stage.js";
import { expandVars } from "./step-text.js";

type BuiltinStep = Extract<WorkflowStep, { kind: "builtin" }>;

const BUILTIN_UNSUPPORTED = new Set(["policy_check"]);

const tfFailed = (r: TerraformStepResult) => r.exitCode !== 0 || r.timedOut;

export async function runBuiltinStep(stage: Stage, step: BuiltinStep): Promise<StepEnd> {
  const extraArgs = step.extraArgs.map((a) => expandVars(a, stage.env));
  if (BUILTIN_UNSUPPORTED.has(step.name)) {
    const where = stage.run.stage ? ` in the ${stage.run.stage} stage` : "";
    return stage.failWithMessage(
      step.name,
      `Atoll cannot run the built-in "${step.name}" step${where}: ` +
        `Atoll has no policy checks. Remove the step from the workflow.`,
    );
  }
  if (step.name === "import" || step.name === "state_rm") return stateStep(stage, step.name, extraArgs);
  if (step.name === "init") return initStep(stage, extraArgs);
  if (step.name === "plan") return planStep(stage, extraArgs);
  if (step.name === "apply") return applyStep(stage, extraArgs);
  if (step.name === "show") return showStep(stage);
  return undefined;
}

async function initStep(stage: Stage, extraArgs: string[]): Promise<StepEnd> {
  const r = await stage.run.terraform.init({ ...stage.tfOpts(), extraArgs });
  stage.logTf("init", r);
  if (tfFailed(r)) return stage.fail({ step: "init", terraform: true, result: r });
  return undefined;
}

async function planStep(stage: Stage, extraArgs: string[]): Promise<StepEnd> {
  const { run } = stage;
  const ws = await selectWorkspace(stage);
  if (ws && tfFailed(ws)) return stage.fail({ step: "workspace select", terraform: true, result: ws });
  const varFile = path.join("env", `${run.workspace}.tfvars`);
  const varFileArgs = (await isFileInside(run.cwd, varFile)) ? [`-var-file=${varFile}`] : [];
  stage.planStepRan = true;
  const r = await run.terraform.plan({
    ...stage.tfOpts(),
    planFile: run.planFile,
    extraArgs: [...varFileArgs, ...extraArgs, ...run.commentArgs],
  });
  stage.logTf("plan", r);
  if (!r.ok) return stage.fail({ step: "plan", terraform: true, result: r });
  stage.hasChanges = r.hasChanges;
  stage.sections.push({ text: r.output });
  return undefined;
}

async function applyStep(stage: Stage, extraArgs: string[]): Promise<StepEnd> {
  const ws = await selectWorkspace(stage);
  if (ws && tfFailed(ws)) return stage.fail({ step: "workspace select", terraform: true, result: ws });
  const r = await stage.run.terraform.apply({ ...stage.tfOpts(), planFile: stage.run.planFile, extraArgs });
  stage.logTf("apply", r);
  if (tfFailed(r)) return stage.fail({ step: "apply", terraform: true, result: r });
  stage.sections.push({ text: r.output });
  return undefined;
}

/** `import ADDRESS ID` / `state rm ADDRESS...`: only in a stage that was given the addresses. */
async function stateStep(stage: Stage, name: "import" | "state_rm", extraArgs: string[]): Promise<StepEnd> {
  const { run } = stage;
  const positional = run.positionalArgs ?? [];
  const wanted = name === "import" ? 2 : 1;
  if (positional.length < wanted) {
    const where = run.stage ? ` in the ${run.stage} stage` : "";
    const comment = name === "import" ? "import ADDRESS ID" : "state rm ADDRESS";
    return stage.failWithMessage(name, `The built-in "${name}" step${where} has nothing to work on: it runs only for a \`${comment}\` comment.`, true);
  }
  const ws = await selectWorkspace(stage);
  if (ws && tfFailed(ws)) return stage.fail({ step: "workspace select", terraform: true, result: ws });
  const args = [...extraArgs, ...run.commentArgs];
  const r =
    name === "import"
      ? await run.terraform.import({ ...stage.tfOpts(), extraArgs: args, address: positional[0], id: positional[1] })
      : await run.terraform.stateRm({ ...stage.tfOpts(), extraArgs: args, addresses: positional });
  stage.logTf(name === "import" ? "import" : "state rm", r);
  if (tfFailed(r)) return stage.fail({ step: name, terraform: true, result: r });
  stage.sections.push({ text: r.output });
  return undefined;
}

async function showStep(stage: Stage): Promise<StepEnd> {
  // A plan file carries its workspace: no selection needed.
  const r = await stage.run.terraform.showJson({ ...stage.tfOpts(), planFile: stage.run.planFile });
  stage.logTf("show", r);
  if (tfFailed(r)) return stage.fail({ step: "show", terraform: true, result: r });
  if (r.json === undefined) {
    return stage.fail({ step: "show", terraform: true, message: `${stage.program} show -json did not print a JSON document.`, result: r });
  }
  await fs.writeFile(stage.run.showFile, JSON.stringify(r.json));
  return undefined;
}

/** `workspace select -or-create` before plan and apply; null in the default workspace. */
async function selectWorkspace(stage: Stage): Promise<TerraformStepResult | null> {
  if (stage.run.workspace === DEFAULT_WORKSPACE) return null;
  const ws = await stage.run.terraform.selectWorkspace({ ...stage.tfOpts(), workspace: stage.run.workspace });
  stage.logTf("workspace select", ws);
  return ws;
}

/** Whether `rel` is a regular file inside `dir` (no escaping through `..` or symlinks). */
async function isFileInside(dir: string, rel: string): Promise<boolean> {
  const file = path.resolve(dir, rel);
  if (!file.startsWith(path.resolve(dir) + path.sep)) return false;
  try {
    // Most projects have no such file: one stat answers that, before resolving links.
    if (!(await fs.lstat(file).catch(() => undefined))) return false;
    const [real, realDir] = await Promise.all([fs.realpath(file), fs.realpath(dir)]);
    if (!real.startsWith(realDir + path.sep)) return false;
    return (await fs.stat(real)).isFile();
  } catch {
    return false;
  }
}
