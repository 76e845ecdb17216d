/**
 * Throughput and latency, in one run on one GGUF: openscope end to end (HTTP + native SSE), a raw
 * node-llama-cpp loop, and (with --llama-server) llama.cpp's own llama-server under the same load.
 * Prints numbers; asserts nothing.
 *
 *   npm run bench [-- --model path.gguf] [--tokens 128] [--concurrency 1,4,8] [--rounds 2]
 *                 [--threads N] [--flash-attention auto|true|false] [--llama-server PATH]
 *
 * Without --model it generates (once) the Qwen3-0.6B-shaped random-weight Q8_0 model. Build a
 * llama-server from the same llama.cpp as the embedded engine with scripts/build-llama-server.sh.
 * Also measured: time to first token with a ~1k-token shared system prompt, cold then warm.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { chooseThreads, engineBuildName, llamaRuntime } from "../src/backends/llama/index.ts";
import { sseEvents } from "../src/backends/upstream/index.ts";
import { parseModel } from "../src/config/index.ts";
import { ensureTestModel } from "../src/testmodels/index.ts";
import { freePort } from "../test/helpers/net.ts";
import { startBenchServer } from "./server.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    tokens: { type: "string", default: "128" },
    concurrency: { type: "string", default: "1,4,8" },
    threads: { type: "string" },
    rounds: { type: "string", default: "2" },
    "llama-server": { type: "string" },
    "flash-attention": { type: "string", default: "auto" },
  },
});
const maxTokens = Number(values.tokens);
const levels = values.concurrency!.split(",").map(Number);
const rounds = Number(values.rounds);
const modelPath = values.model ? resolve(values.model) : await ensureTestModel("qwen3-0.6b-shaped", resolve("models/test"));
const parallel = Math.max(...levels);
const flashAttentionArg = values["flash-attention"]!;
if (!["auto", "true", "false"].includes(flashAttentionArg)) throw new Error("--flash-attention is auto, true or false");
const flashAttention: "auto" | boolean = flashAttentionArg === "auto" ? "auto" : flashAttentionArg === "true";
const contextSize = 1024;
/** Candidate prompts; with --llama-server, only those whose answer its output parser accepts are used (see below). */
let prompts = Array.from({ length: parallel * 4 }, (_, i) => `Request ${i}: write a long story about the number ${i * 7 + 3}.`);
/** ~1k tokens shared by the cold/warm pair. */
const SYSTEM = `You are a meticulous assistant. ${Array.from({ length: 70 }, (_, i) => `Rule ${i + 1}: answer carefully and cite step ${i}.`).join(" ")}`;

interface Run {
  tokens: number;
  seconds: number;
  /** Per stream: ms to the first token, and tokens/s after it. */
  ttft: number[];
  streamRates: number[];
}

/** One streamed request, timed: what a target must do. */
type Stream = (prompt: string, system?: string) => Promise<{ tokens: number; ttft: number; rate: number }>;

async function load(stream: Stream, concurrency: number): Promise<Run> {
  const started = performance.now();
  const results = await Promise.all(prompts.slice(0, concurrency).map((p) => stream(p)));
  return {
    tokens: results.reduce((a, r) => a + r.tokens, 0),
    seconds: (performance.now() - started) / 1000,
    ttft: results.map((r) => r.ttft),
    streamRates: results.map((r) => r.rate),
  };
}

/** Reads an SSE body, timing the first event that carries text; returns the token count `count` reports. */
async function timedSse(
  response: Response,
  start: number,
  count: (data: any, sofar: number) => number,
): Promise<{ tokens: number; ttft: number; rate: number }> {
  let ttft = 0;
  let tokens = 0;
  for await (const event of sseEvents(response.body!)) {
    if (event.data.trim() === "[DONE]") break;
    const data = JSON.parse(event.data);
    if (event.event === "error" || data.error) throw new Error(`request failed: ${event.data}`);
    const before = tokens;
    tokens = count(data, tokens);
    if (!ttft && tokens > before) ttft = performance.now() - start;
  }
  const seconds = (performance.now() - start - ttft) / 1000;
  return { tokens, ttft, rate: tokens > 1 ? (tokens - 1) / seconds : 0 };
}

