/** Key types the CA can issue. ECDSA P-256 is the default; RSA-2048 serves legacy firmware TLS stacks. */
export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048';

export interface IssueOptions {
  /** Key type of the issued certificate (default 'ecdsa-p256'). */
  algorithm?: KeyAlgorithm;
  /** Validity in days, capped at the root's own expiry (default 365). */
  validDays?: number;
}

export interface IssuedCertificate {
  /** Leaf certificate PEM. */
  certPem: string;
  /** PKCS#8 private key PEM. Returned once: callers hand it to the device and must not store it. */
  keyPem: string;
  /** Lowercase hex SHA-256 of the certificate DER, no colons. */
  fingerprint: string;
  /** Lowercase hex serial number. */
  serialNumber: string;
  notAfter: Date;
}

export interface CertificateAuthority {
  readonly rootCertPem: string;
  readonly rootFingerprint: string;
  /** Client certificate for one device: CN = deviceId, clientAuth EKU, digitalSignature, not a CA. */
  issueDeviceCertificate(deviceId: string, options?: IssueOptions): Promise<IssuedCertificate>;
  /**
   * Client certificate for a platform service (e.g. the iotcloud server's own broker connection):
   * CN = name, which starts with `_` so that it can never be a device id.
   */
  issueServiceCertificate(name: string, options?: IssueOptions): Promise<IssuedCertificate>;
  /** TLS server certificate: serverAuth EKU, DNS and IP subject alternative names from `hosts`. */
  issueServerCertificate(hosts: string[], options?: IssueOptions): Promise<IssuedCertificate>;
}

export interface CertificateAuthorityOptions {
  /** Subject CN of a newly created root (default 'iotcloud root CA'). Ignored when a root is loaded. */
  commonName?: string;
}
