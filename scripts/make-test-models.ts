/**
 * Generate the random-weight test models (real tokenizers and chat templates).
 *
 *   tsx scripts/make-test-models.ts [--dir models/test] [--bench]
 *
 * Writes qwen3-tiny and llama-tiny; with --bench also qwen3-0.6b-shaped (~640 MB).
 * Existing files are kept (delete them to regenerate).
 */
import { stat } from "node:fs/promises";
import { parseArgs } from "node:util";
import { ensureTestModel, type TestModelKind } from "../src/testmodels/index.js";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: "models/test" },
    bench: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log("usage: tsx scripts/make-test-models.ts [--dir models/test] [--bench]");
  process.exit(0);
}

const kinds: TestModelKind[] = ["qwen3-tiny", "llama-tiny"];
if (values.bench) kinds.push("qwen3-0.6b-shaped");

for (const kind of kinds) {
  const t0 = performance.now();
  const path = await ensureTestModel(kind, values.dir);
  const { size } = await stat(path);
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  console.log(`${kind.padEnd(18)} ${path}  ${(size / 2 ** 20).toFixed(1)} MiB  (${secs}s)`);
}
