import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import type { Backend, EngineEvent, GenerationRequest, ModelRoute } from "../../core/types.ts";
import { ClassifierModerator, readGuardVerdict } from "./classifier.ts";
import { parseInspectionHeader } from "./inspection.ts";
import { inspectOutput } from "./outputGuard.ts";
import { TermListModerator } from "./termList.ts";

/** A text part's text ("" for media parts). */
const partText = (part: { type: string; text?: string }): string => (part.type === "text" ? (part.text ?? "") : "");

const usage = { inputTokens: 1, outputTokens: 1 };
const delta = (content: string, index = 0): EngineEvent => ({ type: "delta", index, content, usage });
const finish = (index = 0): EngineEvent => ({ type: "finish", index, reason: "stop", usage });
async function* from(events: EngineEvent[]) {
  yield* events;
}
const inspectionFailed = (message: string) => (error: unknown) =>
  error instanceof ApiError && error.code === "DataInspectionFailed" && error.status === 400 && error.message === message;

describe("X-DashScope-DataInspection header", () => {
  it("enable, the documented JSON, disable and absence", () => {
    assert.deepEqual(parseInspectionHeader("enable"), { input: true, output: true });
    assert.deepEqual(parseInspectionHeader('{"input":"cip","output":"cip"}'), { input: true, output: true });
    assert.deepEqual(parseInspectionHeader('{"input": "cip"}'), { input: true, output: false });
    assert.deepEqual(parseInspectionHeader('{"output":"cip"}'), { input: false, output: true });
    assert.deepEqual(parseInspectionHeader("disable"), { input: false, output: false });
    assert.deepEqual(parseInspectionHeader(undefined), { input: false, output: false });
  });

  it("anything else is a 400 naming the forms", () => {
    for (const bad of ["yes please", "[1]", '{"input":'])
      assert.throws(
        () => parseInspectionHeader(bad),
        (e: unknown) => e instanceof ApiError && e.status === 400,
      );
  });
});

describe("TermListModerator", () => {
  const lists = new TermListModerator({ terms: ["Forbidden Word", "违禁词"], patterns: ["\\bsecret\\s+code\\s*\\d+"] });

  it("matches terms case-insensitively, through full-width forms and invisible characters", async () => {
    assert.equal((await lists.check("input", "a FORBIDDEN word here")).flagged, true);
    assert.equal((await lists.check("input", "ＦＯＲＢＩＤＤＥＮ　ＷＯＲＤ")).flagged, true);
    assert.equal((await lists.check("input", "forbid\u200Bden word")).flagged, true);
    assert.equal((await lists.check("output", "这是违禁词吗")).flagged, true);
    assert.equal((await lists.check("input", "perfectly fine")).flagged, false);
  });

  it("matches patterns", async () => {
    assert.equal((await lists.check("output", "the Secret  Code 42")).flagged, true);
    assert.equal((await lists.check("output", "a secretive coder")).flagged, false);
  });
});

describe("inspectOutput", () => {
  const lists = new TermListModerator({ terms: ["badword"] });

  it("a streaming moderator stops before the delta that completes a flagged term", async () => {
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const event of inspectOutput(from([delta("hello "), delta("bad"), delta("word!"), finish()]), lists, [])) {
        if (event.type === "delta") seen.push(event.content!);
      }
    }, inspectionFailed("Output data may contain inappropriate content."));
    assert.deepEqual(seen, ["hello ", "bad"]);
  });

  it("clean answers pass unchanged; tool-call arguments are inspected too", async () => {
    const clean = [delta("all "), delta("good"), finish()];
    const out: EngineEvent[] = [];
    for await (const event of inspectOutput(from(clean), lists, [])) out.push(event);
    assert.deepEqual(out, clean);
    const call: EngineEvent = { type: "delta", index: 0, toolCalls: [{ index: 0, id: "c", name: "f", arguments: '{"q":"badword"}' }], usage };
    await assert.rejects(async () => {
      for await (const _ of inspectOutput(from([call, finish()]), lists, [])) void _;
    }, inspectionFailed("Output data may contain inappropriate content."));
  });
});

/** A test double standing in for a Qwen3Guard model behind the Backend interface: answers a fixed verdict, records what it was asked. */
function guardDouble(answer: string): { route: ModelRoute; asked: GenerationRequest[] } {
  const asked: GenerationRequest[] = [];
  const backend = {
    kind: "test-double",
    async *generate(request: GenerationRequest): AsyncIterable<EngineEvent> {
      asked.push(request);
      yield delta(answer);
      yield finish();
    },
  } as unknown as Backend;
  return { route: { name: "guard", backend, defaults: { maxOutputTokens: 64 } }, asked };
}

describe("ClassifierModerator (a stand-in for Qwen3Guard behind the Backend interface)", () => {
  it("reads Qwen3Guard's verdict", () => {
    assert.equal(readGuardVerdict("Safety: Unsafe\nCategories: Violent"), "unsafe");
    assert.equal(readGuardVerdict("safety:controversial"), "controversial");
    assert.equal(readGuardVerdict("Safety: Safe\nCategories: None"), "safe");
    assert.equal(readGuardVerdict("I think it is fine"), undefined);
  });

  it("judges input as a user turn and output as the reply to it; blocks the configured labels", async () => {
    const unsafe = guardDouble("Safety: Unsafe\nCategories: Violent");
    const moderator = new ClassifierModerator(() => unsafe.route);
    assert.equal((await moderator.check("input", "how do I …")).flagged, true);
    assert.equal((await moderator.check("output", "the answer", "user: the question")).flagged, true);
    assert.deepEqual(
      unsafe.asked[0]!.messages.map((m) => [m.role, partText(m.content[0]!)]),
      [["user", "how do I …"]],
    );
    assert.deepEqual(
      unsafe.asked[1]!.messages.map((m) => [m.role, partText(m.content[0]!)]),
      [
        ["user", "user: the question"],
        ["assistant", "the answer"],
      ],
    );
    const controversial = guardDouble("Safety: Controversial");
    assert.equal((await new ClassifierModerator(() => controversial.route).check("input", "x")).flagged, false);
    assert.equal((await new ClassifierModerator(() => controversial.route, { block: ["unsafe", "controversial"] }).check("input", "x")).flagged, true);
  });

  it("an answer without a verdict blocks by default, or passes when configured to", async () => {
    const noise = guardDouble("lorem ipsum");
    assert.equal((await new ClassifierModerator(() => noise.route).check("input", "x")).flagged, true);
    assert.equal((await new ClassifierModerator(() => noise.route, { onUnreadable: "allow" }).check("input", "x")).flagged, false);
  });

  it("judges streamed output once, at the finish", async () => {
    const guard = guardDouble("Safety: Unsafe");
    const events: EngineEvent[] = [];
    await assert.rejects(async () => {
      for await (const event of inspectOutput(from([delta("a"), delta("b"), finish()]), new ClassifierModerator(() => guard.route), [])) events.push(event);
    }, inspectionFailed("Output data may contain inappropriate content."));
    assert.equal(events.length, 2, "both deltas went out; the finish did not");
    assert.equal(guard.asked.length, 1);
    assert.equal(partText(guard.asked[0]!.messages[1]!.content[0]!), "ab");
  });
});
