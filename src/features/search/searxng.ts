import { SearchProviderError, type SearchHit, type SearchProvider } from "./provider.ts";

export interface SearxngOptions {
  /** Whole request (connect, answer, body), default 10 s. */
  timeoutMs?: number;
  /** SearXNG `language` (e.g. "zh-CN", "en"); default: the instance's. */
  language?: string;
  /** SearXNG `categories` (e.g. ["general"]); default: the instance's. */
  categories?: string[];
}

/** One entry of SearXNG's `results[]` (JSON output format); only what we read. */
interface SearxngResult {
  title?: unknown;
  url?: unknown;
  content?: unknown;
  engine?: unknown;
  thumbnail?: unknown;
  img_src?: unknown;
}

const str = (value: unknown): string => (typeof value === "string" ? value : "");

function hostname(url: string): string {
  try {
    return new URL(url).hostname.replace(/^www\./, "");
  } catch {
    return "";
  }
}

/**
 * A SearXNG instance's JSON API: `GET <base>/search?q=…&format=json` (the instance must list
 * `json` under `search.formats` in its settings.yml, else it answers 403).
 */
export class SearxngProvider implements SearchProvider {
  readonly name = "searxng";
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #language: string | undefined;
  readonly #categories: string[] | undefined;

  constructor(baseUrl: string, options: SearxngOptions = {}) {
    this.#base = baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#language = options.language;
    this.#categories = options.categories;
  }

  async search(query: string, options: { count: number; signal: AbortSignal }): Promise<SearchHit[]> {
    const url = new URL(`${this.#base}/search`);
    url.searchParams.set("q", query);
    url.searchParams.set("format", "json");
    if (this.#language) url.searchParams.set("language", this.#language);
    if (this.#categories?.length) url.searchParams.set("categories", this.#categories.join(","));
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = AbortSignal.any([options.signal, timeout]);
    let body: unknown;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, signal });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        const hint = response.status === 403 ? " (is the json format enabled in its settings.yml?)" : "";
        throw new SearchProviderError(`the search engine answered HTTP ${response.status}${hint}`);
      }
      body = await response.json();
    } catch (error) {
      if (error instanceof SearchProviderError) throw error;
      if (options.signal.aborted) throw options.signal.reason ?? error;
      if (timeout.aborted) throw new SearchProviderError(`the search engine did not answer within ${this.#timeoutMs} ms`, { cause: error });
      throw new SearchProviderError("the search engine could not be reached or sent no JSON", { cause: error });
    }
    const results = (body as { results?: unknown } | null)?.results;
    if (!Array.isArray(results)) throw new SearchProviderError("the search engine's answer has no results list");
    const hits: SearchHit[] = [];
    const seen = new Set<string>();
    for (const raw of results as SearxngResult[]) {
      const link = str(raw?.url);
      if (!/^https?:\/\//.test(link) || seen.has(link)) continue;
      seen.add(link);
      hits.push({
        title: str(raw.title).trim() || link,
        url: link,
        snippet: str(raw.content).trim(),
        siteName: hostname(link),
        icon: "",
      });
      if (hits.length >= options.count) break;
    }
    return hits;
  }
}
