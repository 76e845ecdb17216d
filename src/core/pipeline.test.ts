import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError, errors, invalidParameter } from "./errors.ts";
import { runGeneration, type GenerationFlow } from "./pipeline.ts";
import type { Stage } from "./stage.ts";
import type { Backend, Capabilities, EngineEvent, GenerationRequest, ModelRoute } from "./types.ts";

const CAPABILITIES: Capabilities = {
  tools: "grammar",
  thinking: false,
  structuredOutput: "grammar",
  logprobs: true,
  vision: false,
  audio: false,
  maxN: 1,
  stopTokenIds: true,
  topK: true,
  repetitionPenalty: true,
  logitBias: true,
  thinkingBudget: false,
};

const REQUEST: GenerationRequest = {
  requestId: "req-1",
  model: "m",
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  sampling: { stop: { strings: [], tokenIds: [] }, n: 1 },
  features: {},
};

const FINISH: EngineEvent = { type: "finish", index: 0, reason: "stop", usage: { inputTokens: 1, outputTokens: 1 } };

/** A backend that notes its validate and generate calls in `log`. */
function backend(log: string[], capabilities: Partial<Capabilities> = {}, invalid?: string): Backend {
  const notUsed = (): never => {
    throw new Error("not used");
  };
  return {
    kind: "test",
    capabilities: { ...CAPABILITIES, ...capabilities },
    validate: () => {
      log.push("backend.validate");
      if (invalid) throw invalidParameter(invalid);
    },
    async *generate(request) {
      log.push(`generate ${request.requestId}`);
      yield FINISH;
    },
    tokenize: notUsed,
    stats: notUsed,
    close: notUsed,
  };
}

/** A stage that notes each step it runs in `log` and tags the request id with its name in validate and prepare. */
function stage(log: string[], name: string, extra: Partial<Stage> = {}): Stage {
  return {
    name,
    validate: (request) => {
      log.push(`validate ${name}`);
      return { ...request, requestId: `${request.requestId}+v${name}` };
    },
    prepare: async (request) => {
      log.push(`prepare ${name}`);
      return { ...request, requestId: `${request.requestId}+p${name}` };
    },
    transform: (generate) =>
      async function* (request, signal) {
        log.push(`transform ${name} in`);
        yield* generate(request, signal);
        log.push(`transform ${name} out`);
      },
    ...extra,
  };
}

interface FlowOptions {
  stages?: Stage[];
  capabilities?: Partial<Capabilities>;
  backendInvalid?: string;
  /** Cheap admission refuses (over RPM). */
  overRpm?: boolean;
}

/** A flow whose every step notes itself in `log`. */
function flow(log: string[], options: FlowOptions = {}): GenerationFlow {
  const route: ModelRoute = { name: "m", backend: backend(log, options.capabilities, options.backendInvalid), defaults: { maxOutputTokens: 100 } };
  return {
    route: (model) => {
      log.push(`route ${model}`);
      return route;
    },
    services: { search: false },
    stages: options.stages ?? [],
    admission: {
      admitRequest: async () => {
        log.push("admit request");
        if (options.overRpm) throw errors.rateQuota();
        return async (request) => {
          log.push(`admit tokens ${request.requestId}`);
        };
      },
    },
    account: async function* (events) {
      log.push("account");
      yield* events;
    },
  };
}

const run = { signal: new AbortController().signal, trace: {} };

async function drain(events: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe("runGeneration: the one flow", () => {
  it("route, validate, cheap admission, prepare, token admission, generate inside the transforms, account", async () => {
    const log: string[] = [];
    const started = await runGeneration(REQUEST, flow(log, { stages: [stage(log, "a"), stage(log, "b")] }), run);
    assert.equal(started.request.requestId, "req-1+va+vb+pa+pb");
    assert.deepEqual(await drain(started.events), [FINISH]);
    assert.deepEqual(log, [
      "route m",
      "validate a",
      "validate b",
      "backend.validate",
      "admit request",
      "prepare a",
      "prepare b",
      "admit tokens req-1+va+vb+pa+pb",
      "account",
      // The first stage listed wraps the others: it sees the events last.
      "transform a in",
      "transform b in",
      "generate req-1+va+vb+pa+pb",
      "transform b out",
      "transform a out",
    ]);
  });

  it("model defaults are applied before the stages validate", async () => {
    const seen: (number | undefined)[] = [];
    const defaultsSeen: Stage = {
      name: "sees defaults",
      validate: (request) => {
        seen.push(request.sampling.maxTokens);
        return request;
      },
    };
    const log: string[] = [];
    const f = flow(log, { stages: [defaultsSeen] });
    const route = f.route("m");
    route.defaults.maxTokens = 42;
    await runGeneration(REQUEST, f, run);
    assert.deepEqual(seen, [42]);
  });
});

describe("runGeneration: stages that stand in for a capability", () => {
  const grammar = (log: string[]) => stage(log, "grammar", { standsInFor: "structuredOutput" });

  it("run where the backend lacks it natively", async () => {
    const log: string[] = [];
    await drain((await runGeneration(REQUEST, flow(log, { stages: [grammar(log)], capabilities: { structuredOutput: "grammar" } }), run)).events);
    assert.ok(log.includes("validate grammar") && log.includes("prepare grammar") && log.includes("transform grammar in"), log.join(", "));
  });

  it("are skipped in every step where the backend has it natively", async () => {
    const log: string[] = [];
    const started = await runGeneration(
      REQUEST,
      flow(log, { stages: [grammar(log), stage(log, "always")], capabilities: { structuredOutput: "native" } }),
      run,
    );
    await drain(started.events);
    assert.deepEqual(
      log.filter((line) => line.includes("grammar")),
      [],
    );
    assert.ok(log.includes("validate always"));
    assert.equal(started.request.requestId, "req-1+valways+palways");
  });
});

describe("runGeneration: nothing is charged or fetched for an invalid request", () => {
  const refused = (error: unknown): true => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    return true;
  };

  it("a stage's 400 comes before admission", async () => {
    const log: string[] = [];
    const invalid: Stage = {
      name: "invalid",
      validate: () => {
        throw invalidParameter("no");
      },
    };
    await assert.rejects(runGeneration(REQUEST, flow(log, { stages: [invalid, stage(log, "later")] }), run), refused);
    assert.deepEqual(log, ["route m"]);
  });

  it("the backend's own 400 comes before admission", async () => {
    const log: string[] = [];
    await assert.rejects(runGeneration(REQUEST, flow(log, { stages: [stage(log, "a")], backendInvalid: "bad stop" }), run), refused);
    assert.deepEqual(log, ["route m", "validate a", "backend.validate"]);
  });

  it("a capability the backend lacks is refused before admission", async () => {
    const log: string[] = [];
    const request: GenerationRequest = { ...REQUEST, features: { thinking: { enabled: true } } };
    await assert.rejects(runGeneration(request, flow(log), run), refused);
    assert.deepEqual(log, ["route m"]);
  });

  it("over the key's RPM: refused at cheap admission, before any stage prepares", async () => {
    const log: string[] = [];
    await assert.rejects(runGeneration(REQUEST, flow(log, { stages: [stage(log, "media")], overRpm: true }), run), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.code, "Throttling.RateQuota");
      return true;
    });
    assert.deepEqual(log, ["route m", "validate media", "backend.validate", "admit request"]);
  });
});
