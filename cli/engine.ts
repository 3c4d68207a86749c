/** Wires the chosen device-bus engine into the server: the CLI is the one place that joins modules. */
import { brokerConnection, rabbitmqctlControl } from '../broker/index.ts';
import type { ServerConfig } from '../server/config.ts';
import type { ServerDependencies } from '../server/server.ts';

export async function engineSetup(engine: 'embedded' | 'rabbitmq', brokerStateDir: string): Promise<{ config: Partial<ServerConfig>; dependencies: ServerDependencies }> {
  if (engine === 'embedded') return { config: { busEngine: 'embedded' }, dependencies: {} };
  const connection = await brokerConnection(brokerStateDir);
  return {
    config: { busEngine: 'rabbitmq', rabbitmq: { url: connection.amqpUrl, credentials: connection.credentials, deviceUrl: connection.mqttsUrl } },
    dependencies: { brokerControl: rabbitmqctlControl(connection.node) },
  };
}
