/**
 * Package entry: the default export is the Probot app (`probot run ./lib/index.js`); the comment
 * parser is exported as a pure function for reuse and testing.
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

export default createApp();
