/** How long a `cache_control: {"type": "ephemeral"}` prefix stays resident: DashScope's explicit cache lasts 5 minutes, renewed on every hit. */
export const EPHEMERAL_TTL_MS = 5 * 60_000;

interface Pin {
  /** Prompt tokens the marked prefix spans. */
  length: number;
  until: number;
}

/**
 * Slots holding a prefix marked with `cache_control: ephemeral` (a long system prompt, tool
 * definitions, a document): while pinned, requests that do not share the whole prefix take any
 * other free slot first, so the prefix is not overwritten by unrelated traffic; requests that
 * share it reuse it and renew the pin.
 */
export class PrefixPins<T> {
  readonly #pins = new Map<T, Pin>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(ttlMs = EPHEMERAL_TTL_MS, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  pin(slot: T, length: number): void {
    if (length > 0) this.#pins.set(slot, { length, until: this.#now() + this.#ttlMs });
  }

  /** The slot's rank for a prompt sharing `shared` cached tokens with it: the shared length, or -1 for a pinned slot the prompt would evict. */
  score(slot: T, shared: number): number {
    const pin = this.#live(slot);
    return pin === undefined || shared >= pin.length ? shared : -1;
  }

  /** A request went to this slot: a hit renews the pin; a miss (only when nothing else was free) ends it. */
  used(slot: T, shared: number): void {
    const pin = this.#live(slot);
    if (!pin) return;
    if (shared >= pin.length) pin.until = this.#now() + this.#ttlMs;
    else this.#pins.delete(slot);
  }

  #live(slot: T): Pin | undefined {
    const pin = this.#pins.get(slot);
    if (pin && pin.until <= this.#now()) {
      this.#pins.delete(slot);
      return undefined;
    }
    return pin;
  }
}
