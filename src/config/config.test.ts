import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
