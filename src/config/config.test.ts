import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, loadConfig, parseModel } from "./config.ts";

describe("config: thinking and strict compatibility", () => {
  it("per-model enable_thinking and max_thinking_tokens; absent means the reference's default by name", () => {
    const plain = parseModel({ source: "m.gguf" }, "m");
    assert.equal(plain.defaults.enableThinking, undefined);
    assert.equal(plain.defaults.maxThinkingTokens, undefined);
    const set = parseModel({ source: "m.gguf", enable_thinking: true, max_thinking_tokens: 4096 }, "m");
    assert.equal(set.defaults.enableThinking, true);
    assert.equal(set.defaults.maxThinkingTokens, 4096);
    assert.throws(() => parseModel({ source: "m.gguf", enable_thinking: "yes" }, "m"), ConfigError);
    assert.throws(() => parseModel({ source: "m.gguf", max_thinking_tokens: 0 }, "m"), ConfigError);
  });

  it("strict_compat from flag, env or file; off by default", () => {
    assert.equal(loadConfig({ flags: {}, env: {} }).strictCompat, false);
    assert.equal(loadConfig({ flags: { "strict-compat": true }, env: {} }).strictCompat, true);
    assert.equal(loadConfig({ flags: {}, env: { OPENSCOPE_STRICT_COMPAT: "1" } }).strictCompat, true);
    assert.equal(loadConfig({ flags: {}, env: { OPENSCOPE_STRICT_COMPAT: "false" } }).strictCompat, false);
    assert.throws(() => loadConfig({ flags: {}, env: { OPENSCOPE_STRICT_COMPAT: "maybe" } }), ConfigError);
  });
});

describe("config: engine settings", () => {
  it("flash_attention is auto, true or false; absent leaves the engine's default (auto)", () => {
    assert.equal(parseModel({ source: "m.gguf" }, "m").flashAttention, undefined);
    assert.equal(parseModel({ source: "m.gguf", flash_attention: "auto" }, "m").flashAttention, "auto");
    assert.equal(parseModel({ source: "m.gguf", flash_attention: false }, "m").flashAttention, false);
    assert.equal(parseModel({ source: "m.gguf", flash_attention: true }, "m").flashAttention, true);
    assert.throws(() => parseModel({ source: "m.gguf", flash_attention: "on" }, "m"), /flash_attention must be auto, true or false/);
  });
});

