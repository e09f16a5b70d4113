/**
 * The web UI's pages, served by every replica of the App (`ATOLL_PUBLIC_URL` is their base):
 *
 * - `GET /locks` — every lock (repository, project, pull request, who, since) with the pull
 *   requests waiting for it, and **Unlock** (discard that pull request's plans and release its
 *   locks, as `atoll unlock` does) for users with write access, checked against GitHub at click time.
 * - `GET /jobs` — recent and running jobs (command, projects, who, status, duration).
 * - `GET /jobs/:id` — one job, with terraform's output growing live (`job-stream.ts`).
 *
 * Everything needs a signed-in user (`PageAuth`), and shows only repositories that user can
 * read; every state change is a POST with the session's CSRF token.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { describeJob } from "../jobs/job-spec.js";
import type { JobSubmitter } from "../jobs/job-service.js";
import { canWrite, type GitHubPort } from "../ports/github.js";
import type { JobRecord, LockRecord, Store } from "../ports/store.js";
import { projectLabel } from "../projects/project.js";
import { ago, duration, esc, layout, sendPage, type PageUser } from "./html.js";
import { readForm, redirect } from "./http.js";
import { JOB_SCRIPT, streamJobLog } from "./job-stream.js";

/** Who is signed in, and what they may see. */
export interface PageUserAccess extends PageUser {
  canRead(owner: string, repo: string): boolean;
}

export interface PageAuth {
  /** The signed-in user, or undefined. */
  user(req: IncomingMessage): Promise<PageUserAccess | undefined>;
  /** Whether a state-changing request carries the session's CSRF token (and a same-origin Origin). */
  checkCsrf(req: IncomingMessage, user: PageUserAccess, submitted: string | undefined): boolean;
  /** Why sign-in cannot work (a missing setting), if it cannot. */
  unavailable?: string;
}

export interface WebOptions {
  store: Store;
  auth: PageAuth;
  jobs: JobSubmitter;
  githubFor(installationId: number, owner: string, repo: string): Promise<GitHubPort>;
  /** GitHub's web address (https://github.com, or the GHE host), for links to pull requests. */
  githubWeb: string;
  /** The live log's store poll. */
  pollMs?: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

const MAX_FORM_BYTES = 8_192;

export function createWebPages(opts: WebOptions): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://atoll.invalid");
    const route = routeOf(req.method ?? "GET", url.pathname);
    if (!route) return false;
    if (route.name === "script") return sendScript(res);
    if (opts.auth.unavailable) return sendPage(res, 503, layout("Sign-in not configured", `<div class="notice error">${esc(opts.auth.unavailable)}</div>`));
    const user = await opts.auth.user(req);
    if (!user) return redirect(res, `/login?next=${encodeURIComponent(url.pathname + url.search)}`, [], 303);
    switch (route.name) {
      case "home":
        return redirect(res, "/locks", [], 303);
      case "locks":
        return sendPage(res, 200, await locksPage(opts, user, url));
      case "unlock":
        return unlock(opts, user, req, res);
      case "jobs":
        return sendPage(res, 200, await jobsPage(opts, user));
      case "job":
        return jobPage(opts, user, res, route.id);
      case "log":
        return streamLog(opts, user, req, res, route.id, url);
    }
  };
}

type Route = { name: "home" | "locks" | "unlock" | "jobs" | "script" } | { name: "job" | "log"; id: number };

function routeOf(method: string, path: string): Route | undefined {
  const get = method === "GET" || method === "HEAD";
  if (get && path === "/") return { name: "home" };
  if (get && path === "/locks") return { name: "locks" };
  if (method === "POST" && path === "/locks/unlock") return { name: "unlock" };
  if (get && path === "/jobs") return { name: "jobs" };
  if (get && path === "/assets/job.js") return { name: "script" };
  const m = /^\/jobs\/(\d{1,15})(\/log)?$/.exec(path);
  if (get && m) return { name: m[2] ? "log" : "job", id: Number(m[1]) };
  return undefined;
}

function sendScript(res: ServerResponse): true {
  res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache", "x-content-type-options": "nosniff" }).end(JOB_SCRIPT);
  return true;
}

function pullLink(opts: WebOptions, owner: string, repo: string, pull: number): string {
  return `<a href="${esc(`${opts.githubWeb}/${owner}/${repo}/pull/${pull}`)}">${esc(`${owner}/${repo}#${pull}`)}</a>`;
}

