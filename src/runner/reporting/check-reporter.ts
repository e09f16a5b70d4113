/**
 * CheckReporter: the check runs of one pull request head commit, with "ensure" semantics — a run
 * that is still open is updated; work that starts again after a run completed gets a fresh run
 * (GitHub shows the latest run of a name), so a completed run never moves backwards.
 */
import type { CheckRunInput } from "../../ports/github.js";
import type { ProjectState } from "../../ports/store.js";
import { projectKey, type Project } from "../../projects/project.js";
import {
  renderAggregateCheck,
  renderInProgressCheck,
  renderProjectCheck,
} from "../../render/check-run-output.js";
import type { Readiness } from "../gates/review-readiness.js";
import { ANNOTATIONS_PER_REQUEST } from "./plan-annotations.js";
import {
  aggregateCheckName,
  decodeExternalId,
  encodeExternalId,
  projectCheckName,
  type CheckKind,
} from "./check-names.js";
import type { ProjectResult } from "./project-result.js";
import type { CommandContext } from "../runner-deps.js";
import { WritePriority, writeQueueOf } from "./write-queue.js";

type Body = Omit<CheckRunInput, "name" | "headSha" | "externalId">;

/**
 * "Details" opens the job's page (its log); a run still in progress also says so in its summary.
 * A run that already links elsewhere (none does today) keeps its link.
 */
function withJobLink(body: Body, jobUrl: string | undefined): Body {
  if (!jobUrl || body.detailsUrl) return body;
  const live = body.status !== "completed" && body.output ? { output: { ...body.output, summary: `${body.output.summary}\n\n[Live log](${jobUrl}) of terraform's output.` } } : {};
  return { ...body, detailsUrl: jobUrl, ...live };
}

export class CheckReporter {
  /** Runs this reporter opened and has not completed yet (project runs by kind and key, aggregates by kind). */
  private readonly open = new Map<string, { kind: CheckKind; project?: Project }>();

  constructor(
    private readonly ctx: CommandContext,
    readonly headSha: string,
  ) {}

  /**
   * Create or update the check run `name` on the head commit; returns its id. The write waits in
   * the installation's write queue: a result goes before progress, and a newer body for the same
   * run replaces one not sent yet (see `write-queue.ts`).
   */
  private ensure(name: string, externalId: string, body: Body, opts: { fresh?: boolean } = {}): Promise<number> {
    body = withJobLink(body, this.ctx.jobUrl);
    const priority = body.status === "completed" ? WritePriority.result : WritePriority.progress;
    const key = `check-run:${this.ctx.repo.owner}/${this.ctx.repo.repo}@${this.headSha}:${name}`;
    return writeQueueOf(this.ctx.github).run(priority, () => this.ensureNow(name, externalId, body, opts), key);
  }

  /**
   * `fresh`: a new result, so a run completed earlier (by an earlier plan or apply) is not
   * overwritten but followed by a new one — the old run keeps showing what it showed, and its
   * buttons no longer match the project's current run.
   */
  private async ensureNow(name: string, externalId: string, body: Body, opts: { fresh?: boolean }): Promise<number> {
    const { store } = this.ctx.deps;
    // GitHub takes 50 annotations per request and adds each update's to the run's.
    const annotations = body.output?.annotations ?? [];
    const first = annotations.length > ANNOTATIONS_PER_REQUEST && body.output ? { ...body, output: { ...body.output, annotations: annotations.slice(0, ANNOTATIONS_PER_REQUEST) } } : body;
    const existing = await store.getCheckRun(this.ctx.repo, this.headSha, name);
    const reopen = existing?.status === "completed" && (body.status !== "completed" || opts.fresh === true);
    let id: number;
    if (existing && !reopen) {
      await this.ctx.github.updateCheckRun(existing.id, first);
      id = existing.id;
    } else {
      id = (await this.ctx.github.createCheckRun({ name, headSha: this.headSha, externalId, ...first })).id;
    }
    await store.setCheckRun(this.ctx.repo, this.headSha, name, { id, status: body.status });
    for (let i = ANNOTATIONS_PER_REQUEST; i < annotations.length && body.output; i += ANNOTATIONS_PER_REQUEST) {
      const { title, summary } = body.output;
      await this.ctx.github.updateCheckRun(id, { output: { title, summary, annotations: annotations.slice(i, i + ANNOTATIONS_PER_REQUEST) } });
    }
    return id;
  }

  private projectExternalId(kind: CheckKind, project: Project) {
    return encodeExternalId({ pullNumber: this.ctx.pullNumber, kind, project });
  }

  async projectStarted(kind: CheckKind, project: Project, detail?: string): Promise<number> {
    this.open.set(`${kind}:${projectKey(project)}`, { kind, project });
    return this.ensure(
      projectCheckName(kind, project),
      this.projectExternalId(kind, project),
      renderInProgressCheck(kind, project, detail),
    );
  }

