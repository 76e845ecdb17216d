import { availableParallelism } from "node:os";

/** Below this file size a model is "tiny": thread synchronisation costs more than the matrix work. */
const TINY_MODEL_BYTES = 64 * 1024 * 1024;

/**
 * CPU threads for decoding. node-llama-cpp's default (4 on a 2-core box) oversubscribes and
 * collapses throughput; tiny models are fastest on one thread, real ones on all cores
 * (at most 16: decoding is memory-bound and stops scaling well before that).
 */
export function chooseThreads(modelBytes: number, cores: number = availableParallelism()): number {
  if (modelBytes < TINY_MODEL_BYTES) return 1;
  return Math.max(1, Math.min(cores, 16));
}
