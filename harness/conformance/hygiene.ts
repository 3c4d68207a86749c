/**
 * Protocol hygiene: correlation ids, unknown commands, payloads a device cannot parse, answering
 * exactly once on the right topic, and answering in time.
 */
import { randomBytes } from 'node:crypto';
import { errorCodes, errorNameOf, limits } from '../../firmware-protocol/index.ts';
import { LatencyRecorder } from '../load/latency.ts';
import { fail, needsRaw, notApplicable, pass, sections, showOutcome, showRaw, type ConformanceCase } from './case.ts';
import { checkSingleAnswer, expectOk, expectRawError, parseObject } from './expect.ts';

const freshCid = (): string => `hx${randomBytes(6).toString('hex')}`;

export const cidEcho: ConformanceCase = {
  id: 'hygiene.cid-echo',
  description: 'an answer carries the request\'s cid unchanged, and comes exactly once',
  specSection: sections.messages,
  required: true,
  async run(context) {
    if (!context.raw) return needsRaw();
    const cid = freshCid();
    const payload = JSON.stringify({ cid });
    const answers = await context.raw('get_status', payload);
    const problem = checkSingleAnswer(context, 'get_status', answers, `sent get_status ${payload}`);
    if (problem) return problem;
    const body = parseObject(answers[0]!.payload);
    if (body?.cid !== cid) {
      const got = body && 'cid' in body ? `cid ${JSON.stringify(body.cid)}` : 'no cid';
      return fail(`sent get_status ${payload}; the answer must copy "cid":"${cid}" unchanged, but it has ${got}: ${showRaw(answers)}`);
    }
    return pass('cid echoed, one answer');
  },
};

export const cidEchoOnError: ConformanceCase = {
  id: 'hygiene.cid-echo-on-error',
  description: 'an error answer also carries the request\'s cid',
  specSection: sections.messages,
  required: true,
  run(context) {
    const cid = freshCid();
    const payload = JSON.stringify({ cid, number: limits.gpioMax + 1 });
    return expectRawError(context, 'get_gpio', payload, `get_gpio ${payload}`, { error: 'INVALID_PARAMS', cid });
  },
};

export const unknownCommand: ConformanceCase = {
  id: 'hygiene.unknown-command',
  description: 'a command the device does not implement is answered with UNKNOWN_COMMAND on that command\'s answer topic',
  specSection: sections.errors,
  required: true,
  async run(context) {
    const command = 'no_such_command';
    const outcome = await context.send(command, {});
    const expected = `expected error UNKNOWN_COMMAND (code ${errorCodes.UNKNOWN_COMMAND}) on server/${context.deviceId}/${command}`;
    if (outcome.status === 'device-error' && outcome.source === 'server') {
      return notApplicable('the server refuses unknown commands itself, so the request never reaches the device; use an MQTT target to check this');
    }
    if (outcome.status === 'device-error' && outcome.error.code === errorCodes.UNKNOWN_COMMAND) return pass('UNKNOWN_COMMAND');
    return fail(`sent ${command} {}; ${expected}; ${showOutcome(outcome)}`);
  },
};

export const emptyPayload: ConformanceCase = {
  id: 'hygiene.empty-payload',
  description: 'an empty payload means {}: get_status with no payload at all is answered normally',
  specSection: sections.messages,
  required: true,
  async run(context) {
    if (!context.raw) return needsRaw();
    const answers = await context.raw('get_status', '');
    const problem = checkSingleAnswer(context, 'get_status', answers, 'sent get_status with an empty payload');
    if (problem) return problem;
    const body = parseObject(answers[0]!.payload);
    if (body?.status !== 'running') return fail(`sent get_status with an empty payload; expected {"status":"running"}; the device answered ${showRaw(answers)}`);
    return pass('answered running');
  },
};

function malformedCase(id: string, description: string, payload: string | Buffer, what: string, required = true): ConformanceCase {
  return {
    id,
    description,
    specSection: sections.errors,
    required,
    run: (context) => expectRawError(context, 'get_gpio', payload, what, { error: 'MALFORMED' }),
  };
}

export const malformedJson = malformedCase(
  'hygiene.malformed-json',
  'a payload that is not JSON is answered with MALFORMED, not dropped',
  '{"number": 18,',
  'the truncated JSON {"number": 18,',
);
export const nonObjectArray = malformedCase(
  'hygiene.non-object-array',
  'a JSON array payload is answered with MALFORMED',
  '[18]',
  'the JSON array [18]',
);
export const nonObjectScalar = malformedCase(
  'hygiene.non-object-scalar',
  'a bare JSON value payload is answered with MALFORMED',
  '18',
  'the bare JSON number 18',
);
export const invalidUtf8 = malformedCase(
  'hygiene.invalid-utf8',
  'a payload that is not valid UTF-8 is answered with MALFORMED',
  Buffer.concat([Buffer.from('{"number":'), Buffer.from([0xff, 0xfe]), Buffer.from('}')]),
  'a payload with the invalid UTF-8 bytes ff fe',
  false,
);

