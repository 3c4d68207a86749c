/** Wires the chosen device-bus engine into the server: the CLI is the one place that joins modules. */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
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
export async function engineSetup(engine: 'embedded' | 'rabbitmq', brokerStateDir: string, dataDir: string, tlsHosts: readonly string[] = []): Promise<{ config: Partial<ServerConfig>; dependencies: ServerDependencies }> {
  if (engine === 'embedded') return { config: { busEngine: 'embedded' }, dependencies: {} };
  const connection = await brokerConnection(brokerStateDir);
  const missing = connection.serverCertPem === undefined ? [] : namesNotIn(connection.serverCertPem, tlsHosts);
  if (missing.length > 0) {
    // The node copied its certificate when it started: a name added to `up` alone never reaches it.
    console.error(`iotcloud up: warning: the RabbitMQ node's certificate does not name ${missing.join(', ')}, so boards dialling it fail the host check: restart it with \`iotcloud broker stop\` and \`iotcloud broker start --tls-host ${missing.join(' --tls-host ')}\` (and --device-host 0.0.0.0 for the LAN)`);
  }
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

/** The hosts a certificate does not cover (names by its DNS SANs, addresses by its IP SANs). */
function namesNotIn(certPem: string, hosts: readonly string[]): string[] {
  const certificate = new X509Certificate(certPem);
  return hosts.filter((host) => (isIP(host) === 0 ? certificate.checkHost(host) : certificate.checkIP(host)) === undefined);
}
