import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, configJsonSchema, defaultConfig, loadConfig, parseModel, type ConfigFlags, type EmbeddedModelConfig, type ModelConfig } from "./index.ts";
import { DEFAULTS } from "./defaults.ts";

let dir: string;
const yaml = (text: string) => {
  dir ??= mkdtempSync(join(tmpdir(), "openscope-config-"));
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
};
after(() => dir && rmSync(dir, { recursive: true, force: true }));

const load = (flags: ConfigFlags, env: NodeJS.ProcessEnv = {}) => loadConfig({ flags, env });

/** The problems a load reports, one line each. */
function problems(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    for (const line of error.problems) assert.doesNotMatch(line, /\n/);
    return error.problems;
  }
  assert.fail("no ConfigError");
}

/** Exactly one problem, matching. */
const refuses = (run: () => unknown, pattern: RegExp) => {
  const lines = problems(run);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0]!, pattern);
};

function embedded(model: ModelConfig | undefined): EmbeddedModelConfig {
  assert.equal(model?.backend, "llama");
  return model as EmbeddedModelConfig;
}

describe("config: unknown keys name the path and the nearest valid key", () => {
  it("at every level, each on its own line", () => {
    refuses(
      () => load({ config: yaml("models:\n  - source: m.gguf\n    contxt_size: 100\n") }),
      /^models\[0\]\.contxt_size: unknown key — did you mean context_size\?$/,
    );
    refuses(() => load({ config: yaml("prot: 8000\n") }), /^prot: unknown key — did you mean port\?$/);
    refuses(() => load({ config: yaml("models:\n  - { source: m.gguf, paralel: 2 }\n") }), /^models\[0\]\.paralel: unknown key — did you mean parallel\?$/);
    refuses(() => load({ config: yaml("media: { allow_host: [a] }\n") }), /^media\.allow_host: unknown key — did you mean allow_hosts\?$/);
    refuses(
      () => load({ config: yaml("models:\n  - { name: up, backend: openai, url: 'http://h/v1', timeouts: { idle: 5 } }\n") }),
      /^models\[0\]\.timeouts\.idle: unknown key — did you mean idle_s\?$/,
    );
    refuses(
      () => load({ config: yaml("models:\n  - { name: up, backend: openai, replicas: [{ url: 'http://h/v1', apikey: k }] }\n") }),
      /^models\[0\]\.replicas\[0\]\.apikey: unknown key — did you mean api_key\?$/,
    );
    assert.deepEqual(
      problems(() => load({ config: yaml("prot: 1\nhots: x\n") })),
      ["prot: unknown key — did you mean port?", "hots: unknown key — did you mean host?"],
    );
  });

  it("api_key: [k] (for api_keys) is refused: it used to start an open server", () => {
    refuses(() => load({ config: yaml("api_key: [sk-1]\n") }), /^api_key: unknown key — did you mean api_keys\?$/);
    assert.deepEqual(load({ config: yaml("api_keys: [sk-1]\n") }).apiKeys, ["sk-1"]);
  });

  it("a key far from every valid one lists them", () => {
    refuses(() => load({ config: yaml("frobnicate: 1\n") }), /^frobnicate: unknown key — the keys here are host, port, api_keys,/);
  });
});

