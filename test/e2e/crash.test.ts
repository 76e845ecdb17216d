/**
 * `kill -9` under load, then a restart on the same data: the usage ledger must hold every response
 * the clients received, except those of the last flush interval (the README's promise), and
 * nothing the clients never asked for; the restarted server must serve at once.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { openStore } from "../../src/store/index.ts";
import { startChildServer } from "../helpers/childServer.ts";
import { GENERATION_PATH, TINY_QWEN } from "../helpers/server.ts";

const FLUSH_MS = 1000;
/** Time between a response's last byte reaching the client and its record entering the ledger's buffer. */
const SLACK_MS = 500;
const CONCURRENCY = 6;

interface Completed {
  requestId: string;
  at: number;
}

/** One generation (sync or stream); resolves with its request id once the whole answer arrived, or undefined if cut. */
async function generate(url: string, i: number, started: Set<string>): Promise<Completed | undefined> {
  const stream = i % 3 === 0;
  try {
    const response = await fetch(url + GENERATION_PATH, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(stream ? { "X-DashScope-SSE": "enable" } : {}) },
      body: JSON.stringify({
        model: "qwen-plus",
        input: { messages: [{ role: "user", content: `crash test ${i}` }] },
        parameters: { max_tokens: 6, seed: i, ...(stream ? { incremental_output: true } : {}) },
      }),
    });
    const requestId = response.headers.get("x-request-id") ?? "";
    started.add(requestId);
    const text = await response.text();
    if (response.status !== 200) throw new Error(`request ${i}: status ${response.status}: ${text.slice(0, 200)}`);
    // A stream is complete once its last frame says why it finished.
    if (stream && !/"finish_reason":"(stop|length)"/.test(text)) return undefined;
    return { requestId, at: Date.now() };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("request ")) throw error;
    return undefined; // the connection died with the server
  }
}

describe("kill -9 under load, then restart", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("loses at most the last flush interval of ledger records, invents none, and restarts cleanly", async () => {
    const dir = await mkdtemp(join(tmpdir(), "openscope-crash-"));
    dirs.push(dir);
    const args = ["--model", TINY_QWEN, "--parallel", String(CONCURRENCY), "--context-size", "256", "--data-dir", join(dir, "data")];
    const env = { OPENSCOPE_CACHE_DIR: join(dir, "cache") };
    const first = await startChildServer(args, env);
    const started = new Set<string>();
    const completed: Completed[] = [];
    let stop = false;
    let next = 0;
    const worker = async () => {
      while (!stop) {
        const done = await generate(first.url, next++, started);
        if (done) completed.push(done);
        else if (stop) break;
      }
    };
    const workers = Array.from({ length: CONCURRENCY }, worker);
    await sleep(4000);
    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    assert.equal(await first.exited, "SIGKILL");
    stop = true;
    await Promise.all(workers);
    assert.ok(completed.length >= 20, `only ${completed.length} responses completed before the kill`);

    const second = await startChildServer(args, env);
    try {
      const again = await generate(second.url, next++, started);
      assert.ok(again, "the restarted server answers");
    } finally {
      assert.equal(await second.stop(), 0);
    }

    const store = await openStore({ type: "sqlite", path: join(dir, "data", "openscope.db") });
    const records = await store.usageRecords({}, 1_000_000);
    await store.close();
    const recorded = new Set(records.map((r) => r.requestId));
    assert.equal(recorded.size, records.length, "no request is recorded twice");
    const invented = records.filter((r) => !started.has(r.requestId));
    assert.deepEqual(invented, [], "every record belongs to a request a client sent");
    const missing = completed.filter((c) => !recorded.has(c.requestId));
    const missingOld = missing.filter((c) => c.at < killedAt - FLUSH_MS - SLACK_MS);
    console.log(
      `# crash: ${completed.length} responses completed before kill -9, ${records.length - 1} recorded before it, ${missing.length} lost (all within the last ${FLUSH_MS + SLACK_MS} ms: ${missingOld.length === 0}); ${started.size} requests started`,
    );
    assert.deepEqual(missingOld, [], "only the last flush interval's records may be lost");
  });
});
