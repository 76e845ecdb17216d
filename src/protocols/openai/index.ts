export { decodeChatCompletion, type ChatCompletionShape } from "./decode.ts";
export {
  ChatCompletionChunkEncoder,
  chatCompletionBody,
  completionIdentity,
  dataFrame,
  type ChatCompletionContent,
} from "./encode.ts";
export { ChoiceStates } from "../shared/index.ts";
export { openAiErrorBody, openAiStatus } from "./errors.ts";

/** OpenAI-compatible paths (the SDKs' base URL is `<root>/compatible-mode/v1`). */
export const OPENAI_PATHS = {
  prefix: "/compatible-mode/",
  chatCompletions: "/compatible-mode/v1/chat/completions",
  models: "/compatible-mode/v1/models",
} as const;
