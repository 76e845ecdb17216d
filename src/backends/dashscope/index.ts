export { DashScopeUpstreamBackend, type DashScopeUpstreamOptions } from "./backend.ts";
