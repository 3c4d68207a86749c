/**
 * How CLI commands reach the REST API, found one way: flags first, then the environment
 * (IOTCLOUD_SERVER, IOTCLOUD_CA, IOTCLOUD_TOKEN), then what `iotcloud login` remembered, then the
 * defaults of a local `iotcloud up`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { certificateFiles } from '../certs/file-names.ts'; // not the index: that loads the CA's x509 library
import { loadSession, type SavedSession } from '../rest-client/index.ts';
import { defaultConfig } from '../server/config.ts';
import { UsageError } from './usage-error.ts';

/** Where the platform root CA is looked for when nothing names one. */
export const defaultCaPath = join(defaultConfig.dataDir, 'ca', certificateFiles.rootCert);
export const defaultServer = `https://127.0.0.1:${defaultConfig.apiPort}`;

export const serverOptionHelp = `REST API base URL (env IOTCLOUD_SERVER; default: the one \`iotcloud login\` saved, else ${defaultServer})`;
export const caOptionHelp = `PEM file of the server's root CA (env IOTCLOUD_CA; default: the one \`iotcloud login\` saved, else ${defaultCaPath} when present)`;

export interface RestAccess {
  server: string;
  /** The CA file, where its path came from (for error messages), and its PEM. */
  ca?: { path: string; from: string; pem: string };
  token?: string;
  saved?: SavedSession;
}

/**
 * The platform CA, looked up in one order: --ca, IOTCLOUD_CA, the CA `iotcloud login` saved for
 * this server, the default of a local `iotcloud up`. Also the harness's broker CA (--mqtt mqtts://).
 */
export function findCa(flag: string | undefined, savedForThisServer?: string): RestAccess['ca'] {
  const found = flag
    ? { path: resolve(flag), from: '--ca' }
    : process.env.IOTCLOUD_CA
      ? { path: resolve(process.env.IOTCLOUD_CA), from: 'IOTCLOUD_CA' }
      : savedForThisServer
        ? { path: savedForThisServer, from: 'the CA saved by `iotcloud login`' }
        : existsSync(defaultCaPath)
          ? { path: resolve(defaultCaPath), from: `the default ${defaultCaPath}` }
          : undefined;
  if (!found) return undefined;
  try {
    return { ...found, pem: readFileSync(found.path, 'utf8') };
  } catch (error) {
    throw new UsageError(`${found.from} names the CA file ${found.path}, which cannot be read (${(error as NodeJS.ErrnoException).code}); pass --ca with the server's CA (\`iotcloud up\` prints its path)`);
  }
}

export async function resolveAccess(flags: { server?: string; ca?: string; token?: string }): Promise<RestAccess> {
  const saved = await loadSession();
  const server = flags.server ?? process.env.IOTCLOUD_SERVER ?? saved?.server ?? defaultServer;
  const sameServer = saved !== undefined && saved.server === server;
  const ca = findCa(flags.ca, sameServer ? saved.ca : undefined);
  // A saved token goes only to the server it came from.
  const token = flags.token ?? process.env.IOTCLOUD_TOKEN ?? (sameServer ? saved.token : undefined);
  return { server, ...(ca ? { ca } : {}), ...(token ? { token } : {}), ...(saved ? { saved } : {}) };
}

