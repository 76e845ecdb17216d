import type { Stage } from "../core/index.ts";
import { checkJsonObject, structuredOutputStage } from "./structured/index.ts";
import { toolsStage } from "./tools/index.ts";

export {
  gbnfLiteral,
  jsonSchemaGrammar,
  prepareSchema,
  answerSchema,
  JSON_WORD_MESSAGE,
} from "./structured/index.ts";
export {
  toolCallSchema,
  toolsAsText,
  newToolCallId,
  TOOL_CALL_CLOSE,
  TOOL_CALL_OPEN,
} from "./tools/index.ts";
export { THINK_CLOSE, THINK_OPEN } from "./thinking/index.ts";
export { tokenLogprob, type DescribeToken } from "./logprobs/index.ts";

/**
 * The request checks and rewrites of tools and structured output, in order. The grammar
 * preparation stands in for engines without their own tool parsing and guided decoding.
 */
export const requestStages: readonly Stage[] = [
  { name: "json_object rule", validate: checkJsonObject },
  { name: "tools for the grammar engine", standsInFor: "tools", validate: toolsStage },
  { name: "structured output for the grammar engine", standsInFor: "structuredOutput", validate: structuredOutputStage },
];
export { OutputParser, type OutputPiece } from "./output/index.ts";
export * from "./moderation/index.ts";
