/**
 * The conformance cases through the upstream backend, pointed at a second openscope (a real server
 * over real HTTP) that serves its OpenAI-compatible mode from the embedded engine.
 */
import { after, before } from "node:test";
import type { RunningServer } from "../../src/cli/serve.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { startUpstreamFront } from "../helpers/upstream.ts";
import { conformance } from "./cases.ts";

let engine: TestServer;
let front: RunningServer;
before(async () => {
  engine = await startTestServer();
  front = await startUpstreamFront([`${engine.url}/compatible-mode/v1`]);
});
after(async () => {
  await front?.close();
  await engine?.close();
});

conformance({
  name: "upstream backend -> openscope compatible mode",
  url: () => front.url,
  model: "qwen-plus",
  skip: {
    tokenizer: "upstream engines expose no DashScope tokenizer API; the 400 it gives instead is tested in test/e2e/upstream.test.ts",
  },
});
