import type { Project } from "../../src/projects/project.js";
import { parseRepoConfig, type RepoConfig } from "../../src/config/repo-config.js";
import { selectProjects, type SelectionContext, type SelectionRequest } from "../../src/projects/select-projects.js";

const project = (dir: string, name = "", workspace = "default"): Project => ({ name, dir, workspace });
const req = (flags: Partial<SelectionRequest> = {}): SelectionRequest => ({ dir: "", workspace: "", project: "", ...flags });

function config(...lines: string[]): RepoConfig {
  const result = parseRepoConfig(["version: 3", "projects:", ...lines].join("\n") + "\n", "atlantis.yaml");
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

const cfg = config(
  "- {name: app-stg, dir: app, workspace: stg}",
  "- {name: app-prd, dir: app, workspace: prd}",
  "- {name: net, dir: net}",
  "- {dir: .}",
  "- {name: net-2, dir: stacks/net}",
);
const withConfig: SelectionContext = { config: cfg, modified: [project("net", "net")] };
const noConfig: SelectionContext = { modified: [project("a"), project("b/c")] };

describe("selectProjects", () => {
  test.each<[string, SelectionRequest, SelectionContext, Project[]]>([
    ["no flags → modified projects (config)", req(), withConfig, [project("net", "net")]],
    ["no flags → modified projects (no config)", req(), noConfig, [project("a"), project("b/c")]],
    ["no flags, nothing modified → none", req(), { modified: [] }, []],
    ["-p name → that configured project", req({ project: "app-prd" }), withConfig, [project("app", "app-prd", "prd")]],
    ["-p ignores what is modified", req({ project: "net-2" }), withConfig, [project("stacks/net", "net-2")]],
    ["-d → configured projects of that dir in the default workspace", req({ dir: "net" }), withConfig, [project("net", "net")]],
    ["-d -w → configured project of that dir and workspace", req({ dir: "app", workspace: "stg" }), withConfig, [project("app", "app-stg", "stg")]],
    ["-d . → configured root project", req({ dir: "." }), withConfig, [project(".")]],
    ["-w only → root dir in that workspace (unconfigured there)", req({ workspace: "stg" }), withConfig, [project(".", "", "stg")]],
    ["-d of an unconfigured dir → default settings project", req({ dir: "other" }), withConfig, [project("other")]],
    ["-d of a configured dir in another workspace → unconfigured project", req({ dir: "app" }), withConfig, [project("app")]],
    ["-d without config → that dir", req({ dir: "b/c" }), noConfig, [project("b/c")]],
    ["-d -w without config → that dir and workspace", req({ dir: "x", workspace: "w" }), noConfig, [project("x", "", "w")]],
    ["-w without config → root in that workspace", req({ workspace: "w" }), noConfig, [project(".", "", "w")]],
    ["-d is cleaned: ./net/ → net", req({ dir: "./net/" }), withConfig, [project("net", "net")]],
    ["-d is forced relative: /net → net", req({ dir: "/net" }), withConfig, [project("net", "net")]],
    ["-d / → root", req({ dir: "/" }), noConfig, [project(".")]],
    ["-d a/.. → root", req({ dir: "a/.." }), noConfig, [project(".")]],
    ["-d glob matches configured dirs (not the root '.')", req({ dir: "*" }), withConfig, [project("net", "net")]],
    ["-d glob with -w", req({ dir: "ap?", workspace: "prd" }), withConfig, [project("app", "app-prd", "prd")]],
    ["-d glob across levels", req({ dir: "**/net" }), withConfig, [project("net", "net"), project("stacks/net", "net-2")]],
    ["-d glob without config matches modified dirs", req({ dir: "b/*" }), noConfig, [project("b/c")]],
    ["-d glob without config matches discovered dirs", req({ dir: "stacks/*" }), { ...noConfig, discovered: ["stacks/a", "stacks/b", "stacks/b/x", "net"] }, [project("stacks/a"), project("stacks/b")]],
    ["-d glob: discovered dirs get the -w workspace", req({ dir: "stacks/*", workspace: "w" }), { ...noConfig, discovered: ["stacks/a"] }, [project("stacks/a", "", "w")]],
    ["-d glob: configured first, discovered dirs once", req({ dir: "**/net" }), { ...withConfig, discovered: ["net", "stacks/net", "x/net"] }, [project("net", "net"), project("stacks/net", "net-2"), project("x/net")]],
  ])("%s", (_name, request, ctx, expected) => {
    expect(selectProjects(request, ctx)).toEqual({ ok: true, projects: expected });
  });

  test.each<[string, SelectionRequest, SelectionContext, RegExp]>([
    ["-p without config", req({ project: "x" }), noConfig, /no repo config/],
    ["-p unknown lists available names", req({ project: "nope" }), withConfig, /no project named "nope".*available projects: app-stg, app-prd, net, net-2/],
    ["-p unknown when no project is named", req({ project: "nope" }), { config: config("- {dir: a}"), modified: [] }, /no project in it has a name/],
    ["-p with -d", req({ project: "net", dir: "net" }), withConfig, /cannot use -p\/--project at same time as -d\/--dir or -w\/--workspace/],
    ["-d escaping the repo", req({ dir: "../x" }), noConfig, /using a relative path "\.\.\/x" with -d\/--dir is not allowed/],
    ["-d glob with ..", req({ dir: "../*" }), withConfig, /using '\.\.' in glob pattern/],
    ["-d glob matching nothing", req({ dir: "zzz*" }), withConfig, /no configured project matches -d "zzz\*"/],
    ["-d glob matching nothing discovered", req({ dir: "zzz*" }), { ...noConfig, discovered: ["a"] }, /no project or Terraform directory matches -d "zzz\*" in workspace "default"/],
  ])("error: %s", (_name, request, ctx, message) => {
    const result = selectProjects(request, ctx);
    expect(result).toEqual({ ok: false, error: expect.stringMatching(message) });
  });

  test("results are copies: callers cannot mutate the config through them", () => {
    const result = selectProjects(req({ project: "net" }), withConfig);
    if (!result.ok) throw new Error(result.error);
    result.projects[0].dir = "mutated";
    expect(cfg.projects[2].dir).toBe("net");
    expect(result.projects[0]).not.toHaveProperty("autoplan");
  });
});
