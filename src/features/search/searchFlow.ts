import {
  type ApiError,
  errors,
  toApiError,
  type ChatMessage,
  type DeltaEvent,
  type EngineEvent,
  type GenerationRequest,
  type SearchInfo,
  type SearchOutcome,
  type SearchRequest,
  type SearchStrategy,
  type ToolDefinition,
  type Usage,
} from "../../core/index.ts";
import { toolsStage } from "../tools/index.ts";
import { SearchProviderError, type SearchHit, type SearchProvider } from "./provider.ts";

/** The tool a model is offered when it decides whether to search (`forced_search` false). */
export const WEB_SEARCH_TOOL = "web_search";

export const WEB_SEARCH_TOOL_DEFINITION: ToolDefinition = {
  name: WEB_SEARCH_TOOL,
  description:
    "Search the web for current or factual information (news, prices, weather, recent events, facts you are unsure of). " +
    "Call it before answering when the question needs such information; otherwise answer directly.",
  parameters: {
    type: "object",
    properties: { query: { type: "string", description: "What to search for, as a concise search-engine query." } },
    required: ["query"],
  },
};

/** What a strategy does. */
export interface StrategyPlan {
  /** Queries run up front (forced search): 1 = the last user message; 2 = also the previous user turn with it. */
  queries: number;
  /** Hits asked of the provider per query. */
  results: number;
  /** Further searches the model may ask for (a `web_search` tool offered again) after the first. */
  extraRounds: number;
}

/**
 * turbo: 1 query (the last user message) × 5 results.
 * standard: 1 query × 10 results.
 * max: 2 queries × 10 results (the last user message, and the previous user turn joined with it
 *   when there is one), merged without duplicate URLs.
 * agent: as max, then the model may search again up to 2 times (offered the `web_search` tool
 *   with the sources so far); every search adds its results and counts in `plugins.search.count`.
 * With `forced_search` false the model first decides whether to search at all (its web_search
 * call's query replaces the up-front queries).
 */
export const STRATEGIES: Readonly<Record<SearchStrategy, StrategyPlan>> = {
  turbo: { queries: 1, results: 5, extraRounds: 0 },
  standard: { queries: 1, results: 10, extraRounds: 0 },
  max: { queries: 2, results: 10, extraRounds: 0 },
  agent: { queries: 2, results: 10, extraRounds: 2 },
};

const MAX_QUERY_CHARS = 400;
const MAX_SNIPPET_CHARS = 400;

const messageText = (m: ChatMessage): string =>
  m.content
    .map((p) => (p.type === "text" ? p.text : ""))
    .join("\n")
    .trim();

/** The queries a strategy runs up front: the last user message, then (2-query strategies) the previous user turn joined with it. */
export function searchQueries(messages: readonly ChatMessage[], strategy: SearchStrategy): string[] {
  const users = messages
    .filter((m) => m.role === "user")
    .map(messageText)
    .filter((t) => t !== "");
  const last = users[users.length - 1];
  if (last === undefined) return [];
  const clip = (s: string) => s.replace(/\s+/g, " ").trim().slice(0, MAX_QUERY_CHARS);
  const queries = [clip(last)];
  const previous = users[users.length - 2];
  if (STRATEGIES[strategy].queries > 1 && previous !== undefined) queries.push(clip(`${previous} ${last}`));
  return queries;
}

/** `search_info` for the sources, numbered from 1 in the order given. */
export function searchInfoOf(hits: readonly SearchHit[]): SearchInfo {
  return {
    results: hits.map((hit, i) => ({ index: i + 1, title: hit.title, url: hit.url, siteName: hit.siteName || "无", icon: hit.icon })),
    extraToolInfo: [],
  };
}

