export { OpenAiUpstreamBackend, type UpstreamOptions } from "./backend.ts";
export { UPSTREAM_KINDS, type UpstreamKind } from "./kinds.ts";
export type { ReplicaConfig } from "../upstream/index.ts";
