import { freemem } from "node:os";
import type { LlamaContextOptions, LlamaModel } from "node-llama-cpp";

/** Share of the memory available at startup a context may take; the rest is headroom for everything else. */
const USABLE_SHARE = 0.9;

export class InsufficientMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InsufficientMemoryError";
  }
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

/**
 * The memory a context of `parallel` slots × `contextSize` tokens needs beside the (memory-mapped)
 * weights — KV cache and compute buffers, as llama.cpp will allocate them — checked against what
 * the machine has available now. Refuses up front with a clear message instead of letting the
 * process swap or be killed by the OOM killer mid-allocation.
 */
export async function checkContextMemory(
  model: LlamaModel,
  options: { contextSize: number; parallel: number; batchSize: number; flashAttention?: LlamaContextOptions["flashAttention"] },
  available: number = freemem(),
): Promise<number> {
  const needed = await model.fileInsights.estimateContextResourceRequirementsV2({
    contextSize: options.contextSize,
    sequences: options.parallel,
    modelGpuLayers: model.gpuLayers,
    batchSize: options.batchSize,
    ...(options.flashAttention !== undefined ? { flashAttention: options.flashAttention } : {}),
  });
  const bytes = model.gpuLayers > 0 ? needed.gpuVram : needed.cpuRam;
  if (model.gpuLayers === 0 && bytes > available * USABLE_SHARE) {
    throw new InsufficientMemoryError(
      `not enough memory for ${options.parallel} slots x ${options.contextSize} tokens: the KV cache and buffers need about ${mib(bytes)}, ` +
        `but ${mib(available)} is available. Lower context_size or parallel (or free memory), rather than let the server swap.`,
    );
  }
  return bytes;
}

export { mib };
