/**
 * Per-API-key rate limits (requests/min, tokens/min, requests in flight): the interface, an
 * in-memory implementation for one gateway instance, a Redis one for several, and the shared
 * sliding-window math both use.
 */

export type { LimitCounters, LimitKind } from "./types.ts";
export { MemoryLimitCounters } from "./memory.ts";
export { RedisLimitCounters } from "./redis.ts";
