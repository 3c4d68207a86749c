/** How CLI commands reach the REST API: the platform CA to trust and the token to send, found one way. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateFiles } from '../certs/index.ts';
import { savedToken } from '../rest-client/index.ts';
import { defaultConfig } from '../server/config.ts';
import { UsageError } from './usage-error.ts';

/** Where the platform root CA is looked for when --ca is not given. */
export const defaultCaPath = join(defaultConfig.dataDir, 'ca', certificateFiles.rootCert);

export const caOptionHelp = `PEM file of the platform root CA (default: ${defaultConfig.dataDir}/ca/${certificateFiles.rootCert} when present; env IOTCLOUD_CA)`;

/** The platform CA: --ca (which must exist), else IOTCLOUD_CA, else the local server's, when present. */
export function platformCaPem(flag?: string): string | undefined {
  const path = flag ?? process.env.IOTCLOUD_CA ?? defaultCaPath;
  if (existsSync(path)) return readFileSync(path, 'utf8');
  if (flag) throw new UsageError(`--ca ${flag}: no such file`);
  return undefined;
}

export { savedToken };
