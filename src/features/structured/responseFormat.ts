import { invalidParameter, type ChatMessage, type GenerationRequest, type JsonSchema, type ResponseFormat } from "../../core/index.ts";
import { ANY_JSON_OBJECT, prepareSchema } from "./jsonSchema.ts";

/** The real server's refusal when json_object is asked for but no message mentions JSON. */
export const JSON_WORD_MESSAGE = "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.";

function mentionsJson(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => m.content.some((part) => part.type === "text" && /json/i.test(part.text)));
}

/** The schema the answer must satisfy: any object for json_object, the client's schema otherwise. */
export function answerSchema(format: ResponseFormat): JsonSchema {
  return format.type === "json_object" ? ANY_JSON_OBJECT : format.schema;
}

function schemaInstruction(format: Extract<ResponseFormat, { type: "json_schema" }>): string {
  const about = format.description ? ` (${format.description})` : "";
  return `Answer with a single JSON value "${format.name}"${about} that conforms to this JSON Schema, and nothing else:\n${JSON.stringify(format.schema)}`;
}

/** Adds the schema to the system message, so the model knows what the grammar will hold it to. */
function withInstruction(messages: readonly ChatMessage[], text: string): ChatMessage[] {
  const first = messages[0];
  if (first?.role === "system") {
    return [{ ...first, content: [...first.content, { type: "text", text: `\n\n${text}` }] }, ...messages.slice(1)];
  }
  return [{ role: "system", content: [{ type: "text", text }] }, ...messages];
}

/** The real server's json_object rule, whatever engine serves the model: some message must mention JSON. */
export function checkJsonObject(request: GenerationRequest): GenerationRequest {
  if (request.features.responseFormat?.type === "json_object" && !mentionsJson(request.messages)) throw invalidParameter(JSON_WORD_MESSAGE);
  return request;
}

/**
 * Stands in for guided decoding on the grammar engine: a json_schema is checked and rewritten for
 * it (strict schemas refuse what the grammar cannot enforce), and shown to the model in the system
 * prompt. Engines with their own guided decoding take the schema as the client sent it instead.
 */
export function structuredOutputStage(request: GenerationRequest): GenerationRequest {
  const format = request.features.responseFormat;
  if (format?.type !== "json_schema") return request;
  const prepared = prepareSchema(format.schema, { strict: format.strict, field: "response_format.json_schema.schema" });
  const rewritten = { ...format, schema: prepared.schema };
  return {
    ...request,
    messages: withInstruction(request.messages, schemaInstruction(format)),
    features: { ...request.features, responseFormat: rewritten },
  };
}
