import {
  textOf,
  errors,
  invalidParameter,
  type Backend,
  type BackendStats,
  type Capabilities,
  type EngineEvent,
  type GenerationRequest,
  type TokenizeInput,
  type TokenizeResult,
  mergeStreams,
  SlotPool,
} from "../../core/index.ts";
import type { Llama, LlamaContext, LlamaContextOptions, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { THINK_CLOSE } from "../../features/index.ts";
import { ChatTemplate } from "./chatTemplate.ts";
import { runChoice, type ChoicePlan } from "./choiceRun.ts";
import { planConstraints, type Constraints } from "./constraints.ts";
import { GrammarCompiler } from "./grammar.ts";
import { TokenDescriber } from "./tokenBytes.ts";
import { chunkedPrefillStrategy } from "./batching.ts";
import { checkContextMemory, checkKvCacheBound, memoryBudget, trainedContextSize } from "./memory.ts";
import { checkModelFile, explainModelLoadFailure, ModelLoadError, readGgufMetadata } from "./modelSource.ts";
import { captureEngineLog } from "./runtime.ts";
import { PrefixPins } from "./prefixPins.ts";
import { SamplerMemory } from "./samplerMemory.ts";
import { chooseThreads } from "./threads.ts";

export interface LlamaBackendOptions {
  modelPath: string;
  /** Tokens each parallel slot can hold (prompt + output). */
  contextSize: number;
  /** Parallel slots: requests (or choices of one request) decoded together. */
  parallel: number;
  /** CPU threads; chosen from the model size and cores when absent. */
  threads?: number;
  /**
   * llama.cpp flash attention. Default "auto", as llama-server: on wherever the backend supports it
   * (measured on 2 CPU cores, Qwen3-0.6B-shaped: +16% aggregate at 8 streams, +15% at 1).
   */
  flashAttention?: LlamaContextOptions["flashAttention"];
  /** Requests that may wait for a free slot before new ones are refused. */
  maxQueue: number;
  /** Repetition-penalty window, in tokens. */
  penaltyWindow?: number;
  /** Aborts loading (shutdown while the model loads). */
  signal?: AbortSignal;
}

export interface LlamaBackendInfo {
  modelPath: string;
  architecture: string;
  trainContextSize: number;
  contextSize: number;
  parallel: number;
  threads: number;
  /** The flash-attention setting the context was created with ("auto": llama.cpp decides per backend). */
  flashAttention: LlamaContext["flashAttention"];
  templateIsFallback: boolean;
  /** KV cache and compute buffers of the context (llama.cpp's estimate), beside the weights. */
  contextBytes: number;
}

const SEED_SPACE = 2 ** 31;

function commonPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a[i] === b[i]) i++;
  return i;
}

/** What every choice of one request shares. */
interface ChoiceContext {
  request: GenerationRequest;
  promptTokens: readonly Token[];
  opensThought: boolean;
  room: number;
  constraints: Constraints;
  seed: number;
}

/**
 * A GGUF model served in-process by node-llama-cpp. One context holds `parallel` sequences;
 * node-llama-cpp decodes the sequences that are generating at the same time in one batch.
 * Each choice of a request runs on its own sequence, picked for the longest cached prefix.
 */
export class LlamaBackend implements Backend {
  readonly kind = "llama";
  readonly capabilities: Capabilities;
  readonly #model: LlamaModel;
  readonly #context: LlamaContext;
  readonly #pool: SlotPool<LlamaContextSequence>;
  /** Slots keeping a `cache_control: ephemeral` prefix resident. */
  readonly #pins = new PrefixPins<LlamaContextSequence>();
  readonly #template: ChatTemplate;
  readonly #penaltyWindow: number;
  readonly #grammars: GrammarCompiler;
  readonly #describe: TokenDescriber;
  /** What closes a thought when the budget is spent (the Qwen3 template's own markup). */
  readonly #thinkCloseTokens: Token[];
  /** The model's single `</think>` token, where its vocabulary has one. */
  readonly #thinkCloseToken: Token | undefined;
  /** Rendered prompts of the requests seen lately (collected with them). */
  readonly #prompts = new WeakMap<object, { tokens: readonly Token[]; opensThought: boolean }>();
  /** Bounds the memory of disposed samplers on an engine that frees them only when collected. */
  readonly #samplerMemory: SamplerMemory;
  readonly info: LlamaBackendInfo;

