import { errors, invalidParameter, jsonPreview, type GenerationRequest } from "../../core/index.ts";
import { decodeFeatures, decodeSampling, isObject, optionalBoolean, optionalString, wrongType, type JsonObject } from "../shared/index.ts";
import { decodeInputMessages } from "./messages.ts";

/** The answer's shape as the client asked for it; `resultFormat` absent = the server decides (see shape.ts). */
export interface RequestedShape {
  resultFormat?: "text" | "message";
  incrementalOutput: boolean;
  /** The multimodal endpoint: message content is always an array of parts. */
  multimodal?: boolean;
}

export interface DecodedGeneration {
  request: GenerationRequest;
  shape: RequestedShape;
}

function decodeShape(p: JsonObject): RequestedShape {
  const format = optionalString(p, "result_format", "result_format");
  if (format !== undefined && format !== "text" && format !== "message") {
    throw invalidParameter(`result_format must be "text" or "message", got ${jsonPreview(format)}.`);
  }
  const shape: RequestedShape = { incrementalOutput: optionalBoolean(p, "incremental_output", "incremental_output") ?? false };
  if (format !== undefined) shape.resultFormat = format;
  return shape;
}

/** Common envelope: a JSON object with a non-empty string `model`. */
export function decodeModelName(body: unknown): string {
  if (!isObject(body)) throw invalidParameter("The request body must be a JSON object.");
  const model = body.model;
  if (model === undefined || model === null || model === "") throw errors.emptyModel();
  if (typeof model !== "string") wrongType("model", "a string", model);
  return model;
}

export function decodeParameters(body: JsonObject): JsonObject {
  const p = body.parameters;
  if (p === undefined || p === null) return {};
  if (!isObject(p)) wrongType("parameters", "an object", p);
  return p;
}

/** Decodes a native text-generation body into the core request (protocol.md §3). */
export function decodeGeneration(body: unknown, requestId: string, endpoint: "text" | "multimodal" = "text"): DecodedGeneration {
  const model = decodeModelName(body);
  const envelope = body as JsonObject;
  const multimodal = endpoint === "multimodal";
  const messages = decodeInputMessages(envelope.input, multimodal);
  const p = decodeParameters(envelope);
  const sampling = decodeSampling(p);
  const shape = decodeShape(p);
  if (sampling.n > 1 && shape.resultFormat !== "message") {
    throw invalidParameter('Parameter n greater than 1 requires result_format "message".');
  }
  const features = decodeFeatures(p, "parameters.search_options");
  if (multimodal) {
    shape.multimodal = true;
    features.media = {
      highResolution: optionalBoolean(p, "vl_high_resolution_images", "vl_high_resolution_images") ?? false,
      returnImageSize: optionalBoolean(p, "vl_enable_image_hw_output", "vl_enable_image_hw_output") ?? false,
    };
  }
  return { request: { requestId, model, messages, sampling, features }, shape };
}
