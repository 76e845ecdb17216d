import type { UsageRecord, UsageStore } from "../store/index.ts";

export interface LedgerOptions {
  /** Records are written at most this long after their request ends (the most a kill -9 can lose). */
  flushMs?: number;
  /** A batch this large is written at once, without waiting for the timer. */
  maxBatch?: number;
  /** While the store is failing, at most this many records wait in memory (oldest dropped beyond). */
  maxBuffered?: number;
  onError?: (error: unknown) => void;
}

/**
 * The usage ledger's writer: requests add records without waiting; records are written in
 * batches, one transaction each, every `flushMs` (default 1 s) or as soon as `maxBatch` wait.
 * `close()` writes everything left, so a normal shutdown loses nothing; a kill -9 loses at most
 * the records of the last `flushMs`. A failing store keeps records buffered and retried.
 */
export class LedgerWriter {
  readonly #store: UsageStore;
  readonly #flushMs: number;
  readonly #maxBatch: number;
  readonly #maxBuffered: number;
  readonly #onError: (error: unknown) => void;
  #buffer: UsageRecord[] = [];
  /** When each buffered record was added (same order), for the write-lag metric. */
  #addedAt: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #dropped = 0;
  #written = 0;
  #closed = false;

  constructor(store: UsageStore, options: LedgerOptions = {}) {
    this.#store = store;
    this.#flushMs = options.flushMs ?? 1000;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#maxBuffered = options.maxBuffered ?? 100_000;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** The store records go to (also where totals are read from). */
  get store(): UsageStore {
    return this.#store;
  }

  get flushMs(): number {
    return this.#flushMs;
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.#buffer.length;
  }

  get dropped(): number {
    return this.#dropped;
  }

  get written(): number {
    return this.#written;
  }

  /** How long the oldest unwritten record has waited (0 when none wait). */
  lagMs(now = Date.now()): number {
    const oldest = this.#addedAt[0];
    return oldest === undefined ? 0 : now - oldest;
  }

  add(record: UsageRecord): void {
    this.#buffer.push(record);
    this.#addedAt.push(Date.now());
    if (this.#buffer.length > this.#maxBuffered) {
      const excess = this.#buffer.length - this.#maxBuffered;
      this.#buffer.splice(0, excess);
      this.#addedAt.splice(0, excess);
      this.#dropped += excess;
    }
    if (this.#closed) return;
    if (this.#buffer.length >= this.#maxBatch) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs);
  }

  /** Writes every buffered record (in batches of `maxBatch`); resolves when they are in the store or the write failed. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing) await this.#writing;
    if (this.#buffer.length === 0) return;
    this.#writing = this.#writeAll().finally(() => {
      this.#writing = undefined;
    });
    await this.#writing;
  }

  async #writeAll(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.slice(0, this.#maxBatch);
      try {
        await this.#store.appendUsage(batch);
      } catch (error) {
        this.#onError(error);
        if (!this.#closed) this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs);
        return;
      }
      this.#buffer.splice(0, batch.length);
      this.#addedAt.splice(0, batch.length);
      this.#written += batch.length;
    }
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }
}