  /**
   * A project's result. Plan runs are created with their result (there is no "in progress" run
   * per project), and an apply whose "in progress" write was overtaken by its result has none
   * either: a run completed before is an earlier result, which a fresh run follows.
   */
  async projectFinished(kind: CheckKind, result: ProjectResult, readiness?: Readiness): Promise<number> {
    this.open.delete(`${kind}:${projectKey(result.project)}`);
    const rendered = renderProjectCheck(result, { name: this.ctx.name, ...(readiness ? { readiness } : {}) });
    return this.ensure(projectCheckName(kind, result.project), this.projectExternalId(kind, result.project), rendered, { fresh: true });
  }

  /** The same result rendered again in its run (e.g. after a review changed its readiness). */
  async projectRerendered(kind: CheckKind, result: ProjectResult, readiness?: Readiness): Promise<number> {
    const rendered = renderProjectCheck(result, { name: this.ctx.name, ...(readiness ? { readiness } : {}) });
    return this.ensure(projectCheckName(kind, result.project), this.projectExternalId(kind, result.project), rendered);
  }

  /** A project waiting for another PR's lock: its plan run stays queued (branch protection waits). */
  async projectWaiting(project: Project, body: Body): Promise<number> {
    return this.ensure(projectCheckName("plan", project), this.projectExternalId("plan", project), body);
  }

  /**
   * A final body for work that did not finish (e.g. interrupted): the run left open is completed,
   * and where there is none — or only an earlier, completed result — a new run says so.
   */
  async projectEnded(kind: CheckKind, project: Project, body: Body): Promise<void> {
    this.open.delete(`${kind}:${projectKey(project)}`);
    await this.ensure(projectCheckName(kind, project), this.projectExternalId(kind, project), body, { fresh: true });
  }

  /** Overwrite a completed project run with a final body (e.g. "plan discarded"). */
  async projectReplaced(kind: CheckKind, project: Project, body: Body): Promise<void> {
    await this.ensure(projectCheckName(kind, project), this.projectExternalId(kind, project), body);
  }

  /**
   * Set `atoll/plan` and `atoll/apply` from the stored state of the PR's projects at this commit.
   * Only a plan knows that a commit has no projects: other callers pass `allowEmpty: false` (the
   * default), and nothing is written when no project was planned at this commit — a green
   * "0 projects" there would let a never-planned commit pass a required check.
   */
  async refreshAggregates(states: ProjectState[], opts: { allowEmpty?: boolean; kinds?: CheckKind[] } = {}): Promise<void> {
    const current = states.filter((s) => s.headSha === this.headSha);
    if (current.length === 0 && !opts.allowEmpty) return;
    // A project waiting for a lock counts as not planned yet.
    const rows = current.map((s) => ({
      project: s.project,
      plan: s.plan === "queued" ? ("pending" as const) : s.plan,
      hasChanges: s.hasChanges,
      apply: s.apply,
    }));
    // Both queued at once: the second need not wait for the first to be sent.
    await Promise.all(
      (opts.kinds ?? (["plan", "apply"] as const)).map((kind) => this.setAggregate(kind, renderAggregateCheck(kind, rows, this.ctx.name))),
    );
  }

  /** Set one aggregate run to an explicit body (config errors, discarded plans). */
  async setAggregate(kind: CheckKind, body: Body): Promise<void> {
    // "queued" is where an apply aggregate rests (waiting for an apply); only running work is open.
    if (body.status === "in_progress") this.open.set(kind, { kind });
    else this.open.delete(kind);
    await this.ensure(aggregateCheckName(kind), encodeExternalId({ pullNumber: this.ctx.pullNumber, kind }), body);
  }

  /**
   * After a crash, take GitHub's latest runs of this pull request at this commit as the ones to
   * update. A run created just before the crash never had its id saved: without this it would stay
   * "in progress" forever, with an older run updated in its place.
   */
  async adoptLatestRuns(): Promise<void> {
    const { store } = this.ctx.deps;
    for (const run of await this.ctx.github.listCheckRuns(this.headSha)) {
      const ref = decodeExternalId(run.externalId);
      if (!ref || ref.pullNumber !== this.ctx.pullNumber) continue;
      // Only a run named as Atoll names it is Atoll's (another app could copy an external id).
      if (run.name !== (ref.project ? projectCheckName(ref.kind, ref.project) : aggregateCheckName(ref.kind))) continue;
      const status = run.status === "completed" || run.status === "in_progress" ? run.status : "queued";
      const stored = await store.getCheckRun(this.ctx.repo, this.headSha, run.name);
      if (stored?.id === run.id && stored.status === status) continue;
      await store.setCheckRun(this.ctx.repo, this.headSha, run.name, { id: run.id, status });
    }
  }

  /** Complete every run this reporter left open, after an unexpected error. */
  async failOpenRuns(message: string): Promise<void> {
    const body: Body = { status: "completed", conclusion: "failure", output: { title: "Atoll hit an internal error", summary: message } };
    const runs = [...this.open.values()];
    this.open.clear();
    await Promise.all(
      runs.map(({ kind, project }) =>
        project ? this.ensure(projectCheckName(kind, project), this.projectExternalId(kind, project), body) : this.setAggregate(kind, body),
      ),
    );
  }
}
