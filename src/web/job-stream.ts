/**
 * A job's log, live: Server-Sent Events from the store. Every chunk is an event whose `id` is its
 * sequence number, so a browser that reconnects (EventSource sends `Last-Event-ID`) resumes
 * exactly after the last chunk it has — no gap, no repeat — on whichever replica it reaches.
 * The stream polls the store (chunks are written by whichever replica runs the job) and ends with
 * an `end` event once the job is finished and everything is sent.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Store } from "../ports/store.js";

const FINISHED = new Set(["succeeded", "failed", "interrupted", "cancelled"]);
const KEEPALIVE_MS = 15_000;

export async function streamJobLog(store: Pick<Store, "readJobLog" | "getJob">, jobId: number, after: number, req: IncomingMessage, res: ServerResponse, pollMs: number): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no", connection: "keep-alive" });
  res.write("retry: 1000\n\n");
  let closed = false;
  req.on("close", () => (closed = true));
  let seq = after;
  let lastWrite = Date.now();
  while (!closed) {
    const job = await store.getJob(jobId);
    const chunks = await store.readJobLog(jobId, seq);
    for (const chunk of chunks) {
      res.write(`id: ${chunk.seq}\ndata: ${JSON.stringify(chunk.text)}\n\n`);
      seq = chunk.seq;
      lastWrite = Date.now();
    }
    // Finished and nothing more to send (read after the status, so no chunk is missed).
    if (chunks.length === 0 && (!job || FINISHED.has(job.status))) {
      res.write(`event: end\ndata: ${JSON.stringify(job?.status ?? "gone")}\n\n`);
      break;
    }
    if (Date.now() - lastWrite > KEEPALIVE_MS) {
      res.write(": keep-alive\n\n");
      lastWrite = Date.now();
    }
    if (chunks.length === 0) await new Promise((r) => setTimeout(r, pollMs));
  }
  res.end();
}

/** The job page's script (served as a file: the pages' CSP allows no inline script). */
export const JOB_SCRIPT = `"use strict";
(function () {
  var log = document.getElementById("log");
  if (!log || log.dataset.live !== "1" || !window.EventSource) return;
  var status = document.getElementById("status");
  var source = new EventSource("/jobs/" + log.dataset.job + "/log?after=" + log.dataset.after);
  source.onmessage = function (e) {
    var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    log.appendChild(document.createTextNode(JSON.parse(e.data)));
    log.dataset.after = e.lastEventId;
    if (atBottom) window.scrollTo(0, document.body.scrollHeight);
  };
  source.addEventListener("end", function (e) {
    source.close();
    var s = JSON.parse(e.data);
    if (status) { status.textContent = s; status.className = "status-" + s; }
    var note = document.getElementById("live-note");
    if (note) note.textContent = "Finished.";
  });
})();
`;
