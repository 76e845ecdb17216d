import { LlamaGrammarEvaluationState, TokenBias, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token } from "node-llama-cpp";
import {
  ApiError,
  errors,
  type DeltaEvent,
  type EngineEvent,
  type FinishReason,
  type SamplingParams,
  type TokenLogprob,
  type Usage,
} from "../../core/index.ts";
import { OutputParser, tokenLogprob, type DescribeToken, type OutputPiece } from "../../features/index.ts";
import type { Constraints } from "./constraints.ts";
import { OutputAssembler } from "./outputAssembler.ts";

/** Everything one choice of a request needs to generate; the same for every choice but the seed. */
export interface ChoicePlan {
  promptTokens: readonly Token[];
  /** Prompt tokens already in the sequence's cache. */
  cachedTokens: number;
  sampling: SamplingParams;
  /** Most answer tokens (max_tokens; the thought does not count, as the reference says). */
  maxAnswerTokens: number;
  /** Most tokens in all (what the context has room for). */
  maxTokens: number;
  /** Thinking on: the budget, the tokens written to close a thought, and the model's own closing token. */
  thinking?: { budget: number; closeTokens: Token[]; closeToken?: Token };
  /** The prompt opened the thought. */
  startInReasoning: boolean;
  constraints: Constraints;
  /** logprobs requested: how many alternatives per token. */
  topLogprobs?: number;
  penaltyWindow: number;
  seed: number;
}

/** An abort's reason as the error the client sees. */
export function abortError(signal: AbortSignal): ApiError {
  return signal.reason instanceof ApiError ? signal.reason : errors.requestTimeout();
}

function newState(model: LlamaModel, grammar: LlamaGrammar): LlamaGrammarEvaluationState {
  return new LlamaGrammarEvaluationState({ model, grammar });
}

/** Accumulates what one decoding step produced, for one event. */
class StepOutput {
  content = "";
  reasoning = "";
  readonly toolCalls: NonNullable<DeltaEvent["toolCalls"]> = [];

  add(piece: OutputPiece): void {
    this.content += piece.content;
    this.reasoning += piece.reasoning;
    this.toolCalls.push(...piece.toolCalls);
  }

  event(index: number, usage: Usage, logprobs: TokenLogprob[]): DeltaEvent | undefined {
    if (!this.content && !this.reasoning && this.toolCalls.length === 0) return undefined;
    const event: DeltaEvent = { type: "delta", index, usage };
    if (this.content) event.content = this.content;
    if (this.reasoning) event.reasoning = this.reasoning;
    if (this.toolCalls.length > 0) event.toolCalls = this.toolCalls;
    if (this.content && logprobs.length > 0) event.logprobs = logprobs.splice(0);
    return event;
  }
}

/**
 * Generates one choice on one sequence, owning the decoding loop so that DashScope's extras are
 * exact: the thought is closed (by injecting the template's closing tokens) once the budget is
 * spent, grammars switch on where the answer or a tool call begins, logprobs come from the
 * sampler's final distribution, and raw text becomes reasoning / content / tool-call pieces.
 */
