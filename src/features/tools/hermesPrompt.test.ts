import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatMessage, ToolCall, ToolDefinition } from "../../core/types.ts";
import { toolsAsText, toolsSystemText } from "./hermesPrompt.ts";
import { ToolCallParser } from "./toolCallParser.ts";

const WEATHER: ToolDefinition = {
  name: "get_weather",
  description: "Current weather",
  parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
};
const TIME: ToolDefinition = { name: "get_time", parameters: {} };

const message = (role: ChatMessage["role"], text: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  role,
  content: text === "" ? [] : [{ type: "text", text }],
  ...extra,
});
const call = (id: string, name: string, args: string): ToolCall => ({ id, type: "function", function: { name, arguments: args } });
const textOf = (m: ChatMessage | undefined): string => (m?.content ?? []).map((p) => (p.type === "text" ? p.text : "")).join("");

/** Tool calls the parser finds in the text, with the arguments of each call joined. */
function parseCalls(text: string): { content: string; calls: Array<{ name: string; arguments: string }> } {
  const parser = new ToolCallParser({ newId: () => "id" });
  let content = "";
  const calls: Array<{ name: string; arguments: string }> = [];
  for (const piece of [parser.push(text), parser.finish()]) {
    content += piece.content;
    for (const delta of piece.toolCalls) {
      if (delta.name !== undefined) calls[delta.index] = { name: delta.name, arguments: "" };
      calls[delta.index]!.arguments += delta.arguments;
    }
  }
  return { content, calls };
}

describe("toolsSystemText", () => {
  it("lists each tool's signature on its own line inside <tools>", () => {
    const text = toolsSystemText([WEATHER, TIME]);
    const signatures = [WEATHER, TIME].map((t) => JSON.stringify({ type: "function", function: t })).join("\n");
    assert.ok(text.startsWith("# Tools\n"));
    assert.ok(text.includes(`<tools>\n${signatures}\n</tools>`));
    assert.ok(text.endsWith('<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'));
  });
});

describe("toolsAsText", () => {
  it("appends the tools to an existing first system message", () => {
    const out = toolsAsText([message("system", "You are helpful."), message("user", "Weather?")], [WEATHER]);
    assert.equal(out.length, 2);
    assert.equal(out[0]!.role, "system");
    assert.equal(textOf(out[0]), `You are helpful.\n\n${toolsSystemText([WEATHER])}`);
    assert.deepEqual(out[1], message("user", "Weather?"));
  });

  it("adds a first system message when there is none", () => {
    const out = toolsAsText([message("user", "Weather?")], [WEATHER]);
    assert.deepEqual(out, [message("system", toolsSystemText([WEATHER])), message("user", "Weather?")]);
  });

  it("writes assistant tool calls as <tool_call> blocks after the content", () => {
    const history = [
      message("assistant", "Let me check.", {
        toolCalls: [call("c1", "get_weather", '{"location": "杭州"}'), call("c2", "get_time", "{}")],
      }),
      message("assistant", "", { toolCalls: [call("c3", "get_time", "{}")] }),
    ];
    const out = toolsAsText(history, undefined);
    assert.deepEqual(out, [
      message(
        "assistant",
        'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"location": "杭州"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
      ),
      message("assistant", '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>'),
    ]);
  });

  it("writes tool results as user messages in <tool_response>", () => {
    const out = toolsAsText([message("tool", '{"temp": 20}', { toolCallId: "c1", name: "get_weather" })], undefined);
    assert.deepEqual(out, [message("user", '<tool_response>\n{"temp": 20}\n</tool_response>')]);
  });

  it("only converts the history when there are no tools", () => {
    const history = [message("system", "Be brief."), message("user", "Hi"), message("tool", "ok")];
    for (const tools of [undefined, []]) {
      assert.deepEqual(toolsAsText(history, tools), [
        message("system", "Be brief."),
        message("user", "Hi"),
        message("user", "<tool_response>\nok\n</tool_response>"),
      ]);
    }
  });

  it("does not modify the messages it is given", () => {
    const history = [message("system", "S"), message("assistant", "A", { toolCalls: [call("c1", "get_time", "{}")] })];
    const copy = structuredClone(history);
    toolsAsText(history, [WEATHER]);
    assert.deepEqual(history, copy);
  });

  it("writes calls that the tool-call parser reads back", () => {
    const args = '{"location": "São Paulo \\"centro\\"", "days": [1, 2], "units": {"temp": "C"}}';
    const [rendered] = toolsAsText(
      [message("assistant", "Checking.", { toolCalls: [call("c1", "get_weather", args), call("c2", "get_time", "{}")] })],
      undefined,
    );
    const parsed = parseCalls(textOf(rendered));
    assert.equal(parsed.content, "Checking.");
    assert.deepEqual(parsed.calls, [
      { name: "get_weather", arguments: args },
      { name: "get_time", arguments: "{}" },
    ]);
    assert.deepEqual(JSON.parse(parsed.calls[0]!.arguments), JSON.parse(args));
  });
});
