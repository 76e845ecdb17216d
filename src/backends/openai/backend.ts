import {
  mergeStreams,
  errors,
  invalidParameter,
  type Backend,
  type BackendStats,
  type Capabilities,
  type EngineEvent,
  type GenerationRequest,
  type GenerationTrace,
  type TokenizeResult,
} from "../../core/index.ts";
import { UpstreamTransport, type UpstreamModel } from "../upstream/index.ts";
import { ChunkTranslator } from "./chunkEvents.ts";
import { KIND_TRAITS, type KindTraits, type UpstreamKind } from "./kinds.ts";
import { upstreamBody } from "./requestBody.ts";

export interface UpstreamOptions extends UpstreamModel {
  kind: UpstreamKind;
}

/**
 * A model served by OpenAI-compatible engines (vLLM, SGLang, llama-server, Ollama, any OpenAI API,
 * DashScope's compatible mode) on one or more replicas, through the shared upstream transport.
 */
export class OpenAiUpstreamBackend implements Backend {
  readonly kind: string;
  readonly capabilities: Capabilities;
  readonly transport: UpstreamTransport;
  readonly #options: UpstreamOptions;
  readonly #traits: KindTraits;

  constructor(options: UpstreamOptions) {
    this.#options = options;
    this.#traits = KIND_TRAITS[options.kind];
    this.kind = options.kind;
    this.transport = new UpstreamTransport({ ...options, path: "/chat/completions", healthPath: "/models", headers: { Accept: "text/event-stream" } });
    this.capabilities = {
      // The engine's own tool parsing and guided decoding take tools and schemas as the client sent them.
      tools: "native",
      thinking: this.#traits.thinking !== undefined,
      structuredOutput: "native",
      logprobs: true,
      // Media go to the engine as OpenAI content parts (image_url, input_audio); only for models configured to take them.
      vision: (options.modalities ?? []).some((m) => m === "image" || m === "video"),
      audio: (options.modalities ?? []).includes("audio"),
      maxN: options.maxN,
      stopTokenIds: this.#traits.stopTokenIds !== undefined,
      topK: this.#traits.topK,
      repetitionPenalty: this.#traits.repetitionPenalty !== undefined,
      logitBias: this.#traits.logitBias,
      thinkingBudget: this.#traits.thinkingBudget,
    };
  }

  get pool() {
    return this.transport.pool;
  }

  stats(): BackendStats {
    return this.transport.stats();
  }

  checkHealth(): Promise<void> {
    return this.transport.checkHealth();
  }

  /** Stop conditions the kind's body cannot carry. */
  validate(request: GenerationRequest): void {
    const stop = request.sampling.stop;
    if (stop.tokenIds.length > 0 && stop.strings.length > 0 && this.#traits.stopTokenIds === "sequences") {
      throw invalidParameter(`Model "${this.#options.name}" takes stop strings or stop token ids, not both in one request.`);
    }
    if (this.#traits.stopTokenIds === "single" && stop.tokenIds.some((ids) => ids.length > 1)) {
      throw invalidParameter(`Stop token sequences longer than one token are not supported by model "${this.#options.name}" (${this.#options.kind}).`);
    }
  }

  async *generate(request: GenerationRequest, signal: AbortSignal, trace?: GenerationTrace): AsyncIterable<EngineEvent> {
    const n = request.sampling.n;
    const parts = this.#traits.nativeN || n === 1 ? [{ offset: 0, n }] : Array.from({ length: n }, (_, i) => ({ offset: i, n: 1 }));
    if (parts.length === 1) {
      yield* this.#stream(request, 0, n, signal, trace);
      return;
    }
    // Engines without `n`: one request per choice, merged.
    yield* mergeStreams(
      parts.map((part) => (inner: AbortSignal) => this.#stream(request, part.offset, part.n, inner, trace)),
      signal,
      () => errors.serviceShuttingDown(),
    );
  }

  #stream(request: GenerationRequest, offset: number, n: number, signal: AbortSignal, trace?: GenerationTrace): AsyncGenerator<EngineEvent> {
    const body = JSON.stringify(upstreamBody(request, this.#options.upstreamModel, this.#traits, n, offset));
    const thinking = request.features.thinking?.enabled === true;
    return this.transport.stream(body, () => new ChunkTranslator(offset, thinking), signal, trace);
  }

  async tokenize(): Promise<TokenizeResult> {
    throw invalidParameter(`The tokenizer API is not available for model "${this.#options.name}", which an upstream ${this.#options.kind} engine serves.`);
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
