import { Template } from "@huggingface/jinja";
import { invalidParameter } from "../../core/errors.ts";
import type { ChatMessage } from "../../core/types.ts";

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
  const out: TemplateMessage = { role: message.role, content: message.content.map((p) => p.text).join("") };
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

  constructor(
    source: string | undefined,
    readonly tokens: TemplateTokens,
  ) {
    this.isFallback = source === undefined || source.trim() === "";
    this.source = this.isFallback ? FALLBACK_CHATML_TEMPLATE : source!;
    this.#template = new Template(this.source);
  }

  render(messages: readonly ChatMessage[], options: RenderOptions): string {
    const last = messages[messages.length - 1];
    const prefix = last?.role === "assistant" && last.partial ? last : undefined;
    const history = prefix ? messages.slice(0, -1) : messages;
    let text: string;
    try {
      text = this.#template.render({
        messages: history.map(toTemplateMessage),
        add_generation_prompt: true,
        enable_thinking: options.enableThinking,
        bos_token: this.tokens.bos,
        eos_token: this.tokens.eos,
      });
    } catch (error) {
      throw invalidParameter(`The model's chat template could not render the conversation: ${(error as Error).message}`);
    }
    return prefix ? text + prefix.content.map((p) => p.text).join("") : text;
  }
}
