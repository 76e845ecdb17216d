/** `openscope config schema | check [file]`: the configuration's JSON Schema, and a check that starts nothing. */
import { ConfigError, configFileOf, configJsonSchema, loadConfig, type ConfigFlags } from "../config/index.ts";

/** What `config <action>` prints on success; a wrong configuration is a ConfigError (its lines, exit 2). */
export function configCommand(action: string | undefined, args: string[], flags: ConfigFlags, env: NodeJS.ProcessEnv): string {
  switch (action) {
    case "schema":
      return JSON.stringify(configJsonSchema(), null, 2);
    case "check": {
      const sources = { flags: args[0] !== undefined ? { ...flags, config: args[0] } : flags, env };
      const config = loadConfig(sources);
      const file = configFileOf(sources)?.file;
      const models = config.models.length === 0 ? "the default model" : `${config.models.length} model${config.models.length === 1 ? "" : "s"}`;
      return `OK: ${file ?? "no config file; flags, environment and defaults"} valid (${models}, ${config.host}:${config.port})`;
    }
    default:
      throw new ConfigError(
        `config ${action === undefined ? "needs an action" : `has no action "${action}"`}: openscope config schema | openscope config check [file.yaml]`,
      );
  }
}
