export { StaticKeyAuth } from "./auth.ts";
export { ModelRegistry, type ModelListing } from "./registry.ts";
