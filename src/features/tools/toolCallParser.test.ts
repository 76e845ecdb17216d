import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chunkings as cut, LONE_SURROGATE } from "../../../test/helpers/chunkings.ts";
import { newToolCallId, ToolCallParser, type ParsedPiece, type ToolCallParserOptions } from "./toolCallParser.ts";

const chunkings = (input: string) => cut(input, 8);

interface Call {
  name: string;
  arguments: string;
}
interface Parsed {
  content: string;
  calls: Call[];
  completedCalls: number;
}

/** Runs the parser over the chunks and reassembles its output, checking the shape of every delta. */
function parse(chunks: string[], options: ToolCallParserOptions = {}): Parsed {
  let ids = 0;
  const parser = new ToolCallParser({ ...options, newId: () => `id${ids++}` });
  const pieces: ParsedPiece[] = [...chunks.map((chunk) => parser.push(chunk)), parser.finish()];
  let content = "";
  const calls: Array<Call & { id: string }> = [];
  for (const piece of pieces) {
    assert.doesNotMatch(piece.content, LONE_SURROGATE);
    content += piece.content;
    for (const delta of piece.toolCalls) {
      assert.doesNotMatch(delta.arguments, LONE_SURROGATE);
      const call = calls[delta.index];
      if (call === undefined) {
        // The first delta of a call: the next index, with id and name.
        assert.equal(delta.index, calls.length, "calls are numbered in order");
        assert.ok(delta.id !== undefined && delta.name !== undefined, "the first delta has id and name");
        calls.push({ id: delta.id, name: delta.name, arguments: delta.arguments });
      } else {
        assert.equal(delta.index, calls.length - 1, "only the latest call gets more arguments");
        assert.equal(delta.id, undefined, "a later delta has no id");
        assert.equal(delta.name, undefined, "a later delta has no name");
        call.arguments += delta.arguments;
      }
    }
  }
  assert.deepEqual(
    calls.map((call) => call.id),
    calls.map((_, index) => `id${index}`),
  );
  return {
    content,
    calls: calls.map(({ name, arguments: args }) => ({ name, arguments: args })),
    completedCalls: parser.completedCalls,
  };
}

function assertParses(input: string, expected: { content: string; calls: Call[]; completedCalls?: number }, options?: ToolCallParserOptions): void {
  const want: Parsed = { completedCalls: expected.calls.length, ...expected };
  for (const { label, chunks } of chunkings(input)) {
    assert.deepEqual(parse(chunks, options), want, `${label}: ${JSON.stringify(input)}`);
  }
}

const hermes = (name: string, args: string) => `<tool_call>\n{"name": "${name}", "arguments": ${args}}\n</tool_call>`;

describe("ToolCallParser content", () => {
  it("passes plain content through", () => {
    const text = "Hello, world!\nNo tools here. 你好 😀\n";
    assertParses(text, { content: text, calls: [] });
  });

  it("keeps `<`, `<tool` and near-miss tags that open no call", () => {
    for (const text of ["a < b and <tool is not <tool_call but <tool_calls> is", "x <tool_call", "ends with <tool_cal", "  <", "</tool_call> alone"]) {
      assertParses(text, { content: text, calls: [] });
    }
  });

  it("keeps trailing whitespace when there is no call", () => {
    assertParses("Hi \n\n", { content: "Hi \n\n", calls: [] });
  });
});

