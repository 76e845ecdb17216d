export { ReasoningSplitter, THINK_CLOSE, THINK_OPEN } from "./reasoningSplitter.ts";
