/** Test helper: an openscope whose one model ("up", alias qwen-plus) is served by upstream replicas. */
import { startServer, type RunningServer } from "../../src/cli/serve.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig, gatewayDefaults, parseModel, type ServerConfig } from "../../src/config/index.ts";

/** Starts the front server over the given base URLs (default kind dashscope-compatible: OpenAI-compatible URLs). */
export async function startUpstreamFront(
  replicas: string[],
  extra: Record<string, unknown> = {},
  overrides: Partial<ServerConfig> = {},
): Promise<RunningServer> {
  const model = parseModel(
    {
      backend: "openai",
      kind: "dashscope-compatible",
      name: "up",
      aliases: ["qwen-plus"],
      upstream_model: "qwen-plus",
      replicas: replicas.map((url) => ({ url })),
      timeouts: { health_interval_s: 0, cooldown_s: 30, first_byte_s: 20, idle_s: 20 },
      ...extra,
    },
    "front",
  );
  const server = await startServer(
    {
      ...defaultConfig(),
      host: "127.0.0.1",
      port: 0,
      apiKeys: [],
      cacheDir: "/tmp",
      gpu: false,
      bodyLimitBytes: 1 << 20,
      requestTimeoutMs: 60_000,
      strictCompat: false,
      models: [model],
      gateway: gatewayDefaults(mkdtempSync(join(tmpdir(), "openscope-front-"))),
      ...overrides,
    },
    { info: () => undefined, warn: () => undefined },
  );
  await server.loaded;
  return server;
}
