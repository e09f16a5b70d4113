import { createCloneTokenCache, type MintedToken } from "../../src/adapters/clone-token-cache.js";

const MIN = 60_000;

function minter(now: () => number, lifetimeMs = 60 * MIN) {
  let n = 0;
  const mint = async (): Promise<MintedToken> => {
    n++;
    return { token: `ghs_${n}`, expiresAt: new Date(now() + lifetimeMs).toISOString() };
  };
  return { mint, count: () => n };
}

describe("createCloneTokenCache", () => {
  test("reuses a token until it has less than 10 minutes left", async () => {
    let t = Date.parse("2026-11-25T10:00:00Z");
    const now = () => t;
    const cache = createCloneTokenCache({ now });
    const m = minter(now);
    expect(await cache.get("k", m.mint)).toBe("ghs_1");
    t += 50 * MIN; // exactly 10 minutes left: still fine
    expect(await cache.get("k", m.mint)).toBe("ghs_1");
    t += 1;
    expect(await cache.get("k", m.mint)).toBe("ghs_2");
    expect(m.count()).toBe(2);
  });

  test("keys are independent (hosts, installations)", async () => {
    const cache = createCloneTokenCache();
    const m = minter(Date.now);
    expect(await cache.get("https://ghe.example/api/v3#1", m.mint)).toBe("ghs_1");
    expect(await cache.get("https://ghe.example/api/v3#2", m.mint)).toBe("ghs_2");
    expect(await cache.get("https://ghe.example/api/v3#1", m.mint)).toBe("ghs_1");
  });

  test("concurrent requests share one mint", async () => {
    const cache = createCloneTokenCache();
    const m = minter(Date.now);
    expect(await Promise.all([cache.get("k", m.mint), cache.get("k", m.mint), cache.get("k", m.mint)])).toEqual(["ghs_1", "ghs_1", "ghs_1"]);
    expect(m.count()).toBe(1);
  });

  test("fresh replaces the cached token", async () => {
    const cache = createCloneTokenCache();
    const m = minter(Date.now);
    await cache.get("k", m.mint);
    expect(await cache.get("k", m.mint, { fresh: true })).toBe("ghs_2");
    expect(await cache.get("k", m.mint)).toBe("ghs_2");
  });

  test("a failed mint is not cached; the next request tries again", async () => {
    const cache = createCloneTokenCache();
    await expect(cache.get("k", () => Promise.reject(new Error("HTTP 500")))).rejects.toThrow("HTTP 500");
    const m = minter(Date.now);
    expect(await cache.get("k", m.mint)).toBe("ghs_1");
  });

  test("a token that is short-lived or has an unreadable expiry is used once, never cached", async () => {
    const cache = createCloneTokenCache();
    const short = minter(Date.now, 5 * MIN);
    expect(await cache.get("a", short.mint)).toBe("ghs_1");
    expect(await cache.get("a", short.mint)).toBe("ghs_2");
    let n = 0;
    const odd = async () => ({ token: `odd_${++n}`, expiresAt: "soon" });
    expect(await cache.get("b", odd)).toBe("odd_1");
    expect(await cache.get("b", odd)).toBe("odd_2");
  });
});
