import { errors, invalidParameter } from "./errors.ts";

interface Waiter<T> {
  count: number;
  score: (slot: T) => number;
  resolve: (slots: T[]) => void;
  reject: (error: unknown) => void;
}

/**
 * A fixed set of slots (context sequences) handed out first come, first served.
 * A request takes `count` slots at once (n choices), waits in a bounded queue while none are
 * free, and leaves the queue when its signal aborts. Among free slots it gets the ones that
 * score highest (e.g. longest cached prefix), and among equals the first in the original order:
 * busy slots stay packed at the front (the llama engine decodes consecutive sequences together).
 */
export class SlotPool<T> {
  readonly #free: T[];
  /** Each slot's position in the original order. */
  readonly #rank: Map<T, number>;
  readonly #waiters: Waiter<T>[] = [];
  readonly #maxQueue: number;
  readonly size: number;
  #closed = false;

  constructor(slots: T[], maxQueue: number) {
    this.#free = [...slots];
    this.#rank = new Map(slots.map((slot, i) => [slot, i]));
    this.size = slots.length;
    this.#maxQueue = maxQueue;
  }

  get busy(): number {
    return this.size - this.#free.length;
  }

  get queued(): number {
    return this.#waiters.length;
  }

  acquire(count: number, signal: AbortSignal, score: (slot: T) => number = () => 0): Promise<T[]> {
    if (this.#closed) return Promise.reject(errors.serviceShuttingDown());
    if (count > this.size) {
      return Promise.reject(invalidParameter(`This model serves at most ${this.size} parallel choices (n).`));
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#waiters.length === 0 && this.#free.length >= count) return Promise.resolve(this.#take(count, score));
    if (this.#waiters.length >= this.#maxQueue) {
      return Promise.reject(errors.modelUnavailable("Too many requests are waiting for this model; please retry later.").withRetryAfter(1));
    }
    return new Promise<T[]>((resolve, reject) => {
      const waiter: Waiter<T> = { count, score, resolve, reject };
      const onAbort = () => {
        const at = this.#waiters.indexOf(waiter);
        if (at !== -1) this.#waiters.splice(at, 1);
        reject(signal.reason);
        this.#dispatch();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      waiter.resolve = (slots) => {
        signal.removeEventListener("abort", onAbort);
        resolve(slots);
      };
      this.#waiters.push(waiter);
    });
  }

  release(slots: readonly T[]): void {
    this.#free.push(...slots);
    this.#dispatch();
  }

  /** Rejects everyone waiting; slots in use are released by their holders as they finish. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(errors.serviceShuttingDown());
  }

  #dispatch(): void {
    while (this.#waiters.length > 0 && this.#free.length >= this.#waiters[0]!.count) {
      const waiter = this.#waiters.shift()!;
      waiter.resolve(this.#take(waiter.count, waiter.score));
    }
  }

  #take(count: number, score: (slot: T) => number): T[] {
    const rank = (slot: T) => this.#rank.get(slot) ?? 0;
    const ranked = this.#free.map((slot) => ({ slot, score: score(slot) })).sort((a, b) => b.score - a.score || rank(a.slot) - rank(b.slot));
    const taken = ranked.slice(0, count).map((r) => r.slot);
    for (const slot of taken) this.#free.splice(this.#free.indexOf(slot), 1);
    return taken;
  }
}
