/** TLS material given either as PEM text or as the path of a PEM file (what CLI flags pass). */
import { readFileSync } from 'node:fs';
import { TargetSetupError } from './types.ts';

export type PemSource = string | Buffer;

export function readPem(source: PemSource, what: string): Buffer {
  if (Buffer.isBuffer(source)) return source;
  if (source.includes('-----BEGIN')) return Buffer.from(source);
  try {
    return readFileSync(source);
  } catch (error) {
    throw new TargetSetupError(`cannot read the ${what} file ${source}: ${(error as Error).message}`);
  }
}
