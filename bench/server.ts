import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startServer, type RunningServer } from "../src/cli/serve.ts";
import { defaultConfig, gatewayDefaults, type GatewayConfig, type ModelConfig } from "../src/config/index.ts";

/** An openscope for a benchmark: loopback, an ephemeral port, the given models, quiet, loaded. */
export async function startBenchServer(models: ModelConfig[], gateway: Partial<GatewayConfig> = {}, apiKeys: string[] = []): Promise<RunningServer> {
  const server = await startServer(
    {
      ...defaultConfig(),
      host: "127.0.0.1",
      port: 0,
      apiKeys,
      cacheDir: resolve("models/cache"),
      gpu: "auto",
      bodyLimitBytes: 1 << 20,
      requestTimeoutMs: 600_000,
      strictCompat: false,
      models,
      gateway: { ...gatewayDefaults(mkdtempSync(join(tmpdir(), "openscope-bench-"))), ...gateway },
    },
    { info: () => undefined, warn: (message) => console.error(message) },
  );
  await server.loaded;
  return server;
}
