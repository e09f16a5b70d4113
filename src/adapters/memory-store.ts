/**
 * In-memory Store. Correct within one process; everything is lost on restart (durable storage
 * is a separate Store implementation).
 */
import { projectKey, type Project } from "../projects/project.js";
import type { CheckRunRecord, ProjectState, RepoRef, Store } from "../ports/store.js";

function pullKey(repo: RepoRef, pullNumber: number): string {
  return `${repo.owner}/${repo.repo}#${pullNumber}`.toLowerCase();
}

export function createMemoryStore(): Store {
  const projects = new Map<string, Map<string, ProjectState>>();
  const checkRuns = new Map<string, CheckRunRecord>();
  const copy = (s: ProjectState): ProjectState => structuredClone(s);

  return {
    async listProjects(repo, pullNumber) {
      return [...(projects.get(pullKey(repo, pullNumber))?.values() ?? [])].map(copy);
    },
    async upsertProject(repo, pullNumber, state) {
      const key = pullKey(repo, pullNumber);
      const map = projects.get(key) ?? new Map<string, ProjectState>();
      map.set(projectKey(state.project), copy(state));
      projects.set(key, map);
    },
    async removeProjects(repo, pullNumber, which?: Project[]) {
      const key = pullKey(repo, pullNumber);
      const map = projects.get(key);
      if (!map) return [];
      const removed: ProjectState[] = [];
      for (const [k, s] of [...map.entries()]) {
        if (!which || which.some((p) => projectKey(p) === k)) {
          removed.push(s);
          map.delete(k);
        }
      }
      return removed;
    },
    async getCheckRun(repo, headSha, name) {
      const r = checkRuns.get(`${repo.owner}/${repo.repo}@${headSha}:${name}`.toLowerCase());
      return r && { ...r };
    },
    async setCheckRun(repo, headSha, name, record) {
      checkRuns.set(`${repo.owner}/${repo.repo}@${headSha}:${name}`.toLowerCase(), { ...record });
    },
    async deletePull(repo, pullNumber) {
      projects.delete(pullKey(repo, pullNumber));
    },
  };
}
