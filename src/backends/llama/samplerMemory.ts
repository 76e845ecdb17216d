import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * node-llama-cpp makes one native sampler per generated choice, and each holds a candidate buffer
 * of vocabulary size × 12 bytes (1.7 MiB for Qwen's 151,936 tokens). openscope's native engine
 * build frees that buffer when the sampler is disposed (patches/node-llama-cpp+3.21.1.patch,
 * `AddonSampler::dispose`). The prebuilt binaries cannot carry that fix: there the buffer lives
 * until V8 collects the sampler's small JS wrapper, which it has no reason to do soon — measured,
 * RSS grew by ~1.7 MiB per request to 10 GiB.
 *
 * On the prebuilt engine this bounds the memory by count instead of by the collector's mood: after
 * every `budgetBytes` worth of samplers, one full collection frees their buffers. On the native
 * build it does nothing.
 */
export class SamplerMemory {
  readonly #bytesPerSampler: number;
  readonly #budgetBytes: number;
  readonly #collect: (() => void) | undefined;
  #pendingBytes = 0;
  /** Full collections run so far (for tests and the startup report). */
  collections = 0;

  constructor(options: { vocabularySize: number; freesOnDispose: boolean; budgetBytes?: number; collect?: () => void }) {
    this.#bytesPerSampler = options.vocabularySize * 12;
    this.#budgetBytes = options.budgetBytes ?? 64 * 1024 * 1024;
    this.#collect = options.freesOnDispose ? undefined : (options.collect ?? fullCollection());
  }

  /** Whether this engine needs the collections (its samplers keep their buffers until collected). */
  get active(): boolean {
    return this.#collect !== undefined;
  }

  /** One sampler was disposed. */
  samplerDone(): void {
    if (!this.#collect) return;
    this.#pendingBytes += this.#bytesPerSampler;
    if (this.#pendingBytes < this.#budgetBytes) return;
    this.#pendingBytes = 0;
    this.collections++;
    this.#collect();
  }
}

let gc: (() => void) | undefined;

/** V8's full collection, made available without starting node with --expose-gc. */
function fullCollection(): () => void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  return gc;
}
