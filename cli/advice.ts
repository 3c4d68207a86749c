/**
 * Turns what went wrong talking to a server into what to do next: which flag, which command.
 * Raw Node errors ("unable to verify the first certificate", ECONNREFUSED) say neither.
 */
import { certificateFiles } from '../certs/file-names.ts'; // not the index: that loads the CA's x509 library
import { UNTRUSTED_CHAIN_CODES } from '../device-link/index.ts';
import { RestError } from '../rest-client/index.ts';

export interface ConnectionContext {
  /** The URL dialled: the REST API's, or with `broker` set, the broker's. */
  server: string;
  /** The CA file used, and where its path came from. */
  ca?: { path: string; from: string };
  /** A broker URL given with --mqtt (harness), not a REST API: the advice names --mqtt and the client certificate. */
  broker?: boolean;
}

/** Next steps for errors answered by the server, by error name. */
const restHints: Record<string, string> = {
  UNAUTHORIZED: 'log in again: iotcloud login <username>',
  NOT_FOUND: 'list your devices with: iotcloud devices',
  FORBIDDEN: 'list your own devices with: iotcloud devices',
  DEVICE_OFFLINE: 'start the device (iotcloud sim, ft900-host or the board), or send anyway with: iotcloud cmd --wait',
  TIMEOUT: 'check the device is connected (iotcloud devices shows "online") and its log; raise --timeout for a slow device',
  TOO_MANY_REQUESTS: 'wait for the time given, then retry',
};

export function explain(error: unknown, context: ConnectionContext): string {
  return advise(error, context) ?? (error as Error).message ?? String(error);
}

/** What happened and the next step for a failure to reach or trust a server or broker; undefined when there is no advice for it. */
export function advise(error: unknown, context: ConnectionContext): string | undefined {
  if (error instanceof RestError) {
    const name = (error.body as { error?: { name?: string } } | undefined)?.error?.name;
    const hint = name ? restHints[name] : undefined;
    return hint ? `${error.message}\n  next: ${hint}` : error.message;
  }
  const e = error as NodeJS.ErrnoException & { reason?: string };
  const where = context.server;
  const [peer, urlFlag] = context.broker ? ['broker', '--mqtt'] : ['server', '--server'];
  const remembered = context.broker ? '' : '; `iotcloud login` remembers it';
  if (e.code === 'ECONNREFUSED') {
    return context.broker
      ? `nothing answers at ${where} (connection refused).\n  next: start the server with \`iotcloud up\` (its banner shows the broker URLs), or point at your broker with --mqtt URL`
      : `nothing answers at ${where} (connection refused).\n  next: start the server with \`iotcloud up\`, or point at yours with --server URL (or IOTCLOUD_SERVER)${remembered}`;
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `cannot resolve the host of ${where} (${e.code}).\n  next: check ${urlFlag}`;
  if (e.code && UNTRUSTED_CHAIN_CODES.has(e.code)) {
    const used = context.ca ? `the CA in ${context.ca.path} (${context.ca.from})` : 'the system CAs (no --ca or IOTCLOUD_CA given)';
    return `the ${peer} at ${where} presented a certificate that ${used} do${context.ca ? 'es' : ''} not vouch for (${e.message}).\n  next: pass that server's CA with --ca <its data dir>/ca/${certificateFiles.rootCert} (\`iotcloud up\` prints the path as "root CA"), or set IOTCLOUD_CA${remembered}`;
  }
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the ${peer}'s certificate does not name the host in ${where} (${e.reason ?? e.message}).\n  next: use ${urlFlag} with a name the certificate carries (localhost, 127.0.0.1, ::1 and any \`iotcloud up --tls-host\` names), or restart the server with --tls-host <that name or address>`;
  }
  if (e.code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || /alert certificate required/.test(e.message ?? '')) {
    return `the ${peer} at ${where} wants a client certificate, and none was given (TLS alert: certificate required).\n  next: pass --cert and --key, or for an iotcloud server use its service port: \`iotcloud up --service-port N\` and --mqtt mqtt://127.0.0.1:N --service-credentials <data dir>/service.json`;
  }
  if (e.code === 'EPROTO' || /wrong version number/.test(e.message ?? '')) {
    return context.broker
      ? `TLS failed with ${where} (${e.message}).\n  next: is it really mqtts? A plain MQTT port wants mqtt://`
      : `TLS failed with ${where} (${e.message}).\n  next: is it really https? A server started with --insecure-http wants http://`;
  }
  return undefined;
}
