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
  /** The root: signs server certificates; devices and API clients trust it (a device's rootca.pem). */
  readonly rootCertPem: string;
  readonly rootFingerprint: string;
  /**
   * What a listener trusts for client certificates (device and service ones): the device CA,
   * plus the root in a data directory whose devices were registered before the device CA existed.
   */
  readonly clientTrustPem: string;
  /** Client certificate for one device, from the device CA: CN = deviceId, clientAuth EKU, digitalSignature, not a CA. */
  issueDeviceCertificate(deviceId: string, options?: IssueOptions): Promise<IssuedCertificate>;
  /**
   * Client certificate, from the device CA, for a platform service (e.g. the iotcloud server's own broker connection):
   * CN = name, which starts with `_` so that it can never be a device id.
   */
  issueServiceCertificate(name: string, options?: IssueOptions): Promise<IssuedCertificate>;
  /** TLS server certificate: serverAuth EKU, DNS and IP subject alternative names from `hosts`. */
  issueServerCertificate(hosts: string[], options?: IssueOptions): Promise<IssuedCertificate>;
}

export interface CertificateAuthorityOptions {
  /**
   * Subject CN of a newly created root (default 'iotcloud root CA'); a new device CA is named after
   * it ('<name>: devices'). Ignored when they are loaded.
   */
  commonName?: string;
}
