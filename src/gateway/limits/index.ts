/**
 * Per-API-key rate limits (requests/min, tokens/min, requests in flight): the interface, an
 * in-memory implementation for one gateway instance, a Redis one for several, and the shared
 * sliding-window math both use.
 */

export type { Admission, AdmitResult, KeyLimits, LimitCounters, LimitKind, Settlement } from "./types.ts";
export { MemoryLimitCounters, type MemoryLimitCountersOptions } from "./memory.ts";
export { DEFAULT_LIMITS_PREFIX, RedisLimitCounters, type RedisLimitCountersOptions } from "./redis.ts";
export {
  CONCURRENCY_RETRY_AFTER_MS,
  WINDOW_MS,
  bucketOf,
  elapsedInWindow,
  estimate,
  fits,
  fitsAfter,
  previousWeight,
  retryAfterMs,
  settleBucket,
} from "./window.ts";
