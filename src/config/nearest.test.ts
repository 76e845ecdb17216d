import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { editDistance, nearestName, unknownKeyProblem } from "./nearest.ts";

describe("nearest valid name (Levenshtein)", () => {
  it("edit distance counts insertions, deletions and substitutions", () => {
    assert.equal(editDistance("contxt_size", "context_size"), 1);
    assert.equal(editDistance("prot", "port"), 2);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("same", "same"), 0);
  });

  it("suggests the nearest key when it is close enough, else lists the keys", () => {
    const top = ["host", "port", "api_keys", "cache_dir", "models"];
    assert.equal(nearestName("prot", top), "port");
    assert.equal(nearestName("api_key", top), "api_keys");
    assert.equal(nearestName("Port", top), "port");
    assert.equal(nearestName("paralel", ["parallel", "threads"]), "parallel");
    assert.equal(nearestName("frobnicate", top), undefined);
    assert.equal(unknownKeyProblem("contxt_size", ["source", "context_size"]), "unknown key — did you mean context_size?");
    assert.equal(unknownKeyProblem("zzz", ["source", "name"]), "unknown key — the keys here are source, name");
  });
});
