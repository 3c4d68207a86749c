import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { createEphemeralCertificateAuthority } from '../../certs/index.ts';
import { isValidDeviceId } from '../../firmware-protocol/index.ts';

describe('service certificates', () => {
  it('carry the service name as CN, client-auth only, chained to the device CA', async () => {
    const ca = await createEphemeralCertificateAuthority();
    const issued = await ca.issueServiceCertificate('_iotcloud-server');
    const certificate = new X509Certificate(issued.certPem);
    expect(certificate.subject).toBe('CN=_iotcloud-server');
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(certificate.checkIssued(new X509Certificate(ca.clientTrustPem))).toBe(true);
  });

  it.each(['iotcloud-server', 'ft900device1', '_', '_Upper', '_a/b', `_${'a'.repeat(64)}`])('refuse the name %j (a service name can never be a device id)', async (name) => {
    const ca = await createEphemeralCertificateAuthority();
    await expect(ca.issueServiceCertificate(name)).rejects.toThrow(/invalid service name/);
  });

  it('no valid service name is a valid device id', () => {
    expect(isValidDeviceId('_iotcloud-server')).toBe(false);
  });
});
