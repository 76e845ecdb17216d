import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "./errors.ts";
import {
  applyModelDefaults,
  assertCapabilities,
  DEFAULT_MAX_THINKING_TOKENS,
  PARTIAL_THINKING_MESSAGE,
  resolveRequest,
  thinkingBudgetMessage,
} from "./requestResolution.ts";
import { thinksByDefault } from "./thinkingDefaults.ts";
import type { Backend, Capabilities, ChatMessage, GenerationRequest, ModelDefaults, ModelRoute, RequestedFeatures, SamplingParams } from "./types.ts";

const CAPABILITIES: Capabilities = {
  tools: "grammar",
  thinking: true,
  structuredOutput: "grammar",
  logprobs: true,
  vision: false,
  audio: false,
  maxN: 4,
  stopTokenIds: true,
  topK: true,
  repetitionPenalty: true,
  logitBias: true,
  thinkingBudget: true,
};

const DEFAULTS: ModelDefaults = { maxTokens: 1000, maxOutputTokens: 8192 };

function backend(capabilities: Partial<Capabilities> = {}): Backend {
  const notUsed = (): never => {
    throw new Error("not used");
  };
  return {
    kind: "test",
    capabilities: { ...CAPABILITIES, ...capabilities },
    validate: notUsed,
    generate: notUsed,
    tokenize: notUsed,
    stats: notUsed,
    close: notUsed,
  };
}

function route(name: string, defaults: Partial<ModelDefaults> = {}, capabilities: Partial<Capabilities> = {}): ModelRoute {
  return { name, backend: backend(capabilities), defaults: { ...DEFAULTS, ...defaults } };
}

const user = (text: string): ChatMessage => ({ role: "user", content: [{ type: "text", text }] });

function request(
  options: { model?: string; features?: RequestedFeatures; sampling?: Partial<SamplingParams>; messages?: ChatMessage[] } = {},
): GenerationRequest {
  return {
    requestId: "req-1",
    model: options.model ?? "qwen-plus",
    messages: options.messages ?? [user("Hello")],
    sampling: { stop: { strings: [], tokenIds: [] }, n: 1, ...options.sampling },
    features: options.features ?? {},
  };
}

function invalidParameter(message: string | RegExp) {
  return (error: unknown): true => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.equal(error.code, "InvalidParameter");
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  };
}

/** The thinking the pipeline resolves for a request on a model (capabilities: thinking supported). */
function thinking(req: GenerationRequest, defaults: Partial<ModelDefaults> = {}, capabilities: Partial<Capabilities> = {}) {
  return applyModelDefaults(req, { ...DEFAULTS, ...defaults }, { ...CAPABILITIES, ...capabilities }).features.thinking;
}

describe("applyModelDefaults: sampling", () => {
  const defaults: ModelDefaults = {
    temperature: 0.7,
    topP: 0.8,
    topK: 20,
    repetitionPenalty: 1.05,
    presencePenalty: 1.5,
    maxTokens: 512,
    maxOutputTokens: 2048,
  };

  it("fills only what the client left out", () => {
    const req = request({ sampling: { temperature: 0.1, topK: 0, maxTokens: 64, seed: 7, stop: { strings: ["END"], tokenIds: [] }, n: 2 } });
    assert.deepEqual(applyModelDefaults(req, defaults, CAPABILITIES).sampling, {
      temperature: 0.1,
      topP: 0.8,
      topK: 0,
      repetitionPenalty: 1.05,
      presencePenalty: 1.5,
      maxTokens: 64,
      seed: 7,
      stop: { strings: ["END"], tokenIds: [] },
      n: 2,
    });
  });

  it("fills everything for an empty request and leaves the request unchanged", () => {
    const req = request();
    const copy = structuredClone(req);
    const { sampling } = applyModelDefaults(req, defaults, CAPABILITIES);
    assert.deepEqual([sampling.temperature, sampling.topP, sampling.topK, sampling.maxTokens], [0.7, 0.8, 20, 512]);
    assert.deepEqual(req, copy);
  });

  it("refuses max_tokens above the model's longest output", () => {
    assert.throws(
      () => applyModelDefaults(request({ sampling: { maxTokens: 2049 } }), defaults, CAPABILITIES),
      invalidParameter("Range of max_tokens should be [1, 2048]"),
    );
    assert.equal(applyModelDefaults(request({ sampling: { maxTokens: 2048 } }), defaults, CAPABILITIES).sampling.maxTokens, 2048);
  });
});

describe("thinksByDefault", () => {
  for (const name of ["qwen3-8b", "qwen3-0.6b-q8_0", "qwen3-235b-a22b", "qwq-32b", "qwen3-next-80b-a3b-thinking"]) {
    it(`${name} thinks`, () => assert.equal(thinksByDefault(name), true));
  }
  for (const name of ["qwen-plus", "qwen3-max", "qwen3-coder-plus", "qwen3-30b-a3b-instruct-2507", "tiny"]) {
    it(`${name} does not think`, () => assert.equal(thinksByDefault(name), false));
  }
});

