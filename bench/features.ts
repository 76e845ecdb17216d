/**
 * What the capabilities cost: generation speed with logprobs, a thinking budget and grammars,
 * each against plain generation on the same model in the same run (one request at a time).
 * Prints numbers; asserts nothing.
 *
 *   npm run bench:features [-- --model path.gguf] [--tokens 96] [--rounds 3]
 *
 * Without --model it uses the Qwen3-0.6B-shaped random-weight model. Random weights almost never
 * pick a token a grammar allows, so llama.cpp re-samples over the whole vocabulary at nearly every
 * step: the grammar rows are the worst case, not what a trained model sees.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseModel } from "../src/config/index.ts";
import { ensureTestModel } from "../src/testmodels/index.ts";
import { startBenchServer } from "./server.ts";

const { values } = parseArgs({
  options: { model: { type: "string" }, tokens: { type: "string", default: "96" }, rounds: { type: "string", default: "3" } },
});
const maxTokens = Number(values.tokens);
const modelPath = values.model ? resolve(values.model) : await ensureTestModel("qwen3-0.6b-shaped", resolve("models/test"));

const WEATHER = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { unit: { enum: ["celsius", "fahrenheit"] }, days: { type: "integer" } } } },
};
const VARIANTS: Record<string, Record<string, unknown>> = {
  plain: {},
  "logprobs, top 5": { logprobs: true, top_logprobs: 5 },
  "thinking, budget half": { enable_thinking: true, thinking_budget: Math.floor(maxTokens / 2), max_tokens: maxTokens - Math.floor(maxTokens / 2) },
  "forced tool call (grammar)": { tools: [WEATHER], tool_choice: { type: "function", function: { name: "get_weather" } } },
  "json_object (grammar)": { response_format: { type: "json_object" } },
};

const server = await startBenchServer([parseModel({ source: modelPath, name: "bench", context_size: 1024, parallel: 1 }, "bench")]);

async function run(parameters: Record<string, unknown>): Promise<{ tokens: number; seconds: number }> {
  const started = performance.now();
  const response = await fetch(`${server.url}/api/v1/services/aigc/text-generation/generation`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      model: "bench",
      input: { messages: [{ role: "user", content: "Give me the weather as JSON, please." }] },
      parameters: { result_format: "message", seed: 3, max_tokens: maxTokens, ...parameters },
    }),
  });
  const body = (await response.json()) as { usage?: { output_tokens: number }; message?: string };
  if (!response.ok || !body.usage) throw new Error(`bench request failed: ${JSON.stringify(body)}`);
  return { tokens: body.usage.output_tokens, seconds: (performance.now() - started) / 1000 };
}

const rates = new Map<string, number[]>();
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, parameters] of Object.entries(VARIANTS)) {
    const sample = await run(parameters);
    rates.set(name, [...(rates.get(name) ?? []), sample.tokens / sample.seconds]);
  }
}
await server.close();

const best = (name: string) => Math.max(...rates.get(name)!);
console.log(`model ${modelPath}, max_tokens ${maxTokens}, rounds ${values.rounds} (best of), one request at a time\n`);
console.log("variant                     | tok/s  | vs plain");
for (const name of Object.keys(VARIANTS)) {
  console.log(`${name.padEnd(27)} | ${best(name).toFixed(1).padStart(6)} | ${(best(name) / best("plain")).toFixed(3)}`);
}
