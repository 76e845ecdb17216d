/**
 * The Lua scripts behind RedisLimitCounters. A script runs atomically on the server, so an
 * admission checks and counts in one step however many gateway instances share the counters.
 * All clock math happens in TypeScript (window.ts): the scripts get the bucket keys, the previous
 * bucket's weight and `now`, and only compare and count, exactly as MemoryLimitCounters does.
 */

import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * Admit. KEYS: rpm current, rpm previous, tpm current, tpm previous, leases (ZSET scored by
 * expiry). ARGV: now, previous-bucket weight, rpm, tpm, concurrency ("" = no limit), tokens,
 * lease id, lease expiry, lease TTL ms, bucket TTL ms.
 * Returns {"ok"}, {"concurrency"}, or {"rpm"|"tpm", previous count, current count} for the first
 * limit that fails (the caller solves the Retry-After from those counts).
 */
export const ADMIT_SCRIPT = `
local now = ARGV[1]
local weight = tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local concurrency = tonumber(ARGV[5])
local tokens = tonumber(ARGV[6])
local bucketTtl = ARGV[10]

redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
if concurrency and redis.call('ZCARD', KEYS[5]) >= concurrency then
  return {'concurrency'}
end

-- Same expression as fits() in window.ts: previous * weight + current + cost <= limit.
if rpm then
  local previous = redis.call('GET', KEYS[2]) or '0'
  local current = redis.call('GET', KEYS[1]) or '0'
  if not (tonumber(previous) * weight + tonumber(current) + 1 <= rpm) then
    return {'rpm', previous, current}
  end
end
if tpm then
  local previous = redis.call('GET', KEYS[4]) or '0'
  local current = redis.call('GET', KEYS[3]) or '0'
  if not (tonumber(previous) * weight + tonumber(current) + tokens <= tpm) then
    return {'tpm', previous, current}
  end
end

if rpm then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], bucketTtl)
end
if tpm then
  redis.call('INCRBY', KEYS[3], ARGV[6])
  redis.call('PEXPIRE', KEYS[3], bucketTtl)
end
redis.call('ZADD', KEYS[5], ARGV[8], ARGV[7])
local leaseTtl = tonumber(ARGV[9])
if redis.call('PTTL', KEYS[5]) < leaseTtl then
  redis.call('PEXPIRE', KEYS[5], ARGV[9])
end
return {'ok'}
`;

/**
 * Settle. KEYS: leases, then the tpm bucket to correct (absent when that bucket is too old).
 * ARGV: now, lease id, token delta. Only a live lease is settled, so the correction is applied at
 * most once; the bucket is corrected only if it exists (no tpm limit at admission: nothing to
 * correct), never below 0, and INCRBY keeps its TTL.
 */
export const SETTLE_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then
  return 0
end
if KEYS[2] and ARGV[3] ~= '0' and redis.call('EXISTS', KEYS[2]) == 1 then
  local value = redis.call('INCRBY', KEYS[2], ARGV[3])
  if value < 0 then
    redis.call('INCRBY', KEYS[2], tostring(-value))
  end
end
return 1
`;

/**
 * A Lua script run by EVALSHA, falling back to EVAL when the server does not have it cached (first
 * use, restart, SCRIPT FLUSH). Unlike `defineCommand` it leaves a caller's client untouched.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return await client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
