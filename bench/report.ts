/** The one output convention of every benchmark: `<metric> <value> <unit>`, one line per figure. */
export function printMetric(metric: string, value: number, unit: string): void {
  const rounded = Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
  console.log(`${metric} ${rounded} ${unit}`);
}

/**
 * User + system CPU seconds used so far by a process and every process below it (Linux /proc):
 * a RabbitMQ node is a shell, an Erlang VM and helpers, and all of them count.
 */
export async function processTreeCpuSeconds(rootPid: number): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  const stats = new Map<number, { parent: number; ticks: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined); // gone meanwhile
    if (!text) continue;
    const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    // After the name: state(0) ppid(1) ... utime(11) stime(12); clock ticks, USER_HZ = 100 on Linux.
    stats.set(Number(entry), { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
  }
  const inTree = (pid: number): boolean => {
    for (let current: number | undefined = pid, hops = 0; current !== undefined && hops < 64; hops++) {
      if (current === rootPid) return true;
      current = stats.get(current)?.parent;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, stat] of stats) if (inTree(pid)) ticks += stat.ticks;
  return ticks / 100;
}