describe("ToolCallParser hermes calls", () => {
  it("parses one call", () => {
    assertParses(hermes("get_weather", '{"location": "杭州"}'), {
      content: "",
      calls: [{ name: "get_weather", arguments: '{"location": "杭州"}' }],
    });
  });

  it("parses compact and oddly spaced calls", () => {
    assertParses('<tool_call>{"name":"f","arguments":{}}</tool_call>', {
      content: "",
      calls: [{ name: "f", arguments: "{}" }],
    });
    assertParses('<tool_call>\n  {\n    "name" :\n "f" ,\n  "arguments"\t:  [1, 2]\n  }\n</tool_call>', {
      content: "",
      calls: [{ name: "f", arguments: "[1, 2]" }],
    });
  });

  it("parses parallel calls, dropping the whitespace around them", () => {
    const text = `${hermes("a", '{"x": 1}')}\n\n${hermes("b", '{"y": 2}')}\n`;
    assertParses(text, {
      content: "",
      calls: [
        { name: "a", arguments: '{"x": 1}' },
        { name: "b", arguments: '{"y": 2}' },
      ],
    });
  });

  it("keeps content before and after calls", () => {
    assertParses(`Let me check.\n\n${hermes("get_weather", '{"location": "杭州"}')}`, {
      content: "Let me check.",
      calls: [{ name: "get_weather", arguments: '{"location": "杭州"}' }],
    });
    assertParses(`${hermes("a", "{}")}\n\nDone. \n`, {
      content: "\n\nDone.",
      calls: [{ name: "a", arguments: "{}" }],
    });
  });

  it("streams arguments holding braces, quotes, escapes and tags inside strings", () => {
    const args = String.raw`{"code": "if (a) { return \"}\"; }", "nested": {"list": [1, {"x": "</tool_call>"}], "q": "\\"}, "s": "a\\\"b]", "t": "<tool_call>"}`;
    assert.ok(JSON.parse(args));
    assertParses(`Run:${hermes("run", args)}`, { content: "Run:", calls: [{ name: "run", arguments: args }] });
  });

  it("decodes the name and keeps Chinese and emoji intact", () => {
    const args = '{"城市": "杭州 😀", "note": "\\u4f60\\u597d"}';
    assertParses(`查询天气：${hermes('查询\\"天气', args)}好的`, {
      content: "查询天气：好的",
      calls: [{ name: '查询"天气', arguments: args }],
    });
  });

  it("decodes arguments given as a JSON string", () => {
    assertParses(hermes("f", String.raw`"{\"a\": 1, \"b\": \"}\"}"`), {
      content: "",
      calls: [{ name: "f", arguments: '{"a": 1, "b": "}"}' }],
    });
  });

  it("takes other argument values as their raw text", () => {
    assertParses(hermes("f", "null"), { content: "", calls: [{ name: "f", arguments: "null" }] });
    assertParses('<tool_call>{"name": "f", "arguments": 42}</tool_call>', {
      content: "",
      calls: [{ name: "f", arguments: "42" }],
    });
  });

  it("parses a block in another key order whole", () => {
    assertParses('<tool_call>\n{"arguments": {"x": "</tool_call>"}, "name": "f"}\n</tool_call>ok', {
      content: "ok",
      calls: [{ name: "f", arguments: '{"x":"</tool_call>"}' }],
    });
    assertParses('<tool_call>{"name": "f"}</tool_call>', { content: "", calls: [{ name: "f", arguments: "{}" }] });
    assertParses('<tool_call>{"name": "f", "extra": 1, "arguments": "raw"}</tool_call>', {
      content: "",
      calls: [{ name: "f", arguments: "raw" }],
    });
  });

  it("gives an unparsable block back as content, tags included", () => {
    for (const block of [
      "<tool_call>\n{not json}\n</tool_call>",
      "<tool_call>hello</tool_call>",
      "<tool_call></tool_call>",
      '<tool_call>{"arguments": {}}</tool_call>',
    ]) {
      assertParses(`Text ${block} more`, { content: `Text ${block} more`, calls: [] });
    }
    assertParses(`${hermes("a", "{}")}\n<tool_call>bad</tool_call>`, {
      content: "\n<tool_call>bad</tool_call>",
      calls: [{ name: "a", arguments: "{}" }],
    });
  });

  it("gives a call cut before its head back as content at finish", () => {
    const text = 'Sure. <tool_call>\n{"name": "get_we';
    assertParses(text, { content: text, calls: [], completedCalls: 0 });
    assertParses("Sure.\n<tool_call>", { content: "Sure.\n<tool_call>", calls: [] });
  });

  it("keeps a call cut after its head as streamed", () => {
    assertParses('Sure.\n<tool_call>\n{"name": "f", "arguments": {"a": "hel', {
      content: "Sure.",
      calls: [{ name: "f", arguments: '{"a": "hel' }],
      completedCalls: 0,
    });
    assertParses('<tool_call>{"name": "f", "arguments": "{\\"a', {
      content: "",
      calls: [{ name: "f", arguments: "" }],
      completedCalls: 0,
    });
  });

  it("ends a call whose value is cut off by the closing tag", () => {
    assertParses('<tool_call>{"name": "f", "arguments": {"a": 1</tool_call> after', {
      content: " after",
      calls: [{ name: "f", arguments: '{"a": 1' }],
    });
  });
});

