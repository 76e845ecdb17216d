/** Test helper: an openscope whose one model ("up", alias qwen-plus) is served by upstream replicas. */
import { startServer, type RunningServer } from "../../src/cli/serve.ts";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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

/** A JSON body as the stand-in received it (tests read it freely). */
type RecordedBody = any;

/** A local HTTP server standing in for an OpenAI-compatible engine (vLLM): records each body, streams a one-word answer. */
export async function engineStandIn(): Promise<{ url: string; bodies: RecordedBody[]; close: () => Promise<void> }> {
  const bodies: RecordedBody[] = [];
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => {
      text += chunk;
    });
    req.on("end", () => {
      bodies.push(JSON.parse(text));
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      const chunk = (delta: object, finish: string | null, usage?: object) =>
        `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "vl", choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
      res.end(
        chunk({ role: "assistant", content: "beach" }, null) +
          chunk({}, "stop", { prompt_tokens: 1300, completion_tokens: 1, total_tokens: 1301 }) +
          "data: [DONE]\n\n",
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
