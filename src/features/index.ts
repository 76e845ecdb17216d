import type { Stage } from "../core/stage.ts";
import { checkJsonObject, structuredOutputStage } from "./structured/responseFormat.ts";
import { toolsStage } from "./tools/toolSchema.ts";

export { gbnfLiteral, jsonSchemaGrammar } from "./structured/gbnf.ts";
export { ANY_JSON_OBJECT, ANY_JSON_VALUE, prepareSchema, type PreparedSchema } from "./structured/jsonSchema.ts";
export { answerSchema, JSON_WORD_MESSAGE } from "./structured/responseFormat.ts";
export { toolCallSchema } from "./tools/toolSchema.ts";
export { toolsAsText, toolsSystemText } from "./tools/hermesPrompt.ts";
export { newToolCallId, ToolCallParser, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, type ParsedPiece } from "./tools/toolCallParser.ts";
export { ReasoningSplitter, THINK_CLOSE, THINK_OPEN, type SplitPiece } from "./thinking/reasoningSplitter.ts";
export { tokenLogprob, type DescribeToken } from "./logprobs/tokenLogprob.ts";

/**
 * The request checks and rewrites of tools and structured output, in order. The grammar
 * preparation stands in for engines without their own tool parsing and guided decoding.
 */
export const requestStages: readonly Stage[] = [
  { name: "json_object rule", validate: checkJsonObject },
  { name: "tools for the grammar engine", standsInFor: "tools", validate: toolsStage },
  { name: "structured output for the grammar engine", standsInFor: "structuredOutput", validate: structuredOutputStage },
];
export { OutputParser, type OutputParserOptions, type OutputPiece } from "./output/outputParser.ts";
export * from "./moderation/index.ts";
