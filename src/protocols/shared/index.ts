/**
 * What the dialects share: typed readers for untrusted JSON and the decoders of the parameters
 * both dialects spell alike (messages, sampling, features). Each reader takes the field path its
 * dialect uses, so a client's error names the field as that client sent it.
 */
export { ChoiceStates, sumUsage, usageOnTheWire, type ToolCallState } from "./choiceState.ts";
export { decodeFeatures, TOOL_CHOICE_MESSAGE, unknownResponseFormatMessage } from "./features.ts";
export { decodeMessages, EMPTY_MESSAGE } from "./messages.ts";
export { decodeSampling, STOP_TYPE_MESSAGE } from "./sampling.ts";
export { isObject, optionalBoolean, optionalString, wrongType, type JsonObject } from "./validate.ts";
