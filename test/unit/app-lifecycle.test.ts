/**
 * The repository follower (src/handlers/app-lifecycle.ts): GitHub's repository id is the
 * identity, so a delivery that shows a known id under a new name — a rename or transfer whose
 * own webhook was missed — moves the locks, plans and jobs first.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openSqliteStore } from "../../src/adapters/sqlite-store.js";
import { createRepositoryFollower, forgetRepositories } from "../../src/handlers/app-lifecycle.js";
import type { Store } from "../../src/ports/store.js";
import { fullState, lock, PROD, REPO } from "../helpers/store-fixtures.js";

describe("createRepositoryFollower", () => {
  let dir: string;
  let store: Store;
  const lines: { obj: unknown; msg?: string }[] = [];
  const log = { debug() {}, info: (obj: unknown, msg?: string) => void lines.push({ obj, msg }), warn() {}, error() {} };
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "atoll-follow-"));
    store = await openSqliteStore(path.join(dir, "atoll.db"));
    lines.length = 0;
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const repository = (owner: string, name: string) => ({ id: 4242, name, owner: { login: owner } });

  test("a known id under a new name moves what Atoll holds; the same name again costs nothing", async () => {
    const follow = createRepositoryFollower({ store }, log);
    await follow(repository(REPO.owner, REPO.repo));
    await store.tryLock(lock(12));
    await store.upsertProject(REPO, 12, fullState(PROD));
    await follow(repository("acme-platform", "infra"));
    expect(await store.getLock(REPO, PROD)).toBeUndefined();
    expect(await store.getLock({ owner: "acme-platform", repo: "infra" }, PROD)).toMatchObject({ pullNumber: 12 });
    expect(await store.listProjects({ owner: "acme-platform", repo: "infra" }, 12)).toHaveLength(1);
    expect(lines).toEqual([{ obj: expect.objectContaining({ from: "Acme/Infra", to: "acme-platform/infra", repositoryId: 4242, locks: 1, projects: 1 }), msg: expect.stringMatching(/renamed/) }]);
    await follow(repository("acme-platform", "infra"));
    expect(lines).toHaveLength(1);
  });

  test("an id seen for the first time with an explicit old name (the rename webhook, state from before the repositories table) moves from that name", async () => {
    const follow = createRepositoryFollower({ store }, log);
    await store.tryLock(lock(7));
    await follow(repository("Acme", "platform"), REPO);
    expect(await store.getLock({ owner: "Acme", repo: "platform" }, PROD)).toMatchObject({ pullNumber: 7 });
  });

  test("forgetRepositories deletes the saved plan files of the forgotten plans", async () => {
    await store.blobs.put("plans/acme/infra/12/abc/p.tfplan", Buffer.from("plan"));
    await store.upsertProject(REPO, 12, fullState(PROD, { planBlob: "plans/acme/infra/12/abc/p.tfplan" }));
    await store.tryLock(lock(12));
    await forgetRepositories({ store }, log, { repos: [REPO] }, "the repository was deleted");
    expect(await store.blobs.get("plans/acme/infra/12/abc/p.tfplan")).toBeUndefined();
    expect(lines.at(-1)).toEqual({ obj: expect.objectContaining({ locksReleased: ["Acme/Infra envs/prod#12"], plansForgotten: 1 }), msg: "forgot the repositories: the repository was deleted" });
  });
});
