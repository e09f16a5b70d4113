/**
 * Stateless web sessions (src/web/session.ts): sealed cookies that any replica can read, that
 * nobody can read or forge without the key, and that stop working after 8 hours.
 */
import { generateKeyPairSync } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constantTimeEqual, createSessions, SESSION_COOKIE, SESSION_TTL_MS, sessionSecretFrom, type Sessions } from "../../src/web/session.js";
import { localPath, parseCookies } from "../../src/web/http.js";

const SECRET = "test-session-secret-0123456789abcdef";
const TOKEN = "ghu_SuperSecretUserToken1234567890";

/** A request carrying `headers` (only headers matter to the session code). */
function req(headers: Record<string, string> = {}, method = "POST"): IncomingMessage {
  return { headers, method, url: "/" } as unknown as IncomingMessage;
}

/** The `name=value` part of a Set-Cookie value, as a browser would send it back. */
function cookiePair(setCookie: string): string {
  return setCookie.split(";")[0];
}

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("sessions", () => {
  let c: ReturnType<typeof clock>;
  let sessions: Sessions;
  beforeEach(() => {
    c = clock();
    sessions = createSessions({ secret: SECRET, publicUrl: "https://atoll.example.com", now: c.now });
  });

  test("round trip: the cookie reads back as the same session", () => {
    const s = sessions.newSession("octocat", TOKEN);
    expect(s).toEqual({ login: "octocat", token: TOKEN, csrf: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresAt: c.now() + SESSION_TTL_MS });
    const cookie = sessions.cookieFor(s);
    expect(sessions.read(req({ cookie: cookiePair(cookie) }))).toEqual(s);
    // Among other cookies too.
    expect(sessions.read(req({ cookie: `a=1; ${cookiePair(cookie)}; b=2` }))).toEqual(s);
  });

  test("the cookie hides its contents and differs every time", () => {
    const s = sessions.newSession("octocat", TOKEN);
    const a = sessions.cookieFor(s);
    const b = sessions.cookieFor(s);
    expect(a).not.toBe(b);
    for (const text of [a, Buffer.from(cookiePair(a).split("=")[1].slice(3), "base64url").toString("latin1")]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain("octocat");
      expect(text).not.toContain(s.csrf);
    }
  });

  test("cookie flags: HttpOnly, SameSite=Lax, Path=/, Secure for https, Max-Age of the remaining lifetime", () => {
    const cookie = sessions.cookieFor(sessions.newSession("octocat", TOKEN));
    const attrs = cookie.split("; ").slice(1);
    expect(cookie.startsWith(`${SESSION_COOKIE}=v1.`)).toBe(true);
    expect(attrs).toEqual(expect.arrayContaining(["HttpOnly", "SameSite=Lax", "Path=/", "Secure", `Max-Age=${SESSION_TTL_MS / 1000}`]));
    const http = createSessions({ secret: SECRET, publicUrl: "http://127.0.0.1:3000" });
    expect(http.cookieFor(http.newSession("octocat", TOKEN)).split("; ")).not.toContain("Secure");
    expect(createSessions({ secret: SECRET, secure: true }).secure).toBe(true);
  });

  test("clearCookie deletes the cookie with the same flags", () => {
    const cleared = sessions.clearCookie();
    expect(cleared).toMatch(new RegExp(`^${SESSION_COOKIE}=;`));
    expect(cleared.split("; ")).toEqual(expect.arrayContaining(["Max-Age=0", "HttpOnly", "SameSite=Lax", "Path=/", "Secure"]));
    expect(sessions.read(req({ cookie: cookiePair(cleared) }))).toBeUndefined();
  });

  test("tampering with any part makes it 'not signed in'", () => {
    const value = cookiePair(sessions.cookieFor(sessions.newSession("octocat", TOKEN))).split("=")[1];
    const raw = Buffer.from(value.slice(3), "base64url");
    for (let i = 0; i < raw.length; i += 7) {
      const bad = Buffer.from(raw);
      bad[i] ^= 0x01;
      expect(sessions.read(req({ cookie: `${SESSION_COOKIE}=v1.${bad.toString("base64url")}` }))).toBeUndefined();
    }
    for (const bad of ["", "v1.", "v1.AAAA", "v2." + value.slice(3), value.slice(0, -4), value + "AA", "garbage", `v1.${"A".repeat(10_000)}`]) {
      expect(sessions.read(req({ cookie: `${SESSION_COOKIE}=${bad}` }))).toBeUndefined();
    }
    expect(sessions.read(req({}))).toBeUndefined();
  });

  test("expiry is inside the sealed payload: an old cookie stops working after 8 h whatever its Max-Age", () => {
    const s = sessions.newSession("octocat", TOKEN);
    const cookie = cookiePair(sessions.cookieFor(s));
    c.advance(SESSION_TTL_MS - 1000);
    expect(sessions.read(req({ cookie }))?.login).toBe("octocat");
    c.advance(1000);
    expect(sessions.read(req({ cookie }))).toBeUndefined();
    // A session whose expiry was pushed forward cannot be minted without the key; one sealed with a past expiry is void.
    expect(sessions.read(req({ cookie: cookiePair(sessions.cookieFor({ ...s, expiresAt: c.now() - 1 })) }))).toBeUndefined();
  });

  test("a cookie sealed with another key (another deployment) is not a session", () => {
    const other = createSessions({ secret: "another-secret-0123456789abcdefghij", now: c.now });
    const cookie = cookiePair(other.cookieFor(other.newSession("octocat", TOKEN)));
    expect(sessions.read(req({ cookie }))).toBeUndefined();
    // Same secret, another replica: it is.
    const replica = createSessions({ secret: SECRET, now: c.now });
    expect(replica.read(req({ cookie: cookiePair(sessions.cookieFor(sessions.newSession("octocat", TOKEN))) }))?.login).toBe("octocat");
  });

  test("a value sealed for another purpose cannot be used as a session", () => {
    const s = sessions.newSession("octocat", TOKEN);
    const forState = sessions.seal("atoll_oauth_state", { l: s.login, t: s.token, c: s.csrf, x: s.expiresAt }, s.expiresAt);
    expect(sessions.read(req({ cookie: `${SESSION_COOKIE}=${forState}` }))).toBeUndefined();
    expect(sessions.unseal("atoll_oauth_state", forState)).toEqual({ l: "octocat", t: TOKEN, c: s.csrf, x: s.expiresAt });
    expect(sessions.unseal("other", forState)).toBeUndefined();
  });

  test("a too short secret is refused", () => {
    expect(() => createSessions({ secret: "short" })).toThrow(/too short/);
  });
});

