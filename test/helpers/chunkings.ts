/** Test helper for stream parsers: one input cut every way that matters. */

/** The input whole, one character at a time, and in seeded random chunks of 1..maxChunk characters (never inside a surrogate pair). */
export function chunkings(input: string, maxChunk: number): Array<{ label: string; chunks: string[] }> {
  const chars = Array.from(input);
  const result = [
    { label: "whole", chunks: [input] },
    { label: "one character at a time", chunks: chars },
  ];
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = mulberry32(seed);
    const chunks: string[] = [];
    for (let at = 0; at < chars.length; ) {
      const length = 1 + Math.floor(random() * maxChunk);
      chunks.push(chars.slice(at, at + length).join(""));
      at += length;
    }
    result.push({ label: `random chunks, seed ${seed}`, chunks });
  }
  return result;
}

/** A small seeded PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
