export * from "./errors.ts";
export * from "./pipeline.ts";
export * from "./requestResolution.ts";
export * from "./stage.ts";
export type * from "./types.ts";