describe("CSRF", () => {
  const sessions = createSessions({ secret: SECRET, publicUrl: "https://atoll.example.com/ui" });
  const s = sessions.newSession("octocat", TOKEN);

  test("the session's token passes; a missing, empty or different one does not", () => {
    expect(sessions.checkCsrf(req(), s, s.csrf)).toBe(true);
    expect(sessions.checkCsrf(req(), s, undefined)).toBe(false);
    expect(sessions.checkCsrf(req(), s, "")).toBe(false);
    expect(sessions.checkCsrf(req(), s, s.csrf.slice(0, -1))).toBe(false);
    expect(sessions.checkCsrf(req(), s, `${s.csrf}x`)).toBe(false);
    expect(sessions.checkCsrf(req(), s, sessions.newSession("octocat", TOKEN).csrf)).toBe(false);
  });

  test("the x-atoll-csrf header is used when no form field is given", () => {
    expect(sessions.checkCsrf(req({ "x-atoll-csrf": s.csrf }), s, undefined)).toBe(true);
    expect(sessions.checkCsrf(req({ "x-atoll-csrf": "nope" }), s, undefined)).toBe(false);
  });

  test("Origin must be the public URL's origin when present", () => {
    expect(sessions.checkCsrf(req({ origin: "https://atoll.example.com" }), s, s.csrf)).toBe(true);
    expect(sessions.checkCsrf(req({ origin: "https://evil.example.com" }), s, s.csrf)).toBe(false);
    expect(sessions.checkCsrf(req({ origin: "http://atoll.example.com" }), s, s.csrf)).toBe(false);
    expect(sessions.checkCsrf(req({ origin: "https://atoll.example.com:8443" }), s, s.csrf)).toBe(false);
    expect(sessions.checkCsrf(req({ origin: "null" }), s, s.csrf)).toBe(false);
  });

  test("without Origin, Referer must be on the public origin when present", () => {
    expect(sessions.checkCsrf(req({ referer: "https://atoll.example.com/ui/repos" }), s, s.csrf)).toBe(true);
    expect(sessions.checkCsrf(req({ referer: "https://evil.example.com/https://atoll.example.com/" }), s, s.csrf)).toBe(false);
    expect(sessions.checkCsrf(req({ referer: "not a url" }), s, s.csrf)).toBe(false);
    // A good Referer does not rescue a bad Origin.
    expect(sessions.checkCsrf(req({ origin: "https://evil.example.com", referer: "https://atoll.example.com/" }), s, s.csrf)).toBe(false);
  });

  test("without a public URL, the request's own host is the expected origin", () => {
    const local = createSessions({ secret: SECRET });
    const ls = local.newSession("octocat", TOKEN);
    expect(local.checkCsrf(req({ host: "127.0.0.1:3000", origin: "http://127.0.0.1:3000" }), ls, ls.csrf)).toBe(true);
    expect(local.checkCsrf(req({ host: "127.0.0.1:3000", origin: "http://evil.example" }), ls, ls.csrf)).toBe(false);
  });

  test("constantTimeEqual", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });
});

