/**
 * Steady load of short generations against a server process, and its memory split into V8's heap
 * and the rest (native): for the memory test and the memory bench.
 */
import type { ChildServer } from "./childServer.ts";
import { GENERATION_PATH } from "./server.ts";

export const MIB = 1024 * 1024;

/** Per-request extras in turn, so every native object a request can make is made: grammars, logprobs, several choices, tools. */
const EXTRAS: Record<string, unknown>[] = [
  {},
  { response_format: { type: "json_object" } },
  { logprobs: true, top_logprobs: 3 },
  { n: 2 },
  {
    tools: [
      {
        type: "function",
        function: {
          name: "lookup",
          description: "Look a word up",
          parameters: { type: "object", properties: { word: { type: "string" } }, required: ["word"] },
        },
      },
    ],
    tool_choice: { type: "function", function: { name: "lookup" } },
  },
];

/** Request `i`: a short generation, sync or streamed in turn, with one of the extras; throws unless it is a 200. */
export async function shortRequest(url: string, i: number): Promise<void> {
  const stream = i % 2 === 1;
  const extras = EXTRAS[Math.floor(i / 2) % EXTRAS.length];
  const response = await fetch(url + GENERATION_PATH, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(stream ? { "X-DashScope-SSE": "enable" } : {}) },
    body: JSON.stringify({
      model: "qwen-plus",
      input: { messages: [{ role: "user", content: `Request ${i}: say something in JSON.` }] },
      parameters: { max_tokens: 3, seed: i, result_format: "message", ...extras, ...(stream ? { incremental_output: true } : {}) },
    }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`request ${i}: ${response.status} ${text.slice(0, 300)}`);
}

/** Requests `from` .. `from + count - 1`, `concurrency` at a time. */
export async function steadyLoad(url: string, from: number, count: number, concurrency: number): Promise<void> {
  let next = from;
  const end = from + count;
  const worker = async () => {
    while (next < end) await shortRequest(url, next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export interface MemorySample {
  rss: number;
  /** V8's heap (its size, used or not), from the server's own /metrics. */
  heap: number;
  /** RSS less the heap: what native code holds (and the rest of the process). */
  native: number;
}

export async function memorySample(server: ChildServer): Promise<MemorySample> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const heap = Number(/^openscope_nodejs_heap_size_total_bytes (\S+)$/m.exec(metrics)?.[1]);
  if (!(heap > 0)) throw new Error("the server's /metrics does not report V8's heap size");
  const rss = server.rssBytes();
  return { rss, heap, native: rss - heap };
}

export const mib = (bytes: number): string => `${(bytes / MIB).toFixed(0)} MiB`;