async function locksPage(opts: WebOptions, user: PageUserAccess, url: URL): Promise<string> {
  const locks = (await opts.store.listLocks()).filter((l) => user.canRead(l.repo.owner, l.repo.repo));
  const rows = await Promise.all(locks.map(async (lock) => lockRow(opts, user, lock)));
  const notice = url.searchParams.get("unlocked") ? `<div class="notice">Unlock queued for ${esc(url.searchParams.get("unlocked"))}: its plans are discarded and its locks released; the pull request gets a comment.</div>` : "";
  const table = locks.length
    ? `<div class="table-wrap"><table><thead><tr><th>Repository</th><th>Project</th><th>Pull request</th><th class="wide">Who</th><th class="wide">Since</th><th>Waiting</th><th></th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`
    : `<p class="muted">No project is locked in the repositories you can read.</p>`;
  return layout("Locks", `<h1>Locks and queues</h1>${notice}${table}`, user);
}

async function lockRow(opts: WebOptions, user: PageUserAccess, lock: LockRecord): Promise<string> {
  const { owner, repo } = lock.repo;
  const waiting = await opts.store.listWaiters(lock.repo, lock.project);
  const queue = waiting.length ? waiting.map((w) => pullLink(opts, owner, repo, w.pullNumber)).join(", ") : `<span class="muted">none</span>`;
  const form =
    `<form method="post" action="/locks/unlock"><input type="hidden" name="csrf" value="${esc(user.csrf)}">` +
    `<input type="hidden" name="owner" value="${esc(owner)}"><input type="hidden" name="repo" value="${esc(repo)}">` +
    `<input type="hidden" name="pull" value="${lock.pullNumber}"><input type="hidden" name="installation" value="${lock.installationId}">` +
    `<button class="danger" type="submit" title="Discard this pull request's plans and release its locks">Unlock</button></form>`;
  return (
    `<tr><td>${esc(`${owner}/${repo}`)}</td><td>${esc(projectLabel(lock.project))}<div class="muted">${esc(lock.project.dir)} · ${esc(lock.project.workspace)}</div></td>` +
    `<td>${pullLink(opts, owner, repo, lock.pullNumber)}</td><td class="wide">@${esc(lock.user)}</td><td class="wide" title="${esc(lock.lockedAt)}">${esc(ago(lock.lockedAt))}</td>` +
    `<td>${queue}</td><td>${form}</td></tr>`
  );
}

function refuse(res: ServerResponse, user: PageUserAccess, status: number, message: string): true {
  return sendPage(res, status, layout("Not allowed", `<div class="notice error">${esc(message)}</div><p><a href="/locks">Back to the locks</a></p>`, user));
}

