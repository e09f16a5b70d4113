/**
 * Finding where a plan's addresses are declared (src/terraform/hcl-declarations.ts), with
 * tree-sitter's HCL grammar: root resources, data sources, instance keys, local modules (nested),
 * remote modules (their call), and text that only looks like a block.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { locateDeclarations, splitAddress } from "../../src/terraform/hcl-declarations.js";

describe("splitAddress", () => {
  test.each([
    ["aws_instance.web", { modules: [], resource: "aws_instance.web" }],
    ["aws_instance.web[0]", { modules: [], resource: "aws_instance.web" }],
    ['aws_instance.web["a.b"]', { modules: [], resource: "aws_instance.web" }],
    ["data.aws_ami.x", { modules: [], resource: "data.aws_ami.x" }],
    ['module.net["eu"].module.sub.aws_subnet.a[1]', { modules: ["net", "sub"], resource: "aws_subnet.a" }],
    ["module.only", undefined],
    ["nonsense", undefined],
  ])("%s", (address, expected) => {
    expect(splitAddress(address)).toEqual(expected);
  });
});

describe("locateDeclarations", () => {
  let repo: string;
  beforeAll(async () => {
    repo = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-hcl-"));
    const write = async (file: string, text: string) => {
      await fs.mkdir(path.dirname(path.join(repo, file)), { recursive: true });
      await fs.writeFile(path.join(repo, file), text);
    };
    await write(
      "stacks/app/main.tf",
      [
        "# resource \"terraform_data\" \"commented\" {}",
        'locals { text = <<EOT',
        'resource "terraform_data" "in_heredoc" {}',
        "EOT",
        "}",
        "",
        'resource "terraform_data" "db" {',
        '  input = "x"',
        "}",
        "",
        'module "net" {',
        '  source = "../../modules/net"',
        "}",
        'module "remote" {',
        '  source = "hashicorp/consul/aws"',
        "}",
      ].join("\n"),
    );
    await write("stacks/app/data.tf", 'data "terraform_remote_state" "vpc" {\n  backend = "local"\n}\n');
    await write("modules/net/main.tf", 'resource "terraform_data" "subnet" {\n}\n\nmodule "sub" {\n  source = "./sub"\n}\n');
    await write("modules/net/sub/x.tf", '\n\nresource "terraform_data" "deep" {\n  input = 1\n}\n');
  });
  afterAll(async () => {
    await fs.rm(repo, { recursive: true, force: true });
  });

  test("root, data, local and nested modules, remote module calls; a commented or heredoc block is not a declaration", async () => {
    const found = await locateDeclarations(repo, "stacks/app", [
      "terraform_data.db",
      "terraform_data.db[3]",
      "data.terraform_remote_state.vpc",
      "module.net.terraform_data.subnet",
      'module.net.module.sub.terraform_data.deep["k"]',
      "module.remote.aws_instance.server[0]",
      "terraform_data.commented",
      "terraform_data.in_heredoc",
      "module.missing.terraform_data.x",
    ]);
    const at = (a: string) => {
      const d = found.get(a);
      return d && `${d.file}:${d.startLine}-${d.endLine} ${d.kind}`;
    };
    expect(at("terraform_data.db")).toBe("stacks/app/main.tf:7-9 resource");
    expect(at("terraform_data.db[3]")).toBe("stacks/app/main.tf:7-9 resource");
    expect(at("data.terraform_remote_state.vpc")).toBe("stacks/app/data.tf:1-3 data");
    expect(at("module.net.terraform_data.subnet")).toBe("modules/net/main.tf:1-2 resource");
    expect(at('module.net.module.sub.terraform_data.deep["k"]')).toBe("modules/net/sub/x.tf:3-5 resource");
    expect(at("module.remote.aws_instance.server[0]")).toBe("stacks/app/main.tf:14-16 module");
    expect(found.has("terraform_data.commented")).toBe(false);
    expect(found.has("terraform_data.in_heredoc")).toBe(false);
    expect(found.has("module.missing.terraform_data.x")).toBe(false);
  });

  test("a root module at the repository root", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-hcl-root-"));
    await fs.writeFile(path.join(root, "main.tf"), 'resource "terraform_data" "a" {}\n');
    expect((await locateDeclarations(root, "", ["terraform_data.a"])).get("terraform_data.a")).toMatchObject({ file: "main.tf", startLine: 1 });
    expect((await locateDeclarations(root, ".", ["terraform_data.a"])).get("terraform_data.a")).toMatchObject({ file: "main.tf", startLine: 1 });
    await fs.rm(root, { recursive: true, force: true });
  });
});
