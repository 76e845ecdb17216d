import { errors, invalidParameter, type ChatMessage } from "../../core/index.ts";
import { decodeMessages, EMPTY_MESSAGE, isObject, optionalString, wrongType, type JsonObject } from "../shared/index.ts";

/** Legacy `{history: [{user, bot}], prompt}` input as messages. */
export function decodeHistory(raw: unknown): ChatMessage[] {
  if (!Array.isArray(raw)) wrongType("input.history", "an array", raw);
  return raw.flatMap((turn: unknown, i): ChatMessage[] => {
    if (!isObject(turn)) wrongType(`input.history[${i}]`, "an object", turn);
    const user = optionalString(turn, "user", `input.history[${i}].user`) ?? "";
    const bot = optionalString(turn, "bot", `input.history[${i}].bot`) ?? "";
    if (user === "" || bot === "") throw invalidParameter(EMPTY_MESSAGE);
    return [
      { role: "user", content: [{ type: "text", text: user }] },
      { role: "assistant", content: [{ type: "text", text: bot }] },
    ];
  });
}

/**
 * `input` of the text-generation, multimodal and tokenizer APIs: messages, prompt, or legacy
 * history + prompt; media items are decoded only for the multimodal endpoint (`allowMedia`).
 */
export function decodeInputMessages(input: unknown, allowMedia = false): ChatMessage[] {
  if (input === undefined || input === null) throw errors.emptyInput();
  if (!isObject(input)) wrongType("input", "an object", input);
  const prompt = optionalString(input as JsonObject, "prompt", "input.prompt");
  const hasMessages = input.messages !== undefined && input.messages !== null;
  if (!hasMessages && (prompt === undefined || prompt === "")) {
    if (prompt === "") throw invalidParameter(EMPTY_MESSAGE);
    throw invalidParameter('Either "prompt" or "messages" must exist and cannot both be none');
  }
  const promptMessage: ChatMessage[] = prompt ? [{ role: "user", content: [{ type: "text", text: prompt }] }] : [];
  if (hasMessages) {
    if (Array.isArray(input.messages) && input.messages.length > 0 && promptMessage.length > 0) {
      return decodeMessages([...input.messages, { role: "user", content: prompt }], "input.messages", allowMedia);
    }
    return decodeMessages(input.messages, "input.messages", allowMedia);
  }
  const history = input.history === undefined || input.history === null ? [] : decodeHistory(input.history);
  return [...history, ...promptMessage];
}
