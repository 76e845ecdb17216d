export { SearchProviderError, type SearchHit, type SearchProvider } from "./provider.ts";
export { SearxngProvider, type SearxngOptions } from "./searxng.ts";
export { ftsQuery, htmlToText, LocalCorpusProvider } from "./localCorpus.ts";
export {
  searchInfoOf,
  searchingGeneration,
  searchQueries,
  searchSystemText,
  STRATEGIES,
  WEB_SEARCH_TOOL,
  WEB_SEARCH_TOOL_DEFINITION,
  withSearchResults,
  type Generate,
  type SearchingOptions,
  type StrategyPlan,
} from "./searchFlow.ts";
export { openSearchProvider, type SearchProviderConfig } from "./open.ts";
