/**
 * TerraformPort: the terraform CLI. The real implementation (`src/adapters/execa-terraform.ts`)
 * runs the binary through execa with an argv (never a shell), `TF_IN_AUTOMATION=1`, no colour,
 * and a per-step timeout that kills the whole process tree.
 */

export interface TerraformStepOptions {
  /** Directory terraform runs in (the project dir inside the checkout). */
  cwd: string;
  /** Extra environment for this run (merged over the server's environment minus Atoll's secrets). */
  env?: Record<string, string>;
  /** Kill the process tree and report a timeout after this long. */
  timeoutMs: number;
  /** Strings to replace with `***` in captured output (tokens). */
  redact?: string[];
  /** Told the pid and start time of the process group, so a crash recovery can kill it later. */
  onSpawn?: (process: { pid: number; startTime: string }) => void;
  /**
   * Binary for this call (a path, or a name looked up in PATH), overriding the adapter's default —
   * e.g. the project's `terraform_version` or OpenTofu (see `src/terraform/terraform-binary.ts`).
   */
  binary?: string;
}

export interface TerraformStepResult {
  /** The argv after the binary, e.g. ["plan", "-input=false", …]; for logs and verbose output. */
  args: string[];
  exitCode: number;
  /** stdout and stderr interleaved in order, colourless, redacted. */
  output: string;
  timedOut: boolean;
  durationMs: number;
}

export interface TerraformPlanResult extends TerraformStepResult {
  /** From -detailed-exitcode: exit 2 → true, exit 0 → false; meaningless when the step failed. */
  hasChanges: boolean;
  /** exitCode is 0 or 2 and not timed out. */
  ok: boolean;
}

export interface TerraformPort {
  /** `terraform init -input=false [extraArgs…]` */
  init(opts: TerraformStepOptions & { extraArgs?: string[] }): Promise<TerraformStepResult>;
  /** `terraform workspace select -or-create=true <name>` (no-op success for "default" if already selected). */
  selectWorkspace(opts: TerraformStepOptions & { workspace: string }): Promise<TerraformStepResult>;
  /** `terraform plan -input=false -detailed-exitcode -out=<planFile> [extraArgs…]` */
  plan(opts: TerraformStepOptions & { planFile: string; extraArgs: string[] }): Promise<TerraformPlanResult>;
  /** `terraform show -json <planFile>`; `json` is the parsed document when exit code is 0. */
  showJson(opts: TerraformStepOptions & { planFile: string }): Promise<TerraformStepResult & { json?: unknown }>;
  /** `terraform apply -input=false [extraArgs…] <planFile>` — exactly the saved plan. */
  apply(opts: TerraformStepOptions & { planFile: string; extraArgs?: string[] }): Promise<TerraformStepResult>;
  /** `terraform import -input=false [extraArgs…] ADDRESS ID` */
  import(opts: TerraformStepOptions & { extraArgs: string[]; address: string; id: string }): Promise<TerraformStepResult>;
  /** `terraform state rm [extraArgs…] ADDRESS...` */
  stateRm(opts: TerraformStepOptions & { extraArgs: string[]; addresses: string[] }): Promise<TerraformStepResult>;
  /** `terraform version` */
  version(opts: TerraformStepOptions): Promise<TerraformStepResult>;
}
