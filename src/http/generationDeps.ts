import type { Stage } from "../core/index.ts";
import type { Moderator } from "../features/index.ts";
import type { MediaFetcher } from "../features/media/index.ts";
import type { SearchProvider } from "../features/search/index.ts";
import type { FileService, Gateway, ModelRegistry } from "../gateway/index.ts";
import type { gatewayHooks } from "./gatewayHooks.ts";

/** What the generation routes of every dialect are built from (assembled in app.ts). */
export interface GenerationDeps {
  registry: ModelRegistry;
  gateway: Gateway;
  /** Authentication and metering hooks (gatewayHooks). */
  hooks: ReturnType<typeof gatewayHooks>;
  requestTimeoutMs: number;
  shutdownSignal: AbortSignal;
  /** Feature stages (tools, structured output, ...) every request goes through, after the server's own. */
  stages: readonly Stage[];
  /** Reproduce the real server's refusals of thinking-mode combinations openscope can serve. */
  strictCompat: boolean;
  /** Fetches media (SSRF-safe, `data:`, `oss://`) for the multimodal endpoint; absent: media input is refused. */
  media: MediaFetcher | undefined;
  /** Uploaded files, for `fileid://` references; absent: references stay as written. */
  files: FileService | undefined;
  /** Web search for `enable_search`; absent: such requests are refused. */
  search: SearchProvider | undefined;
  /** DataInspection: the configured moderators, and whether they run without the header too. */
  inspection: { moderator: Moderator; always: boolean } | undefined;
}