describe("config: models are a union keyed on backend", () => {
  it("embedded models: source required, llama.cpp settings, the qwen-plus sampling defaults", () => {
    const model = embedded(parseModel({ source: "dir/Qwen3-0.6B.gguf" }, "m"));
    assert.equal(model.name, "qwen3-0.6b");
    assert.equal(model.contextSize, DEFAULTS.model.context_size);
    assert.equal(model.contextSizeIsDefault, true);
    assert.equal(model.parallel, DEFAULTS.model.parallel);
    assert.equal(model.defaults.temperature, 0.7);
    assert.equal(model.defaults.maxTokens, 2048);
    refuses(() => parseModel({}, "models[3]"), /^models\[3\]\.source: is required \(a \.gguf path or hf:owner\/repo\/file\.gguf\)$/);
    refuses(() => parseModel({ source: "m.gguf", max_n: 2 }, "m"), /^m\.max_n: unknown key/);
  });

  it("upstream models have their own fields: no source, no context size; max_n, replicas, timeouts in ms", () => {
    const model = parseModel(
      { backend: "openai", kind: "vllm", name: "up", replicas: ["http://a/v1/", { url: "http://b/v1", api_key: "k" }], timeouts: { idle_s: 5 }, max_n: 2 },
      "m",
    );
    assert.equal(model.backend, "openai");
    if (model.backend !== "openai") return;
    assert.equal(model.kind, "vllm");
    assert.equal(model.upstreamModel, "up");
    assert.deepEqual(model.replicas, [{ url: "http://a/v1" }, { url: "http://b/v1", apiKey: "k" }]);
    assert.equal(model.idleTimeoutMs, 5000);
    assert.equal(model.firstByteTimeoutMs, DEFAULTS.upstream.timeouts.first_byte_s * 1000);
    assert.equal(model.maxN, 2);
    assert.equal(model.defaults.temperature, undefined, "the engine's own sampling defaults");
    assert.deepEqual(parseModel({ backend: "openai", name: "one", url: "http://h/v1", api_key: "k" }, "m"), {
      ...parseModel({ backend: "openai", name: "one", replicas: [{ url: "http://h/v1", api_key: "k" }] }, "m"),
    });
    refuses(() => parseModel({ backend: "openai", name: "up", url: "http://h/v1", context_size: 4096 }, "m"), /^m\.context_size: unknown key/);
    refuses(() => parseModel({ backend: "openai", name: "up" }, "m"), /^m\.replicas: must list at least one \{url, api_key\}/);
    refuses(() => parseModel({ backend: "openai", url: "http://h/v1" }, "m"), /^m\.name: is required/);
    refuses(() => parseModel({ backend: "openai", name: "up", url: "ftp://h" }, "m"), /^m\.url: must be an http\(s\) base URL/);
    refuses(
      () => parseModel({ backend: "openai", name: "up", url: "http://h/v1", parallel: 4 }, "m"),
      /^m\.parallel: unknown key — parallel is an embedded model's setting; an upstream model takes max_concurrency \(requests at once\) and max_n/,
    );
    refuses(
      () => parseModel({ source: "m.gguf", replicas: ["http://h/v1"] }, "m"),
      /^m\.replicas: unknown key — replicas is an upstream model's \(backend: openai\) setting$/,
    );
    refuses(
      () => parseModel({ backend: "vllm", source: "m.gguf" }, "m"),
      /^m\.backend: must be llama \(embedded, the default\) or openai \(upstream engines\), got "vllm"$/,
    );
  });

  it("per-model enable_thinking and max_thinking_tokens; absent means the reference's default by name", () => {
    const plain = parseModel({ source: "m.gguf" }, "m");
    assert.equal(plain.defaults.enableThinking, undefined);
    const set = parseModel({ source: "m.gguf", enable_thinking: true, max_thinking_tokens: 4096 }, "m");
    assert.equal(set.defaults.enableThinking, true);
    assert.equal(set.defaults.maxThinkingTokens, 4096);
    refuses(() => parseModel({ source: "m.gguf", enable_thinking: "yes" }, "m"), /^m\.enable_thinking: must be true or false, got "yes"$/);
    refuses(() => parseModel({ source: "m.gguf", max_thinking_tokens: 0 }, "m"), /^m\.max_thinking_tokens: must be an integer >= 1, got 0$/);
  });

  it("flash_attention is auto, true or false; absent leaves the engine's default", () => {
    assert.equal(embedded(parseModel({ source: "m.gguf" }, "m")).flashAttention, undefined);
    assert.equal(embedded(parseModel({ source: "m.gguf", flash_attention: "auto" }, "m")).flashAttention, "auto");
    assert.equal(embedded(parseModel({ source: "m.gguf", flash_attention: false }, "m")).flashAttention, false);
    refuses(() => parseModel({ source: "m.gguf", flash_attention: "on" }, "m"), /^m\.flash_attention: must be auto, true or false, got "on"$/);
  });

  it("names and aliases are unique; the first model takes the DashScope names left free", () => {
    const config = load({ config: yaml("models:\n  - { source: a.gguf }\n  - { source: b.gguf, aliases: [qwen-max] }\n") });
    assert.deepEqual(config.models[0]!.aliases, ["qwen-plus", "qwen-turbo", "qwen-flash"]);
    refuses(() => load({ config: yaml("models:\n  - { source: a.gguf }\n  - { source: dir/a.gguf }\n") }), /^models\[1\]: the name or alias "a" is already/);
  });
});

