/** fast-check generators of valid protocol messages, one per command. */
import fc from 'fast-check';
import { limits, type CommandName, type RequestOf, type ResponseOf } from '../../firmware-protocol/index.ts';

const gpio = fc.integer({ min: limits.gpioMin, max: limits.gpioMax });
const level = fc.constantFrom(0 as const, 1 as const);
const epoch = fc.integer({ min: 0, max: limits.rtcMax });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const mac = fc.array(fc.nat(255), { minLength: 6, maxLength: 6 }).map((o) => o.map((b) => b.toString(16).padStart(2, '0')).join(':'));
// Any Unicode text that fits the UART limit in UTF-8 bytes.
const uart = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 }).filter((s) => s.length > 0 && Buffer.byteLength(s) <= limits.uartMaxBytes);
const status = fc.constantFrom('running' as const, 'restarting' as const);

type Pair<C extends CommandName> = fc.Arbitrary<{ request: RequestOf<C>; response: ResponseOf<C> }>;
const none = fc.constant({});

export const messageArbitraries: { [C in CommandName]: Pair<C> } = {
  get_gpio: fc.record({ request: fc.record({ number: gpio }), response: fc.record({ number: gpio, value: level }) }),
  set_gpio: fc.record({ request: fc.record({ number: gpio, value: level }), response: fc.record({ number: gpio, value: level }) }),
  get_rtc: fc.record({ request: none, response: fc.record({ value: epoch }) }),
  set_rtc: fc.record({ request: fc.record({ value: epoch }), response: fc.record({ value: epoch }) }),
  get_mac: fc.record({ request: none, response: fc.record({ value: mac }) }),
  get_ip: fc.record({ request: none, response: fc.record({ value: ipv4 }) }),
  get_subnet: fc.record({ request: none, response: fc.record({ value: ipv4 }) }),
  get_gateway: fc.record({ request: none, response: fc.record({ value: ipv4 }) }),
  get_status: fc.record({ request: none, response: fc.record({ status }) }),
  reset_device: fc.record({ request: none, response: fc.record({ status }) }),
  write_uart: fc.record({ request: fc.record({ data: uart }), response: fc.record({ data: uart }) }),
  set_status: fc.record({ request: fc.constant({ status: 'restart' as const }), response: fc.record({ status }) }),
};

export const deviceIdArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);
export const cidArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/);