export async function* runChoice(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  index: number,
  plan: ChoicePlan,
  describe: DescribeToken,
  signal: AbortSignal,
): AsyncGenerator<EngineEvent> {
  const { sampling, constraints, thinking } = plan;
  const assembler = new OutputAssembler((tokens, last) => model.detokenize(tokens as Token[], false, last as Token[]), sampling.stop);
  const parser = new OutputParser({
    thinking: thinking !== undefined,
    startInReasoning: plan.startInReasoning,
    ...(constraints.parseToolCalls ? { tools: {} } : {}),
  });
  let grammar: LlamaGrammarEvaluationState | undefined = constraints.answerGrammar && !thinking ? newState(model, constraints.answerGrammar) : undefined;
  const history: Token[] = [...plan.promptTokens];
  let generated = 0;
  let reasoningTokens = 0;
  let answerTokens = 0;
  const pendingLogprobs: TokenLogprob[] = [];
  const usage = (): Usage => ({
    inputTokens: plan.promptTokens.length,
    outputTokens: generated,
    cachedTokens: plan.cachedTokens,
    ...(thinking ? { reasoningTokens } : {}),
  });
  const penalize = (sampling.repetitionPenalty ?? 1) !== 1 || (sampling.presencePenalty ?? 0) !== 0 || (sampling.frequencyPenalty ?? 0) !== 0;
  const logitBias = sampling.logitBias ?? [];
  const bias = constraints.blockedTokens.length > 0 || logitBias.length > 0 ? new TokenBias(model.tokenizer) : undefined;
  for (const [token, logit] of logitBias) bias?.set(token as Token, { logit });
  for (const token of constraints.blockedTokens) bias?.set(token, "never");

  const iterator = sequence.evaluateWithMetadata(
    plan.promptTokens.slice(plan.cachedTokens),
    { probabilities: plan.topLogprobs !== undefined },
    {
      temperature: sampling.temperature ?? 0.7,
      topK: sampling.topK ?? 0,
      topP: sampling.topP ?? 1,
      minP: 0,
      seed: plan.seed,
      yieldEogToken: true,
      grammarEvaluationState: () => grammar,
      ...(bias ? { tokenBias: bias } : {}),
      ...(penalize
        ? {
            repeatPenalty: {
              punishTokens: () => history.slice(-plan.penaltyWindow),
              penalty: sampling.repetitionPenalty ?? 1,
              presencePenalty: sampling.presencePenalty ?? 0,
              frequencyPenalty: sampling.frequencyPenalty ?? 0,
            },
          }
        : {}),
    },
  );
  let reason: FinishReason = "length";
  let stopped = false;
  let replacement: Token[] | undefined;
  try {
    while (!signal.aborted) {
      const step = await iterator.next(replacement);
      replacement = undefined;
      if (step.done || signal.aborted) break;
      const { token } = step.value;
      generated++;
      history.push(token);
      if (model.isEogToken(token)) {
        reason = "stop";
        break;
      }
      const inThought = parser.inReasoning;
      if (inThought) reasoningTokens++;
      else answerTokens++;
      const callsBefore = parser.completedToolCalls;
      const out = new StepOutput();
      const feed = (t: Token) => {
        const text = assembler.push(t);
        if (text.text) out.add(parser.push(text.text));
        if (text.stopped) stopped = true;
      };
      feed(token);
      if (!inThought && plan.topLogprobs !== undefined && !parser.insideToolCall && parser.completedToolCalls === callsBefore) {
        const probabilities = (step.value as { probabilities?: Map<number, number> }).probabilities ?? new Map<number, number>();
        pendingLogprobs.push(tokenLogprob(token, probabilities, plan.topLogprobs, describe));
      }
      // The thought ends: by the model's own closing token, or because the budget is spent.
      let thoughtEnded = inThought && (token === thinking?.closeToken || !parser.inReasoning);
      const roomToClose = generated + (thinking?.closeTokens.length ?? 0) < plan.maxTokens;
      if (inThought && thinking && !thoughtEnded && reasoningTokens >= thinking.budget && !stopped && roomToClose) {
        replacement = [token, ...thinking.closeTokens];
        for (const t of thinking.closeTokens) {
          generated++;
          history.push(t);
          feed(t);
        }
        thoughtEnded = true;
      }
      if (grammar === undefined) {
        if (thoughtEnded && constraints.answerGrammar) grammar = newState(model, constraints.answerGrammar);
        else if (!inThought && token === constraints.toolOpenToken && constraints.toolGrammar) {
          grammar = newState(model, constraints.toolGrammar);
        }
      }
      const event = out.event(index, usage(), pendingLogprobs);
      if (event) yield event;
      if (stopped) {
        reason = "stop";
        break;
      }
      if (constraints.singleToolCall && parser.completedToolCalls > 0) {
        reason = "stop";
        break;
      }
      if (answerTokens >= plan.maxAnswerTokens || generated >= plan.maxTokens) break;
    }
  } finally {
    await iterator.return();
    // No evaluation uses the grammar state any more: its native memory goes now, not at the next full GC.
    grammar?.dispose();
  }
  if (signal.aborted) throw abortError(signal);
  const out = new StepOutput();
  const rest = assembler.finish();
  if (rest.text) out.add(parser.push(rest.text));
  out.add(parser.finish());
  const last = out.event(index, usage(), pendingLogprobs);
  if (last) yield last;
  if (reason === "stop" && parser.completedToolCalls > 0) reason = "tool_calls";
  yield { type: "finish", index, reason, usage: usage() };
}
