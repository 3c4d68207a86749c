/**
 * Prometheus metrics (prom-client, text format at /metrics): connected devices, connects and
 * disconnects, commands by outcome, command round-trip histogram, registry latency, plus Node's
 * process metrics. Conventional names: `_total` counters, `_seconds` histograms.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CommandOutcome } from '../../firmware-protocol/index.ts';
import type { PresenceEvent } from '../bus/device-bus.ts';
import type { RegistryOperation } from '../devices.ts';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly connects: Counter;
  private readonly disconnects: Counter;
  /** One child per outcome, bound once: inc() then skips hashing the labels on every command. */
  private readonly commandsBy: Record<CommandOutcome['status'], { inc(): void }>;
  private readonly commandSeconds: Histogram;
  private readonly registrySeconds: Histogram<'operation'>;

  constructor(connectedDevices: () => number) {
    const registers = [this.registry];
    new Gauge({
      name: 'iotcloud_devices_connected',
      help: 'Devices connected to the device bus now',
      registers,
      collect() {
        this.set(connectedDevices());
      },
    });
    this.connects = new Counter({ name: 'iotcloud_device_connects_total', help: 'Device connections opened', registers });
    this.disconnects = new Counter({ name: 'iotcloud_device_disconnects_total', help: 'Device connections closed', registers });
    const commands = new Counter({ name: 'iotcloud_commands_total', help: 'Device commands by outcome (ok, device-error, invalid-answer, timeout, unavailable)', labelNames: ['outcome'], registers });
    this.commandSeconds = new Histogram({
      name: 'iotcloud_command_duration_seconds',
      help: 'Round trip of answered commands: server -> device -> server',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.registrySeconds = new Histogram({
      name: 'iotcloud_registry_operation_duration_seconds',
      help: 'Device registry operations (register, unregister, list, lookup)',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    const child = (outcome: CommandOutcome['status']) => {
      commands.inc({ outcome }, 0); // every series present from the start
      return commands.labels({ outcome });
    };
    this.commandsBy = { ok: child('ok'), 'device-error': child('device-error'), 'invalid-answer': child('invalid-answer'), timeout: child('timeout'), unavailable: child('unavailable') };
    collectDefaultMetrics({ register: this.registry, prefix: 'iotcloud_' });
  }

  presence(event: PresenceEvent): void {
    (event.online ? this.connects : this.disconnects).inc();
  }

  command(outcome: CommandOutcome): void {
    this.commandsBy[outcome.status].inc();
    if (outcome.status === 'ok' || outcome.status === 'device-error') this.commandSeconds.observe(outcome.elapsedMs / 1000);
  }

  registryOperation(operation: RegistryOperation, seconds: number): void {
    this.registrySeconds.observe({ operation }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
