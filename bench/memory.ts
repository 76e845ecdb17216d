/**
 * Memory under steady load, GC left alone: `openscope serve` as its own process, short generations
 * (sync and streamed, with grammars, logprobs, n=2 and forced tool calls in turn), RSS / V8 heap /
 * native memory printed after warm-up and every `--every` requests. Prints numbers; asserts nothing.
 *
 *   npm run bench:memory -- [--requests 10000] [--warm-up 1000] [--every 1000] [--concurrency 8] [--model path.gguf]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureTestModel } from "../src/testmodels/index.ts";
import { startChildServer } from "../test/helpers/childServer.ts";
import { memorySample, mib, steadyLoad, type MemorySample } from "../test/helpers/steadyLoad.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "10000" },
    "warm-up": { type: "string", default: "1000" },
    every: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "8" },
    model: { type: "string" },
  },
});
const requests = Number(values.requests);
const warmUp = Number(values["warm-up"]);
const every = Number(values.every);
const concurrency = Number(values.concurrency);
const modelPath = values.model ? resolve(values.model) : await ensureTestModel("qwen3-tiny", resolve("models/test"));
const dir = mkdtempSync(join(tmpdir(), "openscope-bench-memory-"));
const server = await startChildServer(["--model", modelPath, "--parallel", String(concurrency), "--context-size", "256", "--data-dir", join(dir, "data")], {
  OPENSCOPE_CACHE_DIR: join(dir, "cache"),
});
const line = (label: string, s: MemorySample) =>
  console.log(`${label.padEnd(24)} RSS ${mib(s.rss).padStart(9)}  V8 heap ${mib(s.heap).padStart(8)}  native ${mib(s.native).padStart(9)}`);
const engine = /engine: ([^,;\n]+)/.exec(server.stderr())?.[1] ?? "unknown engine";
console.log(`memory bench: ${modelPath}, ${engine}, concurrency ${concurrency}`);
line("started", await memorySample(server));
await steadyLoad(server.url, 0, warmUp, concurrency);
const base = await memorySample(server);
line(`after ${warmUp} warm-up`, base);
const started = Date.now();
for (let done = 0; done < requests; done += every) {
  await steadyLoad(server.url, warmUp + done, Math.min(every, requests - done), concurrency);
  line(`+${Math.min(done + every, requests)} requests`, await memorySample(server));
}
const end = await memorySample(server);
console.log(
  `over ${requests} requests after warm-up (${((Date.now() - started) / 1000).toFixed(0)} s): RSS ${mib(end.rss - base.rss)}, native ${mib(end.native - base.native)}`,
);
await server.stop();
rmSync(dir, { recursive: true, force: true });
