/**
 * Where resources are declared: the `.tf` file and lines of the `resource` block behind each
 * address of a plan, so check-run annotations can point at them in "Files changed".
 *
 * The files are parsed with tree-sitter's HCL grammar (`@tree-sitter-grammars/tree-sitter-hcl`,
 * its Terraform dialect, run as WebAssembly by `web-tree-sitter`): a real parser, so comments,
 * heredocs and strings that look like blocks never confuse it. Module calls are followed into
 * local sources (`./…`, `../…`); a resource of a remote module is located at its `module` block.
 */
import { promises as fs } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Language, Parser, type Node } from "web-tree-sitter";

export interface Declaration {
  /** Path from the repository root, with `/`. */
  file: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  /** `resource`, `data` or `module` (a resource inside a remote module points at its call). */
  kind: "resource" | "data" | "module";
  /** Resource type (`aws_db_instance`); module name for a module block. */
  type: string;
  name: string;
}

interface ModuleDecls {
  /** `type.name` (and `data.type.name`) → declaration. */
  resources: Map<string, Declaration>;
  /** Module call name → its block and local source directory (repo-relative), if local. */
  modules: Map<string, { decl: Declaration; localDir?: string }>;
}

let parser: Promise<Parser> | undefined;

async function loadParser(): Promise<Parser> {
  await Parser.init();
  const require = createRequire(import.meta.url);
  const wasm = path.join(path.dirname(require.resolve("@tree-sitter-grammars/tree-sitter-hcl/package.json")), "tree-sitter-terraform.wasm");
  const p = new Parser();
  p.setLanguage(await Language.load(wasm));
  return p;
}

/** The text of a plain string literal (`"./m"`), or undefined for anything else (interpolations…). */
function stringValue(node: Node | null | undefined): string | undefined {
  if (!node) return undefined;
  const text = node.text.trim();
  const m = /^"((?:[^"\\$]|\\.)*)"$/.exec(text);
  return m ? m[1].replace(/\\(.)/g, "$1") : undefined;
}

function labels(block: Node): string[] {
  return block.namedChildren.filter((n): n is Node => n !== null && n.type === "string_lit").map((n) => stringValue(n) ?? n.text);
}

function attribute(block: Node, name: string): Node | undefined {
  const body = block.namedChildren.find((n) => n?.type === "body");
  for (const child of body?.namedChildren ?? []) {
    if (child?.type === "attribute" && child.namedChildren[0]?.text === name) return child.namedChildren[1] ?? undefined;
  }
  return undefined;
}

/** The declarations of one module directory (repo-relative `dir`) under `repoDir`. */
async function parseModule(repoDir: string, dir: string): Promise<ModuleDecls> {
  const decls: ModuleDecls = { resources: new Map(), modules: new Map() };
  const abs = path.join(repoDir, dir);
  const files = (await fs.readdir(abs).catch(() => [] as string[])).filter((f) => f.endsWith(".tf")).sort();
  const p = await (parser ??= loadParser());
  for (const f of files) {
    const text = await fs.readFile(path.join(abs, f), "utf8").catch(() => undefined);
    if (text === undefined) continue;
    const tree = p.parse(text);
    if (!tree) continue;
    const file = path.posix.join(dir.split(path.sep).join("/"), f).replace(/^\.\//, "");
    const body = tree.rootNode.namedChildren.find((n) => n?.type === "body");
    for (const block of body?.namedChildren ?? []) {
      if (block?.type !== "block") continue;
      const kind = block.namedChildren[0]?.text;
      const l = labels(block);
      const at = { file, startLine: block.startPosition.row + 1, endLine: block.endPosition.row + 1 };
      if ((kind === "resource" || kind === "data") && l.length >= 2) {
        decls.resources.set(`${kind === "data" ? "data." : ""}${l[0]}.${l[1]}`, { ...at, kind, type: l[0], name: l[1] });
      } else if (kind === "module" && l.length >= 1) {
        const source = stringValue(attribute(block, "source"));
        const local = source !== undefined && /^\.\.?\//.test(source) ? path.posix.normalize(path.posix.join(dir, source)) : undefined;
        const inside = local !== undefined && !local.startsWith("..") ? local : undefined;
        decls.modules.set(l[0], { decl: { ...at, kind: "module", type: l[0], name: l[0] }, ...(inside !== undefined ? { localDir: inside } : {}) });
      }
    }
    tree.delete();
  }
  return decls;
}

/** `module.a["x"].module.b.aws_x.y[0]` → modules ["a", "b"] and resource `aws_x.y` (or `data.t.n`). */
export function splitAddress(address: string): { modules: string[]; resource: string } | undefined {
  // Drop instance keys (`[0]`, `["a.b"]`), which may contain dots.
  const plain = address.replace(/\[(?:"(?:[^"\\]|\\.)*"|[^\]]*)\]/g, "");
  const parts = plain.split(".");
  const modules: string[] = [];
  while (parts[0] === "module" && parts.length > 2) {
    modules.push(parts[1]);
    parts.splice(0, 2);
  }
  if (parts[0] === "data" && parts.length === 3) return { modules, resource: parts.join(".") };
  if (parts.length === 2 && parts[0] !== "module" && parts[0] !== "data") return { modules, resource: parts.join(".") };
  return undefined;
}

/**
 * Where each address is declared, for a root module at `projectDir` (repo-relative) of the
 * checkout at `repoDir`. Addresses whose declaration is not found are left out.
 */
export async function locateDeclarations(repoDir: string, projectDir: string, addresses: string[]): Promise<Map<string, Declaration>> {
  const cache = new Map<string, Promise<ModuleDecls>>();
  const moduleAt = (dir: string) => cache.get(dir) ?? cache.set(dir, parseModule(repoDir, dir)).get(dir)!;
  const found = new Map<string, Declaration>();
  for (const address of addresses) {
    const split = splitAddress(address);
    if (!split) continue;
    let dir = projectDir === "" ? "." : projectDir;
    let at: Declaration | undefined;
    let lost = false;
    for (const name of split.modules) {
      const call = (await moduleAt(dir)).modules.get(name);
      if (!call) {
        lost = true;
        break;
      }
      at = call.decl;
      if (call.localDir === undefined) {
        dir = "";
        break; // a remote module: its call is where the resource comes from
      }
      dir = call.localDir;
    }
    if (lost) continue;
    const decl = dir === "" ? at : (await moduleAt(dir)).resources.get(split.resource);
    if (decl) found.set(address, decl);
  }
  return found;
}

/**
 * The local module directories (repo-relative) a root module at `projectDir` calls, directly or
 * through other local modules; remote modules are left out.
 */
export async function localModuleDirs(repoDir: string, projectDir: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [projectDir === "" ? "." : projectDir];
  while (queue.length) {
    const dir = queue.shift()!;
    for (const call of (await parseModule(repoDir, dir)).modules.values()) {
      if (call.localDir !== undefined && !seen.has(call.localDir) && call.localDir !== projectDir) {
        seen.add(call.localDir);
        queue.push(call.localDir);
      }
    }
  }
  return [...seen].sort();
}