describe("sessionSecretFrom", () => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ format: "pem", type: "pkcs1" }).toString();

  test("a configured secret is used as is", () => {
    expect(sessionSecretFrom(SECRET, { PRIVATE_KEY: pem }).toString("utf8")).toBe(SECRET);
  });

  test("without one, every spelling of the App's private key gives the same secret, and it is not the key", async () => {
    const fromPem = sessionSecretFrom(undefined, { PRIVATE_KEY: pem });
    expect(fromPem).toHaveLength(32);
    expect(sessionSecretFrom(undefined, { PRIVATE_KEY: pem.replace(/\n/g, "\\n") })).toEqual(fromPem);
    expect(sessionSecretFrom(undefined, { PRIVATE_KEY: Buffer.from(pem).toString("base64") })).toEqual(fromPem);
    const pkcs8 = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    expect(sessionSecretFrom(undefined, { PRIVATE_KEY: pkcs8 })).toEqual(fromPem);
    const dir = await mkdtemp(join(tmpdir(), "atoll-key-"));
    try {
      await writeFile(join(dir, "key.pem"), pem);
      expect(sessionSecretFrom(undefined, { PRIVATE_KEY_PATH: join(dir, "key.pem") })).toEqual(fromPem);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(pem).not.toContain(fromPem.toString("base64"));
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs1" }).toString();
    expect(sessionSecretFrom(undefined, { PRIVATE_KEY: other })).not.toEqual(fromPem);
  });

  test("with neither, the error names the settings", () => {
    expect(() => sessionSecretFrom(undefined, {})).toThrow(/ATOLL_SESSION_SECRET.*PRIVATE_KEY/);
    expect(() => sessionSecretFrom(undefined, { PRIVATE_KEY_PATH: "/nonexistent/key.pem" })).toThrow(/PRIVATE_KEY_PATH/);
  });
});

describe("http helpers", () => {
  test.each([
    ["/repos/acme/infra?tab=plans#x", "/repos/acme/infra?tab=plans#x"],
    ["/", "/"],
    ["//evil.example/x", "/"],
    ["/\\evil.example", "/"],
    ["https://evil.example/", "/"],
    ["javascript:alert(1)", "/"],
    ["repos", "/"],
    ["/a\nb", "/"],
    ["/a/../b", "/b"],
    [null, "/"],
    ["", "/"],
  ])("localPath(%j) = %j", (next, expected) => expect(localPath(next)).toBe(expected));

  test("parseCookies keeps the first of duplicates and unquotes", () => {
    const cookies = parseCookies(req({ cookie: 'a=1; b="two"; a=3; junk; c=x=y' }));
    expect([...cookies]).toEqual([["a", "1"], ["b", "two"], ["c", "x=y"]]);
  });
});
