import {
  clipText,
  invalidParameter,
  jsonPreview,
  type CitationFormat,
  type RequestedFeatures,
  type ResponseFormat,
  type SearchRequest,
  type SearchStrategy,
  type ToolChoice,
  type ToolDefinition,
} from "../../core/index.ts";
import { isObject, optionalBoolean, optionalNumber, optionalString, wrongType, type JsonObject } from "./validate.ts";

/** Tool and schema names: letters, digits, underscores and hyphens, at most 64 (API reference). */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The real server's messages. */
export const TOOL_CHOICE_MESSAGE = 'tool_choice is one of the strings that should be ["none", "auto"]';
export function unknownResponseFormatMessage(type: unknown): string {
  return `Unknown format of response_format, response_format should be a dict, includes 'type' and an optional key 'json_schema'. The response_format type from user is ${typeof type === "string" ? clipText(type) : jsonPreview(type ?? null)}.`;
}

function decodeTool(raw: unknown, i: number): ToolDefinition {
  const field = `tools[${i}]`;
  if (!isObject(raw)) wrongType(field, "an object", raw);
  if (raw.type !== undefined && raw.type !== "function") {
    throw invalidParameter(`${field}.type must be "function", got ${jsonPreview(raw.type)}.`);
  }
  if (!isObject(raw.function)) wrongType(`${field}.function`, "an object", raw.function);
  const fn = raw.function;
  const name = optionalString(fn, "name", `${field}.function.name`);
  if (name === undefined || !NAME.test(name)) {
    throw invalidParameter(`${field}.function.name must be 1 to 64 letters, digits, underscores or hyphens, got ${jsonPreview(name ?? null)}.`);
  }
  const description = optionalString(fn, "description", `${field}.function.description`);
  const parameters = fn.parameters ?? {};
  if (!isObject(parameters)) wrongType(`${field}.function.parameters`, "an object (a JSON Schema)", parameters);
  const tool: ToolDefinition = { name, parameters };
  if (description !== undefined) tool.description = description;
  return tool;
}

function decodeTools(value: unknown): ToolDefinition[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) wrongType("tools", "an array", value);
  if (value.length === 0) return undefined;
  const tools = value.map(decodeTool);
  const seen = new Set<string>();
  for (const tool of tools) {
    if (seen.has(tool.name)) throw invalidParameter(`tools: the function name ${jsonPreview(tool.name)} is used twice.`);
    seen.add(tool.name);
  }
  return tools;
}

function decodeToolChoice(value: unknown, tools: ToolDefinition[] | undefined): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === "auto" || value === "none") return { type: value };
  if (!isObject(value)) throw invalidParameter(TOOL_CHOICE_MESSAGE);
  const name = isObject(value.function) ? value.function.name : undefined;
  if ((value.type !== undefined && value.type !== "function") || typeof name !== "string") {
    throw invalidParameter('tool_choice must be "auto", "none" or {"type": "function", "function": {"name": "<tool name>"}}.');
  }
  if (!tools?.some((t) => t.name === name)) {
    throw invalidParameter(`tool_choice names the function ${jsonPreview(name)}, which is not among the tools.`);
  }
  return { type: "function", name };
}

function decodeResponseFormat(value: unknown): ResponseFormat | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidParameter(unknownResponseFormatMessage(value));
  const type = value.type;
  if (type === "text") return undefined;
  if (type === "json_object") return { type };
  if (type !== "json_schema") throw invalidParameter(unknownResponseFormatMessage(type));
  const spec = value.json_schema;
  if (!isObject(spec)) throw invalidParameter('response_format of type "json_schema" needs a "json_schema" object with a "name" and a "schema".');
  const name = optionalString(spec, "name", "response_format.json_schema.name");
  if (name === undefined || !NAME.test(name)) {
    throw invalidParameter(`response_format.json_schema.name must be 1 to 64 letters, digits, underscores or hyphens, got ${jsonPreview(name ?? null)}.`);
  }
  const schema = spec.schema ?? { type: "object", additionalProperties: true };
  if (!isObject(schema)) wrongType("response_format.json_schema.schema", "an object (a JSON Schema)", schema);
  const format: ResponseFormat = {
    type,
    name,
    schema,
    strict: optionalBoolean(spec, "strict", "response_format.json_schema.strict") ?? false,
  };
  const description = optionalString(spec, "description", "response_format.json_schema.description");
  if (description !== undefined) format.description = description;
  return format;
}