describe("config: one precedence rule, flag > environment > file > default, for every setting", () => {
  it("OPENSCOPE_CACHE_DIR beats the file's cache_dir; --cache-dir beats both", () => {
    const file = yaml("cache_dir: /from/file\n");
    assert.equal(load({ config: file }).cacheDir, "/from/file");
    assert.equal(load({ config: file }, { OPENSCOPE_CACHE_DIR: "/from/env" }).cacheDir, "/from/env");
    assert.equal(load({ config: file, "cache-dir": "/from/flag" }, { OPENSCOPE_CACHE_DIR: "/from/env" }).cacheDir, "/from/flag");
    assert.equal(load({}, { XDG_CACHE_HOME: "/xdg" }).cacheDir, "/xdg/openscope");
  });

  it("the same for the other settings a variable gives", () => {
    const file = yaml(
      [
        "host: 10.0.0.1",
        "port: 9000",
        "api_keys: [from-file]",
        "data_dir: /file/data",
        "admin_key: file-admin-key-0123456789",
        "log_content: false",
        "log_level: warn",
        "strict_compat: false",
        "gpu: cuda",
        "search: { url: 'http://file-searx:8080' }",
        "models:\n  - { source: m.gguf, parallel: 2, threads: 2, context_size: 1024 }",
        "",
      ].join("\n"),
    );
    const fromFile = load({ config: file });
    assert.equal(fromFile.port, 9000);
    assert.equal(fromFile.gateway.dataDir, "/file/data");
    const env = {
      OPENSCOPE_HOST: "0.0.0.0",
      OPENSCOPE_PORT: "9100",
      OPENSCOPE_API_KEYS: "a, b",
      OPENSCOPE_DATA_DIR: "/env/data",
      OPENSCOPE_ADMIN_KEY: "env-admin-key-0123456789",
      OPENSCOPE_LOG_CONTENT: "true",
      OPENSCOPE_LOG_LEVEL: "debug",
      OPENSCOPE_STRICT_COMPAT: "1",
      OPENSCOPE_GPU: "false",
      OPENSCOPE_SEARXNG_URL: "http://env-searx:8080/",
      OPENSCOPE_PARALLEL: "3",
      OPENSCOPE_THREADS: "3",
      OPENSCOPE_CONTEXT_SIZE: "2048",
    };
    const fromEnv = load({ config: file }, env);
    assert.equal(fromEnv.host, "0.0.0.0");
    assert.equal(fromEnv.port, 9100);
    assert.deepEqual(fromEnv.apiKeys, ["a", "b"], "the variable replaces the file's list");
    assert.equal(fromEnv.gateway.dataDir, "/env/data");
    assert.equal(fromEnv.gateway.adminKey, "env-admin-key-0123456789");
    assert.equal(fromEnv.gateway.logContent, true);
    assert.equal(fromEnv.logLevel, "debug");
    assert.equal(fromEnv.strictCompat, true);
    assert.equal(fromEnv.gpu, false);
    assert.deepEqual(fromEnv.search, { provider: "searxng", url: "http://env-searx:8080", timeoutMs: 10_000 });
    const model = embedded(fromEnv.models[0]);
    assert.deepEqual([model.parallel, model.threads, model.contextSize], [3, 3, 2048]);
    const fromFlags = load(
      {
        config: file,
        host: "::1",
        port: "9200",
        "data-dir": "/flag/data",
        gpu: "vulkan",
        parallel: "4",
        threads: "4",
        "context-size": "4096",
        "strict-compat": true,
      },
      { ...env, OPENSCOPE_STRICT_COMPAT: "false" },
    );
    assert.deepEqual(
      [fromFlags.host, fromFlags.port, fromFlags.gateway.dataDir, fromFlags.gpu, fromFlags.strictCompat],
      ["::1", 9200, "/flag/data", "vulkan", true],
    );
    const flagged = embedded(fromFlags.models[0]);
    assert.deepEqual([flagged.parallel, flagged.threads, flagged.contextSize], [4, 4, 4096]);
  });

  it("--model replaces the file's models; --parallel and the like set every embedded model, the default one included", () => {
    const file = yaml("models:\n  - { source: a.gguf }\n  - { name: up, backend: openai, url: 'http://h/v1' }\n");
    assert.deepEqual(
      load({ config: file, model: "b.gguf" }).models.map((m) => m.name),
      ["b"],
    );
    const both = load({ config: file, parallel: "8" });
    assert.equal(embedded(both.models[0]).parallel, 8);
    assert.equal(both.models[1]!.backend, "openai");
    assert.equal(load({ parallel: "2" }).defaultModel.parallel, 2);
    refuses(() => load({ parallel: "1000" }), /^--parallel: must be an integer from 1 to 256/);
    assert.equal(load({}, { OPENSCOPE_MODEL: "" }).models.length, 0, "an empty variable is unset");
  });

  it("settingNames say how the operator named each setting a startup error may blame", () => {
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

describe("config: every bad value is one line naming the setting as it was given", () => {
  it("port: 0..65535, named by flag, environment variable or key, quoting what was given", () => {
    assert.equal(load({ port: "65535" }).port, 65535);
    assert.equal(load({ port: "0" }).port, 0);
    refuses(() => load({ port: "70000" }), /^--port: must be an integer from 0 to 65535 \(0 picks a free port\), got "70000"$/);
    refuses(() => load({}, { OPENSCOPE_PORT: "abc" }), /^OPENSCOPE_PORT: must be an integer from 0 to 65535 .*, got "abc"$/);
    refuses(() => load({ config: yaml("port: 80.5\n") }), /^port: must be an integer from 0 to 65535 .*, got 80\.5$/);
    refuses(() => load({ port: " " }), /^--port: must be an integer/);
  });

  it("several problems: one line each", () => {
    const lines = problems(() => load({ port: "x", config: yaml("models:\n  - { source: m.gguf, parallel: 0, contxt_size: 1 }\nbody_limit_mb: -1\n") }));
    assert.equal(lines.length, 4, lines.join("\n"));
  });

  it("host: an IP address or a host name", () => {
    assert.equal(load({ host: "0.0.0.0" }).host, "0.0.0.0");
    assert.equal(load({ host: "[::1]" }).host, "::1");
    assert.equal(load({ host: "my-host.local" }).host, "my-host.local");
    refuses(() => load({ host: "999.999.1.1" }), /^--host: "999\.999\.1\.1" is not a valid IPv4 address: use e\.g\. 127\.0\.0\.1/);
    refuses(() => load({}, { OPENSCOPE_HOST: "bad host" }), /^OPENSCOPE_HOST: "bad host" is not an IP address or host name/);
  });

  it("threads, parallel and context size have upper bounds", () => {
    refuses(
      () => load({ model: "m.gguf", parallel: "100000" }),
      /^--parallel: must be an integer from 1 to 256 \(llama\.cpp runs at most 256 sequences per context\), got "100000"$/,
    );
    refuses(() => load({}, { OPENSCOPE_THREADS: "0" }), /^OPENSCOPE_THREADS: must be an integer from 1 to 512/);
    refuses(() => load({ "context-size": "1e12" }), /^--context-size: must be an integer from 64 to 2147483647/);
    refuses(
      () => load({ config: yaml("models:\n  - source: m.gguf\n    parallel: -1\n") }),
      /^models\[0\]\.parallel: must be an integer from 1 to 256 .*, got -1$/,
    );
    assert.equal(embedded(load({ model: "m.gguf", "context-size": "100000000", parallel: "64" }).models[0]).contextSize, 100000000);
  });

  it("timers cannot overflow (a Node timer over ~24.8 days fires at once)", () => {
    refuses(() => load({ config: yaml("request_timeout_s: 1e9\n") }), /^request_timeout_s: must be a number from 1 to 2147483/);
    refuses(() => load({ config: yaml("ledger: { flush_ms: 1e12 }\n") }), /^ledger\.flush_ms: must be an integer from 10 to 2147483647/);
    refuses(
      () => load({ config: yaml("models:\n  - { name: up, backend: openai, replicas: ['http://10.0.0.1/v1'], timeouts: { idle_s: 1e9 } }\n") }),
      /^models\[0\]\.timeouts\.idle_s: must be a number from 0 to 2147483/,
    );
    refuses(() => load({ config: yaml("body_limit_mb: 1e12\n") }), /^body_limit_mb: must be a number from 0\.001 to 4096/);
  });

  it("sampling defaults in the ranges a request may use", () => {
    refuses(
      () => load({ config: yaml("models:\n  - source: m.gguf\n    defaults: { top_p: 5 }\n") }),
      /^models\[0\]\.defaults\.top_p: must be a number in \(0, 1\], got 5$/,
    );
    refuses(
      () => load({ config: yaml("models:\n  - source: m.gguf\n    defaults: { temperature: 2 }\n") }),
      /^models\[0\]\.defaults\.temperature: must be a number in \[0, 2\)/,
    );
  });

  it("strict_compat and the other switches are true or false", () => {
    assert.equal(load({}).strictCompat, false);
    assert.equal(load({ "strict-compat": true }).strictCompat, true);
    refuses(() => load({}, { OPENSCOPE_STRICT_COMPAT: "maybe" }), /^OPENSCOPE_STRICT_COMPAT: must be true or false, got "maybe"$/);
    refuses(() => load({}, { OPENSCOPE_LOG_LEVEL: "loud" }), /^OPENSCOPE_LOG_LEVEL: must be fatal, error, warn, info, debug, trace or silent, got "loud"$/);
  });

  it("secrets are never repeated", () => {
    const lines = problems(() => load({}, { OPENSCOPE_ADMIN_KEY: "short-secret", OPENSCOPE_STORE_URL: "postgres://u:secret@[bad/db" }));
    assert.deepEqual(lines, [
      'OPENSCOPE_STORE_URL: "postgres://u:***@[bad/db" is not a valid URL: expected e.g. postgres://user:password@host:5432/database',
      "OPENSCOPE_ADMIN_KEY: must be at least 16 characters",
    ]);
    refuses(() => load({ config: yaml("api_keys: [1234]\n") }), /^api_keys\[0\]: must be a string$/);
  });

  it("the config file: unreadable, a directory, not YAML, not a mapping", () => {
    refuses(
      () => load({ config: "/nonexistent/openscope.yaml" }),
      /^config file \(--config\): \/nonexistent\/openscope\.yaml cannot be read: it does not exist$/,
    );
    refuses(() => load({}, { OPENSCOPE_CONFIG: tmpdir() }), /\(OPENSCOPE_CONFIG\): .* cannot be read: it is a directory, not a file$/);
    refuses(() => load({ config: yaml("foo: [\n") }), /is not valid YAML: .*at line \d+, column \d+$/);
    refuses(() => load({ config: yaml("just a string\n") }), /must be a YAML mapping of settings \(such as "port: 8000"\), not a string$/);
    refuses(() => load({ config: yaml("- a\n- b\n") }), /not a list$/);
    assert.equal(load({ config: yaml("# nothing yet\n") }).port, DEFAULTS.port);
  });

  it("store_url and redis_url must parse", () => {
    refuses(() => load({ "store-url": "mysql://x" }), /^--store-url: must be a URL such as postgres:\/\//);
    refuses(() => load({ "redis-url": "redis://[bad" }), /^--redis-url: "redis:\/\/\[bad" is not a valid URL: expected e\.g\. redis:\/\/host:6379$/);
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
    assert.deepEqual(load({ config: yaml("media: { allow_hosts: ['minio:9000', '[fd00::1]:9000', '10.0.0.0/8'] }\n") }).media.allowHosts, [
      "minio:9000",
      "[fd00::1]:9000",
      "10.0.0.0/8",
    ]);
  });

  it("files the config names must exist: terms_file, the local search folder; search needs its url or folder", () => {
    refuses(
      () => load({ config: yaml("data_inspection: { terms_file: /nonexistent/terms.txt }\n") }),
      /^data_inspection\.terms_file: \/nonexistent\/terms\.txt cannot be read: it does not exist$/,
    );
    refuses(
      () => load({ config: yaml("search: { provider: local, folder: /nonexistent/docs }\n") }),
      /^search\.folder: \/nonexistent\/docs cannot be used: it does not exist$/,
    );
    refuses(() => load({ config: yaml("search: { provider: searxng }\n") }), /^search\.url: is required/);
    const docs = join(dir, "docs");
    mkdirSync(docs, { recursive: true });
    assert.deepEqual(load({ config: yaml(`search: { folder: ${docs} }\n`) }).search, { provider: "local", folder: docs });
    const terms = join(dir, "terms.txt");
    writeFileSync(terms, "# comment\nbad word\n\n");
    assert.deepEqual(load({ config: yaml(`data_inspection: { terms: [x], terms_file: ${terms} }\n`) }).dataInspection?.terms, ["x", "bad word"]);
  });
});

describe("config: the defaults and the published JSON Schema", () => {
  it("a config given nothing holds the one table's defaults", () => {
    const config = defaultConfig();
    assert.equal(config.port, DEFAULTS.port);
    assert.equal(config.host, DEFAULTS.host);
    assert.equal(config.bodyLimitBytes, DEFAULTS.body_limit_mb * 2 ** 20);
    assert.equal(config.files.maxBytes, DEFAULTS.files.max_mb * 2 ** 20);
    assert.equal(config.media.uploadTtlMs, DEFAULTS.media.upload_ttl_h * 3_600_000);
    assert.equal(config.gateway.ledger.flushMs, DEFAULTS.ledger.flush_ms);
    assert.deepEqual(config.models, []);
    assert.deepEqual(config.defaultModel.aliases, ["qwen-plus", "qwen-turbo", "qwen-flash", "qwen-max"]);
  });

  it("is strict and describes both kinds of model, with defaults", () => {
    const schema = configJsonSchema() as {
      additionalProperties: boolean;
      properties: Record<string, { default?: unknown; items?: { oneOf?: { properties: Record<string, unknown>; additionalProperties: boolean }[] } }>;
    };
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.properties.port!.default, 8000);
    const kinds = schema.properties.models!.items!.oneOf!;
    assert.equal(kinds.length, 2);
    assert.ok("context_size" in kinds[0]!.properties && !("context_size" in kinds[1]!.properties));
    assert.ok("replicas" in kinds[1]!.properties && kinds.every((kind) => kind.additionalProperties === false));
  });
});
