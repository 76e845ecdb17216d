export { ClassifierModerator, readGuardVerdict, type ClassifierOptions, type GuardLabel } from "./classifier.ts";
export { INSPECTION_HEADER, inspectionFailed, parseInspectionHeader, type InspectionRequest } from "./inspection.ts";
export { AnyOfModerators, type ModeratedSide, type Moderator, type Verdict } from "./moderator.ts";
export { conversationText, inspectInput, inspectOutput } from "./outputGuard.ts";
export { normalizeForMatching, TermListModerator, type TermListOptions } from "./termList.ts";
