import type { TokenizeInput, TokenizeResult } from "../../core/index.ts";
import { decodeModelName } from "./decode.ts";
import { decodeInputMessages } from "./messages.ts";
import type { JsonObject } from "../shared/index.ts";

export interface DecodedTokenize {
  model: string;
  input: TokenizeInput;
}

/** `POST /api/v1/tokenizer` body (protocol.md §8): same `input` forms as generation. */
export function decodeTokenize(body: unknown): DecodedTokenize {
  const model = decodeModelName(body);
  const input = (body as JsonObject).input as JsonObject | undefined;
  const messages = decodeInputMessages(input);
  const onlyPrompt = typeof input?.prompt === "string" && (input.messages === undefined || input.messages === null) && !input.history;
  return { model, input: onlyPrompt ? { prompt: input!.prompt as string } : { messages } };
}

export function encodeTokenize(result: TokenizeResult, requestId: string): object {
  return {
    output: { token_ids: result.tokenIds, tokens: result.tokens, prompt: result.prompt },
    usage: { input_tokens: result.tokenIds.length },
    request_id: requestId,
  };
}