export const oversized: ConformanceCase = {
  id: 'hygiene.oversized',
  description: `a payload over ${limits.maxPayloadBytes} bytes is answered with PAYLOAD_TOO_LARGE, not read and not dropped`,
  specSection: sections.limits,
  required: true,
  run(context) {
    const padding = 'x'.repeat(limits.maxPayloadBytes + 100);
    const payload = JSON.stringify({ data: padding });
    return expectRawError(context, 'write_uart', payload, `write_uart with a ${Buffer.byteLength(payload)}-byte payload`, { error: 'PAYLOAD_TOO_LARGE' });
  },
};

export const errorShape: ConformanceCase = {
  id: 'hygiene.error-shape',
  description: `error answers carry the name matching their code and a message under ${limits.maxErrorMessageLength} bytes`,
  specSection: sections.errors,
  required: false,
  async run(context) {
    const params = { number: limits.gpioMax + 1 };
    const outcome = await context.send('get_gpio', params);
    if (outcome.status !== 'device-error') return fail(`sent get_gpio ${JSON.stringify(params)}; expected an error answer; ${showOutcome(outcome)}`);
    if (outcome.source === 'server') return notApplicable('the server answered for the device; its error shape is not the device\'s');
    const { error } = outcome;
    const expectedName = errorNameOf(error.code);
    if (error.name !== expectedName) return fail(`error code ${error.code} should carry name ${JSON.stringify(expectedName)}, got ${JSON.stringify(error.name)}`);
    const size = Buffer.byteLength(error.message);
    if (size > limits.maxErrorMessageLength) return fail(`error message is ${size} bytes; keep it under ${limits.maxErrorMessageLength}: ${JSON.stringify(error.message)}`);
    return pass(`${error.name}: ${JSON.stringify(error.message)}`);
  },
};

export const concurrentRequests: ConformanceCase = {
  id: 'hygiene.concurrent',
  description: 'ten get_gpio requests in flight at once are each answered, each with its own pin',
  specSection: sections.messages,
  required: true,
  async run(context) {
    const pins = Array.from({ length: 10 }, (_, index) => index);
    const outcomes = await Promise.all(pins.map((number) => expectOk(context, 'get_gpio', { number })));
    const bad = outcomes.find((outcome) => !outcome.ok);
    if (bad && !bad.ok) return fail(`with ${pins.length} requests in flight: ${bad.verdict.message}`);
    return pass(`${pins.length} concurrent requests answered and matched`);
  },
};

export const noForeignTopics: ConformanceCase = {
  id: 'hygiene.no-foreign-topics',
  description: 'during the whole run, the device answered only on its own answer topics, for the commands asked',
  specSection: sections.messages,
  required: true,
  async run(context) {
    const foreign = context.foreignAnswers();
    if (!foreign) return needsRaw();
    if (foreign.length === 0) return pass('no answers on foreign topics');
    const shown = foreign.slice(0, 5).map((entry) => `${entry.topic} ${entry.payload} (${entry.reason})`).join('; ');
    return fail(`${foreign.length} answer(s) on topics they do not belong to; a device publishes only on server/${context.deviceId}/<command of the request>: ${shown}`);
  },
};

export const deadline: ConformanceCase = {
  id: 'timing.deadline',
  description: 'twenty get_status requests in a row are each answered within the deadline',
  specSection: '3. Sequence of one command',
  required: true,
  async run(context) {
    const latencies = new LatencyRecorder();
    for (let index = 0; index < 20; index++) {
      const outcome = await context.send('get_status', {});
      if (outcome.status !== 'ok') return fail(`request ${index + 1} of 20: sent get_status {}; expected a valid get_status answer within ${context.deadlineMs} ms; ${showOutcome(outcome)}`);
      latencies.record(outcome.elapsedMs);
    }
    const summary = latencies.summary();
    return pass(`20/20 within ${context.deadlineMs} ms; p50 ${summary.p50Ms} ms, max ${summary.maxMs} ms`);
  },
};

export const hygieneCases: ConformanceCase[] = [
  cidEcho,
  cidEchoOnError,
  unknownCommand,
  emptyPayload,
  malformedJson,
  nonObjectArray,
  nonObjectScalar,
  invalidUtf8,
  oversized,
  errorShape,
  concurrentRequests,
];
