import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ToolCallDelta } from "../../core/types.ts";
import { OutputParser, type OutputParserOptions } from "./outputParser.ts";

/** Feeds the text one character at a time and collects what comes out. */
function parse(text: string, options: OutputParserOptions) {
  const parser = new OutputParser(options);
  let reasoning = "";
  let content = "";
  const deltas: ToolCallDelta[] = [];
  const states: boolean[] = [];
  for (const ch of [...text, ""]) {
    const piece = ch === "" ? parser.finish() : parser.push(ch);
    reasoning += piece.reasoning;
    content += piece.content;
    deltas.push(...piece.toolCalls);
    states.push(parser.inReasoning);
  }
  const calls = new Map<number, { name: string; arguments: string }>();
  for (const d of deltas) {
    const call = calls.get(d.index) ?? { name: "", arguments: "" };
    call.name += d.name ?? "";
    call.arguments += d.arguments;
    calls.set(d.index, call);
  }
  return { reasoning, content, calls: [...calls.values()], states, completed: parser.completedToolCalls };
}

describe("OutputParser: thought, answer and tool calls together", () => {
  it("a thought opened by the prompt, then an answer with a tool call", () => {
    const out = parse('Let me check.\n</think>\n\nSure.\n<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>', {
      thinking: true,
      startInReasoning: true,
      tools: {},
    });
    assert.equal(out.reasoning, "Let me check.");
    assert.equal(out.content, "Sure.");
    assert.deepEqual(out.calls, [{ name: "f", arguments: '{"a": 1}' }]);
    assert.equal(out.completed, 1);
    assert.equal(out.states[0], true, "in the thought from the start");
    assert.equal(out.states[out.states.length - 1], false, "out of it at the end");
  });

  it("a call's first piece goes out with its first argument text, however the text is chunked", () => {
    const parser = new OutputParser({ thinking: false, startInReasoning: false, tools: {} });
    const deltas: ToolCallDelta[] = [];
    for (const ch of '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>') deltas.push(...parser.push(ch).toolCalls);
    deltas.push(...parser.finish().toolCalls);
    assert.equal(deltas[0]!.name, "f");
    assert.notEqual(deltas[0]!.arguments, "", "the first delta carries the first argument piece");
    assert.ok(deltas.slice(1).every((d) => d.id === undefined && d.arguments !== ""));
    // A call cut off right after its name still gets its first delta.
    const cut = new OutputParser({ thinking: false, startInReasoning: false, tools: {} });
    const early = [...cut.push('<tool_call>\n{"name": "g", "arguments": ').toolCalls, ...cut.finish().toolCalls];
    assert.deepEqual(
      early.map((d) => [d.name, d.arguments]),
      [["g", ""]],
    );
  });

  it("without tools the call markup is ordinary content; without thinking the think tags are too", () => {
    const text = "<think>x</think>a<tool_call>{}</tool_call>";
    assert.equal(parse(text, { thinking: false, startInReasoning: false }).content, text);
    const thought = parse(text, { thinking: true, startInReasoning: false });
    assert.equal(thought.reasoning, "x");
    assert.equal(thought.content, "a<tool_call>{}</tool_call>");
  });

  it("tool-call markup inside the thought is reasoning, not a call", () => {
    const out = parse('<tool_call>{"name":"f","arguments":{}}</tool_call></think>ok', { thinking: true, startInReasoning: true, tools: {} });
    assert.match(out.reasoning, /tool_call/);
    assert.equal(out.content, "ok");
    assert.equal(out.completed, 0);
  });
});
