/**
 * The gateway's added latency: the same requests against two openscope servers on the same
 * model in one process, one with the gateway's work off (no keys, limits off, ledger off) and
 * one with it all on (a managed key checked per request, RPM/TPM/concurrency counted and
 * settled, every request written to the usage ledger). Rounds alternate between the two.
 * With --redis the limit counters live in Redis; with --pg keys and ledger live in PostgreSQL.
 * Prints p50/p99 latency and requests/s per side and the differences; asserts nothing.
 *
 *   npm run bench:gateway [-- --requests 400] [--concurrency 1,8] [--tokens 1] [--redis redis://…] [--pg postgres://…]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseModel, type GatewayConfig } from "../src/config/index.ts";
import { ensureTestModel } from "../src/testmodels/index.ts";
import { startBenchServer } from "./server.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    requests: { type: "string", default: "400" },
    concurrency: { type: "string", default: "1,8" },
    tokens: { type: "string", default: "1" },
    redis: { type: "string" },
    pg: { type: "string" },
  },
});
const modelPath = values.model ? resolve(values.model) : await ensureTestModel("qwen3-tiny", resolve("models/test"));
const model = () => [parseModel({ source: modelPath, name: "m", context_size: 512, parallel: 8, threads: 1 }, "bench")];
const ADMIN_KEY = "bench-admin-key-0123456789";

const off = await startBenchServer(model(), { ledger: { enabled: false, flushMs: 1000 }, limits: false, metrics: true });
const onGateway: Partial<GatewayConfig> = { adminKey: ADMIN_KEY, ledger: { enabled: true, flushMs: 1000 }, limits: true, metrics: true };
if (values.redis) onGateway.redisUrl = values.redis;
if (values.pg) onGateway.storeUrl = values.pg;
const on = await startBenchServer(model(), onGateway);
const created = await on.gateway.keys!.create({ name: "bench", rpm: 10_000_000, tpm: 1_000_000_000, concurrency: 1000 });
const headersOn = { "Content-Type": "application/json", Authorization: `Bearer ${created.secret}` };
const headersOff = { "Content-Type": "application/json" };

const body = JSON.stringify({
  model: "m",
  input: { messages: [{ role: "user", content: "hello" }] },
  parameters: { max_tokens: Number(values.tokens), seed: 1 },
});
const path = "/api/v1/services/aigc/text-generation/generation";

async function one(url: string, headers: Record<string, string>): Promise<number> {
  const start = performance.now();
  const response = await fetch(url + path, { method: "POST", headers, body });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  return performance.now() - start;
}

/** `count` requests from `concurrency` clients; returns each request's latency and the wall time. */
async function run(url: string, headers: Record<string, string>, count: number, concurrency: number): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        latencies.push(await one(url, headers));
      }
    }),
  );
  return { latencies, wallMs: performance.now() - start };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const total = Number(values.requests);
const ROUNDS = 4;
console.log(`model ${modelPath}, max_tokens ${values.tokens}, ${total} requests per side per concurrency in ${ROUNDS} alternating rounds`);
console.log(`gateway on: managed key + limits (${values.redis ? "Redis" : "memory"}) + usage ledger (${values.pg ? "PostgreSQL" : "SQLite"})\n`);
console.log("conc  side  p50 ms  p99 ms  mean ms  req/s");
for (const concurrency of values.concurrency.split(",").map(Number)) {
  await run(off.url, headersOff, 20, concurrency);
  await run(on.url, headersOn, 20, concurrency);
  const sides = { off: { latencies: [] as number[], wallMs: 0 }, on: { latencies: [] as number[], wallMs: 0 } };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, url, headers] of [
      ["off", off.url, headersOff],
      ["on", on.url, headersOn],
    ] as const) {
      const result = await run(url, headers, Math.ceil(total / ROUNDS), concurrency);
      sides[name].latencies.push(...result.latencies);
      sides[name].wallMs += result.wallMs;
    }
  }
  const line = (name: "off" | "on") => {
    const s = sides[name];
    const mean = s.latencies.reduce((a, b) => a + b, 0) / s.latencies.length;
    return { p50: pct(s.latencies, 50), p99: pct(s.latencies, 99), mean, rps: (s.latencies.length / s.wallMs) * 1000 };
  };
  const a = line("off");
  const b = line("on");
  for (const [name, r] of [
    ["off", a],
    ["on", b],
  ] as const) {
    console.log(
      `${String(concurrency).padStart(4)}  ${name.padEnd(4)}  ${r.p50.toFixed(2).padStart(6)}  ${r.p99.toFixed(2).padStart(6)}  ${r.mean.toFixed(2).padStart(7)}  ${r.rps.toFixed(1).padStart(5)}`,
    );
  }
  console.log(`      added: p50 ${(b.p50 - a.p50).toFixed(2)} ms, mean ${(b.mean - a.mean).toFixed(2)} ms; throughput on/off ${(b.rps / a.rps).toFixed(3)}\n`);
}
await on.gateway.ledger!.flush();
const written = await on.gateway.ledger!.store.usageTotals({ keyId: created.record.id });
console.log(`ledger rows written for the bench key: ${written.reduce((sum, t) => sum + t.requests, 0)}`);
await on.close();
await off.close();
