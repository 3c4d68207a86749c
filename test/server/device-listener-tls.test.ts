/**
 * What crosses the wire in a device handshake with the embedded broker's listener settings: each
 * side sends its own certificate and never a root the other already trusts (certs/ca.ts says why).
 * TLS 1.2 keeps the Certificate messages readable, so a recording TCP relay between a device and
 * the listener sees exactly which certificates travel.
 */
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEphemeralCertificateAuthority, type CertificateAuthority, type IssuedCertificate } from '../../certs/index.ts';
import { deviceListenerTlsOptions } from '../../server/bus/device-listener-tls.ts';
import { commonNameOf, peerIdentity, type PeerIdentity } from '../../server/bus/peer-identity.ts';
import { certificateAuthorityFromPem } from '../../certs/ca.ts';
import { createRoot } from '../../certs/root.ts';
import { deviceTlsContext } from '../../device-link/index.ts';

const der = (pem: string) => new X509Certificate(pem).raw;

interface Relay {
  port: number;
  /** Bytes the device sent and bytes the listener sent, so far. */
  recorded(): { fromDevice: Buffer; fromListener: Buffer };
  close(): Promise<void>;
}

/** A TCP relay to `targetPort` that keeps a copy of both directions of its one connection. */
async function recordingRelay(targetPort: number): Promise<Relay> {
  const fromDevice: Buffer[] = [];
  const fromListener: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((device) => {
    const listener = net.connect(targetPort, '127.0.0.1');
    sockets.add(device).add(listener);
    device.on('data', (chunk: Buffer) => fromDevice.push(chunk));
    listener.on('data', (chunk: Buffer) => fromListener.push(chunk));
    device.pipe(listener).on('error', () => undefined);
    listener.pipe(device).on('error', () => undefined);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  return {
    port: (relay.address() as AddressInfo).port,
    recorded: () => ({ fromDevice: Buffer.concat(fromDevice), fromListener: Buffer.concat(fromListener) }),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => relay.close(() => resolve()));
    },
  };
}

let ca: CertificateAuthority;
let serverCert: IssuedCertificate;
let device: IssuedCertificate;
let listener: tls.Server;
const accepted: (PeerIdentity | string)[] = [];

beforeAll(async () => {
  ca = await createEphemeralCertificateAuthority();
  serverCert = await ca.issueServerCertificate(['127.0.0.1']);
  device = await ca.issueDeviceCertificate('wire-device');
  listener = tls.createServer(deviceListenerTlsOptions({ clientTrustPem: ca.clientTrustPem, certPem: serverCert.certPem, keyPem: serverCert.keyPem }), (socket) => {
    accepted.push(peerIdentity(socket)); // what the embedded broker reads on CONNECT
    socket.end();
  });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
});
afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

describe('device listener TLS on the wire', () => {
  it('a device and the listener each send their own certificate, and no root', async () => {
    const relay = await recordingRelay((listener.address() as AddressInfo).port);
    try {
      // A device's TLS context (deviceTlsContext) capped at TLS 1.2; an explicit secureContext
      // would ignore a maxVersion given to connect.
      const context = tls.createSecureContext({ ca: ca.rootCertPem, cert: device.certPem, key: device.keyPem, maxVersion: 'TLSv1.2' });
      const socket = tls.connect({ host: '127.0.0.1', port: relay.port, secureContext: context });
      await once(socket, 'secureConnect');
      expect(socket.authorized).toBe(true);
      socket.resume();
      // Closed by the listener after it accepted the device: every handshake byte has passed the relay.
      await once(socket, 'close');
      const { fromDevice, fromListener } = relay.recorded();

      expect(fromListener.includes(der(serverCert.certPem))).toBe(true); // the search sees certificates at all
      expect(fromDevice.includes(der(device.certPem))).toBe(true);
      expect(fromListener.includes(der(ca.rootCertPem))).toBe(false);
      expect(fromDevice.includes(der(ca.clientTrustPem))).toBe(false);
      expect(fromDevice.includes(der(ca.rootCertPem))).toBe(false);
      expect(accepted).toContainEqual({ commonName: 'wire-device', fingerprint: device.fingerprint });
    } finally {
      await relay.close();
    }
  });

  it('refuses a client certificate signed by the root: only the device CA issues device identities', async () => {
    const [root, deviceCa] = await Promise.all([createRoot(), createRoot('iotcloud root CA: devices')]);
    const platform = await certificateAuthorityFromPem({ root, deviceCa }, 'test');
    // The root's key minting a device-shaped certificate, as the root alone once did.
    const rootSigned = await (await certificateAuthorityFromPem({ root, deviceCa: root }, 'test')).issueDeviceCertificate('root-signed');
    const own = await platform.issueServerCertificate(['127.0.0.1']);
    const server = tls.createServer(deviceListenerTlsOptions({ clientTrustPem: platform.clientTrustPem, certPem: own.certPem, keyPem: own.keyPem }), (socket) => socket.end('accepted'));
    server.on('tlsClientError', () => undefined);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const answer = async (device: { certPem: string; keyPem: string }) => {
      const socket = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, secureContext: deviceTlsContext({ caPem: root.certPem, ...device }) });
      let received = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
      socket.on('error', () => undefined);
      await once(socket, 'close');
      return received;
    };
    try {
      expect(await answer(await platform.issueDeviceCertificate('from-device-ca'))).toBe('accepted');
      expect(await answer(rootSigned)).toBe('');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('the identity the broker reads from a device certificate', () => {
  it('is the one CN of the subject; none or two is no identity', () => {
    expect(commonNameOf('CN=lamp-1')).toBe('lamp-1');
    expect(commonNameOf('C=DE\nO=Acme\nCN=lamp-1')).toBe('lamp-1');
    expect(commonNameOf('O=Acme')).toBeUndefined();
    expect(commonNameOf('CN=lamp-1\nCN=lamp-2')).toBeUndefined();
    expect(commonNameOf('O=CN=lamp-1')).toBeUndefined(); // a CN inside another field's value is not one
  });
});
