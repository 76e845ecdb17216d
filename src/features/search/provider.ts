/** Where web search results come from (SearXNG, a local corpus, ...). */
import { type ApiError, errors, RegisteredError } from "../../core/index.ts";

export interface SearchHit {
  title: string;
  url: string;
  /** A short passage of the page that matched. */
  snippet: string;
  /** The site's name ("" when unknown). */
  siteName: string;
  /** Icon URL, or "". */
  icon: string;
}

export interface SearchProvider {
  readonly name: string;
  /** At most `count` hits, best first. Fails with an Error (never hangs past its own timeout) when the source cannot answer. */
  search(query: string, options: { count: number; signal: AbortSignal }): Promise<SearchHit[]>;
}

/** A provider failed: the message is safe to show a client (no URLs or credentials); a 503 ServiceUnavailable. */
export class SearchProviderError extends RegisteredError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SearchProviderError";
  }

  clientError(): ApiError {
    return errors.webSearchFailed(this.message);
  }
}
