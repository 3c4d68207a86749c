/**
 * Turns what went wrong talking to a server into what to do next: which flag, which command.
 * Raw Node errors ("unable to verify the first certificate", ECONNREFUSED) say neither.
 */
import { RestError } from '../rest-client/index.ts';

export interface ConnectionContext {
  server: string;
  /** The CA file used, and where its path came from. */
  ca?: { path: string; from: string };
}

const tlsTrustCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

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
  if (error instanceof RestError) {
    const name = (error.body as { error?: { name?: string } } | undefined)?.error?.name;
    const hint = name ? restHints[name] : undefined;
    return hint ? `${error.message}\n  next: ${hint}` : error.message;
  }
  const e = error as NodeJS.ErrnoException & { reason?: string };
  const where = context.server;
  if (e.code === 'ECONNREFUSED') {
    return `nothing answers at ${where} (connection refused).\n  next: start the server with \`iotcloud up\`, or point at yours with --server URL (or IOTCLOUD_SERVER); \`iotcloud login\` remembers it`;
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `cannot resolve the host of ${where} (${e.code}).\n  next: check --server`;
  if (e.code && tlsTrustCodes.has(e.code)) {
    const used = context.ca ? `the CA in ${context.ca.path} (${context.ca.from})` : 'no CA file (the system CAs only)';
    return `the server at ${where} presented a certificate that ${used} does not vouch for (${e.message}).\n  next: pass that server's CA with --ca <its data dir>/ca/rootca.pem (\`iotcloud up\` prints the path), or set IOTCLOUD_CA; \`iotcloud login\` remembers it`;
  }
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the server's certificate does not name the host in ${where} (${e.reason ?? e.message}).\n  next: use --server with a name the certificate carries (localhost, 127.0.0.1 or ::1 by default)`;
  }
  if (e.code === 'EPROTO' || /wrong version number/.test(e.message ?? '')) {
    return `TLS failed with ${where} (${e.message}).\n  next: is it really https? A server started with --insecure-http wants http://`;
  }
  return (e as Error).message ?? String(error);
}
