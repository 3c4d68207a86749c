/** PEM framing (RFC 7468) done here so every PEM this module writes has the same shape. */
export type PemLabel = 'CERTIFICATE' | 'PRIVATE KEY';

export function encodePem(der: Uint8Array, label: PemLabel): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** DER of the first `label` block in `pem`; undefined when there is none. */
export function decodePem(pem: string, label: PemLabel): Uint8Array<ArrayBuffer> | undefined {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  return match ? new Uint8Array(Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64')) : undefined;
}

/** One PEM bundle of the certificates in `pems`, each once, in order (a trust file for OpenSSL or Erlang). */
export function certificateBundle(...pems: string[]): string {
  const blocks = pems.flatMap((pem) => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []);
  return `${[...new Set(blocks)].join('\n')}\n`;
}
