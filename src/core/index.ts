export * from "./errors.ts";
export * from "./pipeline.ts";
export type * from "./types.ts";
export type * from "./usageRecord.ts";
export { mediaParts, textOf, dataUri, isMediaPart } from "./content.ts";
export { mergeStreams } from "./asyncQueue.ts";
export { SlotPool } from "./slotPool.ts";
export { sumUsage } from "./usage.ts";
