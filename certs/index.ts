/**
 * The platform's certificate authority: an ECDSA P-256 root that issues device client
 * certificates and server TLS certificates for mutual TLS (Node tls, mosquitto, RabbitMQ).
 * Other modules import from here only.
 */
export type { CertificateAuthority, CertificateAuthorityOptions, IssuedCertificate, IssueOptions, KeyAlgorithm } from './types.ts';
export { createEphemeralCertificateAuthority } from './ca.ts';
export { certificateFiles, loadOrCreateCertificateAuthority } from './store.ts';
export { loadOrCreateServerCertificate, type ServerTlsMaterial } from './server-cert.ts';
export { fingerprintOfPem } from './fingerprint.ts';
export { presentedChainPem } from './chain.ts';
// Owner-only file handling, for other modules that keep secrets on disk (the RabbitMQ node's state).
export { ensurePrivateDir, privateFileMode, readIfExists, writeFileAtomic } from './files.ts';
