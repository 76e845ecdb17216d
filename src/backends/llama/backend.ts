import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { ApiError, errors, invalidParameter } from "../../core/errors.ts";
import type {
  Backend,
  Capabilities,
  EngineEvent,
  FinishReason,
  GenerationRequest,
  SamplingParams,
  TokenizeInput,
  TokenizeResult,
  Usage,
} from "../../core/types.ts";
import { AsyncQueue } from "./asyncQueue.ts";
import { ChatTemplate } from "./chatTemplate.ts";
import { OutputAssembler } from "./outputAssembler.ts";
import { SlotPool } from "./slotPool.ts";
import { chooseThreads } from "./threads.ts";

export interface LlamaBackendOptions {
  modelPath: string;
  /** Tokens each parallel slot can hold (prompt + output). */
  contextSize: number;
  /** Parallel slots: requests (or choices of one request) decoded together. */
  parallel: number;
  /** CPU threads; chosen from the model size and cores when absent. */
  threads?: number;
  /** Requests that may wait for a free slot before new ones are refused. */
  maxQueue: number;
  /** Repetition-penalty window, in tokens. */
  penaltyWindow?: number;
}

export interface LlamaBackendInfo {
  modelPath: string;
  architecture: string;
  trainContextSize: number;
  contextSize: number;
  parallel: number;
  threads: number;
  templateIsFallback: boolean;
}

const SEED_SPACE = 2 ** 31;

function commonPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a[i] === b[i]) i++;
  return i;
}

/** An abort's reason as the error the client sees. */
function abortError(signal: AbortSignal): ApiError {
  return signal.reason instanceof ApiError ? signal.reason : errors.requestTimeout();
}

/**
 * A GGUF model served in-process by node-llama-cpp. One context holds `parallel` sequences;
 * node-llama-cpp decodes the sequences that are generating at the same time in one batch.
 * Each choice of a request runs on its own sequence, picked for the longest cached prefix.
 */
export class LlamaBackend implements Backend {
  readonly capabilities: Capabilities;
  readonly #model: LlamaModel;
  readonly #context: LlamaContext;
  readonly #pool: SlotPool<LlamaContextSequence>;
  readonly #template: ChatTemplate;
  readonly #penaltyWindow: number;
  readonly info: LlamaBackendInfo;

  private constructor(model: LlamaModel, context: LlamaContext, options: LlamaBackendOptions, threads: number) {
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
    this.capabilities = {
      tools: false,
      thinking: false,
      grammar: false,
      logprobs: false,
      vision: false,
      audio: false,
      maxN: options.parallel,
      stopTokenIds: true,
    };
    this.info = {
      modelPath: options.modelPath,
      architecture: String(model.fileInfo.metadata?.general?.architecture ?? "unknown"),
      trainContextSize: model.trainContextSize,
      // Sequences share one unified KV cache of contextSize x parallel; each slot is held to its share.
      contextSize: Math.min(options.contextSize, sequences[0]?.contextSize ?? options.contextSize),
      parallel: options.parallel,
      threads,
      templateIsFallback: this.#template.isFallback,
    };
  }

  static async load(llama: Llama, options: LlamaBackendOptions): Promise<LlamaBackend> {
    const model = await llama.loadModel({ modelPath: options.modelPath });
    const threads = options.threads ?? chooseThreads(model.size);
    try {
      const context = await model.createContext({
        contextSize: options.contextSize * options.parallel,
        sequences: options.parallel,
        threads,
        batchSize: Math.min(512, options.contextSize),
      });
      return new LlamaBackend(model, context, options, threads);
    } catch (error) {
      await model.dispose();
      throw error;
    }
  }

