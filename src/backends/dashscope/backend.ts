import {
  mediaParts,
  textOf,
  invalidParameter,
  type Backend,
  type BackendStats,
  type Capabilities,
  type EngineEvent,
  type GenerationRequest,
  type GenerationTrace,
  type TokenizeInput,
  type TokenizeResult,
} from "../../core/index.ts";

const MULTIMODAL_PATH = "/services/aigc/multimodal-generation/generation";
import { UpstreamTransport, type UpstreamModel } from "../upstream/index.ts";
import { NativeFrameTranslator } from "./frameEvents.ts";
import { nativeBody } from "./nativeBody.ts";

/** Replicas are native API base URLs, e.g. `https://dashscope.aliyuncs.com/api/v1`, with their API keys. */
export type DashScopeUpstreamOptions = UpstreamModel;

/**
 * A model kept on a DashScope endpoint (Alibaba Cloud Model Studio, or another openscope):
 * requests are forwarded natively with the configured key, so local and cloud models sit behind
 * one openscope. The endpoint judges what its model can do; openscope refuses nothing extra.
 */
export class DashScopeUpstreamBackend implements Backend {
  readonly kind = "dashscope";
  readonly capabilities: Capabilities;
  readonly transport: UpstreamTransport;
  readonly #options: DashScopeUpstreamOptions;

  constructor(options: DashScopeUpstreamOptions) {
    this.#options = options;
    this.transport = new UpstreamTransport({
      ...options,
      path: "/services/aigc/text-generation/generation",
      // DashScope has no cheap health endpoint; replicas recover through cooldowns.
      healthIntervalMs: 0,
      healthPath: "/models",
      headers: { "X-DashScope-SSE": "enable", Accept: "text/event-stream" },
    });
    this.capabilities = {
      tools: "native",
      thinking: true,
      structuredOutput: "native",
      logprobs: true,
      // Media go to the multimodal endpoint in its native form, for models configured to take them.
      vision: (options.modalities ?? []).some((m) => m === "image" || m === "video"),
      audio: (options.modalities ?? []).includes("audio"),
      maxN: options.maxN,
      stopTokenIds: true,
      topK: true,
      repetitionPenalty: true,
      logitBias: true,
      thinkingBudget: true,
    };
  }

  /** The endpoint judges the request itself. */
  validate(): void {}

  generate(request: GenerationRequest, signal: AbortSignal, trace?: GenerationTrace): AsyncIterable<EngineEvent> {
    const body = nativeBody(request, this.#options.upstreamModel);
    const multimodal = request.features.media !== undefined || mediaParts(request.messages).length > 0;
    return this.transport.stream(JSON.stringify(body), () => new NativeFrameTranslator(), signal, trace, multimodal ? MULTIMODAL_PATH : undefined);
  }

  stats(): BackendStats {
    return this.transport.stats();
  }

  /** The endpoint's own tokenizer API. */
  async tokenize(input: TokenizeInput): Promise<TokenizeResult> {
    const replica = this.transport.pool.pick(new Set());
    if (!replica) throw invalidParameter(`No replica of model "${this.#options.name}" is available for tokenizing.`);
    const messages = input.messages?.map((m) => ({ role: m.role, content: textOf(m) }));
    const response = await fetch(`${replica.config.url}/tokenizer`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(replica.config.apiKey ? { Authorization: `Bearer ${replica.config.apiKey}` } : {}) },
      body: JSON.stringify({ model: this.#options.upstreamModel, input: messages ? { messages } : { prompt: input.prompt ?? "" } }),
      signal: AbortSignal.timeout(this.#options.firstByteTimeoutMs),
    });
    const body = (await response.json()) as { output?: { token_ids?: number[]; tokens?: string[]; prompt?: string }; message?: string };
    if (!response.ok || !body.output) throw invalidParameter(`The upstream tokenizer failed: ${body.message ?? response.status}`);
    return { tokenIds: body.output.token_ids ?? [], tokens: body.output.tokens ?? [], prompt: body.output.prompt ?? "" };
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
