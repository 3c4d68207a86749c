/** The one output convention of every benchmark: `<metric> <value> <unit>`, one line per figure. */
export function printMetric(metric: string, value: number, unit: string): void {
  const rounded = Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
  console.log(`${metric} ${rounded} ${unit}`);
}