const CITATION_FORMATS: readonly CitationFormat[] = ["[<number>]", "[ref_<number>]"];
const SEARCH_STRATEGIES: readonly SearchStrategy[] = ["turbo", "standard", "max", "agent"];

function oneOf<T extends string>(obj: JsonObject, key: string, field: string, allowed: readonly T[], fallback: T): T {
  const value = optionalString(obj, key, field);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidParameter(`Parameter ${field} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${jsonPreview(value)}.`);
  }
  return value as T;
}

/**
 * `search_options` with the reference's defaults: forced_search false, enable_source false,
 * enable_citation false, citation_format "[<number>]", search_strategy "turbo",
 * prepend_search_result false, enable_search_extension false. Unknown keys are ignored.
 */
function decodeSearchOptions(value: unknown, field: string): SearchRequest {
  if (value === undefined || value === null) value = {};
  if (!isObject(value)) wrongType(field, "an object", value);
  const flag = (key: string) => optionalBoolean(value, key, `${field}.${key}`) ?? false;
  return {
    forced: flag("forced_search"),
    enableSource: flag("enable_source"),
    enableCitation: flag("enable_citation"),
    citationFormat: oneOf(value, "citation_format", `${field}.citation_format`, CITATION_FORMATS, "[<number>]"),
    strategy: oneOf(value, "search_strategy", `${field}.search_strategy`, SEARCH_STRATEGIES, "turbo"),
    prependSearchResult: flag("prepend_search_result"),
    enableSearchExtension: flag("enable_search_extension"),
  };
}

/**
 * Tools, thinking, structured output, logprobs and search parameters (protocol.md §3.4, reference).
 * `searchOptionsField` is where the dialect keeps `search_options`, as its errors name it.
 */
export function decodeFeatures(p: JsonObject, searchOptionsField: string): RequestedFeatures {
  const features: RequestedFeatures = {};
  const tools = decodeTools(p.tools);
  if (tools) features.tools = tools;
  const toolChoice = decodeToolChoice(p.tool_choice, tools);
  if (toolChoice && tools) features.toolChoice = toolChoice;
  const parallel = optionalBoolean(p, "parallel_tool_calls", "parallel_tool_calls");
  if (parallel !== undefined) features.parallelToolCalls = parallel;
  const thinking = optionalBoolean(p, "enable_thinking", "enable_thinking");
  // The budget's upper bound is the model's; the pipeline checks it against the served model.
  const budget = optionalNumber(p, "thinking_budget", "thinking_budget", { integer: true });
  if (thinking !== undefined || budget !== undefined) {
    features.thinking = {};
    if (thinking !== undefined) features.thinking.enabled = thinking;
    if (budget !== undefined) features.thinking.budget = budget;
  }
  const format = decodeResponseFormat(p.response_format);
  if (format) features.responseFormat = format;
  const logprobs = optionalBoolean(p, "logprobs", "logprobs");
  const top = optionalNumber(p, "top_logprobs", "top_logprobs", { min: 0, max: 5, integer: true });
  // top_logprobs only takes effect with logprobs (reference): ignored otherwise.
  if (logprobs) features.logprobs = { topLogprobs: top ?? 0 };
  if (optionalBoolean(p, "enable_search", "enable_search")) features.search = decodeSearchOptions(p.search_options, searchOptionsField);
  return features;
}
