/**
 * `openscope keys create` and `openscope usage` with limits, expiries and times no store can hold:
 * the same checks as the admin API (src/gateway/keySpec.ts), so the CLI prints one line and exits 2
 * — it used to fail with SQLite's REAL-in-INTEGER error, store a concurrency of 99999999999, store an
 * expiry nothing could print (breaking `keys list` afterwards), or hit the store's RangeError.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI_FROM_SOURCE } from "../helpers/server.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function openscope(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI_FROM_SOURCE, ...args], { env: { ...process.env, OPENSCOPE_LOG_LEVEL: "info", ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exit 2, nothing on stdout, and exactly one line on stderr that matches. */
function assertRefused(run: Run, message: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, /^openscope: /);
  assert.match(lines[0]!, message);
  assert.ok(lines[0]!.length < 300, lines[0]);
}

describe("openscope keys create / usage with values no store can hold (the CLI, as subprocesses)", () => {
  let dir = "";
  let env: NodeJS.ProcessEnv = {};
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "openscope-keys-cli-"));
    env = { OPENSCOPE_CACHE_DIR: dir, OPENSCOPE_DATA_DIR: join(dir, "data") };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses rpm 1e21, concurrency 99999999999 and expires 99999999999d with one line and exit 2, storing nothing", async () => {
    assertRefused(await openscope(env, "keys", "create", "--name", "a", "--rpm", "1e21"), /rpm must be a positive integer of at most 2147483647, got "1e21"/);
    assertRefused(
      await openscope(env, "keys", "create", "--name", "a", "--concurrency", "99999999999"),
      /concurrency must be a positive integer of at most 2147483647/,
    );
    assertRefused(
      await openscope(env, "keys", "create", "--name", "a", "--expires", "99999999999d"),
      /expires is not a time this server can represent: "99999999999d"/,
    );
    const listed = await openscope(env, "keys", "list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout.trim(), "no keys");
  });

  it("refuses a --since of 400 digits and an --until of 10^17 days, cut short in the message", async () => {
    assertRefused(await openscope(env, "usage", "--since", "9".repeat(400)), /--since is not a time this server can represent/);
    assertRefused(await openscope(env, "usage", "--until", "99999999999999999d"), /--until is not a time this server can represent/);
  });

  it("still takes the largest values the stores hold", async () => {
    const created = await openscope(
      env,
      "keys",
      "create",
      "--name",
      "max",
      "--rpm",
      "2147483647",
      "--concurrency",
      "2147483647",
      "--tpm",
      "9007199254740991",
      "--expires",
      "30d",
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /rpm 2147483647, tpm 9007199254740991, concurrency 2147483647/);
    const listed = await openscope(env, "keys", "list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /max\s+sk-os-\S+…\s+active\s+all\s+2147483647\s+9007199254740991\s+2147483647/);
  });
});