describe("applyModelDefaults: thinking", () => {
  it("honours an explicit choice, with the budget defaulting to the model's max", () => {
    assert.deepEqual(thinking(request({ model: "qwen-plus", features: { thinking: { enabled: true } } }), { maxThinkingTokens: 4096 }), {
      enabled: true,
      budget: 4096,
    });
    assert.deepEqual(thinking(request({ model: "qwen3-8b", features: { thinking: { enabled: false } } })), { enabled: false });
  });

  it("follows the model's configured default, else its name", () => {
    assert.equal(thinking(request({ model: "qwen-plus" }), { enableThinking: true })?.enabled, true);
    assert.equal(thinking(request({ model: "qwen3-8b" }), { enableThinking: false })?.enabled, false);
    assert.deepEqual(thinking(request({ model: "qwen3-8b" })), { enabled: true, budget: DEFAULT_MAX_THINKING_TOKENS });
    assert.deepEqual(thinking(request({ model: "qwen-plus" })), { enabled: false });
  });

  it("keeps the budget the client gave", () => {
    assert.deepEqual(thinking(request({ features: { thinking: { enabled: true, budget: 50 } } })), { enabled: true, budget: 50 });
  });

  it("drops the budget when thinking is off", () => {
    assert.deepEqual(thinking(request({ model: "qwen-plus", features: { thinking: { budget: 50 } } })), { enabled: false });
  });

  it("refuses a budget above the max or below 1", () => {
    for (const budget of [0, 4097]) {
      const req = request({ features: { thinking: { enabled: true, budget } } });
      assert.throws(() => thinking(req, { maxThinkingTokens: 4096 }), invalidParameter(thinkingBudgetMessage(4096)), `budget ${budget}`);
    }
    const over = request({ features: { thinking: { enabled: true, budget: DEFAULT_MAX_THINKING_TOKENS + 1 } } });
    assert.throws(() => thinking(over), invalidParameter(thinkingBudgetMessage(DEFAULT_MAX_THINKING_TOKENS)));
    assert.deepEqual(thinking(request({ features: { thinking: { enabled: true, budget: 4096 } } }), { maxThinkingTokens: 4096 }), {
      enabled: true,
      budget: 4096,
    });
  });

  it("never thinks by default when continuing a partial assistant message", () => {
    const messages: ChatMessage[] = [user("Write a poem"), { role: "assistant", content: [{ type: "text", text: "Roses" }], partial: true }];
    assert.deepEqual(thinking(request({ model: "qwen3-8b", messages })), { enabled: false });
    assert.deepEqual(thinking(request({ model: "qwen-plus", messages }), { enableThinking: true }), { enabled: false });
    assert.throws(
      () => thinking(request({ model: "qwen3-8b", messages, features: { thinking: { enabled: true } } })),
      invalidParameter(PARTIAL_THINKING_MESSAGE),
    );
  });
});

describe("assertCapabilities and resolveRequest", () => {
  it("refuses thinking asked of a backend that cannot think, naming parameters.enable_thinking", () => {
    const req = request({ model: "tiny", features: { thinking: { enabled: true } } });
    const noThinking = { ...CAPABILITIES, thinking: false };
    assert.throws(() => assertCapabilities(req, noThinking, "tiny"), invalidParameter(/parameters\.enable_thinking.*"tiny"/));
    assert.throws(() => resolveRequest(req, route("tiny", {}, { thinking: false })), invalidParameter(/parameters\.enable_thinking/));
  });

  it("does not think by default on a backend that cannot", () => {
    const resolved = resolveRequest(request({ model: "qwen3-8b" }), route("qwen3-8b", {}, { thinking: false }));
    assert.deepEqual(resolved.features.thinking, { enabled: false });
    assert.deepEqual(resolveRequest(request({ model: "x" }), route("x", { enableThinking: true }, { thinking: false })).features.thinking, {
      enabled: false,
    });
  });

  it("refuses other features the backend lacks", () => {
    const caps: Capabilities = { ...CAPABILITIES, tools: false, maxN: 1 };
    assert.throws(
      () => assertCapabilities(request({ features: { tools: [{ name: "f", parameters: {} }] } }), caps, "m"),
      invalidParameter(/parameters\.tools/),
    );
    assert.throws(() => assertCapabilities(request({ sampling: { n: 2 } }), caps, "m"), invalidParameter(/parameters\.n=2/));
    assert.doesNotThrow(() => assertCapabilities(request(), caps, "m"));
  });
});

describe("assertCapabilities: engine knobs", () => {
  const lean: Capabilities = { ...CAPABILITIES, topK: false, repetitionPenalty: false, logitBias: false, thinkingBudget: false };
  const request = (sampling: Partial<SamplingParams>, features: RequestedFeatures = {}): GenerationRequest => ({
    requestId: "r",
    model: "m",
    messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    sampling: { stop: { strings: [], tokenIds: [] }, n: 1, ...sampling },
    features,
  });
  const refused = (r: GenerationRequest, what: RegExp) =>
    assert.throws(
      () => assertCapabilities(r, lean, "up"),
      (e: unknown) => e instanceof Error && what.test(e.message),
    );

  it("top_k, repetition_penalty, logit_bias and thinking_budget are refused by name where the engine lacks them", () => {
    refused(request({ topK: 5 }), /parameters\.top_k/);
    refused(request({ repetitionPenalty: 1.1 }), /parameters\.repetition_penalty/);
    refused(request({ logitBias: [[1, 2]] }), /parameters\.logit_bias/);
    refused(request({}, { thinking: { enabled: true, budget: 10 } }), /parameters\.thinking_budget/);
  });

  it("their neutral values pass (top_k 0 or above 100, repetition_penalty 1)", () => {
    assertCapabilities(request({ topK: 0, repetitionPenalty: 1 }), lean, "up");
  });
});
