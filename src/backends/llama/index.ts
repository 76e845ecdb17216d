export { LlamaBackend, type LlamaBackendInfo, type LlamaBackendOptions } from "./backend.ts";
export { ModelLoadError, ModelSourceError, isRemoteSource, parseHfUri, probeHost, resolveModelSource } from "./modelSource.ts";
export { engineBuildName, llamaRuntime, type GpuChoice } from "./runtime.ts";
export { chooseThreads } from "./threads.ts";
export { InsufficientMemoryError } from "./memory.ts";
