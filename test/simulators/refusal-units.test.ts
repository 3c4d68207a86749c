/**
 * Which failed connection attempts are refusals for good (the device stops, `iotcloud sim` exits
 * 3 or 4) and which may heal (retried with back-off), in each engine's own words: MQTT CONNACK
 * codes (aedes, RabbitMQ's MQTT plugin), amqplib's 403 ACCESS-REFUSED, rhea's
 * amqp:unauthorized-access, and real TLS alerts from a real handshake.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { ErrorWithReasonCode } from 'mqtt';
import { refusalOf } from '../../device-link/index.ts';
import { createEphemeralCertificateAuthority } from '../../certs/index.ts';
import { freePorts } from '../../testkit/rabbitmq-platform.ts';

const require = createRequire(import.meta.url);
const rheaErrors = require('rhea/lib/errors.js') as { ConnectionError: new (message: string, condition: string) => Error };

describe('refusalOf', () => {
  it('MQTT CONNACK: 4 and 5 (and 1, 2) refuse the identity; 3, server unavailable, may heal', () => {
    expect(refusalOf(new ErrorWithReasonCode('Connection refused: Not authorized', 5))).toEqual({ kind: 'identity', detail: 'MQTT CONNACK 5, not authorized' });
    expect(refusalOf(new ErrorWithReasonCode('Connection refused: Bad username or password', 4))?.kind).toBe('identity');
    expect(refusalOf(new ErrorWithReasonCode('Connection refused: Identifier rejected', 2))?.kind).toBe('identity');
    expect(refusalOf(new ErrorWithReasonCode('Connection refused: Server unavailable', 3))).toBeUndefined();
  });

  it('AMQP: amqplib 403 ACCESS-REFUSED and rhea amqp:unauthorized-access refuse; a closed connection may heal', () => {
    // amqplib's words when RabbitMQ closes the handshake (lib/connection.js, afterStartOk).
    const amqplib = new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL."');
    expect(refusalOf(amqplib)).toEqual({ kind: 'identity', detail: 'AMQP 403 ACCESS_REFUSED' });
    expect(refusalOf(new rheaErrors.ConnectionError('Failed to authenticate: 1', 'amqp:unauthorized-access'))?.kind).toBe('identity');
    expect(refusalOf(new Error('Connection closed: 320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - broker forced connection closure"'))).toBeUndefined();
  });

  it('transient failures are not refusals', () => {
    expect(refusalOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(refusalOf(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBeUndefined();
    expect(refusalOf(new Error('connection closed'))).toBeUndefined();
    expect(refusalOf('not an error')).toBeUndefined();
  });

  it('a real TLS handshake refused by the server (OpenSSL, as RabbitMQ does: an alert) is "identity"; a server the client does not trust is "untrusted-broker"', async () => {
    const serverCa = await createEphemeralCertificateAuthority();
    const otherCa = await createEphemeralCertificateAuthority();
    const server = await serverCa.issueServerCertificate(['localhost', '127.0.0.1']);
    const stranger = await otherCa.issueDeviceCertificate('stranger1');
    const dir = await mkdtemp(join(tmpdir(), 'iotcloud-refusal-'));
    const file = async (name: string, text: string) => (await writeFile(join(dir, name), text), join(dir, name));
    const [port] = await freePorts(1);
    // Node's own TLS server checks a client certificate after the handshake and just closes
    // (no alert); OpenSSL's s_server, like RabbitMQ's Erlang TLS, refuses with an alert.
    const openssl = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', await file('server.crt', server.certPem), '-key', await file('server.key', server.keyPem),
      '-CAfile', await file('trust.pem', serverCa.clientTrustPem), '-Verify', '1', '-verify_return_error', '-naccept', '2'], { stdio: ['pipe', 'pipe', 'pipe'] }); // stdin open: s_server stops at its EOF
    const attempt = (options: tls.ConnectionOptions) =>
      new Promise<Error>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', cert: stranger.certPem, key: stranger.keyPem, ...options });
        socket.resume(); // read, as a client does: TLS 1.3 sends the alert after the client's handshake
        socket.on('error', resolve);
        socket.on('close', () => resolve(new Error('closed without an error')));
      });
    try {
      await new Promise<void>((resolve, reject) => {
        openssl.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ACCEPT') && resolve());
        openssl.once('exit', (code) => reject(new Error(`openssl s_server exited with ${code}`)));
      });
      const refusedClient = await attempt({ ca: serverCa.rootCertPem });
      expect(refusalOf(refusedClient), String(refusedClient)).toEqual({ kind: 'identity', detail: 'TLS alert unknown ca about the device certificate' });
      const untrusted = await attempt({ ca: otherCa.rootCertPem });
      expect(refusalOf(untrusted)?.kind, String(untrusted)).toBe('untrusted-broker');
    } finally {
      openssl.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
