/**
 * Certificate issuance throughput: load tests register thousands of devices, each needing a
 * fresh key pair and a certificate signed by the root. Issuances run concurrently because
 * WebCrypto does key generation and signing on libuv's thread pool, which spreads them over cores.
 */
import { createEphemeralCertificateAuthority, type CertificateAuthority, type KeyAlgorithm } from '../certs/index.ts';
import { printMetric } from './report.ts';

const concurrency = 16;

/** Issues certificates with `concurrency` in flight for `seconds`; returns the rate in cert/s. */
async function throughput(ca: CertificateAuthority, algorithm: KeyAlgorithm, seconds: number): Promise<number> {
  let issued = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await ca.issueDeviceCertificate(`bench-${issued}`, { algorithm });
      issued++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return issued / ((performance.now() - start) / 1000);
}

/** Latency of one issuance at a time, in milliseconds, sorted ascending. */
async function latencies(ca: CertificateAuthority, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await ca.issueDeviceCertificate(`latency-${i}`);
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const ca = await createEphemeralCertificateAuthority();
await throughput(ca, 'ecdsa-p256', 0.5); // warm up the JIT and the thread pool
const runs = [await throughput(ca, 'ecdsa-p256', 2), await throughput(ca, 'ecdsa-p256', 2), await throughput(ca, 'ecdsa-p256', 2)];
printMetric('certs_issued_per_s', runs.sort((a, b) => a - b)[1]!, 'cert/s');
const sorted = await latencies(ca, 2000);
printMetric('cert_issue_p50_ms', percentile(sorted, 50), 'ms');
printMetric('cert_issue_p99_ms', percentile(sorted, 99), 'ms');
printMetric('certs_rsa2048_issued_per_s', await throughput(ca, 'rsa-2048', 5), 'cert/s');
