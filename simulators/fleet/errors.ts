/**
 * Errors of a fleet, grouped: ten thousand devices failing for one reason must read as one line
 * with a count, not ten thousand lines. Messages are grouped after the device id is taken out
 * (the only part that differs between devices failing the same way).
 */
export interface ErrorGroup {
  message: string;
  count: number;
}

/** Distinct messages kept; past this, new kinds are counted under one "other errors" group. */
const MAX_GROUPS = 50;
const OTHER = 'other errors';

export class ErrorTally {
  private readonly groups = new Map<string, number>();
  private total = 0;

  add(message: string, deviceId?: string): void {
    const key = deviceId ? message.replaceAll(deviceId, '<device>') : message;
    this.total++;
    const known = this.groups.get(key);
    if (known !== undefined) this.groups.set(key, known + 1);
    else if (this.groups.size < MAX_GROUPS) this.groups.set(key, 1);
    else this.groups.set(OTHER, (this.groups.get(OTHER) ?? 0) + 1);
  }

  get count(): number {
    return this.total;
  }

  /** The most frequent groups first (first seen first among equals). */
  top(limit = 5): ErrorGroup[] {
    return [...this.groups]
      .map(([message, count]) => ({ message, count }))
      .sort((a, b) => b.count - a.count)
      .slice(0, limit);
  }
}
