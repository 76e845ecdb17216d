export {
  ConfigError,
  redactUrl,
  type GatewayConfig,
  type NamedSetting,
  type ServerConfig,
  DEFAULT_MODEL_SOURCE,
  loadConfig,
  DEFAULT_ALIASES,
  parseModel,
  type DataInspectionConfig,
  type ModelConfig,
} from "./config.ts";
