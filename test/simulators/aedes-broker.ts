/**
 * A real aedes broker on MQTTS with mutual TLS for tests, configured like the embedded engine:
 * the certificate's CN must be the client id, a device subscribes only `<id>/#` and publishes
 * only `server/<id>/...`; one named client plays the server.
 */
import { once } from 'node:events';
import tls from 'node:tls';
import { Aedes, type Client } from 'aedes';
import { serverSubscription } from '../../firmware-protocol/index.ts';

export interface TestBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface TestBrokerOptions {
  /** CAs client certificates must come from (the device CA). */
  clientTrustPem: string;
  serverCert: { certPem: string; keyPem: string };
  /** Client id of the test's "server": it may subscribe `server/+/+` and publish anything. */
  serverId: string;
  /** 0 (default) for any free port. */
  port?: number;
}

/** The CN of a client's TLS certificate: who it is, whatever it claims. */
function certificateCn(client: Client): string | undefined {
  const cn = (client.conn as tls.TLSSocket).getPeerCertificate?.().subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

export async function startTestBroker(options: TestBrokerOptions): Promise<TestBroker> {
  const { serverId } = options;
  const broker = await Aedes.createBroker({
    authenticate: (client, _username, _password, done) => {
      const ok = certificateCn(client) === client.id;
      done(ok ? null : Object.assign(new Error('certificate CN is not the client id'), { returnCode: 5 }), ok);
    },
    authorizeSubscribe: (client, subscription, done) => {
      const allowed = client.id === serverId ? subscription.topic === serverSubscription() : subscription.topic === `${client.id}/#`;
      done(allowed ? null : new Error(`${client.id} may not subscribe ${subscription.topic}`), subscription);
    },
    authorizePublish: (client, packet, done) => {
      const allowed = client?.id === serverId || packet.topic.startsWith(`server/${client?.id}/`);
      done(allowed ? null : new Error(`${client?.id} may not publish ${packet.topic}`));
    },
  });
  const server = tls.createServer(
    { key: options.serverCert.keyPem, cert: options.serverCert.certPem, ca: options.clientTrustPem, requestCert: true, rejectUnauthorized: true },
    (socket) => {
      socket.setNoDelay(true); // else Nagle + delayed ACK add ~40 ms to every exchange
      broker.handle(socket);
    },
  );
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtts://127.0.0.1:${port}`,
    port,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve())); // closes every client
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
