import { freemem, totalmem } from "node:os";
import type { Llama, LlamaContextOptions, LlamaModel } from "node-llama-cpp";
import { EXIT_CONFIG, OperatorError } from "../../core/index.ts";

/** GGUF metadata nested by the dots of its keys, as node-llama-cpp's `fileInfo.metadata` (or readGgufMetadata) has it. */
export interface ModelMetadata {
  metadata: unknown;
}

/** Share of the memory available at startup a context may take; the rest is headroom for everything else. */
const USABLE_SHARE = 0.9;

/** Bytes of one cached key or value element: llama.cpp's default KV cache type is F16. */
const KV_ELEMENT_BYTES = 2;

/**
 * Host memory llama.cpp keeps per KV cell besides the keys and values (llama_kv_cells: pos 4, ext
 * 12, shift 4, a bitset of LLAMA_MAX_SEQ = 256 sequences 32), in RAM even when the cache is on a
 * GPU. node-llama-cpp's estimate leaves it out: 10^6 x 64 tokens on a 2-layer model were estimated
 * at 16.6 GiB and reached 19.9 GiB of RSS, 6.4e7 cells x 52 bytes more.
 */
export const KV_CELL_STATE_BYTES = 52;

export class InsufficientMemoryError extends OperatorError {
  constructor(
    message: string,
    /** The sizes refused (context_size after any cap to the trained context). */
    readonly sizes?: { contextSize: number; parallel: number },
  ) {
    super(message, EXIT_CONFIG);
    this.name = "InsufficientMemoryError";
  }
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

/** Bytes in words a person reads at a glance: MiB, GiB or TiB. */
export function humanBytes(bytes: number): string {
  if (bytes >= 2 ** 40) return `${(bytes / 2 ** 40).toFixed(1)} TiB`;
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return mib(bytes);
}

/** What the KV cache of a model holds per token, read from its GGUF metadata. */
export interface KvShape {
  /** Attention layers' cached elements per token (keys + values, or the MLA latent), summed over layers. */
  elementsPerToken: number;
  /** Layers that keep a KV cache. */
  layers: number;
  /** Sliding-window attention: a layer caches at most this many tokens per sequence (the smallest window). */
  slidingWindow?: number;
}

const positive = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined);

/**
 * The KV cache's shape from `<arch>.block_count`, `attention.head_count(_kv)` (a number or one per
 * layer), `attention.key_length`/`value_length` (default: embedding_length / head_count) and, for
 * multi-head latent attention (DeepSeek-style), `attention.kv_lora_rank`. Undefined when the file
 * does not say (recurrent models such as Mamba/RWKV keep no per-token KV cache).
 */
