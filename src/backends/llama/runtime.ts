import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";

export type GpuChoice = "auto" | "cuda" | "vulkan" | "metal" | false;

let runtime: Promise<Llama> | undefined;
let runtimeGpu: GpuChoice | undefined;

/**
 * The process-wide llama.cpp runtime, from the prebuilt binaries shipped in the npm packages
 * (never compiled at run time, never downloaded). `auto` uses a GPU build when a GPU and its
 * driver are present and the CPU build otherwise.
 */
export function llamaRuntime(gpu: GpuChoice = "auto"): Promise<Llama> {
  if (runtime && runtimeGpu !== gpu) throw new Error(`llama runtime already started with gpu=${String(runtimeGpu)}`);
  runtimeGpu = gpu;
  runtime ??= getLlama({ gpu, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
  return runtime;
}
