export { OpenAiUpstreamBackend, type UpstreamOptions } from "./backend.ts";
export { KIND_TRAITS, UPSTREAM_KINDS, type UpstreamKind } from "./kinds.ts";
export type { ReplicaConfig } from "../upstream/index.ts";
