/**
 * The reliability fuzzer on a bounded budget (`npm run fuzz` runs it longer): seeded,
 * structure-aware mutations of valid requests of every kind, and raw malformed HTTP. No answer
 * may be a 5xx, none may leave the error catalogue's shapes, none may be missing, nothing the
 * clients did may be logged at error level or crash the server, and valid requests must be
 * served correctly afterwards.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { formatReport, runFuzzer, TINY_QWEN } from "./fuzzer.ts";

/**
 * With this seed every generator (29) and every mutation (93 names in all) has appeared by case 529;
 * 1,000 cases meet most of them several times. `npm run fuzz` runs 20,000 (or `--requests 100000`).
 */
const REQUESTS = Number(process.env.OPENSCOPE_FUZZ_REQUESTS ?? 1000);
const SEED = Number(process.env.OPENSCOPE_FUZZ_SEED ?? 20261203);

describe("reliability fuzzer", { skip: existsSync(TINY_QWEN) ? false : "run `npm run models:test` first" }, () => {
  it(`${REQUESTS} seeded requests: no 5xx, only catalogue shapes, no crash, still serving`, { timeout: 300_000 }, async () => {
    const report = await runFuzzer({ seed: SEED, requests: REQUESTS, concurrency: 4, timeoutMs: 30_000 });
    const text = formatReport(report);
    assert.equal(report.serverErrors, 0, text);
    assert.equal(report.nonCatalogue, 0, text);
    assert.equal(report.missingAnswers, 0, text);
    assert.deepEqual(report.errorLogs, [], text);
    assert.deepEqual(report.crashes, [], text);
    assert.deepEqual(report.afterwards, [], text);
    assert.deepEqual(report.failures, [], text);
  });
});
