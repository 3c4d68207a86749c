/** Bounded parallelism: thousands of devices must not mean thousands of simultaneous operations. */

/** Run `work` over `items`, at most `limit` at a time; rejects with the first failure (the rest stop being started). */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(limit, items.length)) }, worker));
}

/** A counting semaphore: `acquire` resolves once fewer than `limit` holders remain. */
export class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  acquire(): Promise<void> {
    if (this.used < this.limit) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.used--;
  }

  /** Wake every waiter (shutdown): they get a slot they must release as usual. */
  releaseWaiters(): void {
    for (const wake of this.waiting.splice(0)) {
      this.used++;
      wake();
    }
  }
}
