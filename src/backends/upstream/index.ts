export type { ReplicaConfig } from "./replicaPool.ts";
export { wireLogprobs } from "./wireLogprobs.ts";
export { sseEvents, type SseEvent } from "./sseReader.ts";
export { UpstreamTransport, type StreamTranslator, type UpstreamModel, type UpstreamTimings } from "./transport.ts";