describe("config: every bad value is one ConfigError line naming the setting as it was given", () => {
  const load = (flags: Parameters<typeof loadConfig>[0]["flags"], env: NodeJS.ProcessEnv = {}) => loadConfig({ flags, env });
  const refuses = (run: () => unknown, pattern: RegExp) =>
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.doesNotMatch(error.message, /\n/);
      assert.match(error.message, pattern);
      return true;
    });
  let dir: string;
  const yaml = (text: string) => {
    dir ??= mkdtempSync(join(tmpdir(), "openscope-config-"));
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("port: 0..65535, named by flag, environment variable or key", () => {
    assert.equal(load({ port: "65535" }).port, 65535);
    assert.equal(load({ port: "0" }).port, 0);
    refuses(() => load({ port: "70000" }), /^--port must be an integer from 0 to 65535, got "70000" \(0 picks a free port\)$/);
    refuses(() => load({}, { OPENSCOPE_PORT: "abc" }), /^OPENSCOPE_PORT must be an integer from 0 to 65535, got "abc"/);
    refuses(() => load({ config: yaml("port: 80.5\n") }), /^port must be an integer from 0 to 65535, got 80\.5/);
    refuses(() => load({ port: " " }), /^--port must be an integer/);
  });

  it("host: an IP address or a host name", () => {
    assert.equal(load({ host: "0.0.0.0" }).host, "0.0.0.0");
    assert.equal(load({ host: "[::1]" }).host, "::1");
    assert.equal(load({ host: "my-host.local" }).host, "my-host.local");
    refuses(() => load({ host: "999.999.1.1" }), /^--host "999\.999\.1\.1" is not a valid IPv4 address: use e\.g\. 127\.0\.0\.1/);
    refuses(() => load({}, { OPENSCOPE_HOST: "bad host" }), /^OPENSCOPE_HOST "bad host" is not an IP address or host name/);
  });

  it("threads, parallel and context size have upper bounds", () => {
    refuses(
      () => load({ parallel: "100000" }),
      /^--parallel must be an integer from 1 to 256, got "100000" \(llama\.cpp runs at most 256 sequences per context\)$/,
    );
    refuses(() => load({}, { OPENSCOPE_THREADS: "0" }), /^OPENSCOPE_THREADS must be an integer from 1 to 512/);
    refuses(() => load({ "context-size": "1e12" }), /^--context-size must be an integer from 64 to 2147483647/);
    refuses(() => load({ config: yaml("models:\n  - source: m.gguf\n    parallel: -1\n") }), /^models\[0\]\.parallel must be an integer from 1 to 256, got -1/);
    assert.equal(load({ model: "m.gguf", "context-size": "100000000", parallel: "64" }).models[0]!.contextSize, 100000000);
  });

  it("timers cannot overflow (a Node timer over ~24.8 days fires at once)", () => {
    refuses(() => load({ config: yaml("request_timeout_s: 1e9\n") }), /^request_timeout_s must be a number from 1 to 2147483, got 1000000000/);
    refuses(() => load({ config: yaml("ledger: { flush_ms: 1e12 }\n") }), /^ledger\.flush_ms must be an integer from 10 to 2147483647/);
    refuses(
      () => load({ config: yaml("models:\n  - { name: up, backend: openai, replicas: ['http://10.0.0.1/v1'], timeouts: { idle_s: 1e9 } }\n") }),
      /^models\[0\]\.timeouts\.idle_s must be a number from 0 to 2147483/,
    );
    refuses(() => load({ config: yaml("body_limit_mb: 1e12\n") }), /^body_limit_mb must be a number from 0\.001 to 4096/);
  });

  it("sampling defaults in the ranges a request may use", () => {
    refuses(
      () => load({ config: yaml("models:\n  - source: m.gguf\n    defaults: { top_p: 5 }\n") }),
      /^models\[0\]\.defaults\.top_p must be a number in \(0, 1\], got 5$/,
    );
    refuses(
      () => load({ config: yaml("models:\n  - source: m.gguf\n    defaults: { temperature: 2 }\n") }),
      /^models\[0\]\.defaults\.temperature must be a number in \[0, 2\)/,
    );
  });

  it("unknown keys are refused, with the closest known one", () => {
    refuses(() => load({ config: yaml("prot: 8000\n") }), /^unknown setting "prot" in .*\.yaml: did you mean "port"\? \(known: host, port,/);
    refuses(
      () => load({ config: yaml("models:\n  - source: m.gguf\n    contxt_size: 100\n") }),
      /^unknown setting "contxt_size" in models\[0\]: did you mean "context_size"\?/,
    );
    refuses(() => load({ config: yaml("media: { allow_host: [a] }\n") }), /^unknown setting "allow_host" in media: did you mean "allow_hosts"\?/);
  });

  it("the config file: unreadable, a directory, not YAML, not a mapping", () => {
    refuses(
      () => load({ config: "/nonexistent/openscope.yaml" }),
      /^config file \/nonexistent\/openscope\.yaml \(--config\) cannot be read: it does not exist$/,
    );
    refuses(() => load({}, { OPENSCOPE_CONFIG: tmpdir() }), /\(OPENSCOPE_CONFIG\) cannot be read: it is a directory, not a file$/);
    refuses(() => load({ config: yaml("foo: [\n") }), /is not valid YAML: .*at line \d+, column \d+$/);
    refuses(() => load({ config: yaml("just a string\n") }), /must be a YAML mapping of settings \(such as "port: 8000"\), not a string$/);
    refuses(() => load({ config: yaml("- a\n- b\n") }), /not a list$/);
  });

  it("store_url and redis_url must parse; passwords are not repeated", () => {
    refuses(() => load({ "store-url": "mysql://x" }), /^--store-url must be a URL such as postgres:\/\//);
    refuses(
      () => load({}, { OPENSCOPE_STORE_URL: "postgres://u:secret@[bad/db" }),
      /^OPENSCOPE_STORE_URL "postgres:\/\/u:\*\*\*@\[bad\/db" is not a valid URL/,
    );
    refuses(() => load({ "redis-url": "redis://[bad" }), /^--redis-url "redis:\/\/\[bad" is not a valid URL: expected e\.g\. redis:\/\/host:6379$/);
    assert.equal(load({ "store-url": "postgres://u:p@db:5432/openscope" }).gateway.storeUrl, "postgres://u:p@db:5432/openscope");
  });

  it("media.allow_hosts entries are checked at startup, host:port included", () => {
    refuses(
      () => load({ config: yaml("media: { allow_hosts: ['10.0.0.0/8', '10.0.0.0/99'] }\n") }),
      /^media\.allow_hosts\[1\]: "10\.0\.0\.0\/99" is not a valid CIDR range/,
    );
    refuses(
      () => load({ config: yaml("media: { allow_hosts: ['minio:99999'] }\n") }),
      /^media\.allow_hosts\[0\]: "minio:99999": the port must be a number from 1 to 65535/,
    );
    assert.deepEqual(load({ config: yaml("media: { allow_hosts: ['minio:9000', '[fd00::1]:9000', '10.0.0.0/8'] }\n") }).media!.allowHosts, [
      "minio:9000",
      "[fd00::1]:9000",
      "10.0.0.0/8",
    ]);
  });

  it("files the config names must exist: terms_file, the local search folder", () => {
    refuses(
      () => load({ config: yaml("data_inspection: { terms_file: /nonexistent/terms.txt }\n") }),
      /^data_inspection\.terms_file \/nonexistent\/terms\.txt cannot be read: it does not exist$/,
    );
    refuses(
      () => load({ config: yaml("search: { provider: local, folder: /nonexistent/docs }\n") }),
      /^search\.folder \/nonexistent\/docs cannot be used: it does not exist$/,
    );
  });

  it("cache_dir: flag over environment over file", () => {
    const file = yaml("cache_dir: /from/file\n");
    assert.equal(load({ config: file }).cacheDir, "/from/file");
    assert.equal(load({ config: file }, { OPENSCOPE_CACHE_DIR: "/from/env" }).cacheDir, "/from/env");
    assert.equal(load({ config: file, "cache-dir": "/from/flag" }, { OPENSCOPE_CACHE_DIR: "/from/env" }).cacheDir, "/from/flag");
    assert.deepEqual(load({ "data-dir": "/d" }, { OPENSCOPE_PORT: "1" }).settingNames, {
      host: "host",
      port: "OPENSCOPE_PORT",
      cache_dir: "cache_dir",
      store_url: "store_url",
      redis_url: "redis_url",
      data_dir: "--data-dir",
    });
  });
});
