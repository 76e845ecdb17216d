export { configFileOf, defaultConfig, loadConfig, parseModel } from "./config.ts";
export { ConfigError } from "./configError.ts";
export { DEFAULT_MODEL_SOURCE } from "./defaults.ts";
export { redactUrl } from "./rules.ts";
export { gatewayDefaults } from "./resolve.ts";
export { configJsonSchema } from "./schema.ts";
export { OVERRIDES, CONFIG_FILE, type ConfigFlags } from "./sources.ts";
export type * from "./types.ts";
