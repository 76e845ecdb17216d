export { RequestAccount } from "./account.ts";
export { Authenticator, type Caller } from "./auth.ts";
export { Gateway } from "./gateway.ts";
export { KeyService, publicKeyView } from "./keys.ts";
export { LedgerWriter } from "./ledger.ts";
export { ModelRegistry } from "./registry.ts";
export { parseKeySpec, parsePastTime } from "./keySpec.ts";
export { FileService, cleanFilename, fileErrors, isFilePurpose, type FileListFilter } from "./files.ts";