/** POST /locks/unlock: CSRF, read access, then write access asked of GitHub now; the unlock runs as a job. */
async function unlock(opts: WebOptions, user: PageUserAccess, req: IncomingMessage, res: ServerResponse): Promise<true> {
  const form = await readForm(req, MAX_FORM_BYTES).catch(() => undefined);
  if (!form || !opts.auth.checkCsrf(req, user, form.get("csrf") ?? undefined)) return refuse(res, user, 403, "This form expired or did not come from this page (CSRF check failed). Reload the page and try again.");
  const owner = form.get("owner") ?? "";
  const repo = form.get("repo") ?? "";
  const pull = Number(form.get("pull"));
  const installationId = Number(form.get("installation"));
  if (!owner || !repo || !Number.isInteger(pull) || !Number.isInteger(installationId) || !user.canRead(owner, repo)) return refuse(res, user, 404, "No such lock.");
  const lock = (await opts.store.listLocks({ owner, repo })).find((l) => l.pullNumber === pull && l.installationId === installationId);
  if (!lock) return redirect(res, "/locks", [], 303);
  const permission = await (await opts.githubFor(installationId, owner, repo)).getPermission(user.login);
  if (!canWrite(permission)) {
    return refuse(res, user, 403, `@${user.login} does not have write access to ${owner}/${repo} (permission: ${permission}); only writers can unlock.`);
  }
  await opts.jobs.submit({
    installationId,
    owner: lock.repo.owner,
    repo: lock.repo.repo,
    pullNumber: pull,
    user: user.login,
    name: "atoll",
    kind: "command",
    commentId: 0,
    command: { kind: "command", command: "unlock", dir: "", workspace: "", project: "", extraArgs: [], verbose: false, name: "atoll" },
  });
  return redirect(res, `/locks?unlocked=${encodeURIComponent(`${owner}/${repo}#${pull}`)}`, [], 303);
}

function jobProjects(job: JobRecord): string {
  const s = job.spec;
  if (s.kind === "command") return [s.command.project && `-p ${s.command.project}`, s.command.dir && `-d ${s.command.dir}`, s.command.workspace && `-w ${s.command.workspace}`].filter(Boolean).join(" ") || "all";
  if ((s.kind === "check-run" || s.kind === "lock-released") && s.project) return projectLabel(s.project);
  return s.kind === "autoplan" ? "modified" : "";
}

async function jobsPage(opts: WebOptions, user: PageUserAccess): Promise<string> {
  const jobs = (await opts.store.recentJobs(300)).filter((j) => j.spec.kind !== "react" && user.canRead(j.spec.owner, j.spec.repo)).slice(0, 100);
  const rows = jobs.map(
    (j) =>
      `<tr><td><a href="/jobs/${j.id}">#${j.id}</a></td><td>${esc(describeJob(j.spec))}</td><td>${esc(jobProjects(j))}</td>` +
      `<td>${pullLink(opts, j.spec.owner, j.spec.repo, j.spec.pullNumber)}</td><td class="wide">@${esc(j.spec.user)}</td>` +
      `<td class="status-${esc(j.status)}">${esc(j.status)}</td><td class="wide">${esc(duration(j.startedAt, j.finishedAt))}</td></tr>`,
  );
  const table = jobs.length
    ? `<div class="table-wrap"><table><thead><tr><th>Job</th><th>Command</th><th>Projects</th><th>Pull request</th><th class="wide">Who</th><th>Status</th><th class="wide">Duration</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`
    : `<p class="muted">No jobs yet in the repositories you can read.</p>`;
  return layout("Jobs", `<h1>Jobs</h1>${table}`, user);
}

async function readableJob(opts: WebOptions, user: PageUserAccess, id: number): Promise<JobRecord | undefined> {
  const job = await opts.store.getJob(id);
  return job && user.canRead(job.spec.owner, job.spec.repo) ? job : undefined;
}

async function jobPage(opts: WebOptions, user: PageUserAccess, res: ServerResponse, id: number): Promise<true> {
  const job = await readableJob(opts, user, id);
  if (!job) return sendPage(res, 404, layout("No such job", `<div class="notice error">No job #${id} in the repositories you can read.</div>`, user));
  const chunks = await opts.store.readJobLog(id, 0, 100_000);
  const after = chunks.length ? chunks[chunks.length - 1].seq : 0;
  const text = chunks.map((c) => c.text).join("");
  const finished = !["queued", "running"].includes(job.status);
  const s = job.spec;
  const body =
    `<h1>Job #${job.id}: ${esc(describeJob(s))}</h1>` +
    `<p>${pullLink(opts, s.owner, s.repo, s.pullNumber)} · requested by @${esc(s.user)} · ${esc(jobProjects(job))}</p>` +
    `<p>Status: <strong id="status" class="status-${esc(job.status)}">${esc(job.status)}</strong>${job.error ? ` <span class="muted">(${esc(job.error)})</span>` : ""} · ` +
    `started ${esc(ago(job.startedAt) || "not yet")} · ${esc(duration(job.startedAt, job.finishedAt))}</p>` +
    `<pre class="log" id="log" data-job="${job.id}" data-after="${after}" data-live="${finished ? "0" : "1"}">${esc(text)}</pre>` +
    (finished ? "" : `<p class="muted" id="live-note">Live: the log grows while terraform runs.</p>`) +
    `<script src="/assets/job.js" defer></script>`;
  return sendPage(res, 200, layout(`Job #${job.id}`, body, user));
}

async function streamLog(opts: WebOptions, user: PageUserAccess, req: IncomingMessage, res: ServerResponse, id: number, url: URL): Promise<true> {
  const job = await readableJob(opts, user, id);
  if (!job) {
    res.writeHead(404, { "content-type": "text/plain" }).end("no such job\n");
    return true;
  }
  const lastEventId = Number(req.headers["last-event-id"] ?? url.searchParams.get("after") ?? 0);
  await streamJobLog(opts.store, id, Number.isFinite(lastEventId) ? lastEventId : 0, req, res, opts.pollMs ?? 500);
  return true;
}
