export { LlamaBackend } from "./backend.ts";
export { ModelLoadError, ModelSourceError, isRemoteSource, resolveModelSource } from "./modelSource.ts";
export { engineBuildName, llamaRuntime } from "./runtime.ts";
export { chooseThreads } from "./threads.ts";
export { InsufficientMemoryError } from "./memory.ts";