  get slots(): { busy: number; queued: number; size: number } {
    return { busy: this.#pool.busy, queued: this.#pool.queued, size: this.#pool.size };
  }

  /** The prompt tokens the model sees for a request (chat template applied). */
  promptTokens(request: Pick<GenerationRequest, "messages">): Token[] {
    const text = this.#template.render(request.messages, { enableThinking: false });
    const tokens = this.#model.tokenize(text, true);
    const bos = this.#model.tokens.bos;
    if (this.#model.tokens.shouldPrependBosToken && bos !== null && tokens[0] !== bos) tokens.unshift(bos);
    return tokens;
  }

  async *generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<EngineEvent> {
    const promptTokens = this.promptTokens(request);
    const room = this.info.contextSize - promptTokens.length;
    if (room < 1) throw invalidParameter(`Range of input length should be [1, ${this.info.contextSize - 1}]`);
    const maxTokens = Math.min(request.sampling.maxTokens ?? room, room);
    const n = request.sampling.n;
    const slots = await this.#pool.acquire(n, signal, (seq) => commonPrefixLength(seq.contextTokens, promptTokens));
    const inner = new AbortController();
    const forward = () => inner.abort(signal.reason);
    signal.addEventListener("abort", forward, { once: true });
    const events = new AsyncQueue<EngineEvent>();
    const baseSeed = request.sampling.seed ?? Math.floor(Math.random() * SEED_SPACE);
    const runs = slots.map(async (sequence, index) => {
      const choice = { sequence, index, seed: (baseSeed + index) % SEED_SPACE };
      for await (const event of this.#runChoice(choice, promptTokens, request.sampling, maxTokens, inner.signal)) events.push(event);
    });
    const all = Promise.all(runs).then(
      () => events.end(),
      (error: unknown) => events.fail(error),
    );
    try {
      yield* events;
    } finally {
      signal.removeEventListener("abort", forward);
      // The consumer is done (finished, failed or gone): stop any choice still generating.
      inner.abort(errors.serviceShuttingDown());
      await Promise.allSettled([all, ...runs]);
      this.#pool.release(slots);
    }
  }

  async *#runChoice(
    choice: { sequence: LlamaContextSequence; index: number; seed: number },
    promptTokens: Token[],
    sampling: SamplingParams,
    maxTokens: number,
    signal: AbortSignal,
  ): AsyncGenerator<EngineEvent> {
    const { sequence, index } = choice;
    const cachedTokens = await this.#reusePrefix(sequence, promptTokens);
    const model = this.#model;
    const assembler = new OutputAssembler((tokens, last) => model.detokenize(tokens as Token[], false, last as Token[]), sampling.stop);
    const history: Token[] = [...promptTokens];
    let generated = 0;
    const usage = (): Usage => ({ inputTokens: promptTokens.length, outputTokens: generated, cachedTokens });
    let reason: FinishReason = "length";
    let stopped = false;
    const penalize = (sampling.repetitionPenalty ?? 1) !== 1 || (sampling.presencePenalty ?? 0) !== 0;
    const evaluation = sequence.evaluate(promptTokens.slice(cachedTokens), {
      temperature: sampling.temperature ?? 0.7,
      topK: sampling.topK ?? 0,
      topP: sampling.topP ?? 1,
      minP: 0,
      seed: choice.seed,
      yieldEogToken: true,
      ...(penalize
        ? {
            repeatPenalty: {
              punishTokens: () => history.slice(-this.#penaltyWindow),
              penalty: sampling.repetitionPenalty ?? 1,
              presencePenalty: sampling.presencePenalty ?? 0,
            },
          }
        : {}),
    });
    for await (const token of evaluation) {
      if (signal.aborted) break;
      generated++;
      history.push(token);
      if (model.isEogToken(token)) {
        reason = "stop";
        stopped = true;
        break;
      }
      const step = assembler.push(token);
      if (step.text) yield { type: "delta", index, content: step.text, usage: usage() };
      if (step.stopped) {
        reason = "stop";
        stopped = true;
        break;
      }
      if (generated >= maxTokens) break;
    }
    if (signal.aborted) throw abortError(signal);
    const rest = assembler.finish();
    if (rest.text) yield { type: "delta", index, content: rest.text, usage: usage() };
    yield { type: "finish", index, reason, usage: usage() };
  }

  /**
   * Keeps the part of the sequence's cache that matches the new prompt and erases the rest.
   * At least the last prompt token is evaluated again, so there is a fresh distribution to sample.
   */
  async #reusePrefix(sequence: LlamaContextSequence, promptTokens: Token[]): Promise<number> {
    const reuse = Math.min(commonPrefixLength(sequence.contextTokens, promptTokens), promptTokens.length - 1);
    if (sequence.nextTokenIndex > reuse) {
      await sequence.eraseContextTokenRanges([{ start: reuse, end: sequence.nextTokenIndex }]);
    }
    return sequence.nextTokenIndex;
  }

  async tokenize(input: TokenizeInput): Promise<TokenizeResult> {
    const model = this.#model;
    const texts = input.prompt !== undefined ? [input.prompt] : (input.messages ?? []).map((m) => m.content.map((p) => p.text).join(""));
    const tokenIds = texts.flatMap((text) => model.tokenize(text, false));
    const prompt = input.messages
      ? this.#template.render(input.messages, { enableThinking: false })
      : (input.prompt ?? "");
    return { tokenIds, tokens: tokenIds.map((id) => model.detokenize([id], true)), prompt };
  }

  async close(): Promise<void> {
    this.#pool.close();
    await this.#context.dispose();
    await this.#model.dispose();
  }
}
