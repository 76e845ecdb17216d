export { ReplicaPool, type ReplicaConfig, type ReplicaState } from "./replicaPool.ts";
export { wireLogprobs } from "./wireLogprobs.ts";
export { sseData, sseEvents, type SseEvent } from "./sseReader.ts";
export { UpstreamTransport, type StreamTranslator, type TransportOptions, type UpstreamModel, type UpstreamTimings } from "./transport.ts";
