import type { RequestStage } from "../core/index.ts";
import { structuredOutputStage } from "./structured/index.ts";
import { toolsStage } from "./tools/index.ts";

export {
  gbnfLiteral,
  jsonSchemaGrammar,
  ANY_JSON_OBJECT,
  ANY_JSON_VALUE,
  prepareSchema,
  type PreparedSchema,
  answerSchema,
  JSON_WORD_MESSAGE,
  structuredOutputStage,
} from "./structured/index.ts";
export {
  parameterTypes,
  toolCallSchema,
  toolsStage,
  toolsAsText,
  toolsSystemText,
  newToolCallId,
  ToolCallParser,
  TOOL_CALL_CLOSE,
  TOOL_CALL_OPEN,
  type ParsedPiece,
} from "./tools/index.ts";
export { ReasoningSplitter, THINK_CLOSE, THINK_OPEN, type SplitPiece } from "./thinking/index.ts";
export { tokenLogprob, type DescribeToken } from "./logprobs/index.ts";

/** The prepare stages every request goes through, in order. */
export const requestStages: readonly RequestStage[] = [toolsStage, structuredOutputStage];
export { OutputParser, type OutputParserOptions, type OutputPiece } from "./output/index.ts";
export * from "./moderation/index.ts";
