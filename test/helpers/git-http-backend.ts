/**
 * Git smart HTTP for tests: serves bare repositories under `projectRoot` through the real
 * `git http-backend` CGI, and refuses requests whose Authorization header is not accepted.
 *
 * URLs look like `/<owner>/<repo>.git/info/refs?service=git-upload-pack`, i.e. the same shape
 * as github.com clone URLs. Mount it in any `node:http` server:
 *
 *   const git = createGitHttpHandler({ projectRoot, isAuthorized: (h) => h === expected });
 *   http.createServer((req, res) => { if (!git(req, res)) { res.statusCode = 404; res.end(); } });
 */
import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";

export interface GitHttpOptions {
  /** Directory holding `<owner>/<repo>.git` bare repositories. */
  projectRoot: string;
  /** Decide from the raw Authorization header (possibly undefined) whether to serve the request. */
  isAuthorized: (authorization: string | undefined) => boolean;
  /** Called for every request with the path and whether it was authorized (for assertions). */
  onRequest?: (info: { path: string; authorized: boolean; authorization?: string }) => void;
}

const GIT_PATH = /^\/[^/]+\/[^/]+\.git\/(info\/refs|git-upload-pack|git-receive-pack|HEAD|objects\/.*)$/;

/** Decode `Basic base64(user:password)`; returns null for anything else. */
export function decodeBasicAuth(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const m = /^basic\s+(.+)$/i.exec(header.trim());
  if (!m) return null;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return null;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export function createGitHttpHandler(opts: GitHttpOptions) {
  return function handleGit(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!GIT_PATH.test(url.pathname)) return false;
    const authorization = req.headers.authorization;
    const authorized = opts.isAuthorized(authorization);
    opts.onRequest?.({ path: url.pathname, authorized, authorization });
    if (!authorized) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="fake-github"', "Content-Type": "text/plain" });
      res.end("Authentication required\n");
      return true;
    }
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        GIT_PROJECT_ROOT: opts.projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        GIT_CONFIG_NOSYSTEM: "1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ""),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        CONTENT_LENGTH: req.headers["content-length"] ?? "",
        HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"] ?? ""),
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
        REMOTE_USER: "x-access-token",
        REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
        SERVER_PROTOCOL: "HTTP/1.1",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    req.pipe(child.stdin);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // Parse the CGI response: headers, blank line, body.
    let headerBuf = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      headerBuf = Buffer.concat([headerBuf, chunk]);
      let sep = headerBuf.indexOf("\r\n\r\n");
      let sepLen = 4;
      if (sep < 0) {
        sep = headerBuf.indexOf("\n\n");
        sepLen = 2;
      }
      if (sep < 0) return;
      const head = headerBuf.subarray(0, sep).toString("utf8");
      const body = headerBuf.subarray(sep + sepLen);
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i < 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === "status") status = parseInt(value, 10) || 200;
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      headersDone = true;
      if (body.length) res.write(body);
    });
    child.on("close", (code) => {
      if (!headersDone) {
        res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(`git http-backend failed (${code}): ${stderr}`);
        return;
      }
      res.end();
    });
    return true;
  };
}
