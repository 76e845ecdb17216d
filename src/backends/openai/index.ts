export { OpenAiUpstreamBackend } from "./backend.ts";
export { UPSTREAM_KINDS, type UpstreamKind } from "./kinds.ts";
