/**
 * The conformance suite in run order. Order matters: the liveness probe first (a silent device is
 * recognised after one deadline), state-changing and disruptive cases late (reset_device and set_status drop the
 * device's state), and the foreign-topic check last so it covers every answer of the run.
 */
import { fail, pass, showOutcome, type ConformanceCase } from './case.ts';
import { boundaryCases, disruptiveInvalidParamCases, exampleCases, invalidParamCases } from './from-spec.ts';
import { deadline, hygieneCases, noForeignTopics } from './hygiene.ts';
import { resetComesBack, setStatusComesBack, stateCases } from './state.ts';

export const statusRunning: ConformanceCase = {
  id: 'status.running',
  description: 'the device answers get_status with "running" (liveness)',
  specSection: '4. Commands > `get_status`',
  required: true,
  async run(context) {
    const outcome = await context.send('get_status', {});
    if (outcome.status === 'ok' && outcome.result.status === 'running') return pass(`answered in ${outcome.elapsedMs.toFixed(1)} ms`);
    return fail(`sent get_status {}; expected {"status":"running"}; ${showOutcome(outcome)}`);
  },
};

export function conformanceSuite(): ConformanceCase[] {
  return [
    statusRunning,
    ...exampleCases(),
    ...boundaryCases(),
    ...invalidParamCases(),
    ...stateCases,
    ...hygieneCases,
    deadline,
    ...disruptiveInvalidParamCases(),
    resetComesBack,
    setStatusComesBack,
    noForeignTopics,
  ];
}

export interface CaseFilter {
  /** Keep cases whose id equals or starts with one of these (e.g. `gpio`, `hygiene.cid-echo`). */
  only?: string[];
  /** Drop cases whose id equals or starts with one of these. */
  skip?: string[];
}

export function selectCases(cases: ConformanceCase[], filter: CaseFilter = {}): ConformanceCase[] {
  const matches = (id: string, prefixes: string[]) => prefixes.some((prefix) => id === prefix || id.startsWith(prefix.endsWith('.') ? prefix : `${prefix}.`));
  return cases.filter((entry) => (!filter.only?.length || matches(entry.id, filter.only)) && !(filter.skip?.length && matches(entry.id, filter.skip)));
}

