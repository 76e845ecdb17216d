import { LocalCorpusProvider } from "./localCorpus.ts";
import type { SearchProvider } from "./provider.ts";
import { SearxngProvider } from "./searxng.ts";

/** The `search` config section (same shape as config.ts's SearchConfig). */
export type SearchProviderConfig = { provider: "searxng"; url: string; timeoutMs: number } | { provider: "local"; folder: string };

/**
 * The provider a config names. `local`: the folder is indexed now (synchronously) into an index at
 * `indexPath` (default: in memory, rebuilt at each start). Call `close()` at shutdown.
 */
export function openSearchProvider(config: SearchProviderConfig, options: { indexPath?: string } = {}): SearchProvider & { close(): void } {
  if (config.provider === "searxng") {
    const provider = new SearxngProvider(config.url, { timeoutMs: config.timeoutMs });
    return Object.assign(provider, { close: () => undefined });
  }
  const corpus = LocalCorpusProvider.open(options.indexPath ?? ":memory:");
  corpus.indexFolder(config.folder);
  return corpus;
}
