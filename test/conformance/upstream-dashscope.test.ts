/**
 * The conformance cases through the `dashscope` upstream kind: native forwarding to a DashScope
 * endpoint — here a second openscope's native API (a real server over real HTTP), standing where
 * Alibaba Cloud's dashscope.aliyuncs.com/api/v1 would.
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
  front = await startUpstreamFront([`${engine.url}/api/v1`], { kind: "dashscope" });
});
after(async () => {
  await front?.close();
  await engine?.close();
});

conformance({ name: "upstream backend -> DashScope native API", url: () => front.url, model: "qwen-plus", skip: {} });
