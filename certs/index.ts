/**
 * The platform's certificate authority for mutual TLS (Node tls, mosquitto, RabbitMQ): an ECDSA
 * P-256 root that issues server certificates, and a device CA that issues device and service
 * client certificates (certs/ca.ts says why two).
 * Other modules import from here only.
 */
export type { CertificateAuthority, CertificateAuthorityOptions, IssuedCertificate, IssueOptions, KeyAlgorithm } from './types.ts';
export { createEphemeralCertificateAuthority } from './ca.ts';
export { certificateFiles } from './file-names.ts';
export { loadOrCreateCertificateAuthority } from './store.ts';
export { loadOrCreateServerCertificate, type LoadedServerCertificate, type ServerCertificateStatus, type ServerTlsMaterial } from './server-cert.ts';
export { canonicalHost } from './validate.ts';
export { fingerprintOfPem } from './fingerprint.ts';
export { certificateBundle } from './pem.ts';
// Owner-only file handling, for other modules that keep secrets on disk (the RabbitMQ node's state).
export { ensurePrivateDir, privateFileMode, readIfExists, writeFileAtomic } from './files.ts';
