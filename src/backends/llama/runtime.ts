import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";

export type GpuChoice = "auto" | "cuda" | "vulkan" | "metal" | false;

/**
 * The CMake options of the native engine build (`npm run build:engine`); node-llama-cpp names a
 * local build's folder after them, so asking for them finds that build. Keep in sync with
 * scripts/build-engine.sh.
 */
export const ENGINE_CMAKE_OPTIONS: Readonly<Record<string, string>> = { GGML_OPENMP: "OFF" };

let runtime: Promise<Llama> | undefined;
let runtimeGpu: GpuChoice | undefined;

/**
 * The process-wide llama.cpp runtime, never compiled at run time and never downloaded: the native
 * build made by `npm run build:engine` when there is one, else the prebuilt binaries shipped in
 * the npm packages (node-llama-cpp also falls back to those when a local build does not load).
 * `OPENSCOPE_ENGINE=prebuilt` skips the native build (to compare, or to rule it out).
 * `auto` uses a GPU build when a GPU and its driver are present and the CPU build otherwise.
 */
export function llamaRuntime(gpu: GpuChoice = "auto"): Promise<Llama> {
  if (runtime && runtimeGpu !== gpu) throw new Error(`llama runtime already started with gpu=${String(runtimeGpu)}`);
  runtimeGpu = gpu;
  runtime ??= getLlama({
    gpu,
    build: "never",
    cmakeOptions: process.env.OPENSCOPE_ENGINE === "prebuilt" ? {} : { ...ENGINE_CMAKE_OPTIONS },
    logLevel: LlamaLogLevel.error,
    progressLogs: false,
  });
  return runtime;
}

/** Which engine binaries a runtime loaded, for the startup report. */
export function engineBuildName(llama: Llama): string {
  return llama.buildType === "localBuild" ? "native build" : "prebuilt binaries";
}
