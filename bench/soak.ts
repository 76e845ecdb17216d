/**
 * Soak: `openscope serve` as its own process under mixed load for a long time — streamed and sync
 * generations, some clients hanging up on purpose mid-answer — printing the server's RSS, errors
 * and time to first token every 10 s, then whether every engine slot is free once the clients
 * have left. Prints numbers; asserts nothing.
 *
 *   npm run soak -- [--minutes 30] [--streams 64] [--model path.gguf] [--parallel 16]
 *                   [--context-size 512] [--disconnect 0.1] [--seed 1]
 *
 * Without --model it serves the tiny random-weight Qwen3 test model (models/test/qwen3-tiny.gguf).
 * Traffic goes to 127.0.0.1 only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureTestModel } from "../src/testmodels/index.ts";
import { startChildServer } from "../test/helpers/childServer.ts";
import { GENERATION_PATH } from "../test/helpers/server.ts";
import { memorySample, type MemorySample } from "../test/helpers/steadyLoad.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    streams: { type: "string", default: "64" },
    model: { type: "string" },
    parallel: { type: "string", default: "16" },
    "context-size": { type: "string", default: "512" },
    disconnect: { type: "string", default: "0.1" },
    seed: { type: "string", default: "1" },
  },
});
const minutes = Number(values.minutes);
const streams = Number(values.streams);
const disconnectShare = Number(values.disconnect);
if (!(minutes > 0) || !(streams > 0) || !(disconnectShare >= 0 && disconnectShare < 1)) {
  console.error("soak: --minutes and --streams must be positive, --disconnect in [0, 1)");
  process.exit(2);
}

/** A small seeded generator (mulberry32), so two runs send the same mix. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(Number(values.seed));

const MIB = 1024 * 1024;
const modelPath = values.model ? resolve(values.model) : await ensureTestModel("qwen3-tiny", resolve("models/test"));
const dir = mkdtempSync(join(tmpdir(), "openscope-soak-"));
const server = await startChildServer(
  ["--model", modelPath, "--parallel", values.parallel!, "--context-size", values["context-size"]!, "--data-dir", join(dir, "data")],
  { OPENSCOPE_CACHE_DIR: join(dir, "cache") },
);
console.log(
  `soak: ${streams} client streams for ${minutes} min against ${server.url} (${modelPath}, parallel ${values.parallel}); RSS at start ${(server.rssBytes() / MIB).toFixed(0)} MiB`,
);

interface Window {
  done: number;
  disconnects: number;
  errors: Map<string, number>;
  ttft: number[];
}
const newWindow = (): Window => ({ done: 0, disconnects: 0, errors: new Map(), ttft: [] });
let window = newWindow();
const total = newWindow();
const count = (key: string) => {
  window.errors.set(key, (window.errors.get(key) ?? 0) + 1);
  total.errors.set(key, (total.errors.get(key) ?? 0) + 1);
};

/** One request: streamed (2 of 3) or sync; a share of them hang up on purpose after a random delay. */
async function oneRequest(i: number): Promise<void> {
  const stream = rand() < 2 / 3;
  const hangUp = rand() < disconnectShare;
  const controller = new AbortController();
  if (hangUp) setTimeout(() => controller.abort(), 20 + rand() * 500).unref();
  const started = performance.now();
  try {
    const response = await fetch(server.url + GENERATION_PATH, {
      method: "POST",
      signal: controller.signal,
      headers: { "Content-Type": "application/json", ...(stream ? { "X-DashScope-SSE": "enable" } : {}) },
      body: JSON.stringify({
        model: "qwen-plus",
        input: { messages: [{ role: "user", content: `Soak request ${i}: tell me something about ${Math.floor(rand() * 1000)}.` }] },
        parameters: { max_tokens: 8 + Math.floor(rand() * 56), seed: i, result_format: "message", ...(stream ? { incremental_output: true } : {}) },
      }),
    });
    if (!stream) {
      const body = await response.text();
      if (response.status !== 200) count(`${response.status} ${/"code":"([^"]+)"/.exec(body)?.[1] ?? "?"}`);
    } else {
      if (response.status !== 200) count(`${response.status}`);
      const decoder = new TextDecoder();
      let text = "";
      let first = true;
      for await (const chunk of response.body!) {
        if (first) {
          window.ttft.push(performance.now() - started);
          total.ttft.push(performance.now() - started);
          first = false;
        }
        text += decoder.decode(chunk, { stream: true });
      }
      if (text.includes("event:error")) count(`stream error ${/"code":"([^"]+)"/.exec(text.slice(text.indexOf("event:error")))?.[1] ?? "?"}`);
    }
    window.done++;
    total.done++;
  } catch (error) {
    if (hangUp && controller.signal.aborted) {
      window.disconnects++;
      total.disconnects++;
    } else count(`client ${(error as Error).name}: ${(error as Error).message}`);
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const errorsText = (errors: Map<string, number>) => (errors.size === 0 ? "0" : [...errors].map(([k, v]) => `${k} x${v}`).join(", "));

const endAt = Date.now() + minutes * 60_000;
let next = 0;
const clients = Array.from({ length: streams }, async () => {
  while (Date.now() < endAt) await oneRequest(next++);
});
const samples: MemorySample[] = [];
const startedAt = Date.now();
const reporter = setInterval(() => {
  const ended = window;
  window = newWindow();
  void memorySample(server).then((sample) => {
    samples.push(sample);
    console.log(
      `t=${((Date.now() - startedAt) / 1000).toFixed(0).padStart(5)} s  RSS ${(sample.rss / MIB).toFixed(0).padStart(5)} MiB (V8 heap ${(sample.heap / MIB).toFixed(0).padStart(4)}, native ${(sample.native / MIB).toFixed(0).padStart(4)})  done ${String(ended.done).padStart(5)}  hung up ${String(ended.disconnects).padStart(4)}  TTFT p50 ${percentile(ended.ttft, 50).toFixed(0)} ms p99 ${percentile(ended.ttft, 99).toFixed(0)} ms  errors ${errorsText(ended.errors)}`,
    );
  });
}, 10_000);
await Promise.all(clients);
clearInterval(reporter);

// Once the clients have left, every slot must come free and the queue empty out.
await sleep(2000);
const metrics = await (await fetch(`${server.url}/metrics`)).text();
const gauge = (name: string) => [...metrics.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "gm"))].reduce((sum, m) => sum + Number(m[1]), 0);
/** After warm-up (the first minute): the spread of RSS and of native memory, and the means of the first and last sixth. */
const warm = samples.slice(Math.min(6, Math.floor(samples.length / 3)));
const spread = (values: number[]) =>
  `${(Math.min(...values) / MIB).toFixed(0)}..${(Math.max(...values) / MIB).toFixed(0)} MiB (spread ${(((Math.max(...values) - Math.min(...values)) / Math.min(...values)) * 100).toFixed(1)}%)`;
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length / MIB;
const sixth = Math.max(1, Math.floor(warm.length / 6));
console.log(`requests ${total.done} done, ${total.disconnects} hung up on purpose; errors ${errorsText(total.errors)}`);
console.log(`TTFT (streams) p50 ${percentile(total.ttft, 50).toFixed(0)} ms, p99 ${percentile(total.ttft, 99).toFixed(0)} ms`);
console.log(`after warm-up, ${warm.length} samples: RSS ${spread(warm.map((s) => s.rss))}, native ${spread(warm.map((s) => s.native))}`);
console.log(
  `RSS mean, first vs last sixth: ${mean(warm.slice(0, sixth).map((s) => s.rss)).toFixed(0)} -> ${mean(warm.slice(-sixth).map((s) => s.rss)).toFixed(0)} MiB; native ${mean(warm.slice(0, sixth).map((s) => s.native)).toFixed(0)} -> ${mean(warm.slice(-sixth).map((s) => s.native)).toFixed(0)} MiB`,
);
console.log(
  `after the clients left: slots busy ${gauge("openscope_engine_slots_busy")} of ${gauge("openscope_engine_slots")}, queue ${gauge("openscope_queue_depth")}`,
);
console.log(`server stopped with ${await server.stop()}`);
rmSync(dir, { recursive: true, force: true });
