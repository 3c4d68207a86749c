/** Phrases and orderings every report format shares, so the console, HTML and JUnit agree. */
import type { CaseResult, SuiteCounts } from '../conformance/runner.ts';
import type { ThresholdCheck } from './model.ts';

/** "70 passed, 1 failed (1 required), 6 not applicable": zero counts left out, never "0 failed (0 required)". */
export function describeCounts(counts: SuiteCounts): string {
  const parts = [`${counts.passed} passed`];
  if (counts.failed > 0) {
    const kinds = [counts.requiredFailed ? `${counts.requiredFailed} required` : '', counts.optionalFailed ? `${counts.optionalFailed} optional` : ''].filter(Boolean);
    parts.push(`${counts.failed} failed (${kinds.join(', ')})`);
  }
  if (counts.notApplicable > 0) parts.push(`${counts.notApplicable} not applicable`);
  return `${parts.join(', ')} of ${counts.total} cases`;
}

const severity = (result: CaseResult): number =>
  result.status === 'fail' ? (result.required ? 0 : 1) : result.status === 'not-applicable' ? 2 : 3;

/** Failing required cases first, then optional failures, not applicable, passes; suite order within each. */
export function worstFirst(results: readonly CaseResult[]): { result: CaseResult; number: number }[] {
  return results
    .map((result, index) => ({ result, number: index + 1 }))
    .sort((a, b) => severity(a.result) - severity(b.result) || a.number - b.number);
}

/** "the device abc" or "3 devices (abc and 2 more)": what a run was pointed at. */
export function describeDevices(deviceId: string, devices: number): string {
  return devices > 1 ? `${devices} devices (${deviceId} and ${devices - 1} more)` : deviceId;
}

/**
 * A spec section as written in the cases ("4. Commands > `get_gpio`") split into plain text and
 * the heading anchor docs/protocol.md gets on GitHub and in most Markdown viewers.
 */
export function specReference(section: string): { label: string; anchor: string } {
  const heading = section.split('>').at(-1)!.trim();
  const label = section.replaceAll('`', '');
  const anchor = heading
    .toLowerCase()
    .replaceAll('`', '')
    .replace(/[^a-z0-9 _-]/g, '')
    .trim()
    .replace(/ /g, '-');
  return { label, anchor };
}

/** "p99 130.2 ms above --max-p99 100 ms" */
export function describeCheck(check: ThresholdCheck): string {
  const figure = (value: number) => (Number.isFinite(value) ? `${value}${check.unit === '/s' ? '' : ' '}${check.unit}` : 'none (no ok answer)');
  switch (check.name) {
    case 'max-p99':
      return `p99 ${figure(check.actual)} ${check.passed ? 'within' : 'above'} --max-p99 ${figure(check.limit)}`;
    case 'max-error-rate':
      return `error rate ${figure(check.actual)} ${check.passed ? 'within' : 'above'} --max-error-rate ${figure(check.limit)}`;
    case 'min-throughput':
      return `throughput ${figure(check.actual)} ${check.passed ? 'meets' : 'below'} --min-throughput ${figure(check.limit)}`;
  }
}