function openscopeStream(url: string): Stream {
  return async (prompt, system) => {
    const start = performance.now();
    const messages = [...(system ? [{ role: "system", content: system }] : []), { role: "user", content: prompt }];
    const response = await fetch(`${url}/api/v1/services/aigc/text-generation/generation`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-DashScope-SSE": "enable" },
      body: JSON.stringify({
        model: "bench",
        input: { messages },
        parameters: { result_format: "message", incremental_output: true, max_tokens: maxTokens, temperature: 0, repetition_penalty: 1, presence_penalty: 0 },
      }),
    });
    return timedSse(response, start, (d) => d.usage.output_tokens);
  };
}

/** The same ChatML prompt openscope renders (Qwen3 template, thinking off). */
function chatml(prompt: string, system?: string): string {
  const sys = system ? `<|im_start|>system\n${system}<|im_end|>\n` : "";
  return `${sys}<|im_start|>user\n${prompt}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n`;
}

/**
 * llama-server's own completion endpoint with the templated prompt: its chat endpoint's output
 * parser rejects random-weight text, and this keeps the comparison to decoding and serving.
 */
function llamaServerStream(url: string): Stream {
  return async (prompt, system) => {
    const start = performance.now();
    const response = await fetch(`${url}/completion`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      // Qwen's added tokens (151643…151668: markup such as <tool_call>, </think>) are banned: its output
      // parser rejects them in plain completions; random weights pick them rarely, so speed is unaffected.
      body: JSON.stringify({
        prompt: chatml(prompt, system),
        n_predict: maxTokens,
        temperature: 0,
        stream: true,
        cache_prompt: true,
        logit_bias: Array.from({ length: 26 }, (_, i) => [151643 + i, false]),
      }),
    });
    // One token per chunk (llama-server streams token by token).
    return timedSse(response, start, (d, sofar) => sofar + (typeof d.content === "string" && !d.stop ? 1 : 0));
  };
}

/** The raw library loop: one context, `parallel` sequences, each generating maxTokens greedily. */
async function rawLoop(concurrency: number): Promise<Run> {
  const llama = await llamaRuntime("auto");
  const model = await llama.loadModel({ modelPath });
  const threads = values.threads ? Number(values.threads) : chooseThreads(model.size);
  // The engine settings openscope uses.
  const context = await model.createContext({ contextSize, sequences: parallel, threads, batchSize: 512, flashAttention });
  const sequences: LlamaContextSequence[] = Array.from({ length: parallel }, () => context.getSequence());
  const one = async (sequence: LlamaContextSequence, prompt: string) => {
    const start = performance.now();
    const tokens = model.tokenize(`<|im_start|>user\n${prompt}<|im_end|>\n<|im_start|>assistant\n`, true);
    let count = 0;
    let ttft = 0;
    for await (const token of sequence.evaluate(tokens, { temperature: 0, topK: 20, topP: 0.8, minP: 0, seed: 1, yieldEogToken: true })) {
      void (token as Token);
      if (++count === 1) ttft = performance.now() - start;
      if (count >= maxTokens) break;
    }
    await sequence.clearHistory();
    return { tokens: count, ttft, rate: (count - 1) / ((performance.now() - start - ttft) / 1000) };
  };
  const started = performance.now();
  const results = await Promise.all(sequences.slice(0, concurrency).map((seq, i) => one(seq, prompts[i]!)));
  const run = {
    tokens: results.reduce((a, r) => a + r.tokens, 0),
    seconds: (performance.now() - started) / 1000,
    ttft: results.map((r) => r.ttft),
    streamRates: results.map((r) => r.rate),
  };
  await context.dispose();
  await model.dispose();
  return run;
}

async function startLlamaServer(binary: string, threads: number): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    binary,
    [
      "-m",
      modelPath,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "-c",
      String(contextSize * parallel),
      "-np",
      String(parallel),
      "-t",
      String(threads),
      "--threads-http",
      String(parallel + 4),
      "--no-jinja",
      "--reasoning-format",
      "none",
    ],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  // Never outlive the bench, even when it is killed.
  process.once("exit", () => child.kill("SIGKILL"));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, child };
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error("llama-server did not start");
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;
const rate = (r: Run) => r.tokens / r.seconds;
const best = (runs: Run[]) => runs.reduce((a, b) => (rate(b) > rate(a) ? b : a));