/** The system-prompt block listing the numbered sources, with the citation instruction when asked for. */
export function searchSystemText(hits: readonly SearchHit[], search: SearchRequest): string {
  const lines = ["# Web search results", ""];
  if (hits.length === 0) lines.push("The web search found nothing for this question; answer from what you know and say so if unsure.");
  else {
    lines.push("A web search for the user's question found these sources:", "");
    hits.forEach((hit, i) => {
      const snippet = hit.snippet.length > MAX_SNIPPET_CHARS ? `${hit.snippet.slice(0, MAX_SNIPPET_CHARS)}…` : hit.snippet;
      lines.push(`[${i + 1}] ${hit.title}`, `URL: ${hit.url}`);
      if (snippet) lines.push(snippet);
      lines.push("");
    });
    lines.push("Use these sources where they help answer the question; prefer them over older knowledge for current facts.");
    // The reference: enable_citation takes effect with enable_source.
    if (search.enableCitation && search.enableSource) {
      const example = search.citationFormat === "[ref_<number>]" ? "[ref_1]" : "[1]";
      const form = search.citationFormat === "[ref_<number>]" ? "[ref_<n>]" : "[<n>]";
      lines.push(`Cite the sources you use as ${form} with the source's number right after the statement it supports, e.g. ${example}.`);
    }
  }
  return lines.join("\n").trimEnd();
}

/** The request with the sources in its system prompt (appended to a leading system message, else a new one). */
export function withSearchResults(request: GenerationRequest, hits: readonly SearchHit[], search: SearchRequest): GenerationRequest {
  const text = searchSystemText(hits, search);
  const [first, ...rest] = request.messages;
  const messages: ChatMessage[] =
    first?.role === "system"
      ? [{ ...first, content: [...first.content, { type: "text", text: `\n\n${text}` }] }, ...rest]
      : [{ role: "system", content: [{ type: "text", text }] }, ...request.messages];
  return { ...request, messages };
}

export type Generate = (request: GenerationRequest, signal: AbortSignal) => AsyncIterable<EngineEvent>;

export interface SearchingOptions {
  /** Whether the backend can call tools (`capabilities.tools`); without, the model cannot decide and search always runs. Default true. */
  toolCalling?: boolean;
}

