export { extractText } from "./extract.ts";
export { expandFileReferences } from "./fileReferences.ts";
