/** An unbounded single-consumer queue that several producers push into; ends or fails once. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | undefined;
  #done = false;
  #error: { error: unknown } | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#notify();
  }

  end(): void {
    this.#done = true;
    this.#notify();
  }

  fail(error: unknown): void {
    this.#error ??= { error };
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#error) throw this.#error.error;
      const item = this.#items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.#done) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}

/**
 * Runs several event sources at once and yields their items as they come, in one stream. When the
 * consumer is done (finished, failed or gone) or `signal` aborts, every source still running is
 * aborted with `stopReason` and awaited before this returns.
 */
export async function* mergeStreams<T>(
  sources: ReadonlyArray<(signal: AbortSignal) => AsyncIterable<T>>,
  signal: AbortSignal,
  stopReason: () => unknown,
): AsyncGenerator<T> {
  const inner = new AbortController();
  const forward = () => inner.abort(signal.reason);
  if (signal.aborted) forward();
  else signal.addEventListener("abort", forward, { once: true });
  const queue = new AsyncQueue<T>();
  const runs = sources.map(async (source) => {
    for await (const item of source(inner.signal)) queue.push(item);
  });
  const all = Promise.all(runs).then(
    () => queue.end(),
    (error: unknown) => queue.fail(error),
  );
  try {
    yield* queue;
  } finally {
    signal.removeEventListener("abort", forward);
    inner.abort(stopReason());
    await Promise.allSettled([all, ...runs]);
  }
}
