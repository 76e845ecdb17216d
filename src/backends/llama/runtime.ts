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

/**
 * Runs `fn` with llama.cpp's log lines collected into `lines` and held back (printed at once at
 * OPENSCOPE_LOG_LEVEL=debug, and after `fn` if it succeeds): a model that fails to load is then
 * reported in one line saying why, not after llama.cpp's own error lines.
 */
export async function captureEngineLog<T>(llama: Llama, lines: string[], fn: () => Promise<T>): Promise<T> {
  const previous = llama.logger;
  const debug = process.env.OPENSCOPE_LOG_LEVEL === "debug";
  const held: [LlamaLogLevel, string][] = [];
  llama.logger = (level, message) => {
    const line = message.trim();
    if (line !== "") lines.push(line);
    if (debug) previous(level, message);
    else held.push([level, message]);
  };
  try {
    const value = await fn();
    // It loaded after all: what the engine said is shown as it would have been.
    for (const [level, message] of held) previous(level, message);
    return value;
  } catch (error) {
    // The engine's log lines reach JavaScript through the event loop: the last ones can arrive after the failure.
    await new Promise((resolve) => setTimeout(resolve, 50));
    throw error;
  } finally {
    llama.logger = previous;
  }
}
