import type { EngineEvent, GenerationRequest, MediaPart } from "../../core/index.ts";
import { prepareAudio } from "./audio.ts";
import type { MediaFetcher } from "./fetch.ts";
import { prepareImage } from "./image.ts";
import { prepareVideoFrames, sampleVideo } from "./video.ts";
import { imageRules, videoRules } from "./vision.ts";

/** Input tokens of a request's media, by kind (reported in `usage.image_tokens` etc.). */
export interface MediaTokens {
  image: number;
  video: number;
  audio: number;
}

export interface IntakeOptions {
  fetcher: MediaFetcher;
  /** The request sent `X-DashScope-OssResourceResolve: enable`: `oss://` keys from the upload flow resolve. */
  ossResolve: boolean;
}

async function preparePart(part: MediaPart, model: string, request: GenerationRequest, options: IntakeOptions): Promise<MediaPart> {
  const fetch = (source: string, kind: "image" | "video" | "audio") => options.fetcher.fetch(source, kind, { ossResolve: options.ossResolve });
  switch (part.type) {
    case "image": {
      const { bytes } = await fetch(part.source, "image");
      const rules = imageRules(model, { ...part.options, highResolution: request.features.media?.highResolution ?? false });
      const image = await prepareImage(bytes, rules);
      return { ...part, prepared: { mimeType: image.mimeType, data: image.bytes, width: image.width, height: image.height, tokens: image.tokens } };
    }
    case "video": {
      const rules = videoRules(model, part.options);
      if (Array.isArray(part.source)) {
        const video = await prepareVideoFrames(await Promise.all(part.source.map(async (frame) => (await fetch(frame, "image")).bytes)), rules);
        const frames = video.frames.map((data) => ({ mimeType: video.mimeType, data }));
        return { ...part, prepared: { frames, width: video.width, height: video.height, tokens: video.tokens } };
      }
      const file = await fetch(part.source, "video");
      const video = await sampleVideo(file.bytes, rules);
      const frames = video.frames.map((data) => ({ mimeType: video.mimeType, data }));
      return {
        ...part,
        prepared: { frames, file: { mimeType: file.contentType, data: file.bytes }, width: video.width, height: video.height, tokens: video.tokens },
      };
    }
    case "audio": {
      const audio = await prepareAudio((await fetch(part.source, "audio")).bytes);
      return { ...part, prepared: { mimeType: "audio/wav", data: audio.wav16kMono, durationSeconds: audio.durationSeconds, tokens: audio.tokens } };
    }
  }
}

/**
 * Fetches (SSRF-safe, `data:`, `oss://`) and prepares every media part of a request with the
 * Qwen-VL rules of the model the client named (resize to the patch grid, video frames sampled at
 * `fps` within `total_pixels`, audio resampled to 16 kHz mono), counting their tokens. Media
 * the rules refuse throw a VisionInputError (400), a failing ffmpeg a MediaProcessError (503):
 * RegisteredErrors, made into their registered errors where the request is answered.
 */
export async function prepareMedia(request: GenerationRequest, options: IntakeOptions): Promise<{ request: GenerationRequest; tokens: MediaTokens }> {
  const tokens: MediaTokens = { image: 0, video: 0, audio: 0 };
  const messages = [];
  for (const message of request.messages) {
    const content = [];
    for (const part of message.content) {
      if (part.type === "text") {
        content.push(part);
        continue;
      }
      const prepared = await preparePart(part, request.model, request, options);
      tokens[prepared.type] += prepared.prepared?.tokens ?? 0;
      content.push(prepared);
    }
    messages.push({ ...message, content });
  }
  return { request: { ...request, messages }, tokens };
}

/** Adds the media token counts to every event's usage (`usage.image_tokens`, …, on the wire). */
export async function* withMediaUsage(events: AsyncIterable<EngineEvent>, tokens: MediaTokens): AsyncGenerator<EngineEvent> {
  const counts = {
    ...(tokens.image > 0 ? { imageTokens: tokens.image } : {}),
    ...(tokens.video > 0 ? { videoTokens: tokens.video } : {}),
    ...(tokens.audio > 0 ? { audioTokens: tokens.audio } : {}),
  };
  for await (const event of events) yield { ...event, usage: { ...event.usage, ...counts } };
}
