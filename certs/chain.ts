/**
 * The certificates a TLS peer presents, handed to OpenSSL as an explicit chain. Given a leaf
 * alone, OpenSSL rebuilds the chain from its trust store on every handshake (a full
 * X509_verify_cert, ~2% of the embedded broker's CPU during a fleet ramp) and sends the leaf and
 * the root anyway; handed the chain, it sends it as is. Same bytes on the wire, less work. The
 * price is a second parsed copy of the issuer per TLS context (~8 KB): right for a server, too
 * much for each of ten thousand simulated devices.
 */
const certificateBlock = /-----BEGIN CERTIFICATE-----/g;

/** `leafPem` followed by `issuerPem`; a PEM that already holds a chain is returned unchanged. */
export function presentedChainPem(leafPem: string, issuerPem: string): string {
  if ((leafPem.match(certificateBlock) ?? []).length !== 1) return leafPem;
  return `${leafPem.trimEnd()}\n${issuerPem.trimStart()}`;
}
