export { DashScopeUpstreamBackend } from "./backend.ts";
