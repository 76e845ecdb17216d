/**
 * Sliding-window counter math, shared by the in-memory and the Redis counters so that both admit
 * and reject exactly the same requests. Counts live in one bucket per fixed minute; the rate at
 * `now` is estimated as the previous minute's count, weighted by how much of it still overlaps the
 * 60 s window that ends at `now`, plus the current minute's count. Two numbers per limit and key
 * instead of one timestamp per request, at the cost of assuming the previous minute's requests
 * were spread evenly over it.
 */

/** Length of the rate window (and of one bucket): limits are "per minute". */
export const WINDOW_MS = 60_000;

/** Retry-After for a concurrency rejection: unknown, since a slot frees when some request ends. */
export const CONCURRENCY_RETRY_AFTER_MS = 1000;

/** The minute bucket `now` (epoch ms) falls in: bucket keys and map keys use it. */
export function bucketOf(now: number): number {
  return Math.floor(now / WINDOW_MS);
}

/** Milliseconds since the start of the bucket `now` falls in, in [0, WINDOW_MS). */
export function elapsedInWindow(now: number): number {
  return now - bucketOf(now) * WINDOW_MS;
}

/**
 * How much of the previous bucket still counts at `now`: 1 at a bucket's start, near 0 at its end.
 * The Redis counters compute it here and pass it to their Lua script, so Lua does no clock math.
 */
export function previousWeight(now: number): number {
  return 1 - elapsedInWindow(now) / WINDOW_MS;
}

/** Estimated count over the 60 s ending at `now`, from the previous and current buckets' counts. */
export function estimate(previous: number, current: number, now: number): number {
  return previous * previousWeight(now) + current;
}

/**
 * Whether `cost` more fits under `limit` at `now`. The Redis admit script evaluates exactly
 * `previous * weight + current + cost <= limit` (same operations, same order, IEEE doubles), so the
 * two implementations agree even at the boundary.
 */
export function fits(previous: number, current: number, cost: number, limit: number, now: number): boolean {
  return estimate(previous, current, now) + cost <= limit;
}

/**
 * Whether the same request would fit `wait` ms after `now` if nothing else were counted meanwhile:
 * a bucket boundary in between turns the current bucket into the previous one.
 */
export function fitsAfter(previous: number, current: number, cost: number, limit: number, now: number, wait: number): boolean {
  const later = now + wait;
  const bucketsPassed = bucketOf(later) - bucketOf(now);
  if (bucketsPassed === 0) return fits(previous, current, cost, limit, later);
  if (bucketsPassed === 1) return fits(current, 0, cost, limit, later);
  return fits(0, 0, cost, limit, later);
}

/**
 * The smallest whole number of milliseconds (at least 1) after which a rejected request would fit,
 * if nothing else were counted meanwhile: what a client should put in its Retry-After. A cost above
 * the limit never fits; it gets one window (the caller should say why rather than rely on this).
 *
 * The closed form solves the window formula, first within the current bucket (only the previous
 * bucket's weight shrinks), then from the next bucket's start (the current count becomes the
 * previous one). It is then corrected against `fitsAfter` by whole milliseconds, so floating-point
 * rounding can never make the answer one too small or one too large: the estimate only falls as
 * time passes, so "fits" is monotonic in the wait.
 */
export function retryAfterMs(previous: number, current: number, cost: number, limit: number, now: number): number {
  if (cost > limit) return WINDOW_MS;
  const passes = (wait: number): boolean => fitsAfter(previous, current, cost, limit, now, wait);
  let wait = Math.max(1, Math.ceil(closedFormWait(previous, current, cost, limit, now)));
  while (wait > 1 && passes(wait - 1)) wait -= 1;
  // Terminates: two windows on, both buckets are empty and `cost <= limit` fits.
  while (!passes(wait)) wait += 1;
  return wait;
}

/** The exact (real-valued) wait solving the window formula; may be ≤ 0 if the request fits now. */
function closedFormWait(previous: number, current: number, cost: number, limit: number, now: number): number {
  const elapsed = elapsedInWindow(now);
  const untilNextBucket = WINDOW_MS - elapsed;
  // Within this bucket: previous * (1 - (elapsed + wait) / W) + current + cost <= limit.
  const room = limit - current - cost;
  if (previous > 0 && room >= 0) {
    const wait = WINDOW_MS * (1 - room / previous) - elapsed;
    if (wait < untilNextBucket) return wait;
  }
  // From the next bucket on: current * (1 - elapsedThere / W) + cost <= limit, with room >= 0.
  const nextRoom = limit - cost;
  if (current <= nextRoom) return untilNextBucket;
  return untilNextBucket + WINDOW_MS * (1 - nextRoom / current);
}

/**
 * The bucket a token correction for a request admitted at `admittedAt` goes to, or null when that
 * bucket no longer affects any estimate (older than the previous bucket at `now`).
 */
export function settleBucket(admittedAt: number, now: number): number | null {
  const bucket = bucketOf(admittedAt);
  return bucket >= bucketOf(now) - 1 ? bucket : null;
}
