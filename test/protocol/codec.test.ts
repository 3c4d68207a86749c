import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  commandNames,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  errorCodes,
  serverSubscription,
  type CommandName,
  type Transport,
} from '../../firmware-protocol/index.ts';
import { cidArb, deviceIdArb, messageArbitraries } from './arbitraries.ts';

const transports: Transport[] = ['mqtt', 'amqp'];

describe('codec round trip (property)', () => {
  for (const command of commandNames) {
    it(`${command}: request and response survive encode -> decode on both transports`, () => {
      fc.assert(
        fc.property(deviceIdArb, cidArb, fc.option(cidArb, { nil: undefined }), fc.constantFrom(...transports), messageArbitraries[command] as fc.Arbitrary<{ request: object; response: object }>,
          (deviceId, cid, maybeCid, transport, { request, response }) => {
            const sent = encodeRequest(deviceId, command as CommandName, request as never, { cid, transport });
            expect(sent.ok).toBe(true);
            if (!sent.ok) return;
            const received = decodeRequest(sent.value.topic, sent.value.payload, { transport });
            expect(received).toEqual({ ok: true, value: { deviceId, command, cid, params: request } });

            const answered = encodeResponse(deviceId, command, { result: response as never }, { cid: maybeCid, transport });
            expect(answered.ok).toBe(true);
            if (!answered.ok) return;
            const back = decodeResponse(answered.value.topic, answered.value.payload, { transport });
            expect(back).toEqual({ ok: true, value: { deviceId, command, ok: true, result: response, ...(maybeCid === undefined ? {} : { cid: maybeCid }) } });
          }),
        { numRuns: 150 },
      );
    });
  }

  it('error answers round-trip with code, name, message and field', () => {
    fc.assert(
      fc.property(deviceIdArb, cidArb, fc.constantFrom(...commandNames), fc.constantFrom(...Object.values(errorCodes)), fc.string({ maxLength: 100 }),
        (deviceId, cid, command, code, message) => {
          const encoded = encodeResponse(deviceId, command, { error: { code, message, field: '/number' } }, { cid });
          expect(encoded.ok).toBe(true);
          if (!encoded.ok) return;
          const decoded = decodeResponse(encoded.value.topic, encoded.value.payload);
          expect(decoded.ok && decoded.value.ok === false && decoded.value.error).toMatchObject({ code, message, field: '/number' });
        }),
      { numRuns: 200 },
    );
  });
});

describe('wire compatibility with the original devices', () => {
  it('uses <id>/<api> and server/<id>/<api> on MQTT, dots on AMQP', () => {
    const mqtt = encodeRequest('ft900device1', 'get_gpio', { number: 3 });
    const amqp = encodeRequest('ft900device1', 'get_gpio', { number: 3 }, { transport: 'amqp' });
    expect(mqtt.ok && mqtt.value.topic).toBe('ft900device1/get_gpio');
    expect(amqp.ok && amqp.value.topic).toBe('ft900device1.get_gpio');
    const answer = encodeResponse('ft900device1', 'get_gpio', { result: { number: 3, value: 1 } }, { transport: 'amqp' });
    expect(answer.ok && answer.value.topic).toBe('server.ft900device1.get_gpio');
  });

  it('servers subscribe with each transport\'s own one-level wildcard', () => {
    expect(serverSubscription('mqtt')).toBe('server/+/+');
    expect(serverSubscription('amqp')).toBe('server.*.*');
  });

  it('accepts an original device answer without cid or error fields', () => {
    const decoded = decodeResponse('server/ft900device1/get_gpio', '{"number":3,"value":1}');
    expect(decoded).toEqual({ ok: true, value: { deviceId: 'ft900device1', command: 'get_gpio', ok: true, result: { number: 3, value: 1 } } });
  });

  it('a request without cid decodes (an original server) and an empty payload means {}', () => {
    expect(decodeRequest('dev1/get_rtc', '')).toEqual({ ok: true, value: { deviceId: 'dev1', command: 'get_rtc', params: {} } });
    expect(decodeRequest('dev1/set_gpio', '{"number":1,"value":0}').ok).toBe(true);
  });

  it('keeps only the spec fields of an answer that carries extra ones', () => {
    const decoded = decodeResponse('server/d/get_mac', '{"value":"44:d5:f2:00:12:7a","firmware":"1.2"}');
    expect(decoded.ok && decoded.value.ok && decoded.value.result).toEqual({ value: '44:d5:f2:00:12:7a' });
  });
});
