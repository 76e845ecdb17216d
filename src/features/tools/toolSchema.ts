import { invalidParameter, type GenerationRequest, type JsonSchema, type ToolDefinition } from "../../core/index.ts";
import { prepareSchema } from "../structured/index.ts";

/**
 * JSON Schema of one hermes tool call body, `{"name": <tool>, "arguments": {...}}`, for the
 * tools given (one of them when several). A grammar built from it makes every finished call name
 * a known tool with arguments that parse and fit that tool's schema.
 */
export function toolCallSchema(tools: readonly ToolDefinition[]): JsonSchema {
  const calls = tools.map((tool) => ({
    type: "object",
    properties: { name: { const: tool.name }, arguments: tool.parameters },
    required: ["name", "arguments"],
  }));
  if (calls.length === 0) throw new Error("toolCallSchema: no tools");
  return calls.length === 1 ? calls[0]! : { oneOf: calls };
}

/** A tool's parameters schema when it leaves them out or gives no properties: no arguments, `{}`. */
const NO_ARGUMENTS: JsonSchema = { type: "object", properties: {} };

function argumentsSchema(tool: ToolDefinition, i: number): JsonSchema {
  const parameters = tool.parameters;
  if (Object.keys(parameters).length === 0) return NO_ARGUMENTS;
  if (parameters.type !== undefined && parameters.type !== "object") {
    throw invalidParameter(`tools[${i}].function.parameters must describe an object (type "object"), got type ${JSON.stringify(parameters.type)}.`);
  }
  // Keywords the grammar cannot enforce are left out of it: tool arguments are best effort, like the real server's.
  return prepareSchema({ ...parameters, type: "object" }, { strict: false, field: `tools[${i}].function.parameters` }).schema;
}

/** Request stage for tools: each tool's parameters rewritten for the grammar engine. */
export function toolsStage(request: GenerationRequest): GenerationRequest {
  const tools = request.features.tools;
  if (tools === undefined) return request;
  return {
    ...request,
    features: { ...request.features, tools: tools.map((tool, i) => ({ ...tool, parameters: argumentsSchema(tool, i) })) },
  };
}
