/**
 * The harness's answer attribution without a network (the fast layer, test/harness/in-process.ts):
 * which request an answer settles, whose fault a bad answer is, what counts as foreign. The same
 * rules run end to end over MQTTS in conformance.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseTopic, type EncodedMessage } from '../../firmware-protocol/index.ts';
import { conformanceSuite, runSuite, type CaseResult } from '../../harness/index.ts';
import { judge } from '../../harness/verdict.ts';
import { startInProcess, type InProcess } from './in-process.ts';

let net: InProcess;
let counter = 0;
const newId = (prefix: string) => `${prefix}${counter++}`;

beforeAll(async () => {
  net = await startInProcess();
});

afterAll(async () => {
  await net.close();
});

const withoutCid = (answer: EncodedMessage): EncodedMessage => {
  const body = JSON.parse(answer.payload.toString()) as Record<string, unknown>;
  delete body.cid;
  return { topic: answer.topic, payload: Buffer.from(JSON.stringify(body)) };
};

async function suite(deviceId: string, only?: (id: string) => boolean): Promise<CaseResult[]> {
  const target = await net.target(deviceId);
  try {
    const cases = conformanceSuite().filter((entry) => !only || only(entry.id));
    return (await runSuite(target, cases, { deadlineMs: 500, quietMs: 20, resetDeadlineMs: 2000 })).cases;
  } finally {
    await target.close();
  }
}

describe('harness attribution, in process', () => {
  it('the reference board passes every case of the suite', async () => {
    const id = newId('good');
    await net.board(id);
    const results = await suite(id);
    expect(results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
    expect(results).toHaveLength(conformanceSuite().length);
  });

  it('answers without cid settle the oldest request: exactly the cid cases fail, and the verdict is exit 1', async () => {
    const id = newId('legacy');
    await net.board(id, (answer) => [withoutCid(answer)]);
    const target = await net.target(id);
    const conformance = await runSuite(target, conformanceSuite(), { deadlineMs: 500, quietMs: 20, resetDeadlineMs: 2000 });
    await target.close();
    expect(conformance.cases.filter((r) => r.status === 'fail').map((r) => r.id).sort()).toEqual(['hygiene.cid-echo', 'hygiene.cid-echo-on-error']);
    expect(judge(conformance, undefined).exitCode).toBe(1);
  });

  it('an undecodable answer is the device\'s fault, attributed to the request by its cid', async () => {
    const id = newId('broken');
    await net.board(id, (answer) => [{ topic: answer.topic, payload: Buffer.from(answer.payload.toString().replace('}', ',}')) }]);
    const target = await net.target(id);
    const outcome = await target.command('get_status', {}, 500);
    await target.close();
    expect(outcome).toMatchObject({ status: 'invalid-answer', source: 'device', command: 'get_status' });
  });

  it('an answer with this request\'s cid on another command\'s topic is invalid and foreign', async () => {
    const id = newId('wrongtopic');
    await net.board(id, (answer) => [{ topic: answer.topic.replace(/[^/]+$/, 'get_ip'), payload: answer.payload }]);
    const target = await net.target(id);
    const outcome = await target.command('get_mac', {}, 500);
    const foreign = target.foreignAnswers();
    await target.close();
    expect(outcome).toMatchObject({ status: 'invalid-answer' });
    expect(outcome.status === 'invalid-answer' && outcome.problem).toContain(`not ${responseTopic(id, 'get_mac')}`);
    expect(foreign).toEqual([expect.objectContaining({ topic: responseTopic(id, 'get_ip') })]);
  });

  it('a mangled cid with one request waiting is that request\'s invalid answer; silence is a timeout', async () => {
    const mangled = newId('mangled');
    await net.board(mangled, (answer) => [{ topic: answer.topic, payload: Buffer.from(answer.payload.toString().replace(/"cid":"[^"]+"/, '"cid":"zz"')) }]);
    const silent = newId('silent');
    await net.board(silent, () => []);
    const [a, b] = [await net.target(mangled), await net.target(silent)];
    const [first, second] = [await a.command('get_status', {}, 500), await b.command('get_status', {}, 200)];
    await Promise.all([a.close(), b.close()]);
    expect(first).toMatchObject({ status: 'invalid-answer' });
    expect(first.status === 'invalid-answer' && first.problem).toContain('which no request had');
    expect(second).toMatchObject({ status: 'timeout', timeoutMs: 200 });
    expect(judge({ ...emptySuite(), requests: 1, answers: 0 }, undefined).exitCode).toBe(3); // never answered
  });

  it('suite results on a bad board point at the case that failed', async () => {
    const id = newId('onlygpio');
    await net.board(id, (answer) => (answer.topic.endsWith('/get_gpio') ? [] : [answer]));
    const failed = (await suite(id, (caseId) => caseId.startsWith('get_gpio.example') || caseId.startsWith('get_status.example'))).filter((r) => r.status === 'fail');
    expect(failed.map((r) => r.id)).toEqual(['get_gpio.example']);
    expect(failed[0]!.message).toMatch(/timeout|no answer/i);
  });
});

function emptySuite(): Parameters<typeof judge>[0] & object {
  return { cases: [], counts: { total: 0, passed: 0, failed: 0, optionalFailed: 0, notApplicable: 0 }, requests: 0, answers: 0 } as never;
}
