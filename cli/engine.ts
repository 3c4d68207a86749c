/** Wires the chosen device-bus engine into the server: the CLI is the one place that joins modules. */
import { join } from 'node:path';
import { brokerAuthNodeUser, brokerConnection, rabbitmqctlControl } from '../broker/index.ts';
import { loadOrCreateCertificateAuthority } from '../certs/index.ts';
import type { ServerConfig } from '../server/config.ts';
import type { ServerDependencies } from '../server/server.ts';

/**
 * The RabbitMQ engine: the server logs in over AMQPS as the node's internal service user by a
 * client certificate for that service (SASL EXTERNAL, no password), issued now by the platform CA
 * (not stored; a new one at every start).
 */
export async function engineSetup(engine: 'embedded' | 'rabbitmq', brokerStateDir: string, dataDir: string): Promise<{ config: Partial<ServerConfig>; dependencies: ServerDependencies }> {
  if (engine === 'embedded') return { config: { busEngine: 'embedded' }, dependencies: {} };
  const connection = await brokerConnection(brokerStateDir);
  const ca = await loadOrCreateCertificateAuthority(join(dataDir, 'ca'));
  const service = await ca.issueServiceCertificate(connection.credentials.username, { validDays: 30 });
  return {
    config: {
      busEngine: 'rabbitmq',
      rabbitmq: {
        url: connection.amqpsUrl,
        serviceUser: connection.credentials.username,
        authNode: { user: brokerAuthNodeUser, secret: connection.credentials.authSecret },
        tls: { caPem: ca.rootCertPem, certPem: service.certPem, keyPem: service.keyPem },
        deviceUrl: connection.mqttsUrl,
      },
    },
    dependencies: { brokerControl: rabbitmqctlControl(connection.node) },
  };
}
