/** Loading the configuration: the file, flags and environment laid over it, one strict check, the typed result. */
import { parse as parseYaml } from "yaml";
import { ConfigError } from "./configError.ts";
import { describeIssues, issueMessages } from "./issues.ts";
import { readSettingFile, resolveConfig, resolveModel } from "./resolve.ts";
import { configSchema, modelSchema } from "./schema.ts";
import { CONFIG_FILE, layer, type ConfigFlags } from "./sources.ts";
import type { ModelConfig, ServerConfig } from "./types.ts";

export interface ConfigSources {
  flags: ConfigFlags;
  env: NodeJS.ProcessEnv;
}

/** The config file a run reads (`--config`, else `OPENSCOPE_CONFIG`), and how it was named; none: undefined. */
export function configFileOf({ flags, env }: ConfigSources): { file: string; where: string } | undefined {
  if (flags.config) return { file: flags.config, where: `--${CONFIG_FILE.flag}` };
  const file = env[CONFIG_FILE.env];
  return file ? { file, where: CONFIG_FILE.env } : undefined;
}

/** The config file's mapping; every problem reading or parsing it is one ConfigError line. */
function readConfigFile(file: string, where: string): Record<string, unknown> {
  const text = readSettingFile(file, `config file (${where})`);
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    // The yaml package's messages end with a drawing of the line; the first line says it all.
    const message = (error as Error).message.split("\n")[0]!.replace(/:$/, "");
    throw new ConfigError(`config file ${file} is not valid YAML: ${message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(
      `config file ${file} must be a YAML mapping of settings (such as "port: 8000"), not ${Array.isArray(parsed) ? "a list" : `a ${typeof parsed}`}`,
    );
  }
  return parsed as Record<string, unknown>;
}

/** One typed config: flags over environment variables over the config file over the defaults, checked as one. */
export function loadConfig(sources: ConfigSources): ServerConfig {
  const named = configFileOf(sources);
  const file = named ? readConfigFile(named.file, named.where) : {};
  const { document, origins, given, defaultModel } = layer(file, sources.flags, sources.env);
  const checked = configSchema.safeParse(document, { error: issueMessages });
  const fallback = modelSchema.safeParse(defaultModel, { error: issueMessages });
  const problems = [
    ...(checked.success ? [] : describeIssues(checked.error.issues, { origins, given, document })),
    ...(fallback.success ? [] : describeIssues(fallback.error.issues, { prefix: "models[0]", origins, given, document: defaultModel })),
  ];
  if (!checked.success || !fallback.success) throw new ConfigError(problems);
  const model = resolveModel(fallback.data);
  if (model.backend !== "llama") throw new Error("the default model is an embedded one");
  return resolveConfig(checked.data, origins, sources.env, model);
}

/** The config of a server given nothing: every default (directories as if no XDG variable were set). */
export function defaultConfig(): ServerConfig {
  return loadConfig({ flags: {}, env: {} });
}

/** One model entry, as the config file would hold it (`where` prefixes its problems' paths). */
export function parseModel(entry: Record<string, unknown>, where: string): ModelConfig {
  const checked = modelSchema.safeParse(entry, { error: issueMessages });
  if (!checked.success) throw new ConfigError(describeIssues(checked.error.issues, { prefix: where, document: entry }));
  return resolveModel(checked.data);
}
