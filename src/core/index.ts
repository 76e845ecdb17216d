export * from "./errors.ts";
export * from "./pipeline.ts";
export type * from "./types.ts";
export type * from "./usageRecord.ts";
