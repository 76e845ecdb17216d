export { ClassifierModerator } from "./classifier.ts";
export { INSPECTION_HEADER, parseInspectionHeader, type InspectionRequest } from "./inspection.ts";
export { AnyOfModerators, type Moderator } from "./moderator.ts";
export { inspectInput, inspectOutput } from "./outputGuard.ts";
export { TermListModerator } from "./termList.ts";
