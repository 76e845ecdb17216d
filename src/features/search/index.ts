export { SearchProviderError, type SearchHit, type SearchProvider } from "./provider.ts";
export { SearxngProvider } from "./searxng.ts";
export { ftsQuery, htmlToText, LocalCorpusProvider } from "./localCorpus.ts";
export {
  searchingGeneration,
  searchQueries,
  searchSystemText,
  WEB_SEARCH_TOOL,
} from "./searchFlow.ts";
export { openSearchProvider } from "./open.ts";
