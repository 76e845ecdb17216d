import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { CONTRACT_T0, describeLimitContract } from "../../../test/helpers/limitsContract.ts";
import { RedisLimitCounters } from "./redis.ts";
import type { Admission } from "./types.ts";
import { bucketOf, WINDOW_MS } from "./window.ts";

const REDIS_URL = process.env.OPENSCOPE_TEST_REDIS_URL;
const SKIP = REDIS_URL ? undefined : "set OPENSCOPE_TEST_REDIS_URL (source scripts/test-services.sh) to run the Redis limit tests";
if (SKIP !== undefined) console.warn(`WARNING [redis.test.ts]: Redis limit tests SKIPPED: ${SKIP}`);

const OWN_SERVER_SKIP = spawnSync("redis-server", ["--version"]).status === 0 ? false : "redis-server not on PATH (source scripts/test-services.sh)";

/** Fresh per run, so runs (and other users of the server) never see each other's keys. */
const PREFIX = `openscope:test:limits:${randomBytes(6).toString("hex")}`;

after(async () => {
  if (REDIS_URL === undefined) return;
  const client = new Redis(REDIS_URL, { lazyConnect: true });
  await client.connect();
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await client.quit();
  }
});

const connect = (now?: () => number): Promise<RedisLimitCounters> =>
  RedisLimitCounters.connect(REDIS_URL ?? "redis://unset", { prefix: PREFIX, ...(now ? { now } : {}) });

describeLimitContract("RedisLimitCounters", connect, SKIP);

/** An rpm-5 admission at CONTRACT_T0 (these cases keep the clock still). */
const request = (keyId: string, fields: Partial<Admission> = {}): Admission => ({
  keyId,
  limits: { rpm: 5, tpm: null, concurrency: null },
  tokens: 0,
  leaseId: randomUUID(),
  leaseTtlMs: WINDOW_MS,
  now: CONTRACT_T0,
  ...fields,
});

describe("RedisLimitCounters: shared state, keys, scripts, clients", () => {
  it("two instances (two connections) sharing a prefix enforce one rpm limit together", { skip: SKIP ?? false }, async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    try {
      const keyId = `key_${randomUUID()}`;
      let admitted = 0;
      for (let i = 0; i < 12; i++) {
        const result = await (i % 2 === 0 ? a : b).admit(request(keyId));
        if (result.ok) admitted++;
        else assert.equal(result.limit, "rpm");
      }
      assert.equal(admitted, 5);
      // And concurrently from both.
      const other = `key_${randomUUID()}`;
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).admit(request(other))));
      assert.equal(results.filter((result) => result.ok).length, 5);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("keys carry the key id as a hash tag and expire", { skip: SKIP ?? false }, async () => {
    const counters = await connect();
    const client = new Redis(REDIS_URL ?? "", { lazyConnect: true });
    await client.connect();
    try {
      const keyId = "key_a:b{c}";
      assert.ok((await counters.admit(request(keyId, { limits: { rpm: 5, tpm: 100, concurrency: 3 }, tokens: 7 }))).ok);
      const tag = `${PREFIX}:{key_a%3Ab%7Bc%7D}`;
      const bucket = bucketOf(CONTRACT_T0);
      assert.equal(await client.get(`${tag}:rpm:${bucket}`), "1");
      assert.equal(await client.get(`${tag}:tpm:${bucket}`), "7");
      assert.equal(await client.zcard(`${tag}:leases`), 1);
      for (const suffix of [`rpm:${bucket}`, `tpm:${bucket}`]) {
        const ttl = await client.pttl(`${tag}:${suffix}`);
        assert.ok(ttl > 0 && ttl <= 2 * WINDOW_MS, `${suffix} TTL ${ttl}`);
      }
      const leaseTtl = await client.pttl(`${tag}:leases`);
      assert.ok(leaseTtl > 0 && leaseTtl <= WINDOW_MS, `leases TTL ${leaseTtl}`);
    } finally {
      await counters.close();
      await client.quit();
    }
  });

  it("works after the server forgets its scripts (EVALSHA falls back to EVAL)", { skip: OWN_SERVER_SKIP }, async () => {
    // SCRIPT FLUSH on a server of its own: the shared one may serve other tests' scripts.
    await withOwnServer(async (url, counters) => {
      const client = new Redis(url, { lazyConnect: true });
      await client.connect();
      try {
        await client.script("FLUSH");
        const keyId = `key_${randomUUID()}`;
        // Real time here: settle reads the instance's clock, which is Date.now().
        const fields = { limits: { rpm: null, tpm: 100, concurrency: 1 }, tokens: 100, now: undefined };
        const admission = request(keyId, fields);
        const admitted = await counters.admit(admission);
        assert.ok(admitted.ok);
        await client.script("FLUSH");
        await counters.settle({ keyId, leaseId: admission.leaseId, admittedAt: admitted.at, tokenDelta: -100 });
        assert.ok((await counters.admit(request(keyId, fields))).ok);
      } finally {
        await client.quit();
      }
    });
  });

  it("a borrowed client stays open after close", { skip: SKIP ?? false }, async () => {
    const client = new Redis(REDIS_URL ?? "", { lazyConnect: true, enableOfflineQueue: false });
    await client.connect();
    try {
      const counters = new RedisLimitCounters(client, { prefix: PREFIX });
      assert.ok((await counters.admit(request(`key_${randomUUID()}`))).ok);
      await counters.close();
      assert.equal(await client.ping(), "PONG");
    } finally {
      await client.quit();
    }
  });
});

describe("RedisLimitCounters.connect", () => {
  it("rejects quickly and clearly when Redis is unreachable", async () => {
    const started = Date.now();
    await assert.rejects(RedisLimitCounters.connect("redis://:secret@127.0.0.1:1"), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /cannot connect to Redis for rate limits at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
      assert.match(error.message, /ECONNREFUSED/);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  it("rejects when the server accepts the connection but never answers", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket)).listen(0, "127.0.0.1");
    await once(silent, "listening");
    const address = silent.address();
    assert.ok(address !== null && typeof address === "object");
    const started = Date.now();
    try {
      await assert.rejects(RedisLimitCounters.connect(`redis://127.0.0.1:${address.port}`), /did not become ready/);
      assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it("admit rejects quickly, instead of hanging, once the server is gone", { skip: OWN_SERVER_SKIP }, async () => {
    // Stopping a server of its own: stopping the shared one would disturb everything else using it.
    await withOwnServer(async (_url, counters, server) => {
      assert.ok((await counters.admit(request(`key_${randomUUID()}`))).ok);
      const exited = once(server, "exit");
      server.kill("SIGKILL");
      await exited;
      const started = Date.now();
      await assert.rejects(counters.admit(request(`key_${randomUUID()}`)));
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    });
  });
});

/** Runs `body` against a redis-server of its own on a free port, killed afterwards. */
async function withOwnServer(body: (url: string, counters: RedisLimitCounters, server: ChildProcess) => Promise<void>): Promise<void> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const server = spawn("redis-server", args, { stdio: "ignore" });
  try {
    const url = `redis://127.0.0.1:${port}`;
    const counters = await connectWhenUp(url);
    try {
      await body(url, counters, server);
    } finally {
      await counters.close();
    }
  } finally {
    server.kill("SIGKILL");
  }
}

/** A TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

/** Connects once the freshly spawned server accepts connections (it takes a few ms to start). */
async function connectWhenUp(url: string): Promise<RedisLimitCounters> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await RedisLimitCounters.connect(url, { prefix: PREFIX });
    } catch (error) {
      if (attempt >= 50) throw error;
      await sleep(100);
    }
  }
}
