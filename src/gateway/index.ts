export { RequestAccount } from "./account.ts";
export { assertModelAllowed, Authenticator, bearerSecret, type Caller } from "./auth.ts";
export { Gateway, type GatewayOptions, type RequestObserver } from "./gateway.ts";
export { generateSecret, hashSecret, KeyService, publicKeyView, type CreatedKey, type NewKey } from "./keys.ts";
export { LedgerWriter, type LedgerOptions } from "./ledger.ts";
export { ModelRegistry, type ModelListing } from "./registry.ts";
export { admissionCharge, estimateTokens } from "./tokenCharge.ts";
export { parseExpiry, parseKeySpec, parsePastTime } from "./keySpec.ts";
export { FileService, cleanFilename, fileErrors, isFilePurpose, type FileListFilter } from "./files.ts";
