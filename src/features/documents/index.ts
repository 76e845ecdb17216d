export { extractText } from "./extract.ts";