function addUsage(a: Usage | undefined, b: Usage): Usage {
  if (!a) return b;
  const sum: Usage = { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
  if (a.cachedTokens !== undefined || b.cachedTokens !== undefined) sum.cachedTokens = (a.cachedTokens ?? 0) + (b.cachedTokens ?? 0);
  if (a.reasoningTokens !== undefined || b.reasoningTokens !== undefined) sum.reasoningTokens = (a.reasoningTokens ?? 0) + (b.reasoningTokens ?? 0);
  return sum;
}

/** Any provider failure is a 503; a SearchProviderError's message (safe to show) says why. */
function searchFailed(error: unknown): ApiError {
  return error instanceof SearchProviderError ? toApiError(error) : errors.webSearchFailed().withCause(error);
}

/** The query of a finished web_search call: its `query` argument, else the fallback. */
function callQuery(args: string, fallback: string | undefined): string | undefined {
  try {
    const parsed = JSON.parse(args) as { query?: unknown };
    if (typeof parsed?.query === "string" && parsed.query.trim()) return parsed.query.replace(/\s+/g, " ").trim().slice(0, MAX_QUERY_CHARS);
  } catch {
    // fall through
  }
  return fallback;
}

/**
 * Runs a generation with web search (`enable_search`): searches up front (forced_search, or when
 * the model cannot decide) or lets the model decide through a `web_search` tool, puts the sources
 * into the system prompt and streams the answer. The first event of the answer (choice 0) carries
 * `search` (a SearchOutcome: sources, `plugins.search` usage); with `prepend_search_result` and
 * `enable_source` that is a separate first event with empty content. Usage includes every
 * generation it ran (a model's web_search decision counts). The backend never sees
 * `features.search`. Without `features.search` this is just `generate`.
 * Provider failures become 503 ServiceUnavailable ApiErrors.
 */
export async function* searchingGeneration(
  request: GenerationRequest,
  generate: Generate,
  provider: SearchProvider,
  signal: AbortSignal,
  options: SearchingOptions = {},
): AsyncGenerator<EngineEvent> {
  const search = request.features.search;
  if (!search) {
    yield* generate(request, signal);
    return;
  }
  const plan = STRATEGIES[search.strategy];
  const { search: _dropped, ...features } = request.features;
  const base: GenerationRequest = { ...request, features };
  const userTools = features.tools ?? [];
  const canOffer =
    (options.toolCalling ?? true) &&
    request.sampling.n === 1 &&
    (features.toolChoice === undefined || features.toolChoice.type === "auto") &&
    !userTools.some((t) => t.name === WEB_SEARCH_TOOL);
  const initial = searchQueries(request.messages, search.strategy);

  const hits: SearchHit[] = [];
  const seen = new Set<string>();
  let count = 0;
  const runQuery = async (query: string) => {
    count++;
    let found: SearchHit[];
    try {
      found = await provider.search(query, { count: plan.results, signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      throw searchFailed(error);
    }
    for (const hit of found) {
      if (seen.has(hit.url)) continue;
      seen.add(hit.url);
      hits.push(hit);
    }
  };

  let offers: number;
  if (search.forced || !canOffer) {
    for (const query of initial) await runQuery(query);
    offers = canOffer ? plan.extraRounds : 0;
  } else offers = 1 + plan.extraRounds;

  /** Usage of the generations before the answering one. */
  let spent: Usage | undefined;
  let pending = true;
  /** The outcome goes on the answer's first event of choice 0 (or before it, prepended). */
  function* emit(event: EngineEvent, attach = true): Generator<EngineEvent> {
    const adjusted: EngineEvent = spent ? { ...event, usage: addUsage(spent, event.usage) } : event;
    if (!attach || !pending || count === 0 || event.index !== 0) {
      yield adjusted;
      return;
    }
    pending = false;
    const info = search!.enableSource ? searchInfoOf(hits) : undefined;
    const outcome = (prepended: boolean): SearchOutcome => ({ ...(info ? { info } : {}), usage: { count, strategy: search!.strategy }, prepended });
    if (search!.prependSearchResult && info) {
      yield { type: "delta", index: 0, content: "", usage: spent ?? { inputTokens: 0, outputTokens: 0 }, search: outcome(true) };
      yield adjusted;
    } else if (adjusted.type === "delta") yield { ...adjusted, search: outcome(false) };
    else {
      yield { type: "delta", index: 0, content: "", usage: adjusted.usage, search: outcome(false) };
      yield adjusted;
    }
  }

  const toolRequest = (): GenerationRequest => {
    const prepared = toolsStage({ ...base, features: { tools: [WEB_SEARCH_TOOL_DEFINITION] } }).features.tools!;
    const withSources = count > 0 ? withSearchResults(base, hits, search) : base;
    return { ...withSources, features: { ...withSources.features, tools: [...userTools, ...prepared] } };
  };

  while (offers > 0) {
    offers--;
    // The model decides: a web_search call (its first output that is not thinking) is taken
    // out of the stream and run; anything else is the answer.
    let mode: "undecided" | "answer" | "search" = "undecided";
    const held: EngineEvent[] = [];
    let callIndex = -1;
    let args = "";
    let last: Usage | undefined;
    for await (const event of generate(toolRequest(), signal)) {
      last = event.usage;
      if (mode === "answer") {
        yield* emit(event);
        continue;
      }
      if (mode === "search") {
        if (event.type === "delta") for (const piece of event.toolCalls ?? []) if (piece.index === callIndex) args += piece.arguments;
        continue;
      }
      const delta: Partial<DeltaEvent> = event.type === "delta" ? event : {};
      const call = delta.toolCalls?.find((piece) => piece.name === WEB_SEARCH_TOOL);
      if (call && held.every((e) => e.type === "delta" && !(e.content ?? "").trim())) {
        mode = "search";
        callIndex = call.index;
        for (const piece of delta.toolCalls ?? []) if (piece.index === callIndex) args += piece.arguments;
        continue;
      }
      const thinkingOnly = event.type === "delta" && !delta.toolCalls?.length && !delta.content;
      if (thinkingOnly && held.length === 0) {
        // Thinking streams on at once; the sources wait for the answer (the model may search again).
        yield* emit(event, false);
        continue;
      }
      held.push(event);
      const blankText = event.type === "delta" && !delta.toolCalls?.length && !(delta.content ?? "").trim();
      if (blankText) continue;
      mode = "answer";
      for (const e of held.splice(0)) yield* emit(e);
    }
    if (mode !== "search") {
      for (const e of held.splice(0)) yield* emit(e);
      return;
    }
    if (last) spent = addUsage(spent, last);
    const query = callQuery(args, initial[0]);
    if (query !== undefined) await runQuery(query);
  }

  const answer = count > 0 ? withSearchResults(base, hits, search) : base;
  for await (const event of generate(answer, signal)) yield* emit(event);
}
