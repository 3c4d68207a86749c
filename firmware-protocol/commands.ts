/**
 * Every device command: its request and response as runtime schemas (TypeBox, i.e. JSON Schema)
 * with their static types. This table is the single source of truth; the codec, the JSON Schema
 * files, docs/protocol.md and the C header are all derived from it.
 */
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { commandNames, type CommandName } from './command-names.ts';
import { limits } from './limits.ts';

export { commandNames, isCommandName, type CommandName } from './command-names.ts';

const GpioNumber = Type.Integer({
  minimum: limits.gpioMin,
  maximum: limits.gpioMax,
  description: `GPIO pin number, ${limits.gpioMin}..${limits.gpioMax}`,
});
const GpioLevel = Type.Union([Type.Literal(0), Type.Literal(1)], { description: 'pin level, 0 or 1' });
const EpochSeconds = Type.Integer({
  minimum: 0,
  maximum: limits.rtcMax,
  description: 'date-time as seconds since 1970-01-01T00:00:00Z (UTC), unsigned 32-bit',
});
const Octet = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const Ipv4 = Type.String({
  pattern: `^${Octet}(\\.${Octet}){3}$`,
  maxLength: 15,
  description: 'IPv4 address in dotted-quad form, e.g. 192.168.1.20',
});
const Mac = Type.String({
  pattern: '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$',
  maxLength: 17,
  description: 'MAC address, six colon-separated hex octets, e.g. 44:d5:f2:00:12:7a',
});
const UartData = Type.String({
  minLength: 1,
  maxLength: limits.uartMaxBytes,
  description: `text to write to the UART, 1..${limits.uartMaxBytes} UTF-8 bytes`,
});
const RestartWord = Type.Literal('restart', { description: 'what to do; only `restart` exists' });
const DeviceStatus = Type.Union([Type.Literal('running'), Type.Literal('restarting')], {
  description: 'device state',
});

const strict = { additionalProperties: false } as const;

/**
 * The kind of every request field type, by schema: generated code (the C header, the Python
 * example's table) names a field's check by its kind, and each device implements one check per
 * kind. A request field of a new type needs a kind here (the generators refuse one without).
 */
export const requestFieldKinds: ReadonlyMap<TSchema, string> = new Map<TSchema, string>([
  [GpioNumber, 'gpio_number'],
  [GpioLevel, 'gpio_level'],
  [EpochSeconds, 'epoch_seconds'],
  [UartData, 'uart_data'],
  [RestartWord, 'restart_word'],
]);

export interface CommandSpec<Req extends TObject = TObject, Res extends TObject = TObject> {
  summary: string;
  /** What the device must do, in words a firmware developer can implement from. */
  behaviour: string;
  request: Req;
  response: Res;
  example: { request: Static<Req>; response: Static<Res> };
  /** The device restarts after answering (drops its connection, comes back with power-on state). */
  restarts?: true;
  /** Extra checks JSON Schema cannot express; returns the failing field and why, or undefined. */
  refine?: (request: Static<Req>) => { field: string; message: string } | undefined;
}

function command<Req extends TObject, Res extends TObject>(spec: CommandSpec<Req, Res>): CommandSpec<Req, Res> {
  return spec;
}

const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');

