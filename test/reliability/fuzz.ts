/**
 * The reliability fuzzer with a bigger budget than `npm test` gives it:
 *   npm run fuzz -- [--requests 100000] [--seed N] [--concurrency 4] [--timeout-ms 30000]
 *   npm run fuzz -- --seed N --case I [--case J …] --verbose     (reproduce failing cases)
 * Prints the status histogram, the 5xx and non-catalogue counts and the failing examples with
 * the command that reproduces each; exits 1 when anything failed.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatReport, runFuzzer, TINY_QWEN } from "./fuzzer.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    seed: { type: "string" },
    concurrency: { type: "string", default: "4" },
    "timeout-ms": { type: "string", default: "30000" },
    case: { type: "string", multiple: true },
    verbose: { type: "boolean", default: false },
    examples: { type: "string", default: "20" },
  },
});

if (!existsSync(TINY_QWEN)) {
  console.error(`${TINY_QWEN} is missing: run \`npm run models:test\` first`);
  process.exit(2);
}
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const only = values.case?.map(Number);
console.error(`fuzz: seed ${seed}, ${only ? `cases ${only.join(", ")}` : `${values.requests} requests`}, concurrency ${values.concurrency}`);
const report = await runFuzzer({
  seed,
  requests: Number(values.requests),
  concurrency: Number(values.concurrency),
  timeoutMs: Number(values["timeout-ms"]),
  ...(only ? { only } : {}),
  verbose: values.verbose,
  progress: (line) => console.error(`fuzz: ${line}`),
});
console.log(formatReport(report, Number(values.examples)));
const failed = report.failures.length + report.errorLogs.length + report.crashes.length + report.afterwards.length > 0;
process.exit(failed ? 1 : 0);
