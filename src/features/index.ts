import type { RequestStage } from "../core/pipeline.ts";
import { structuredOutputStage } from "./structured/responseFormat.ts";
import { toolsStage } from "./tools/toolSchema.ts";

export { gbnfLiteral, jsonSchemaGrammar } from "./structured/gbnf.ts";
export { ANY_JSON_OBJECT, ANY_JSON_VALUE, prepareSchema, type PreparedSchema } from "./structured/jsonSchema.ts";
export { answerSchema, JSON_WORD_MESSAGE, structuredOutputStage } from "./structured/responseFormat.ts";
export { toolCallSchema, toolsStage } from "./tools/toolSchema.ts";
export { toolsAsText, toolsSystemText } from "./tools/hermesPrompt.ts";
export { newToolCallId, ToolCallParser, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, type ParsedPiece } from "./tools/toolCallParser.ts";
export { ReasoningSplitter, THINK_CLOSE, THINK_OPEN, type SplitPiece } from "./thinking/reasoningSplitter.ts";
export { tokenLogprob, type DescribeToken } from "./logprobs/tokenLogprob.ts";

/** The prepare stages every request goes through, in order. */
export const requestStages: readonly RequestStage[] = [toolsStage, structuredOutputStage];
export { OutputParser, type OutputParserOptions, type OutputPiece } from "./output/outputParser.ts";
export * from "./moderation/index.ts";