describe("ToolCallParser XML calls", () => {
  const parameterTypes = {
    get_weather: {
      location: "string",
      days: "integer",
      ratio: "number",
      metric: "boolean",
      options: "object",
      tags: "array",
      bad_number: "integer",
      bad_boolean: "boolean",
      bad_object: "object",
      zip: "string",
    },
  };

  const xml = (name: string, parameters: Array<[string, string]>) =>
    `<tool_call>\n<function=${name}>\n${parameters.map(([key, value]) => `<parameter=${key}>\n${value}\n</parameter>\n`).join("")}</function>\n</tool_call>`;

  it("converts parameters by their type", () => {
    const text = xml("get_weather", [
      ["location", "杭州"],
      ["days", "3"],
      ["ratio", "0.5"],
      ["metric", "TRUE"],
      ["options", '{"unit": "c"}'],
      ["tags", '["a", "b"]'],
      ["bad_number", "three"],
      ["bad_boolean", "yes"],
      ["bad_object", "{oops"],
      ["zip", "007"],
      ["untyped_number", "42"],
      ["untyped_text", "hello </tool_call> world"],
      ["multiline", "\nline 1\nline 2\n"],
    ]);
    const args = {
      location: "杭州",
      days: 3,
      ratio: 0.5,
      metric: true,
      options: { unit: "c" },
      tags: ["a", "b"],
      bad_number: "three",
      bad_boolean: "yes",
      bad_object: "{oops",
      zip: "007",
      untyped_number: 42,
      untyped_text: "hello </tool_call> world",
      multiline: "\nline 1\nline 2\n",
    };
    assertParses(
      `Checking.\n${text}\n`,
      {
        content: "Checking.",
        calls: [{ name: "get_weather", arguments: JSON.stringify(args) }],
      },
      { parameterTypes },
    );
  });

  it("parses several calls and parameters without a closing tag", () => {
    const text =
      "<tool_call>\n<function=a>\n<parameter=x>1<parameter=y>\n2\n</function>\n</tool_call>\n" + "<tool_call><function=b></function></tool_call>\nafter";
    assertParses(text, {
      content: "\nafter",
      calls: [
        { name: "a", arguments: '{"x":1,"y":2}' },
        { name: "b", arguments: "{}" },
      ],
    });
  });

  it("keeps a parameter named __proto__ as an ordinary key", () => {
    assertParses("<tool_call><function=f><parameter=__proto__>1</parameter></function></tool_call>", {
      content: "",
      calls: [{ name: "f", arguments: '{"__proto__":1}' }],
    });
  });

  it("gives a call cut before </function> back as content at finish", () => {
    const text = "Ok.<tool_call>\n<function=f>\n<parameter=x>\n1";
    assertParses(text, { content: text, calls: [], completedCalls: 0 });
  });

  it("keeps a call cut after </function> as emitted", () => {
    assertParses("<tool_call>\n<function=f>\n</function>\n", {
      content: "",
      calls: [{ name: "f", arguments: "{}" }],
      completedCalls: 0,
    });
  });
});

describe("ToolCallParser state", () => {
  it("reports calls in progress and completed", () => {
    const parser = new ToolCallParser({ newId: () => "id" });
    parser.push("Hi <tool_call>");
    assert.equal(parser.insideCall, true);
    const piece = parser.push('{"name": "f", "arguments": {"a"');
    assert.deepEqual(piece, { content: "", toolCalls: [{ index: 0, id: "id", name: "f", arguments: '{"a"' }] });
    assert.equal(parser.completedCalls, 0);
    parser.push(": 1}}</tool_call>");
    assert.equal(parser.insideCall, false);
    assert.equal(parser.completedCalls, 1);
  });

  it("makes OpenAI-style ids by default", () => {
    const id = newToolCallId();
    assert.match(id, /^call_[0-9a-f]{22}$/);
    assert.notEqual(id, newToolCallId());
    const { toolCalls } = new ToolCallParser().push(hermes("f", "{}"));
    assert.match(toolCalls[0]?.id ?? "", /^call_[0-9a-f]{22}$/);
  });
});
