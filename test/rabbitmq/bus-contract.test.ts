/** The DeviceBus contract on the RabbitMQ engine: a project-owned node of its own, the server's broker-auth endpoints, MQTTS devices. */
import { existsSync } from 'node:fs';
import { rabbitmqBin } from '../../broker/layout.ts';
import { startRabbitmqPlatform } from '../../testkit/rabbitmq-platform.ts';
import { defineBusContract } from '../server/bus-contract.ts';

defineBusContract('RabbitMQ', {
  // Presence comes through the node's event exchange: under a loaded machine it once took over 5 s.
  presenceWithinMs: 15_000,
  async open() {
    // A missing RabbitMQ fails these tests with what to install; it never skips them.
    if (!existsSync(`${rabbitmqBin}/rabbitmq-server`)) throw new Error(`RabbitMQ is not installed (${rabbitmqBin}/rabbitmq-server is missing): run bash scripts/setup-system.sh as root`);
    const platform = await startRabbitmqPlatform();
    return {
      bus: platform.bus,
      register: (deviceId) => platform.register(deviceId),
      restart: async () => void (await platform.restartNode()),
      close: () => platform.close(),
    };
  },
});
