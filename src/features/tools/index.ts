export { toolsStage, toolCallSchema } from "./toolSchema.ts";
export { toolsAsText } from "./hermesPrompt.ts";
export { newToolCallId, ToolCallParser, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, type ToolParameterTypes } from "./toolCallParser.ts";
