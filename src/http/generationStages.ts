import { mediaParts, invalidParameter, type Stage } from "../core/index.ts";
import { expandFileReferences } from "../features/documents/index.ts";
import { inspectInput, inspectOutput, parseInspectionHeader, type InspectionRequest, type Moderator } from "../features/index.ts";
import { type MediaFetcher, prepareMedia, withMediaUsage, type MediaTokens } from "../features/media/index.ts";
import { searchingGeneration, type SearchProvider } from "../features/search/index.ts";
import type { Caller, FileService } from "../gateway/index.ts";

/*
 * The server's own stages, made per request from its configuration and the request's headers.
 * Listed in their order (see GenerationFlow.stages): prepare runs them top down; their transforms
 * wrap generation so that the first one listed sees the events last.
 */

/** qwen-long's `fileid://` references in system messages, replaced by the documents' text. */
export function documentsStage(files: FileService, caller: Caller): Stage {
  return { name: "documents", prepare: (request) => expandFileReferences(request, files.textReader(caller)) };
}

/**
 * Media of the multimodal endpoint: refused up front where no intake is configured; fetched
 * (SSRF-safe, `data:`, `oss://` with `X-DashScope-OssResourceResolve`) and decoded after cheap
 * admission; their tokens added to every event's usage.
 */
export function mediaStage(fetcher: MediaFetcher | undefined, ossResolve: boolean): Stage {
  let tokens: MediaTokens | undefined;
  return {
    name: "media",
    validate(request) {
      if (!fetcher && mediaParts(request.messages).length > 0) throw invalidParameter("Media input is not enabled on this server.");
      return request;
    },
    async prepare(request) {
      if (!fetcher || mediaParts(request.messages).length === 0) return request;
      const prepared = await prepareMedia(request, { fetcher, ossResolve });
      tokens = prepared.tokens;
      return prepared.request;
    },
    transform: (generate) => {
      const counted = tokens;
      return counted ? (request, signal) => withMediaUsage(generate(request, signal), counted) : generate;
    },
  };
}

/**
 * DataInspection (`X-DashScope-DataInspection`, or always when configured so): the header checked
 * up front, the input moderated once prepared, the output as it streams.
 */
export function inspectionStage(inspection: { moderator: Moderator; always: boolean } | undefined, header: string | undefined): Stage {
  let sides: InspectionRequest = { input: false, output: false };
  return {
    name: "data inspection",
    validate(request) {
      const asked = parseInspectionHeader(header);
      const always = inspection?.always === true;
      sides = { input: asked.input || always, output: asked.output || always };
      if (!inspection && (sides.input || sides.output)) {
        throw invalidParameter("X-DashScope-DataInspection was requested, but this server has no moderation configured (data_inspection in its config).");
      }
      return request;
    },
    async prepare(request) {
      if (inspection && sides.input) await inspectInput(inspection.moderator, request.messages);
      return request;
    },
    transform: (generate) => {
      if (!inspection || !sides.output) return generate;
      const moderator = inspection.moderator;
      return (request, signal) => inspectOutput(generate(request, signal), moderator, request.messages);
    },
  };
}

/** Web search (`enable_search`): up front or as the model decides; the sources and citations ride on the answer. */
export function searchStage(provider: SearchProvider): Stage {
  return {
    name: "web search",
    transform: (generate, context) => (request, signal) =>
      searchingGeneration(request, generate, provider, signal, { toolCalling: context.route.backend.capabilities.tools !== false }),
  };
}
