import { invalidParameter, jsonPreview, type SamplingParams, type StopConditions } from "../../core/index.ts";
import { isObject, optionalNumber, wrongType, type JsonObject } from "./validate.ts";

/** Sampling parameters: both dialects use the same names (top level in OpenAI's body, under `parameters` in DashScope's). */

const SEED_MAX = 2 ** 31 - 1;

/** The real server's message for a malformed `stop` (error-code reference). */
export const STOP_TYPE_MESSAGE =
  'The "stop" parameter must be of type "str", "list[str]", "list[int]", or "list[list[int]]", and all elements within the list must be of the same type.';

function decodeStop(value: unknown): StopConditions {
  const stop: StopConditions = { strings: [], tokenIds: [] };
  if (value === undefined || value === null) return stop;
  if (typeof value === "string") {
    if (value !== "") stop.strings.push(value);
    return stop;
  }
  if (!Array.isArray(value)) throw invalidParameter(STOP_TYPE_MESSAGE);
  const isTokenId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  const isIdList = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every(isTokenId);
  if (value.every((v) => typeof v === "string")) stop.strings = (value as string[]).filter((s) => s !== "");
  else if (value.every(isIdList)) stop.tokenIds = value as number[][];
  else if (value.every(isTokenId)) stop.tokenIds = (value as number[]).map((id) => [id]);
  else throw invalidParameter(STOP_TYPE_MESSAGE);
  return stop;
}

/** `logit_bias`: `{"<token id>": bias}` with bias in [-100, 100], as in OpenAI's API (capture roleplay-nosse). */
function decodeLogitBias(value: unknown): [number, number][] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) wrongType("logit_bias", "an object mapping token ids to biases", value);
  const entries = Object.entries(value).map(([key, bias]): [number, number] => {
    if (!/^\d+$/.test(key)) throw invalidParameter(`logit_bias keys must be token ids (non-negative integers), got ${jsonPreview(key)}.`);
    if (typeof bias !== "number" || !Number.isFinite(bias) || bias < -100 || bias > 100) {
      throw invalidParameter(`logit_bias[${key}] must be a number in [-100, 100], got ${jsonPreview(bias)}.`);
    }
    return [Number(key), bias];
  });
  return entries.length > 0 ? entries : undefined;
}

export function decodeSampling(p: JsonObject): SamplingParams {
  const maxTokens = (key: string) => optionalNumber(p, key, key, { min: 1, integer: true, rangeMessage: `Range of ${key} should be [1, +inf)` });
  const sampling: SamplingParams = {
    temperature: optionalNumber(p, "temperature", "temperature", {
      min: 0,
      max: 2,
      maxExclusive: true,
      rangeMessage: "Temperature should be in [0.0, 2.0)",
      typeMessage: "'temperature' must be Float",
    }),
    topP: optionalNumber(p, "top_p", "top_p", {
      min: 0,
      max: 1,
      minExclusive: true,
      rangeMessage: "Range of top_p should be (0.0, 1.0]",
      typeMessage: "'top_p' must be Float",
    }),
    seed: optionalNumber(p, "seed", "seed", {
      min: 0,
      max: SEED_MAX,
      integer: true,
      rangeMessage: `Range of seed should be [0, ${SEED_MAX}]`,
    }),
    repetitionPenalty: optionalNumber(p, "repetition_penalty", "repetition_penalty", {
      min: 0,
      minExclusive: true,
      rangeMessage: "Repetition_penalty should be greater than 0.0",
    }),
    presencePenalty: optionalNumber(p, "presence_penalty", "presence_penalty", {
      min: -2,
      max: 2,
      rangeMessage: "Presence_penalty should be in [-2.0, 2.0]",
    }),
    frequencyPenalty: optionalNumber(p, "frequency_penalty", "frequency_penalty", {
      min: -2,
      max: 2,
      rangeMessage: "Frequency_penalty should be in [-2.0, 2.0]",
    }),
    maxTokens: maxTokens("max_tokens") ?? maxTokens("max_completion_tokens"),
    stop: decodeStop(p.stop),
    n: optionalNumber(p, "n", "n", { min: 1, max: 4, integer: true, rangeMessage: "Range of n should be [1, 4]" }) ?? 1,
  };
  const topK = optionalNumber(p, "top_k", "top_k", {
    min: 0,
    integer: true,
    rangeMessage: "Parameter top_k be greater than or equal to 0",
  });
  const logitBias = decodeLogitBias(p.logit_bias);
  if (logitBias) sampling.logitBias = logitBias;
  // DashScope: top_k of 0, null, absent, or above 100 disables top-k sampling.
  if (topK !== undefined) sampling.topK = topK > 100 ? 0 : topK;
  return sampling;
}
