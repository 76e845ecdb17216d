export { structuredOutputStage, answerSchema, JSON_WORD_MESSAGE, checkJsonObject } from "./responseFormat.ts";
export { gbnfLiteral, jsonSchemaGrammar } from "./gbnf.ts";
export { ANY_JSON_OBJECT, ANY_JSON_VALUE, prepareSchema, type PreparedSchema } from "./jsonSchema.ts";
