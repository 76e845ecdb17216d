export { heldBackStart } from "./heldBack.ts";
