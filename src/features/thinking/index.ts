export { ReasoningSplitter, THINK_CLOSE, THINK_OPEN, type SplitPiece } from "./reasoningSplitter.ts";
