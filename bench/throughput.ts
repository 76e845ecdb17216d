/**
 * Throughput: openscope end to end (HTTP + SSE) versus a raw node-llama-cpp loop on the same
 * GGUF, in the same process and run, at several concurrencies. Prints numbers; asserts nothing.
 *
 *   npm run bench [-- --model path.gguf] [--tokens 128] [--concurrency 1,4] [--threads N]
 *
 * Without --model it generates (once) the Qwen3-0.6B-shaped random-weight Q8_0 model.
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { chooseThreads, llamaRuntime } from "../src/backends/llama/index.ts";
import { startServer } from "../src/cli/serve.ts";
import { parseModel } from "../src/config/config.ts";
import { parseSseBody } from "../src/protocols/dashscope/index.ts";
import { ensureTestModel } from "../src/testmodels/index.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    tokens: { type: "string", default: "128" },
    concurrency: { type: "string", default: "1,4" },
    threads: { type: "string" },
    rounds: { type: "string", default: "2" },
  },
});
const maxTokens = Number(values.tokens);
const levels = values.concurrency!.split(",").map(Number);
const rounds = Number(values.rounds);
const modelPath = values.model ? resolve(values.model) : await ensureTestModel("qwen3-0.6b-shaped", resolve("models/test"));
const parallel = Math.max(...levels);
const contextSize = 1024;
const prompts = Array.from({ length: parallel }, (_, i) => `Request ${i}: write a long story about the number ${i * 7 + 3}.`);

interface Sample {
  tokens: number;
  seconds: number;
}

const rate = (s: Sample) => s.tokens / s.seconds;

/** The raw library loop: one context, `parallel` sequences, each generating maxTokens greedily. */
async function rawLoop(concurrency: number): Promise<Sample> {
  const llama = await llamaRuntime("auto");
  const model = await llama.loadModel({ modelPath });
  const threads = values.threads ? Number(values.threads) : chooseThreads(model.size);
  const context = await model.createContext({ contextSize: contextSize * parallel, sequences: parallel, threads, batchSize: 512 });
  const sequences: LlamaContextSequence[] = Array.from({ length: parallel }, () => context.getSequence());
  const run = async (sequence: LlamaContextSequence, prompt: string) => {
    const tokens = model.tokenize(`<|im_start|>user\n${prompt}<|im_end|>\n<|im_start|>assistant\n`, true);
    let count = 0;
    // The sampling openscope applies to the same request (greedy; the model defaults' top_k/top_p).
    for await (const token of sequence.evaluate(tokens, { temperature: 0, topK: 20, topP: 0.8, minP: 0, seed: 1, yieldEogToken: true })) {
      void (token as Token);
      if (++count >= maxTokens) break;
    }
    await sequence.clearHistory();
    return count;
  };
  const started = performance.now();
  const counts = await Promise.all(sequences.slice(0, concurrency).map((seq, i) => run(seq, prompts[i]!)));
  const seconds = (performance.now() - started) / 1000;
  await context.dispose();
  await model.dispose();
  return { tokens: counts.reduce((a, b) => a + b, 0), seconds };
}

/** openscope over HTTP: concurrent SSE requests, tokens counted from the final usage. */
async function openscope(concurrency: number, url: string): Promise<Sample> {
  const one = async (prompt: string) => {
    const response = await fetch(`${url}/api/v1/services/aigc/text-generation/generation`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-DashScope-SSE": "enable" },
      body: JSON.stringify({
        model: "bench",
        input: { messages: [{ role: "user", content: prompt }] },
        parameters: { result_format: "message", incremental_output: true, max_tokens: maxTokens, temperature: 0, repetition_penalty: 1, presence_penalty: 0 },
      }),
    });
    const events = parseSseBody(await response.text());
    const last = JSON.parse(events[events.length - 1]!.data) as { usage: { output_tokens: number } };
    return last.usage.output_tokens;
  };
  const started = performance.now();
  const counts = await Promise.all(prompts.slice(0, concurrency).map(one));
  return { tokens: counts.reduce((a, b) => a + b, 0), seconds: (performance.now() - started) / 1000 };
}

function best(samples: Sample[]): Sample {
  return samples.reduce((a, b) => (rate(b) > rate(a) ? b : a));
}

console.log(`model ${modelPath}`);
console.log(`cores ${availableParallelism()}, max_tokens ${maxTokens}, parallel slots ${parallel}, rounds ${rounds} (best of)`);

const server = await startServer(
  {
    host: "127.0.0.1",
    port: 0,
    apiKeys: [],
    cacheDir: resolve("models/cache"),
    gpu: "auto",
    bodyLimitBytes: 1 << 20,
    requestTimeoutMs: 600_000,
    strictCompat: false,
    models: [
      parseModel(
        { source: modelPath, name: "bench", context_size: contextSize, parallel, ...(values.threads ? { threads: Number(values.threads) } : {}) },
        "bench",
      ),
    ],
  },
  { info: () => undefined, warn: (m) => console.error(m) },
);
await server.loaded;
// Rounds alternate raw and served runs so drift on a noisy machine hits both alike.
const raw = new Map<number, Sample[]>();
const served = new Map<number, Sample[]>();
for (let r = 0; r < rounds; r++) {
  for (const c of levels) {
    raw.set(c, [...(raw.get(c) ?? []), await rawLoop(c)]);
    served.set(c, [...(served.get(c) ?? []), await openscope(c, server.url)]);
  }
}
await server.close();

console.log("\nconcurrency | raw node-llama-cpp tok/s | openscope HTTP tok/s | ratio");
for (const c of levels) {
  const a = best(raw.get(c)!);
  const b = best(served.get(c)!);
  console.log(`${String(c).padStart(11)} | ${rate(a).toFixed(1).padStart(24)} | ${rate(b).toFixed(1).padStart(20)} | ${(rate(b) / rate(a)).toFixed(3)}`);
}
process.exit(0);
