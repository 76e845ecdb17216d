import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { z } from "zod";
import { ApiError } from "../../core/errors.ts";
import type { EngineEvent } from "../../core/types.ts";
import { parseUpstreamJson } from "./payload.ts";
import type { SseEvent } from "./sseReader.ts";
import { type StreamTranslator, UpstreamTransport } from "./transport.ts";

/** A stand-in engine that answers every request with `body` as an event stream. */
async function engine(body: string): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.writeHead(200, { "Content-Type": "text/event-stream" });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Reads `{"text": …}` chunks, one delta each; `{"finish": true}` finishes choice 0. */
function translator(): StreamTranslator {
  let finished = false;
  const usage = { inputTokens: 1, outputTokens: 1 };
  const schema = z.looseObject({ text: z.string().nullish(), finish: z.boolean().nullish() });
  return {
    translate(event: SseEvent): EngineEvent[] | "done" {
      if (event.data === "[DONE]") return "done";
      const chunk = parseUpstreamJson(schema, event.data, "The upstream engine sent a chunk");
      if (chunk.finish) {
        finished = true;
        return [{ type: "finish", index: 0, reason: "stop", usage }];
      }
      return [{ type: "delta", index: 0, content: chunk.text ?? "", usage }];
    },
    usageOf: () => usage,
    unfinished: () => (finished ? [] : [0]),
  };
}

function transport(url: string): UpstreamTransport {
  return new UpstreamTransport({
    name: "m",
    replicas: [{ url }],
    path: "/chat/completions",
    healthPath: "/models",
    headers: {},
    firstByteTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    healthIntervalMs: 0,
    cooldownMs: 1000,
    authCooldownMs: 1000,
  });
}

async function collect(body: string): Promise<EngineEvent[]> {
  const { url, server } = await engine(body);
  const upstream = transport(url);
  try {
    const events: EngineEvent[] = [];
    for await (const event of upstream.stream("{}", translator, AbortSignal.timeout(10_000))) events.push(event);
    return events;
  } finally {
    upstream.close();
    server.close();
  }
}

describe("UpstreamTransport", () => {
  for (const [name, eol] of Object.entries({ LF: "\n", CR: "\r", CRLF: "\r\n" })) {
    it(`reads an engine that ends its lines with ${name}`, async () => {
      const body = [`data: {"text":"Hel"}`, "", `data: {"text":"lo"}`, "", `data: {"finish":true}`, "", "data: [DONE]", "", ""].join(eol);
      const events = await collect(body);
      assert.deepEqual(
        events.map((e) => (e.type === "delta" ? e.content : e.type)),
        ["Hel", "lo", "finish"],
      );
    });
  }

  it("a malformed first chunk from the only replica: ServiceUnavailable that says what was wrong", async () => {
    await assert.rejects(
      collect('data: {"text":5}\n\n'),
      (error: unknown) =>
        error instanceof ApiError &&
        error.status === 503 &&
        /No upstream replica of model "m" is available: .*The last one tried failed: http:\/\/127\.0\.0\.1:\d+: The upstream engine sent a chunk that does not have the expected shape \(text: /.test(
          error.message,
        ),
    );
  });

  it("a malformed chunk after the first: InternalError naming the replica and the problem", async () => {
    await assert.rejects(
      collect('data: {"text":"Hi"}\n\ndata: {"text":[]}\n\n'),
      (error: unknown) =>
        error instanceof ApiError &&
        error.code === "InternalError" &&
        /failed mid-stream: The upstream engine sent a chunk that does not have the expected shape \(text: /.test(error.message),
    );
  });
});
