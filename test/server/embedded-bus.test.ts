/** The DeviceBus contract on the embedded engine: aedes in the server, MQTTS with the platform's certificates. */
import pino from 'pino';
import { createEphemeralCertificateAuthority } from '../../certs/index.ts';
import type { DeviceBus } from '../../server/bus/device-bus.ts';
import { startEmbeddedBus, type EmbeddedBusOptions } from '../../server/bus/embedded.ts';
import { defineBusContract } from './bus-contract.ts';

defineBusContract('embedded (aedes)', {
  presenceWithinMs: 10_000,
  async open() {
    const ca = await createEphemeralCertificateAuthority();
    const serverTls = await ca.issueServerCertificate(['localhost', '127.0.0.1']);
    const active = new Map<string, string>(); // device id -> certificate fingerprint: the registry
    const options: EmbeddedBusOptions = {
      host: '127.0.0.1',
      port: 0,
      tls: { clientTrustPem: ca.clientTrustPem, certPem: serverTls.certPem, keyPem: serverTls.keyPem },
      authority: { isDeviceActive: async (deviceId, fingerprint) => active.get(deviceId) === fingerprint },
      logger: pino({ level: process.env.IOTCLOUD_TEST_LOG ?? 'silent' }),
    };
    let bus: DeviceBus = await startEmbeddedBus(options);
    const port = Number(new URL(bus.deviceUrl).port);
    return {
      get bus() {
        return bus;
      },
      async register(deviceId) {
        const issued = await ca.issueDeviceCertificate(deviceId);
        active.set(deviceId, issued.fingerprint);
        return { caPem: ca.rootCertPem, certPem: issued.certPem, keyPem: issued.keyPem };
      },
      async restart() {
        await bus.close();
        bus = await startEmbeddedBus({ ...options, port });
      },
      close: () => bus.close(),
    };
  },
});
