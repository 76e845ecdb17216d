import { textOf, invalidParameter, type ChatMessage, type ToolDefinition } from "../../core/index.ts";
import { Template } from "@huggingface/jinja";
import { THINK_OPEN, toolsAsText } from "../../features/index.ts";

/** ChatML, for models that ship no template (e.g. llama2.c conversions). Same turn markup Qwen uses. */
export const FALLBACK_CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TemplateTokens {
  bos: string;
  eos: string;
}

export interface RenderOptions {
  enableThinking: boolean;
  tools?: readonly ToolDefinition[];
}

/** What a chat template can express, read from its source. */
export interface TemplateFeatures {
  /** Renders `tools` itself (else openscope writes Qwen's hermes tool prompt into the conversation). */
  tools: boolean;
  /** Has Qwen3's thinking switch / `<think>` markup. */
  thinking: boolean;
  /** Tool calls in the XML form `<function=name><parameter=p>` (Qwen3-Coder, Qwen3.5) rather than hermes JSON. */
  xmlToolCalls: boolean;
}

export interface RenderedPrompt {
  text: string;
  /** The prompt ends inside an opened thought: the model's first output is reasoning. */
  opensThought: boolean;
}

interface TemplateMessage {
  role: string;
  content: string;
  tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
  name?: string;
  reasoning_content?: string;
}

function toTemplateMessage(message: ChatMessage): TemplateMessage {
  const out: TemplateMessage = { role: message.role, content: textOf(message) };
  if (message.toolCalls) out.tool_calls = message.toolCalls;
  if (message.toolCallId !== undefined) out.tool_call_id = message.toolCallId;
  if (message.name !== undefined) out.name = message.name;
  if (message.reasoningContent !== undefined) out.reasoning_content = message.reasoningContent;
  return out;
}

/**
 * Renders a conversation with the model's own Jinja chat template, so every model sees exactly
 * the markup it was trained on. A final `partial` assistant message is rendered as a prefix the
 * model continues: the prompt is the generation prompt followed by that text.
 */
export class ChatTemplate {
  readonly #template: Template;
  readonly source: string;
  readonly isFallback: boolean;
  readonly features: TemplateFeatures;

  constructor(
    source: string | undefined,
    readonly tokens: TemplateTokens,
  ) {
    this.isFallback = source === undefined || source.trim() === "";
    this.source = this.isFallback ? FALLBACK_CHATML_TEMPLATE : source!;
    this.#template = new Template(this.source);
    this.features = {
      tools: /\btools\b/.test(this.source),
      thinking: this.source.includes(THINK_OPEN) || this.source.includes("enable_thinking"),
      xmlToolCalls: this.source.includes("<function="),
    };
  }

  /**
   * The prompt for a generation. With thinking on, a template that leaves the opening of the
   * thought to the model (Qwen3 hybrids) gets it written in, so reasoning always comes first and
   * the thinking budget can be held.
   */
  prompt(messages: readonly ChatMessage[], options: RenderOptions): RenderedPrompt {
    let text = this.render(messages, options);
    if (!options.enableThinking || !this.features.thinking) return { text, opensThought: false };
    if (!/<think>\s*$/.test(text)) text += `${THINK_OPEN}\n`;
    return { text, opensThought: true };
  }

  render(messages: readonly ChatMessage[], options: RenderOptions): string {
    const last = messages[messages.length - 1];
    const prefix = last?.role === "assistant" && last.partial ? last : undefined;
    let history = prefix ? messages.slice(0, -1) : messages;
    const tools = options.tools && options.tools.length > 0 ? options.tools : undefined;
    if (!this.features.tools) history = toolsAsText(history, tools);
    let text: string;
    try {
      text = this.#template.render({
        messages: history.map(toTemplateMessage),
        ...(tools && this.features.tools ? { tools: tools.map((t) => ({ type: "function", function: t })) } : {}),
        add_generation_prompt: true,
        enable_thinking: options.enableThinking,
        bos_token: this.tokens.bos,
        eos_token: this.tokens.eos,
      });
    } catch (error) {
      throw invalidParameter(`The model's chat template could not render the conversation: ${(error as Error).message}`);
    }
    return prefix ? text + textOf(prefix) : text;
  }
}
