import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startServer } from "../../src/cli/serve.ts";
import { parseSseBody } from "../helpers/sse.ts";
import { GENERATION_PATH, testConfig } from "../helpers/server.ts";

const quiet = { info: () => undefined, warn: () => undefined };

/** The tiny model's end-of-turn tokens (<|endoftext|>, <|im_end|>) banned: a long generation cannot end early by chance. */
const NO_EOS = { "151643": -100, "151645": -100 };

async function longStream(url: string): Promise<Response> {
  return fetch(url + GENERATION_PATH, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-DashScope-SSE": "enable" },
    body: JSON.stringify({
      model: "tiny",
      input: { prompt: "hi" },
      parameters: { max_tokens: 4000, temperature: 1, seed: 7, incremental_output: true, logit_bias: NO_EOS },
    }),
  });
}

async function readAll(response: Response): Promise<string> {
  return new Response(response.body).text();
}

describe("request lifecycle", () => {
  it("shutdown ends a stream in flight with an event:error frame, then closes", async () => {
    const config = testConfig({ model: { context_size: 4096 } }, await mkdtemp(join(tmpdir(), "openscope-life-")));
    const server = await startServer(config, quiet);
    await server.loaded;
    const response = await longStream(server.url);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    const closed = server.close();
    let rest = new TextDecoder().decode(first.value);
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      rest += new TextDecoder().decode(chunk.value);
    }
    await closed;
    const events = parseSseBody(rest);
    const last = events[events.length - 1]!;
    assert.equal(last.event, "error");
    assert.equal(last.status, "503");
    const body = JSON.parse(last.data) as { code: string; message: string; request_id: string };
    assert.equal(body.code, "ServiceUnavailable");
    assert.ok(body.request_id);
    assert.equal(events.filter((e) => e.event === "error").length, 1);
  });

  it("a request past its time limit ends with RequestTimeOut (stream) and frees its slot", async () => {
    const config = { ...testConfig({ model: { context_size: 4096, parallel: 1 } }, await mkdtemp(join(tmpdir(), "openscope-life-"))), requestTimeoutMs: 300 };
    const server = await startServer(config, quiet);
    await server.loaded;
    try {
      const events = parseSseBody(await readAll(await longStream(server.url)));
      const last = events[events.length - 1]!;
      assert.equal(last.event, "error");
      assert.equal(last.status, "408");
      assert.equal((JSON.parse(last.data) as { code: string }).code, "RequestTimeOut");
      const sync = await fetch(server.url + GENERATION_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: "tiny", input: { prompt: "hi" }, parameters: { max_tokens: 4000, temperature: 1, logit_bias: NO_EOS } }),
      });
      assert.equal(sync.status, 408);
      assert.equal(((await sync.json()) as { code: string }).code, "RequestTimeOut");
    } finally {
      await server.close();
    }
  });
});
