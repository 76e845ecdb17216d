export { ReplicaPool, type ReplicaConfig, type ReplicaState } from "./replicaPool.ts";
export { sseData, sseEvents, type SseEvent } from "./sseReader.ts";
export { UpstreamTransport, type StreamTranslator, type TransportOptions } from "./transport.ts";
