/**
 * A bounded single-producer, single-consumer queue exposed as an async
 * iterable: `push` waits while `capacity` chunks are queued. When the
 * consumer stops (returns or throws), later pushes are dropped instead of
 * waiting forever.
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private error: unknown;
  private failed = false;
  private consumerGone = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(private readonly capacity = 16) {}

  async push(item: T): Promise<void> {
    if (this.consumerGone) return;
    while (this.items.length >= this.capacity && !this.consumerGone) {
      await new Promise<void>((r) => (this.wakeProducer = r));
    }
    if (this.consumerGone) return;
    this.items.push(item);
    this.wakeConsumer?.();
  }

  end(): void {
    this.ended = true;
    this.wakeConsumer?.();
  }

  fail(e: unknown): void {
    this.failed = true;
    this.error = e;
    this.wakeConsumer?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        if (this.items.length > 0) {
          const item = this.items.shift()!;
          this.wakeProducer?.();
          yield item;
          continue;
        }
        if (this.failed) throw this.error;
        if (this.ended) return;
        await new Promise<void>((r) => (this.wakeConsumer = r));
      }
    } finally {
      this.consumerGone = true;
      this.items.length = 0;
      this.wakeProducer?.();
    }
  }
}
