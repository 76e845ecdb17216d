export { OutputParser, type OutputParserOptions, type OutputPiece } from "./outputParser.ts";
