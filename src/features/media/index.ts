export { MediaFetcher, parseAllowEntry } from "./fetch.ts";
export { UploadStore, type UploadFields, uploadErrors } from "./uploads.ts";
export { hasFfmpeg } from "./process.ts";
export { prepareMedia, withMediaUsage, type MediaTokens } from "./intake.ts";
