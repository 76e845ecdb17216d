import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PrefixPins } from "./prefixPins.ts";

describe("PrefixPins", () => {
  it("a pinned slot ranks below free unpinned ones for prompts that would evict its prefix", () => {
    const now = 0;
    const pins = new PrefixPins<string>(1000, () => now);
    pins.pin("a", 100);
    assert.equal(pins.score("a", 0), -1);
    assert.equal(pins.score("a", 99), -1);
    assert.equal(pins.score("a", 100), 100, "a prompt sharing the whole prefix reuses it");
    assert.equal(pins.score("b", 0), 0);
  });

  it("hits renew the pin, it lapses after the TTL, and a forced miss ends it", () => {
    let now = 0;
    const pins = new PrefixPins<string>(1000, () => now);
    pins.pin("a", 10);
    now = 900;
    pins.used("a", 10);
    now = 1800;
    assert.equal(pins.score("a", 0), -1, "renewed at 900");
    now = 1901;
    assert.equal(pins.score("a", 0), 0, "lapsed");
    pins.pin("a", 10);
    pins.used("a", 3);
    assert.equal(pins.score("a", 0), 0, "evicted when nothing else was free");
  });
});
