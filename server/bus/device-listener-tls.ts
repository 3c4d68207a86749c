/**
 * TLS settings of the listener devices connect to (the embedded broker): mutual TLS against the
 * device CA, tuned for thousands of handshakes. bench/tls-ceiling.ts measures handshakes with
 * exactly these.
 */
import { constants as cryptoConstants } from 'node:crypto';
import tls from 'node:tls';

export interface DeviceListenerTlsMaterial {
  /** CAs whose client certificates are accepted: the CA's clientTrustPem (the device CA). */
  clientTrustPem: string;
  /** The listener's certificate, from the root devices trust; presented alone (see certs/ca.ts). */
  certPem: string;
  keyPem: string;
}

/**
 * Node's cipher order with TLS 1.3's AES-128-GCM-SHA256 first, chosen by the server. Its key
 * schedule hashes with SHA-256, which x86 (SHA-NI) and the crypto engines of MCU TLS stacks do in
 * hardware; the default AES-256-GCM-SHA384 was ~2% of each side's CPU per handshake here in
 * SHA-512 code alone. AES-128-GCM is TLS 1.3's mandatory suite.
 */
const DEVICE_CIPHERS = ['TLS_AES_128_GCM_SHA256', ...tls.DEFAULT_CIPHERS.split(':').filter((name) => name !== 'TLS_AES_128_GCM_SHA256')].join(':');

export function deviceListenerTlsOptions(material: DeviceListenerTlsMaterial): tls.TlsOptions {
  return {
    ca: material.clientTrustPem,
    cert: material.certPem,
    key: material.keyPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    // No session tickets: a device proves its key on every connection (resumption would skip
    // the certificate), and issuing two tickets per handshake was ~0.4 ms of server CPU each
    // CONNECT, a quarter of its TLS cost (bench/fleet.ts).
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
    ciphers: DEVICE_CIPHERS,
    honorCipherOrder: true,
  };
}