const threads = values.threads ? Number(values.threads) : chooseThreads(statSync(modelPath).size);
console.log(`model ${modelPath}`);
console.log(`engine: ${engineBuildName(await llamaRuntime("auto"))} (OPENSCOPE_ENGINE=prebuilt skips a native build)`);
console.log(
  `cores ${availableParallelism()}, threads ${threads}, flash attention ${flashAttentionArg}, max_tokens ${maxTokens}, slots ${parallel}, rounds ${rounds} (best of)`,
);

const server = await startBenchServer([
  parseModel({ source: modelPath, name: "bench", context_size: contextSize, parallel, threads, flash_attention: flashAttention }, "bench"),
]);
const targets: Record<string, (c: number) => Promise<Run>> = {
  "raw node-llama-cpp": rawLoop,
  "openscope HTTP": (c) => load(openscopeStream(server.url), c),
};
let llamaServer: { url: string; child: ChildProcess } | undefined;
const lsBinary = values["llama-server"];
if (lsBinary) {
  llamaServer = await startLlamaServer(lsBinary, threads);
  targets["llama-server HTTP"] = (c) => load(llamaServerStream(llamaServer!.url), c);
  // This llama-server runs a text parser over every answer, and some random-weight answers fail it
  // ("does not match the expected Content-only format"): keep the prompts whose answers pass.
  const usable: string[] = [];
  for (const prompt of prompts) {
    if (usable.length === parallel) break;
    const ok = await llamaServerStream(llamaServer.url)(prompt).then(
      () => true,
      () => false,
    );
    if (ok) usable.push(prompt);
  }
  if (usable.length < parallel) throw new Error(`only ${usable.length} prompts pass llama-server's output parser`);
  prompts = usable;
}
prompts = prompts.slice(0, parallel);

// Rounds alternate the targets so drift on a noisy machine hits all alike.
const runs = new Map<string, Run[]>();
for (let r = 0; r < rounds; r++) {
  for (const c of levels) {
    for (const [name, run] of Object.entries(targets)) {
      // One target runs at a time (each needs all the cores).
      runs.set(`${name}@${c}`, [...(runs.get(`${name}@${c}`) ?? []), await run(c)]);
    }
  }
}

// Cold vs warm: the same ~1k-token system prompt twice, different questions.
const coldWarm: Record<string, [number, number]> = {};
const pair = async (stream: Stream) => {
  const cold = await stream("First question: what are the rules?", SYSTEM);
  const warm = await stream("Second question: which rule is last?", SYSTEM);
  return [cold.ttft, warm.ttft] as [number, number];
};
coldWarm["openscope HTTP"] = await pair(openscopeStream(server.url));
if (llamaServer) coldWarm["llama-server HTTP"] = await pair(llamaServerStream(llamaServer.url));

await server.close();
llamaServer?.child.kill("SIGTERM");

console.log("\nconcurrency | target               | aggregate tok/s | TTFT p50 ms | TTFT p99 ms | per-stream tok/s p50");
for (const c of levels) {
  for (const name of Object.keys(targets)) {
    const run = best(runs.get(`${name}@${c}`)!);
    console.log(
      `${String(c).padStart(11)} | ${name.padEnd(20)} | ${rate(run).toFixed(1).padStart(15)} | ${pct(run.ttft, 50).toFixed(0).padStart(11)} | ${pct(run.ttft, 99).toFixed(0).padStart(11)} | ${pct(run.streamRates, 50).toFixed(1).padStart(20)}`,
    );
  }
}
console.log("\nratios (aggregate tok/s):");
for (const c of levels) {
  const os = rate(best(runs.get(`openscope HTTP@${c}`)!));
  const parts = [`c${c}: openscope/raw ${(os / rate(best(runs.get(`raw node-llama-cpp@${c}`)!))).toFixed(3)}`];
  if (llamaServer) parts.push(`openscope/llama-server ${(os / rate(best(runs.get(`llama-server HTTP@${c}`)!))).toFixed(3)}`);
  console.log(`  ${parts.join(", ")}`);
}
console.log("\ntime to first token with a ~1k-token shared system prompt (cold -> warm):");
for (const [name, [cold, warm]] of Object.entries(coldWarm)) {
  console.log(`  ${name.padEnd(20)} ${cold.toFixed(0)} ms -> ${warm.toFixed(0)} ms (warm/cold ${(warm / cold).toFixed(3)})`);
}
