/**
 * What a simulated UART has transmitted: the most recent bytes only, so a device written to
 * for days keeps a fixed footprint. Chunks are kept as written and only trimmed when over the
 * cap, so a write costs no copy of what came before.
 */
export class UartBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes written since power-on, including those trimmed away. */
  totalBytes = 0;

  constructor(readonly capacityBytes: number) {
    if (!Number.isInteger(capacityBytes) || capacityBytes < 1) throw new RangeError('UART capacity must be a positive integer');
  }

  write(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.chunks.push(bytes);
    this.size += bytes.length;
    this.totalBytes += bytes.length;
    while (this.size > this.capacityBytes) {
      const first = this.chunks[0]!;
      const excess = this.size - this.capacityBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  /** The retained bytes. The oldest character may be cut if trimming split it. */
  bytes(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  text(): string {
    return this.bytes().toString('utf8');
  }

  clear(): void {
    this.chunks = [];
    this.size = 0;
    this.totalBytes = 0;
  }
}
