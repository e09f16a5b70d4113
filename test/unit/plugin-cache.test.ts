import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { initReadsCacheOnly, lockedProviders, needsNoProvider, terraformPlatform, withPluginCache } from "../../src/adapters/plugin-cache.js";

const LOCK = `# This file is maintained automatically by "terraform init".
provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.31.0"
  constraints = "~> 5.0"
  hashes = [
    "h1:abc=",
  ]
}

provider "registry.terraform.io/hashicorp/random" {
  version = "3.6.0"
}
`;

let dir: string;
let cache: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-plugin-cache-"));
  cache = path.join(dir, "cache");
  await fs.mkdir(path.join(dir, "project"), { recursive: true });
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const write = (name: string, text: string) => fs.writeFile(path.join(dir, "project", name), text);
const cacheProvider = (source: string, version: string) => fs.mkdir(path.join(cache, ...source.split("/"), version, terraformPlatform()), { recursive: true });

test("lockedProviders reads each provider's pinned version", () => {
  expect(lockedProviders(LOCK)).toEqual([
    ["registry.terraform.io/hashicorp/aws", "5.31.0"],
    ["registry.terraform.io/hashicorp/random", "3.6.0"],
  ]);
  expect(lockedProviders("")).toEqual([]);
});

test.each<[string, string[], boolean]>([
  ["only built-in resources and a backend", ['terraform {\n  backend "pg" {}\n}\nresource "terraform_data" "x" {\n  input = 1\n}\n'], true],
  ["a built-in data source", ['data "terraform_remote_state" "net" {\n  backend = "local"\n}\n'], true],
  ["no resources at all", ['output "x" {\n  value = 1\n}\n'], true],
  ["a provider resource", ['resource "aws_s3_bucket" "b" {}\n'], false],
  ["a provider data source", ['data "http" "x" {}\n'], false],
  ["a provider block", ['provider "aws" {\n  region = "eu-west-1"\n}\n'], false],
  ["required_providers", ["terraform {\n  required_providers {\n    aws = {}\n  }\n}\n"], false],
  ["a module (may need providers)", ['module "vpc" {\n  source = "./vpc"\n}\n'], false],
  ["several files, one needs a provider", ['resource "terraform_data" "a" {}\n', 'resource "null_resource" "b" {}\n'], false],
])("needsNoProvider: %s → %s", (_name, sources, expected) => {
  expect(needsNoProvider(sources)).toBe(expected);
});

describe("initReadsCacheOnly", () => {
  test("lock file with every provider cached → read-only", async () => {
    await write(".terraform.lock.hcl", LOCK);
    await write("main.tf", 'resource "aws_s3_bucket" "b" {}\n');
    await cacheProvider("registry.terraform.io/hashicorp/aws", "5.31.0");
    await cacheProvider("registry.terraform.io/hashicorp/random", "3.6.0");
    expect(await initReadsCacheOnly(path.join(dir, "project"), cache)).toBe(true);
  });

  test("a locked provider missing from the cache (or another version) → may write", async () => {
    await write(".terraform.lock.hcl", LOCK);
    await cacheProvider("registry.terraform.io/hashicorp/aws", "5.31.0");
    await cacheProvider("registry.terraform.io/hashicorp/random", "3.5.0");
    expect(await initReadsCacheOnly(path.join(dir, "project"), cache)).toBe(false);
  });

  test("no lock file: read-only only when the source needs no provider", async () => {
    await write("main.tf", 'resource "terraform_data" "x" {}\n');
    expect(await initReadsCacheOnly(path.join(dir, "project"), cache)).toBe(true);
    await write("aws.tf", 'provider "aws" {}\n');
    expect(await initReadsCacheOnly(path.join(dir, "project"), cache)).toBe(false);
  });

  test("JSON configuration is not scanned: may write", async () => {
    await write("main.tf.json", '{"resource": {"terraform_data": {"x": {}}}}');
    expect(await initReadsCacheOnly(path.join(dir, "project"), cache)).toBe(false);
  });
});

describe("withPluginCache", () => {
  /** A fake init that records how many run at once. */
  function recorder() {
    let running = 0;
    let max = 0;
    const order: string[] = [];
    const init = (name: string) => async () => {
      running++;
      max = Math.max(max, running);
      order.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 20));
      order.push(`end ${name}`);
      running--;
      return name;
    };
    return { init, max: () => max, order };
  }

  test("inits that may write the cache take turns, and a failure releases the turn", async () => {
    await write("main.tf", 'provider "aws" {}\n');
    const project = path.join(dir, "project");
    const r = recorder();
    const failing = withPluginCache(project, cache, async () => {
      throw new Error("init failed");
    });
    const results = await Promise.all([
      failing.catch((e: Error) => e.message),
      withPluginCache(project, cache, r.init("a")),
      withPluginCache(project, cache, r.init("b")),
      withPluginCache(project, cache, r.init("c")),
    ]);
    expect(results).toEqual(["init failed", "a", "b", "c"]);
    expect(r.max()).toBe(1);
    // One at a time: every start is directly followed by its own end.
    for (let i = 0; i < r.order.length; i += 2) expect(r.order[i + 1]).toBe(r.order[i].replace("start", "end"));
    expect(r.order).toHaveLength(6);
  });

  test("read-only inits run at the same time", async () => {
    await write("main.tf", 'resource "terraform_data" "x" {}\n');
    const project = path.join(dir, "project");
    const r = recorder();
    await Promise.all([withPluginCache(project, cache, r.init("a")), withPluginCache(project, cache, r.init("b"))]);
    expect(r.max()).toBe(2);
  });

  test("turns are per cache directory", async () => {
    await write("main.tf", 'provider "aws" {}\n');
    const project = path.join(dir, "project");
    const r = recorder();
    await Promise.all([withPluginCache(project, cache, r.init("a")), withPluginCache(project, `${cache}-other`, r.init("b"))]);
    expect(r.max()).toBe(2);
  });
});
