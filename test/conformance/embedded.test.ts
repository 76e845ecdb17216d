/** The conformance cases on the embedded engine (node-llama-cpp, the tiny random-weight Qwen3). */
import { after, before } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { conformance } from "./cases.ts";

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s?.close();
});

conformance({ name: "embedded llama.cpp engine", url: () => s.url, model: "qwen-plus", skip: {} });
