/**
 * The real terraform for unit tests, without providers: a project using only the built-in
 * `terraform_data` resource and the local backend, and a server environment with no internet and
 * no CLI config (terraform only warns about the missing file).
 */
import path from "node:path";

export const TERRAFORM = process.env.TERRAFORM_BIN ?? "/usr/local/bin/terraform";

/** A variable with a default, one resource using it, and an output. */
export const MAIN_TF = `
variable "v" {
  type    = string
  default = "hello"
}

resource "terraform_data" "a" {
  input = var.v
}

output "o" {
  value = var.v
}
`;

/** Server environment for terraform in `home`; `cliConfig` defaults to a missing file there. */
export function terraformTestEnv(home: string, cliConfig = path.join(home, "missing.terraformrc")): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TF_CLI_CONFIG_FILE: cliConfig };
}
