export { OutputParser, type OutputPiece } from "./outputParser.ts";