export const commands = {
  get_gpio: command({
    summary: 'Read the level of one GPIO pin.',
    behaviour: 'Answer the current level of pin `number` (an output reads back what was last set).',
    request: Type.Object({ number: GpioNumber }, strict),
    response: Type.Object({ number: GpioNumber, value: GpioLevel }),
    example: { request: { number: 18 }, response: { number: 18, value: 1 } },
  }),
  set_gpio: command({
    summary: 'Drive one GPIO pin high or low.',
    behaviour: 'Make pin `number` an output at level `value`, then answer the pin and its new level.',
    request: Type.Object({ number: GpioNumber, value: GpioLevel }, strict),
    response: Type.Object({ number: GpioNumber, value: GpioLevel }),
    example: { request: { number: 18, value: 1 }, response: { number: 18, value: 1 } },
  }),
  get_rtc: command({
    summary: 'Read the real-time clock.',
    behaviour: 'Answer the RTC as epoch seconds. The clock keeps running after set_rtc.',
    request: Type.Object({}, strict),
    response: Type.Object({ value: EpochSeconds }),
    example: { request: {}, response: { value: 1_764_144_000 } },
  }),
  set_rtc: command({
    summary: 'Set the real-time clock.',
    behaviour: 'Set the RTC to `value` and answer the value set; the clock goes on ticking from it.',
    request: Type.Object({ value: EpochSeconds }, strict),
    response: Type.Object({ value: EpochSeconds }),
    example: { request: { value: 1_764_144_000 }, response: { value: 1_764_144_000 } },
  }),
  get_mac: command({
    summary: 'Read the Ethernet MAC address.',
    behaviour: 'Answer the MAC address of the network interface.',
    request: Type.Object({}, strict),
    response: Type.Object({ value: Mac }),
    example: { request: {}, response: { value: '44:d5:f2:00:12:7a' } },
  }),
  get_ip: command({
    summary: 'Read the IPv4 address.',
    behaviour: 'Answer the IPv4 address of the network interface.',
    request: Type.Object({}, strict),
    response: Type.Object({ value: Ipv4 }),
    example: { request: {}, response: { value: '192.168.1.20' } },
  }),
  get_subnet: command({
    summary: 'Read the IPv4 subnet mask.',
    behaviour: 'Answer the subnet mask of the network interface.',
    request: Type.Object({}, strict),
    response: Type.Object({ value: Ipv4 }),
    example: { request: {}, response: { value: '255.255.255.0' } },
  }),
  get_gateway: command({
    summary: 'Read the IPv4 default gateway.',
    behaviour: 'Answer the default gateway of the network interface.',
    request: Type.Object({}, strict),
    response: Type.Object({ value: Ipv4 }),
    example: { request: {}, response: { value: '192.168.1.1' } },
  }),
  get_status: command({
    summary: 'Read the device state (a cheap liveness check).',
    behaviour: 'Answer `running` when the device accepts commands.',
    request: Type.Object({}, strict),
    response: Type.Object({ status: DeviceStatus }),
    example: { request: {}, response: { status: 'running' } },
  }),
  reset_device: command({
    summary: 'Restart the device.',
    behaviour:
      'Answer `restarting` first, then restart: drop the broker connection, reset GPIO, UART and ' +
      'network state to power-on defaults, and connect again.',
    request: Type.Object({}, strict),
    response: Type.Object({ status: DeviceStatus }),
    example: { request: {}, response: { status: 'restarting' } },
    restarts: true,
  }),
  write_uart: command({
    summary: 'Write text to the UART.',
    behaviour: 'Write `data` to the UART and answer the data written.',
    request: Type.Object({ data: UartData }, strict),
    response: Type.Object({ data: UartData }),
    example: { request: { data: 'hello ft900' }, response: { data: 'hello ft900' } },
    refine: (request) =>
      utf8Length(request.data) > limits.uartMaxBytes
        ? { field: '/data', message: `data is ${utf8Length(request.data)} UTF-8 bytes, the limit is ${limits.uartMaxBytes}` }
        : undefined,
  }),
  set_status: command({
    summary: 'Restart the device, the way original libpyiotcloud firmware does it.',
    behaviour:
      'The original devices restart on `set_status` with `status` `restart`. Same as reset_device: ' +
      'answer `restarting` first, then restart: drop the broker connection, reset GPIO, UART and ' +
      'network state to power-on defaults, and connect again.',
    request: Type.Object({ status: RestartWord }, strict),
    response: Type.Object({ status: DeviceStatus }),
    example: { request: { status: 'restart' }, response: { status: 'restarting' } },
    restarts: true,
  }),
} as const satisfies Record<CommandName, unknown>; // a new command: \`npm run generate\` adds its name

export type Commands = typeof commands;
export type RequestOf<C extends CommandName> = Static<Commands[C]['request']>;
export type ResponseOf<C extends CommandName> = Static<Commands[C]['response']>;

/** Commands after whose answer the device restarts (reset_device, and set_status of the original devices). */
export const restartingCommands: readonly CommandName[] = commandNames.filter((name) => (commands[name] as CommandSpec).restarts === true);

/** The error body a device sends instead of a result. */
export const ErrorBody = Type.Object({
  code: Type.Integer({ minimum: 1, maximum: 255, description: 'stable error code (see the error table)' }),
  name: Type.Optional(Type.String({ maxLength: 32, description: 'error name, e.g. INVALID_PARAMS' })),
  message: Type.String({ maxLength: 1024, description: 'what went wrong, for a person' }),
  field: Type.Optional(Type.String({ maxLength: 64, description: 'JSON pointer of the field at fault' })),
});
export type ErrorBody = Static<typeof ErrorBody>;
