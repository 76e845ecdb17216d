export { parseUpstreamJson } from "./payload.ts";
export { wireLogprobs, wireLogprobsSchema } from "./wireLogprobs.ts";
export { sseEvents, type SseEvent } from "./sseReader.ts";
export { UpstreamTransport, type StreamTranslator, type UpstreamModel } from "./transport.ts";
