import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { BackendStats, ModelRoute, UsageRecord } from "../core/index.ts";

/** Where the gauges read their values when Prometheus scrapes. */
export interface MetricSources {
  routes(): ModelRoute[];
  ledger?: (() => { lagMs: number; pending: number; dropped: number; written: number }) | undefined;
}

const LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

/** A served model's name as a label (requests that never named a known model share one value). */
const modelLabel = (model: string): string => (model === "" ? "(none)" : model);

/**
 * openscope's Prometheus metrics, in a registry of their own (`GET /metrics`): request counts by
 * model/endpoint/status/code, tokens, TTFT and latency histograms, and — read at scrape time —
 * queue depth, engine slots busy, upstream replica health and the usage ledger's write lag.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<"model" | "endpoint" | "status" | "code">;
  readonly #tokens: Counter<"model" | "kind">;
  readonly #ttft: Histogram<"model">;
  readonly #duration: Histogram<"model" | "endpoint">;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "openscope_" });
    this.#requests = new Counter({
      name: "openscope_requests_total",
      help: "Requests answered, by served model, endpoint, HTTP status and DashScope error code ('' on success).",
      labelNames: ["model", "endpoint", "status", "code"],
      registers,
    });
    this.#tokens = new Counter({
      name: "openscope_tokens_total",
      help: "Tokens processed, by served model and kind (input, output, reasoning, cached).",
      labelNames: ["model", "kind"],
      registers,
    });
    this.#ttft = new Histogram({
      name: "openscope_time_to_first_token_seconds",
      help: "Time from request arrival to the first generated event.",
      labelNames: ["model"],
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.#duration = new Histogram({
      name: "openscope_request_duration_seconds",
      help: "Time from request arrival to the end of its response.",
      labelNames: ["model", "endpoint"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const perBackend = (read: (stats: BackendStats) => number | undefined) =>
      function (this: Gauge<"model">) {
        this.reset();
        for (const route of sources.routes()) {
          const value = read(route.backend.stats());
          if (value !== undefined) this.set({ model: route.name }, value);
        }
      };
    new Gauge({
      name: "openscope_queue_depth",
      help: "Requests waiting for an engine slot.",
      labelNames: ["model"],
      registers,
      collect: perBackend((s) => s.queued),
    });
    new Gauge({
      name: "openscope_engine_slots_busy",
      help: "Engine slots generating (embedded) or requests in flight (upstream).",
      labelNames: ["model"],
      registers,
      collect: perBackend((s) => s.busy),
    });
    new Gauge({
      name: "openscope_engine_slots",
      help: "Engine slots in all (embedded engine).",
      labelNames: ["model"],
      registers,
      collect: perBackend((s) => s.slots),
    });
    new Gauge({
      name: "openscope_upstream_replica_up",
      help: "1 when an upstream replica is usable (healthy, not cooling down), else 0.",
      labelNames: ["model", "replica"],
      registers,
      collect() {
        this.reset();
        for (const route of sources.routes()) {
          for (const replica of route.backend.stats().replicas ?? []) this.set({ model: route.name, replica: replica.url }, replica.healthy ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "openscope_upstream_replica_in_flight",
      help: "Requests in flight on each upstream replica.",
      labelNames: ["model", "replica"],
      registers,
      collect() {
        this.reset();
        for (const route of sources.routes()) {
          for (const replica of route.backend.stats().replicas ?? []) this.set({ model: route.name, replica: replica.url }, replica.inFlight);
        }
      },
    });
    const ledger = sources.ledger;
    if (ledger) {
      new Gauge({
        name: "openscope_ledger_write_lag_seconds",
        help: "Age of the oldest usage record not yet written.",
        registers,
        collect() {
          this.set(ledger().lagMs / 1000);
        },
      });
      new Gauge({
        name: "openscope_ledger_pending_records",
        help: "Usage records waiting to be written.",
        registers,
        collect() {
          this.set(ledger().pending);
        },
      });
      new Gauge({
        name: "openscope_ledger_dropped_records",
        help: "Usage records dropped while the store was failing (since start).",
        registers,
        collect() {
          this.set(ledger().dropped);
        },
      });
      new Gauge({
        name: "openscope_ledger_written_records",
        help: "Usage records written (since start).",
        registers,
        collect() {
          this.set(ledger().written);
        },
      });
    }
  }

  /** One finished request. */
  observe(record: UsageRecord): void {
    const model = modelLabel(record.model);
    this.#requests.inc({ model, endpoint: record.endpoint, status: String(record.status), code: record.code ?? "" });
    if (record.inputTokens) this.#tokens.inc({ model, kind: "input" }, record.inputTokens);
    if (record.outputTokens) this.#tokens.inc({ model, kind: "output" }, record.outputTokens);
    if (record.reasoningTokens) this.#tokens.inc({ model, kind: "reasoning" }, record.reasoningTokens);
    if (record.cachedTokens) this.#tokens.inc({ model, kind: "cached" }, record.cachedTokens);
    if (record.ttftMs !== null) this.#ttft.observe({ model }, record.ttftMs / 1000);
    this.#duration.observe({ model, endpoint: record.endpoint }, record.durationMs / 1000);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
