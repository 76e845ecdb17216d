/**
 * The upstream path's added latency: the same requests sent straight to an OpenAI-compatible
 * engine and through openscope's upstream backend to it, alternating, in one run. The engine is
 * another openscope serving its `/compatible-mode/v1` from the embedded engine. Prints p50/p99
 * of time to first token and of the whole request; asserts nothing.
 *
 *   npm run bench:upstream [-- --model path.gguf] [--requests 40] [--tokens 16]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseModel } from "../src/config/index.ts";
import { ensureTestModel } from "../src/testmodels/index.ts";
import { startBenchServer } from "./server.ts";

const { values } = parseArgs({
  options: { model: { type: "string" }, requests: { type: "string", default: "40" }, tokens: { type: "string", default: "16" } },
});
const modelPath = values.model ? resolve(values.model) : await ensureTestModel("qwen3-tiny", resolve("models/test"));

const engine = await startBenchServer([parseModel({ source: modelPath, name: "engine", context_size: 1024, parallel: 1 }, "engine")]);
const front = await startBenchServer([
  parseModel(
    { backend: "openai", kind: "dashscope-compatible", name: "front", upstream_model: "engine", replicas: [{ url: `${engine.url}/compatible-mode/v1` }] },
    "front",
  ),
]);

/** Streams one request; returns [ms to the first content, ms to the end]. */
async function timed(url: string, body: object): Promise<[number, number]> {
  const start = performance.now();
  const headers = { "Content-Type": "application/json", "X-DashScope-SSE": "enable" };
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  const reader = response.body!.getReader();
  let first = 0;
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
    first ||= performance.now() - start;
  }
  return [first, performance.now() - start];
}

const maxTokens = Number(values.tokens);
const messages = [{ role: "user", content: "Tell me about the weather." }];
const direct = () => timed(`${engine.url}/compatible-mode/v1/chat/completions`, { model: "engine", messages, max_tokens: maxTokens, seed: 1, stream: true });
const through = () =>
  timed(`${front.url}/api/v1/services/aigc/text-generation/generation`, {
    model: "front",
    input: { messages },
    parameters: { max_tokens: maxTokens, seed: 1, incremental_output: true, result_format: "message" },
  });

const samples = { direct: [] as [number, number][], through: [] as [number, number][] };
await direct();
await through();
for (let i = 0; i < Number(values.requests); i++) {
  samples.direct.push(await direct());
  samples.through.push(await through());
}
await front.close();
await engine.close();

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
console.log(`model ${modelPath}, ${values.requests} requests each way, max_tokens ${maxTokens}, one at a time\n`);
console.log("path                      | TTFT p50 | TTFT p99 | total p50 | total p99 (ms)");
for (const [name, xs] of Object.entries(samples)) {
  const ttft = xs.map((x) => x[0]);
  const total = xs.map((x) => x[1]);
  console.log(
    `${name.padEnd(25)} | ${pct(ttft, 50).toFixed(1).padStart(8)} | ${pct(ttft, 99).toFixed(1).padStart(8)} | ${pct(total, 50).toFixed(1).padStart(9)} | ${pct(total, 99).toFixed(1).padStart(9)}`,
  );
}
const added = (p: number, k: 0 | 1) =>
  pct(
    samples.through.map((x) => x[k]),
    p,
  ) -
  pct(
    samples.direct.map((x) => x[k]),
    p,
  );
console.log(
  `\nadded by the upstream path: TTFT p50 ${added(50, 0).toFixed(1)} ms, p99 ${added(99, 0).toFixed(1)} ms; total p50 ${added(50, 1).toFixed(1)} ms, p99 ${added(99, 1).toFixed(1)} ms`,
);
