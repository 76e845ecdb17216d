import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, DEFAULT_MODEL_SOURCE, loadConfig } from "../config/config.ts";
import { ModelSourceError, resolveModelSource } from "../backends/llama/index.ts";
import { keysCommand, usageCommand } from "./keysCommands.ts";
import { consoleLogger, startServer } from "./serve.ts";

const USAGE = `openscope — the DashScope (Model Studio) API on your own models

Usage:
  openscope serve [--model <file.gguf|hf:owner/repo/file.gguf>] [--config <file.yaml>]
                  [--host 127.0.0.1] [--port 8000] [--threads N] [--parallel N]
                  [--context-size N] [--gpu auto|cuda|vulkan|false] [--cache-dir DIR]
                  [--strict-compat] [--data-dir DIR] [--store-url postgres://…] [--redis-url redis://…]
  openscope keys create --name NAME [--models qwen-plus,…] [--rpm N] [--tpm N] [--concurrency N]
                        [--expires 30d|2027-01-01] [--workspace ID]
  openscope keys list
  openscope keys revoke <key id | prefix>
  openscope usage [--since 24h|2026-11-01] [--until …] [--key KEY_ID] [--model NAME]
  openscope pull <hf:owner/repo/file.gguf | https://…/file.gguf> [--cache-dir DIR]
  openscope models [--config <file.yaml>] [--model …]

Environment: OPENSCOPE_HOST, OPENSCOPE_PORT, OPENSCOPE_MODEL, OPENSCOPE_CONFIG,
OPENSCOPE_API_KEYS (comma list), OPENSCOPE_CACHE_DIR, OPENSCOPE_THREADS, OPENSCOPE_PARALLEL,
OPENSCOPE_CONTEXT_SIZE, OPENSCOPE_GPU, OPENSCOPE_STRICT_COMPAT, OPENSCOPE_LOG_LEVEL,
OPENSCOPE_DATA_DIR, OPENSCOPE_STORE_URL, OPENSCOPE_REDIS_URL, OPENSCOPE_ADMIN_KEY, OPENSCOPE_LOG_CONTENT.
keys and usage work on the same store as serve (the data dir, or --store-url).
With no model, serve pulls ${DEFAULT_MODEL_SOURCE}.`;

const options = {
  model: { type: "string" },
  "strict-compat": { type: "boolean" },
  config: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  threads: { type: "string" },
  parallel: { type: "string" },
  "context-size": { type: "string" },
  gpu: { type: "string" },
  "cache-dir": { type: "string" },
  "data-dir": { type: "string" },
  "store-url": { type: "string" },
  "redis-url": { type: "string" },
  name: { type: "string" },
  models: { type: "string" },
  rpm: { type: "string" },
  tpm: { type: "string" },
  concurrency: { type: "string" },
  expires: { type: "string" },
  workspace: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  key: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function serve(flags: Parameters<typeof loadConfig>[0]["flags"]): Promise<void> {
  const config = loadConfig({ flags, env: process.env });
  // Info: one JSON access-log line per model request on stdout (never secrets; content only with log_content).
  const level = process.env.OPENSCOPE_LOG_LEVEL ?? "info";
  const server = await startServer(config, consoleLogger, { level });
  consoleLogger.info(`listening on ${server.url} — DashScope base URL: ${server.url}/api/v1`);
  let closing = false;
  const stop = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    consoleLogger.info(`${signal}: shutting down`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  try {
    await server.loaded;
    consoleLogger.info("ready");
  } catch (error) {
    consoleLogger.warn(`model failed to load: ${(error as Error).message}`);
    await server.close();
    process.exit(1);
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const [command = "serve", ...rest] = positionals;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const { help: _help, name, models, rpm, tpm, concurrency, expires, workspace, since, until, key, ...flags } = values;
  switch (command) {
    case "serve":
      return serve(flags);
    case "pull": {
      const source = rest[0];
      if (!source) throw new ConfigError("pull needs a model URI, e.g. " + DEFAULT_MODEL_SOURCE);
      const config = loadConfig({ flags, env: process.env });
      const path = await resolveModelSource(source, { cacheDir: join(config.cacheDir, "models"), progress: true });
      console.log(path);
      return;
    }
    case "models": {
      const config = loadConfig({ flags, env: process.env });
      if (config.models.length === 0) console.log(`(default) ${DEFAULT_MODEL_SOURCE}`);
      for (const m of config.models) console.log(`${m.name}\t${m.source}\taliases: ${m.aliases.join(", ")}`);
      return;
    }
    case "keys": {
      const config = loadConfig({ flags, env: process.env });
      console.log(await keysCommand(config.gateway, rest[0], rest.slice(1), { name, models, rpm, tpm, concurrency, expires, workspace }));
      return;
    }
    case "usage": {
      const { model, ...storeFlags } = flags;
      const config = loadConfig({ flags: storeFlags, env: process.env });
      console.log(await usageCommand(config.gateway, { since, until, key, model }));
      return;
    }
    default:
      throw new ConfigError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof ModelSourceError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    console.error(`openscope: ${(error as Error).message}`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
