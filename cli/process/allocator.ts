/**
 * Which memory allocator this process runs on. Memory per device depends on it (jemalloc packs
 * thousands of idle TLS connections tighter than glibc's malloc), so progress reports it.
 */
import { readFileSync } from 'node:fs';

export type Allocator = 'jemalloc' | 'system';

let known: Allocator | undefined;

/** Linux: whether libjemalloc is mapped into this process; 'system' elsewhere. */
export function currentAllocator(): Allocator {
  if (known) return known;
  try {
    known = readFileSync('/proc/self/maps', 'utf8').includes('libjemalloc') ? 'jemalloc' : 'system';
  } catch {
    known = 'system';
  }
  return known;
}
