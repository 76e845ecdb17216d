import { join } from "node:path";
import { parseArgs } from "node:util";
import { CONFIG_FILE, ConfigError, DEFAULT_MODEL_SOURCE, loadConfig, OVERRIDES, type ConfigFlags } from "../config/index.ts";
import { describeFailure, EXIT_RUNTIME, prepareDirectory } from "./errors.ts";
import { consoleLogger } from "./logger.ts";
import type { RunningServer } from "./serve.ts";

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
  openscope config schema              the JSON Schema of openscope.yaml (for editors)
  openscope config check [file.yaml]   checks the configuration without starting (exit 0 or 2)

Every setting: flag > environment variable > config file > default.
Environment (setting in the config file):
  ${CONFIG_FILE.env.padEnd(24)} the config file (--${CONFIG_FILE.flag})
${OVERRIDES.map((o) => `  ${o.env.padEnd(24)} ${o.key}${o.flag ? ` (--${o.flag})` : ""}: ${o.help}`).join("\n")}
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

/**
 * The most a shutdown may take: requests in flight get 5 s to end (they are aborted at once), then
 * the backends close and the ledger is written. Past this the process exits anyway.
 */
const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * SIGINT/SIGTERM from the very start: before the server runs, the process exits at once (nothing
 * to save); once it runs — a model still loading included — the server closes (loading aborted,
 * requests ended, ledger written) within SHUTDOWN_DEADLINE_MS; a second signal exits at once.
 */
function handleSignals(): { running(server: RunningServer): void; readonly closing: boolean } {
  let server: RunningServer | undefined;
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) {
      consoleLogger.warn(`${signal} again: exiting now`);
      process.exit(EXIT_RUNTIME);
    }
    closing = true;
    consoleLogger.info(`${signal}: shutting down`);
    if (!server) process.exit(0);
    setTimeout(() => {
      consoleLogger.warn(`shutdown took longer than ${SHUTDOWN_DEADLINE_MS / 1000} s: exiting now`);
      process.exit(EXIT_RUNTIME);
    }, SHUTDOWN_DEADLINE_MS).unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        consoleLogger.warn(`shutdown failed: ${describeFailure(error).lines.join("; ")}`);
        process.exit(EXIT_RUNTIME);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return {
    running(started) {
      server = started;
    },
    get closing() {
      return closing;
    },
  };
}

/** Whether a failure prints its stack trace: log_level debug (until the configuration is read, OPENSCOPE_LOG_LEVEL). */
let debug = process.env.OPENSCOPE_LOG_LEVEL === "debug";

async function serve(flags: ConfigFlags): Promise<void> {
  const config = loadConfig({ flags, env: process.env });
  debug = config.logLevel === "debug";
  const signals = handleSignals();
  // Each command loads what it needs when it runs: a configuration refused above costs no engine,
  // HTTP server or store driver to load (about 2 s of CPU per start).
  const { startServer } = await import("./serve.ts");
  // Info: one JSON access-log line per model request on stdout (never secrets; content only with log_content).
  const server = await startServer(config, consoleLogger, { level: config.logLevel });
  signals.running(server);
  consoleLogger.info(`listening on ${server.url} — DashScope base URL: ${server.url}/api/v1`);
  try {
    await server.loaded;
    consoleLogger.info("ready");
  } catch (error) {
    if (signals.closing) return;
    // /health says "failed" with the reason until the process is gone.
    fail(error, server.close());
  }
}

/** Prints the line per problem an error ends the process with (the stack only at log level debug) and exits with its code. */
function fail(error: unknown, closing?: Promise<void>): void {
  const { lines, exitCode } = describeFailure(error);
  for (const line of lines) console.error(`openscope: ${line}`);
  if (debug && error instanceof Error && error.stack) console.error(error.stack);
  const exit = () => process.exit(exitCode);
  if (closing) {
    setTimeout(exit, SHUTDOWN_DEADLINE_MS).unref();
    closing.then(exit, exit);
  } else exit();
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
      if (!source) throw new ConfigError(`pull needs a model URI, e.g. ${DEFAULT_MODEL_SOURCE}`);
      const config = loadConfig({ flags, env: process.env });
      await prepareDirectory(config.cacheDir, config.settingNames?.cache_dir ?? "cache_dir", "downloaded models");
      const { resolveModelSource } = await import("../backends/llama/index.ts");
      const path = await resolveModelSource(source, { cacheDir: join(config.cacheDir, "models"), progress: true });
      console.log(path);
      return;
    }
    case "models": {
      const config = loadConfig({ flags, env: process.env });
      if (config.models.length === 0) console.log(`(default) ${config.defaultModel.source}`);
      for (const m of config.models) {
        const where = m.backend === "llama" ? m.source : `${m.kind} ${m.upstreamModel} on ${m.replicas.map((r) => r.url).join(", ")}`;
        console.log(`${m.name}\t${where}\taliases: ${m.aliases.join(", ")}`);
      }
      return;
    }
    case "keys": {
      const config = loadConfig({ flags, env: process.env });
      const { keysCommand } = await import("./keysCommands.ts");
      console.log(await keysCommand(config.gateway, rest[0], rest.slice(1), { name, models, rpm, tpm, concurrency, expires, workspace }));
      return;
    }
    case "config": {
      const { configCommand } = await import("./configCommands.ts");
      console.log(configCommand(rest[0], rest.slice(1), flags, process.env));
      return;
    }
    case "usage": {
      const { model, ...storeFlags } = flags;
      const config = loadConfig({ flags: storeFlags, env: process.env });
      const { usageCommand } = await import("./keysCommands.ts");
      console.log(await usageCommand(config.gateway, { since, until, key, model }));
      return;
    }
    default:
      throw new ConfigError(`unknown command "${command}": the commands are serve, pull, keys, usage, models and config (openscope --help)`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => fail(error));
