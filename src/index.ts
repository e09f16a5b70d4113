/**
 * Package entry: the default export is the Probot app (`probot run ./lib/index.js`); the comment
 * parser and the config loader (`loadRepoConfig`, the same validation the server and
 * `atoll validate` use) are exported as pure functions for reuse and testing.
 */
import { createApp } from "./app.js";

export { createApp, type AppOverrides } from "./app.js";
export {
  parseComment,
  type ParseOptions,
  type ParseResult,
  type CommandRequest,
  type ReplyResult,
} from "./commands/parse-comment.js";

export {
  loadRepoConfig,
  type LoadRepoConfigOptions,
  type LoadRepoConfigResult,
  type RepoIdentity,
} from "./config/load-repo-config.js";
export { parseServerPolicy, loadServerPolicyFile } from "./config/server-policy.js";
export { formatConfigIssue } from "./config/yaml-reader.js";
export type { ResolvedRepoConfig, ProjectSettings } from "./config/apply-policy.js";
export type * from "./config/config-types.js";

export default createApp();
