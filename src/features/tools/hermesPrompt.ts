import { textOf, type ChatMessage, type ToolDefinition } from "../../core/index.ts";
import { TOOL_CALL_CLOSE, TOOL_CALL_OPEN } from "./toolCallParser.ts";

/**
 * Qwen's hermes-style tool prompt, written into the conversation as plain text for chat templates
 * that know nothing of tools (ChatML fallbacks, older models). Templates with tool support render
 * tools themselves; this is the same text Qwen2.5/Qwen3 templates produce.
 */
export function toolsSystemText(tools: readonly ToolDefinition[]): string {
  const signatures = tools.map((t) => JSON.stringify({ type: "function", function: t })).join("\n");
  return [
    "# Tools",
    "",
    "You may call one or more functions to assist with the user query.",
    "",
    "You are provided with function signatures within <tools></tools> XML tags:",
    `<tools>\n${signatures}\n</tools>`,
    "",
    "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:",
    `${TOOL_CALL_OPEN}\n{"name": <function-name>, "arguments": <args-json-object>}\n${TOOL_CALL_CLOSE}`,
  ].join("\n");
}

function text(value: string): ChatMessage["content"] {
  return value === "" ? [] : [{ type: "text", text: value }];
}

function joinText(message: ChatMessage): string {
  return textOf(message);
}

/** The conversation with tools, tool calls and tool results spelled out as text. */
export function toolsAsText(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] | undefined): ChatMessage[] {
  const out: ChatMessage[] = messages.map((message): ChatMessage => {
    if (message.role === "assistant" && message.toolCalls) {
      const calls = message.toolCalls.map(
        (c) => `${TOOL_CALL_OPEN}\n{"name": ${JSON.stringify(c.function.name)}, "arguments": ${c.function.arguments}}\n${TOOL_CALL_CLOSE}`,
      );
      const { toolCalls: _calls, ...rest } = message;
      return { ...rest, content: text([joinText(message), ...calls].filter((s) => s !== "").join("\n")) };
    }
    if (message.role === "tool") {
      return { role: "user", content: text(`<tool_response>\n${joinText(message)}\n</tool_response>`) };
    }
    return message;
  });
  if (!tools || tools.length === 0) return out;
  const system = toolsSystemText(tools);
  const first = out[0];
  if (first?.role === "system") return [{ ...first, content: text(`${joinText(first)}\n\n${system}`) }, ...out.slice(1)];
  return [{ role: "system", content: text(system) }, ...out];
}
