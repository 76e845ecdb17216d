export { structuredOutputStage, answerSchema, JSON_WORD_MESSAGE, checkJsonObject } from "./responseFormat.ts";
export { gbnfLiteral, jsonSchemaGrammar } from "./gbnf.ts";
export { prepareSchema } from "./jsonSchema.ts";
