/** The PR comment and check-run text for a repo config Atoll cannot use. */
import type { ConfigIssue } from "../config/repo-config.js";

export function renderConfigIssues(issues: ConfigIssue[]): string {
  return issues
    .map((i) => {
      const where = [i.line !== undefined ? `line ${i.line}` : "", i.path ? `\`${i.path}\`` : ""].filter(Boolean).join(", ");
      return `- \`${i.file}\`${where ? ` ${where}` : ""}: ${i.message}`;
    })
    .join("\n");
}

export function renderConfigErrorComment(file: string, headSha: string, issues: ConfigIssue[], name: string): string {
  return [
    `**Atoll could not use \`${file}\`** at commit ${headSha.slice(0, 7)}, so no Terraform ran.`,
    "",
    renderConfigIssues(issues),
    "",
    `Fix the file and push; the pull request is planned again automatically (or comment \`${name} plan\`).`,
  ].join("\n");
}
