/**
 * Coalesces work that arrives while a database round trip is in flight (or within a short
 * linger): a ramp of thousands of device CONNECTs then costs a few hundred statements, not
 * thousands. Items are answered in order; a failed batch fails only its own items.
 */
export interface BatcherOptions {
  /** Most items per batch (default 500). */
  maxBatch?: number;
  /** Wait this long for company before running a batch (default 0: run at once). */
  lingerMs?: number;
  /**
   * Linger only while work keeps coming (the previous batch ran less than a second ago), so a
   * lone item — one device connecting to a quiet server — never waits.
   */
  lingerOnlyWhenBusy?: boolean;
}

const BUSY_WINDOW_MS = 1000;

export class Batcher<I, O> {
  private pending: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  private running: Promise<void> | undefined;
  private lastRunAt = -Infinity;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly lingerOnlyWhenBusy: boolean;

  /** `run` answers every item of a batch, in order. */
  constructor(
    private readonly run: (items: readonly I[]) => Promise<readonly O[]>,
    options: BatcherOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.lingerMs = options.lingerMs ?? 0;
    this.lingerOnlyWhenBusy = options.lingerOnlyWhenBusy ?? false;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.running ??= this.loop();
    });
  }

  /** Resolves once every item added so far has been run. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        if (this.shouldLinger()) await new Promise((resolve) => setTimeout(resolve, this.lingerMs));
        const batch = this.pending.splice(0, this.maxBatch);
        this.lastRunAt = performance.now();
        try {
          const results = await this.run(batch.map((entry) => entry.item));
          if (results.length !== batch.length) throw new Error(`batch answered ${results.length} of ${batch.length} items`);
          batch.forEach((entry, index) => entry.resolve(results[index]!));
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  private shouldLinger(): boolean {
    if (this.lingerMs <= 0 || this.pending.length >= this.maxBatch) return false;
    return !this.lingerOnlyWhenBusy || performance.now() - this.lastRunAt < BUSY_WINDOW_MS;
  }
}
