/**
 * Loads the llama runtime the way the server does and exercises one context end to end: two
 * sequences decoding together on 2 threads, the thread count changed between decodes (the native
 * build re-creates its persistent thread pool), and disposal. Prints one JSON line; a crash in
 * native code shows as a non-zero exit. Run in its own process by runtime.test.ts.
 *   node --import tsx test/helpers/engineProbe.ts <model.gguf>
 */
import { engineBuildName, llamaRuntime } from "../../src/backends/llama/index.ts";

const modelPath = process.argv[2]!;
const llama = await llamaRuntime(false);
const model = await llama.loadModel({ modelPath });
const generated: number[] = [];
for (const threads of [2, 1]) {
  const context = await model.createContext({ contextSize: 256, sequences: 2, threads, flashAttention: "auto" });
  const native = (context as unknown as { _ctx: { setThreads(n: number): void } })._ctx;
  const run = async (index: number) => {
    const sequence = context.getSequence();
    let count = 0;
    for await (const token of sequence.evaluate(model.tokenize(`probe ${index}`), { temperature: 0, yieldEogToken: true })) {
      void token;
      // Change the thread count mid-generation: the pool is detached, freed and re-created.
      if (++count === 8) native.setThreads(threads === 2 ? 1 : 2);
      if (count === 16) native.setThreads(threads);
      if (count >= 24) break;
    }
    return count;
  };
  generated.push(...(await Promise.all([run(0), run(1)])));
  await context.dispose();
}
await model.dispose();
console.log(JSON.stringify({ engine: engineBuildName(llama), generated }));