export function kvShape(fileInfo: ModelMetadata): KvShape | undefined {
  const metadata = (fileInfo.metadata ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const architecture = (metadata.general as { architecture?: unknown } | undefined)?.architecture;
  if (typeof architecture !== "string") return undefined;
  const arch = metadata[architecture] as { block_count?: unknown; embedding_length?: unknown; attention?: Record<string, unknown> } | undefined;
  const layers = positive(arch?.block_count);
  const attention = arch?.attention;
  if (!layers || !attention) return undefined;
  const perLayer = (value: unknown): number[] | undefined => {
    if (Array.isArray(value)) return value.length === layers && value.every((v) => typeof v === "number" && v >= 0) ? (value as number[]) : undefined;
    const n = positive(value);
    return n === undefined ? undefined : Array.from({ length: layers }, () => n);
  };
  const heads = perLayer(attention.head_count);
  const kvHeads = perLayer(attention.head_count_kv) ?? heads;
  if (!heads || !kvHeads) return undefined;
  const window = Array.isArray(attention.sliding_window)
    ? positive(Math.min(...(attention.sliding_window as number[]).filter((w) => typeof w === "number" && w > 0)))
    : positive(attention.sliding_window);
  const shape = (elementsPerToken: number, cachedLayers: number): KvShape | undefined =>
    elementsPerToken > 0 ? { elementsPerToken, layers: cachedLayers, ...(window !== undefined ? { slidingWindow: window } : {}) } : undefined;
  const latent = positive(attention.kv_lora_rank);
  // MLA caches one compressed latent per token and layer (plus a small rope part, left out: this is a lower bound).
  if (latent !== undefined) return shape(latent * layers, layers);
  const embedding = positive(arch.embedding_length);
  let elements = 0;
  let cachedLayers = 0;
  for (let layer = 0; layer < layers; layer++) {
    const kv = kvHeads[layer]!;
    if (kv === 0) continue; // a recurrent layer of a hybrid model
    const fallback = embedding !== undefined && heads[layer]! > 0 ? embedding / heads[layer]! : undefined;
    const key = positive(attention.key_length) ?? fallback;
    const value = positive(attention.value_length) ?? fallback;
    if (key === undefined || value === undefined) return undefined;
    elements += kv * (key + value);
    cachedLayers += 1;
  }
  return shape(elements, cachedLayers);
}

/**
 * A lower bound of the KV cache of `parallel` sequences × `contextSize` tokens: F16 keys and values
 * of every attention layer for every cell, and each cell's own state (a sliding window caps the cells
 * per sequence). llama.cpp allocates at least this much; its compute buffers come on top.
 */
export function kvCacheLowerBound(shape: KvShape, contextSize: number, parallel: number): number {
  const cellsPerSequence = shape.slidingWindow !== undefined ? Math.min(contextSize, shape.slidingWindow) : contextSize;
  return cellsPerSequence * parallel * (shape.elementsPerToken * KV_ELEMENT_BYTES + KV_CELL_STATE_BYTES);
}

export interface MemoryBudget {
  /** Memory available now (CPU contexts are checked against it). */
  available: number;
  /** All memory the machine has: RAM, plus GPU memory where layers are offloaded. */
  total: number;
}

/**
 * Refuses, in microseconds and before node-llama-cpp is asked anything, a context whose KV cache
 * alone cannot fit: node-llama-cpp's estimator simulates the context and grows with it (26 s and
 * ~1 GiB for 10^6 × 64 tokens; 10^8 × 64 grows the process by ~130 MB/s until the machine is out).
 * Undefined when the model file does not say enough to bound it.
 */
export function checkKvCacheBound(
  fileInfo: ModelMetadata,
  options: { contextSize: number; parallel: number; onGpu: boolean },
  budget: MemoryBudget,
): number | undefined {
  const shape = kvShape(fileInfo);
  if (!shape) return undefined;
  const bytes = kvCacheLowerBound(shape, options.contextSize, options.parallel);
  const cpuLimit = budget.available * USABLE_SHARE;
  if (bytes > budget.total || (!options.onGpu && bytes > cpuLimit)) {
    const perCell = shape.elementsPerToken * KV_ELEMENT_BYTES + KV_CELL_STATE_BYTES;
    const cells = bytes / perCell;
    throw new InsufficientMemoryError(
      `not enough memory for ${options.parallel} slots x ${options.contextSize} tokens: the KV cache alone needs at least ${humanBytes(bytes)} ` +
        `(${cells.toLocaleString("en-US")} cells x ${perCell.toLocaleString("en-US")} bytes), ` +
        `but this machine has ${humanBytes(budget.total)}${options.onGpu ? "" : ` (${humanBytes(budget.available)} available)`}. Lower context_size or parallel.`,
      { contextSize: options.contextSize, parallel: options.parallel },
    );
  }
  return bytes;
}

/** The context length a model was trained for (`<arch>.context_length`), if its metadata says. */
export function trainedContextSize(fileInfo: ModelMetadata): number | undefined {
  const metadata = (fileInfo.metadata ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const architecture = (metadata.general as { architecture?: unknown } | undefined)?.architecture;
  return typeof architecture === "string" ? positive(metadata[architecture]?.context_length) : undefined;
}

/** This machine's memory for a context before the model is loaded: RAM, plus GPU memory where a GPU is used. */
export async function memoryBudget(llama: Llama): Promise<MemoryBudget & { onGpu: boolean }> {
  const onGpu = llama.gpu !== false;
  const vram = onGpu ? (await llama.getVramState()).total : 0;
  const available = freemem();
  return { available, total: Math.max(totalmem() + vram, available), onGpu };
}

/**
 * The memory a context of `parallel` slots × `contextSize` tokens needs beside the (memory-mapped)
 * weights — KV cache and compute buffers, as llama.cpp will allocate them — checked against what
 * the machine has available now. Refuses up front with a clear message instead of letting the
 * process swap or be killed by the OOM killer mid-allocation. Sizes whose KV cache alone cannot fit
 * are refused by arithmetic first (checkKvCacheBound), without asking node-llama-cpp's estimator.
 */
export async function checkContextMemory(
  model: LlamaModel,
  options: { contextSize: number; parallel: number; batchSize: number; flashAttention?: LlamaContextOptions["flashAttention"] },
  available: number = freemem(),
  total?: number,
): Promise<number> {
  const onGpu = model.gpuLayers > 0;
  const machine = total ?? totalmem() + (onGpu ? (await model.llama.getVramState()).total : 0);
  checkKvCacheBound(
    model.fileInfo,
    { contextSize: options.contextSize, parallel: options.parallel, onGpu },
    { available, total: Math.max(machine, available) },
  );
  const needed = await model.fileInsights.estimateContextResourceRequirementsV2({
    contextSize: options.contextSize,
    sequences: options.parallel,
    modelGpuLayers: model.gpuLayers,
    batchSize: options.batchSize,
    ...(options.flashAttention !== undefined ? { flashAttention: options.flashAttention } : {}),
  });
  // The cells' own state is host memory node-llama-cpp's estimate does not count.
  const cellState = options.contextSize * options.parallel * KV_CELL_STATE_BYTES;
  const bytes = (onGpu ? needed.gpuVram : needed.cpuRam) + (onGpu ? 0 : cellState);
  if (!onGpu && bytes > available * USABLE_SHARE) {
    throw new InsufficientMemoryError(
      `not enough memory for ${options.parallel} slots x ${options.contextSize} tokens: the KV cache and buffers need about ${mib(bytes)}, ` +
        `but ${mib(available)} is available. Lower context_size or parallel (or free memory), rather than let the server swap.`,
      { contextSize: options.contextSize, parallel: options.parallel },
    );
  }
  return bytes;
}

export { mib };