  private constructor(model: LlamaModel, context: LlamaContext, options: LlamaBackendOptions, threads: number, contextBytes: number) {
    this.#model = model;
    this.#context = context;
    const sequences = Array.from({ length: options.parallel }, () => context.getSequence());
    this.#pool = new SlotPool(sequences, options.maxQueue);
    const template = model.fileInfo.metadata?.tokenizer?.chat_template;
    this.#template = new ChatTemplate(typeof template === "string" ? template : undefined, {
      bos: model.tokens.bosString ?? "",
      eos: model.tokens.eosString ?? "",
    });
    this.#penaltyWindow = options.penaltyWindow ?? 64;
    this.#grammars = new GrammarCompiler(model.llama);
    this.#describe = new TokenDescriber(model);
    this.#samplerMemory = new SamplerMemory({
      // A GGUF always lists its tokens; were one not to, a large vocabulary is the safe guess.
      vocabularySize: this.#describe.vocabularySize ?? 262_144,
      freesOnDispose: model.llama.buildType === "localBuild",
    });
    this.#thinkCloseTokens = model.tokenize(`\n${THINK_CLOSE}\n\n`, true);
    const close = model.tokenize(THINK_CLOSE, true);
    this.#thinkCloseToken = close.length === 1 ? close[0] : undefined;
    this.capabilities = {
      // Templates without tool support get Qwen's hermes tool prompt written into the conversation.
      tools: "grammar",
      thinking: this.#template.features.thinking,
      structuredOutput: "grammar",
      logprobs: true,
      vision: false,
      audio: false,
      maxN: options.parallel,
      stopTokenIds: true,
      topK: true,
      repetitionPenalty: true,
      logitBias: true,
      thinkingBudget: true,
    };
    this.info = {
      modelPath: options.modelPath,
      architecture: String(model.fileInfo.metadata?.general?.architecture ?? "unknown"),
      trainContextSize: model.trainContextSize,
      // One KV stream of contextSize cells per sequence (node-llama-cpp's layout).
      contextSize: Math.min(options.contextSize, sequences[0]?.contextSize ?? options.contextSize),
      parallel: options.parallel,
      threads,
      flashAttention: context.flashAttention,
      templateIsFallback: this.#template.isFallback,
      contextBytes,
    };
  }

  /**
   * Loads the model and creates its context. A file llama.cpp cannot load is a ModelLoadError saying
   * why in plain words; a context_size above the model's trained context is capped to it (as
   * llama-server does: positions past it are untrained); impossible sizes are refused before any
   * allocation (checkContextMemory).
   */
  static async load(llama: Llama, options: LlamaBackendOptions): Promise<LlamaBackend> {
    const signal = options.signal;
    await checkModelFile(options.modelPath);
    // Before the weights are read: the context capped to the trained one, and sizes whose KV cache cannot fit refused.
    const metadata = await readGgufMetadata(options.modelPath);
    const trained = metadata ? trainedContextSize({ metadata }) : undefined;
    let contextSize = trained !== undefined ? Math.min(options.contextSize, trained) : options.contextSize;
    if (metadata) {
      const { onGpu, ...budget } = await memoryBudget(llama);
      checkKvCacheBound({ metadata }, { contextSize, parallel: options.parallel, onGpu }, budget);
    }
    let model: LlamaModel;
    const engineLog: string[] = [];
    try {
      model = await captureEngineLog(llama, engineLog, () => llama.loadModel({ modelPath: options.modelPath, ...(signal ? { loadSignal: signal } : {}) }));
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ModelLoadError(options.modelPath, await explainModelLoadFailure(options.modelPath, error, llama, engineLog));
    }
    if (trained === undefined && model.trainContextSize > 0) contextSize = Math.min(contextSize, model.trainContextSize);
    const threads = options.threads ?? chooseThreads(model.size);
    const batchSize = Math.min(512, contextSize);
    const flashAttention = options.flashAttention ?? "auto";
    try {
      const contextBytes = await checkContextMemory(model, { contextSize, parallel: options.parallel, batchSize, flashAttention });
      signal?.throwIfAborted();
      const context = await model.createContext({
        flashAttention,
        // Per sequence: node-llama-cpp allocates contextSize x sequences cells.
        contextSize,
        sequences: options.parallel,
        threads,
        batchSize,
        batching: { itemPrioritizationStrategy: chunkedPrefillStrategy() },
        ...(signal ? { createSignal: signal } : {}),
      });
      return new LlamaBackend(model, context, options, threads, contextBytes);
    } catch (error) {
      await model.dispose();
      throw error;
    }
  }

  /** Size of the weights file (memory-mapped). */
  get modelBytes(): number {
    return this.#model.size;
  }

  get slots(): { busy: number; queued: number; size: number } {
    return { busy: this.#pool.busy, queued: this.#pool.queued, size: this.#pool.size };
  }

  stats(): BackendStats {
    return { busy: this.#pool.busy, slots: this.#pool.size, queued: this.#pool.queued };
  }

  /** The rendered prompt's length: what a request charges against a tokens-per-minute limit. */
  async countInputTokens(request: GenerationRequest): Promise<number> {
    return this.prompt(request).tokens.length;
  }

  /**
   * The prompt the model sees for a request (chat template applied, thought opened when thinking).
   * Kept per request object: validation, token admission and generation of an unchanged request
   * render and tokenize it once.
   */
  prompt(request: Pick<GenerationRequest, "messages" | "features">): { tokens: readonly Token[]; opensThought: boolean } {
    let prompt = this.#prompts.get(request);
    if (prompt === undefined) {
      prompt = this.#renderPrompt(request);
      this.#prompts.set(request, prompt);
    }
    return prompt;
  }

  #renderPrompt(request: Pick<GenerationRequest, "messages" | "features">): { tokens: readonly Token[]; opensThought: boolean } {
    const thinking = request.features.thinking?.enabled === true;
    const tools = request.features.tools;
    const rendered = this.#template.prompt(request.messages, { enableThinking: thinking, ...(tools ? { tools } : {}) });
    const tokens = this.#model.tokenize(rendered.text, true);
    const bos = this.#model.tokens.bos;
    if (this.#model.tokens.shouldPrependBosToken && bos !== null && tokens[0] !== bos) tokens.unshift(bos);
    return { tokens, opensThought: rendered.opensThought };
  }

  /** Token ids outside the vocabulary, and a prompt that leaves no room in a slot's context. */
  validate(request: GenerationRequest): void {
    const vocabulary = this.#describe.vocabularySize;
    const outside = request.sampling.logitBias?.find(([token]) => vocabulary !== undefined && token >= vocabulary);
    if (outside) throw invalidParameter(`logit_bias names token ${outside[0]}, but the model's vocabulary has ${vocabulary} tokens.`);
    this.#room(this.prompt(request).tokens);
  }

  /**
   * Tokens a slot has left for the answer after the prompt. Checked again when generating: prepare
   * stages (documents, search results) may have lengthened the prompt since it was validated.
   */
  #room(promptTokens: readonly Token[]): number {
    const room = this.info.contextSize - promptTokens.length;
    if (room < 1) throw invalidParameter(`Range of input length should be [1, ${this.info.contextSize - 1}]`);
    return room;
  }

  async *generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<EngineEvent> {
    const prompt = this.prompt(request);
    const promptTokens = prompt.tokens;
    const room = this.#room(promptTokens);
    const constraints = await planConstraints(this.#grammars, this.#model, request, this.#template.features);
    const n = request.sampling.n;
    const shared = (seq: LlamaContextSequence) => commonPrefixLength(seq.contextTokens, promptTokens);
    const slots = await this.#pool.acquire(n, signal, (seq) => this.#pins.score(seq, shared(seq)));
    const marked = this.#markedPrefixLength(request, promptTokens);
    for (const slot of slots) {
      this.#pins.used(slot, shared(slot));
      this.#pins.pin(slot, marked);
    }
    const baseSeed = request.sampling.seed ?? Math.floor(Math.random() * SEED_SPACE);
    const choice = (sequence: LlamaContextSequence, index: number) => (inner: AbortSignal) =>
      this.#choiceEvents(sequence, index, { request, promptTokens, opensThought: prompt.opensThought, room, constraints, seed: baseSeed + index }, inner);
    try {
      // The consumer done (finished, failed or gone) stops any choice still generating.
      yield* mergeStreams(slots.map(choice), signal, () => errors.serviceShuttingDown());
    } finally {
      this.#pool.release(slots);
    }
  }

  /** One choice on one slot: its plan (cached prefix, limits, thinking, constraints, logprobs), then the decoding loop. */
  async *#choiceEvents(sequence: LlamaContextSequence, index: number, c: ChoiceContext, inner: AbortSignal): AsyncGenerator<EngineEvent> {
    const { request, room } = c;
    const plan: ChoicePlan = {
      promptTokens: c.promptTokens,
      cachedTokens: await this.#reusePrefix(sequence, c.promptTokens),
      sampling: request.sampling,
      maxAnswerTokens: request.sampling.maxTokens ?? room,
      maxTokens: room,
      startInReasoning: c.opensThought,
      constraints: c.constraints,
      penaltyWindow: this.#penaltyWindow,
      seed: c.seed % SEED_SPACE,
    };
    const thinking = request.features.thinking;
    if (thinking?.enabled) {
      plan.thinking = { budget: thinking.budget ?? room, closeTokens: this.#thinkCloseTokens };
      if (this.#thinkCloseToken !== undefined) plan.thinking.closeToken = this.#thinkCloseToken;
    }
    if (request.features.logprobs) plan.topLogprobs = request.features.logprobs.topLogprobs;
    try {
      yield* runChoice(this.#model, sequence, index, plan, this.#describe.describe, inner);
    } finally {
      this.#samplerMemory.samplerDone();
    }
  }

  /**
   * Prompt tokens up to the end of the last message with a `cache_control` part: the rendering of
   * the conversation up to that message shares exactly that much with the full prompt.
   */
  #markedPrefixLength(request: GenerationRequest, promptTokens: readonly Token[]): number {
    let last = -1;
    request.messages.forEach((message, i) => {
      if (message.content.some((part) => part.type === "text" && part.cacheControl !== undefined)) last = i;
    });
    if (last === -1) return 0;
    const head = this.prompt({ ...request, messages: request.messages.slice(0, last + 1) });
    return commonPrefixLength(head.tokens, promptTokens);
  }

  /**
   * Keeps the part of the sequence's cache that matches the new prompt and erases the rest.
   * At least the last prompt token is evaluated again, so there is a fresh distribution to sample.
   */
  async #reusePrefix(sequence: LlamaContextSequence, promptTokens: readonly Token[]): Promise<number> {
    const reuse = Math.min(commonPrefixLength(sequence.contextTokens, promptTokens), promptTokens.length - 1);
    if (sequence.nextTokenIndex > reuse) {
      await sequence.eraseContextTokenRanges([{ start: reuse, end: sequence.nextTokenIndex }]);
    }
    return sequence.nextTokenIndex;
  }

  async tokenize(input: TokenizeInput): Promise<TokenizeResult> {
    const model = this.#model;
    const texts = input.prompt !== undefined ? [input.prompt] : (input.messages ?? []).map(textOf);
    const tokenIds = texts.flatMap((text) => model.tokenize(text, false));
    const prompt = input.messages ? this.#template.render(input.messages, { enableThinking: false }) : (input.prompt ?? "");
    return { tokenIds, tokens: tokenIds.map((id) => model.detokenize([id], true)), prompt };
  }

  async close(): Promise<void> {
    this.#pool.close();
    await this.#context.dispose();
    await this.#model.dispose();
  }
}
