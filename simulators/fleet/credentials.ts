/**
 * A fleet's credentials on disk, in the layout `iotcloud register --out DIR` writes for one
 * device: `rootca.pem`, `<id>_cert.pem`, `<id>_pkey.pem` (mode 0600). Saving them lets a fleet
 * start again without provisioning (certificate issuance is the slow part of a large fleet), so
 * the same device ids come back. `fleet.json` keeps the order, the names and the broker URL;
 * without it (files gathered by hand) devices are taken in device id order.
 */
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidDeviceId } from '../../firmware-protocol/index.ts';
import { eachLimited } from './limited.ts';

/** One device of a fleet, as registered. */
export interface FleetIdentity {
  deviceId: string;
  name: string;
  certPem: string;
  keyPem: string;
}

export interface FleetCredentials {
  /** The platform root CA (one for the whole fleet). */
  caPem: string;
  /** Where the devices connect, as the server said at registration (`mqtts://...`). */
  mqttUrl?: string;
  identities: FleetIdentity[];
}

export const MANIFEST_FILE = 'fleet.json';
const ROOT_CA_FILE = 'rootca.pem';
const CERT_SUFFIX = '_cert.pem';
const KEY_SUFFIX = '_pkey.pem';
/** Files written or read at once: 10,000 devices are 20,000 files, more than a default open-file limit. */
const FILE_CONCURRENCY = 64;

interface Manifest {
  version: 1;
  mqttUrl?: string;
  devices: { deviceId: string; name: string }[];
}

export class FleetCredentialsError extends Error {
  override name = 'FleetCredentialsError';
}

export async function saveFleetCredentials(dir: string, credentials: FleetCredentials): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, ROOT_CA_FILE), credentials.caPem);
  await eachLimited(credentials.identities, FILE_CONCURRENCY, async (identity) => {
    await writeFile(join(dir, `${identity.deviceId}${CERT_SUFFIX}`), identity.certPem);
    const keyPath = join(dir, `${identity.deviceId}${KEY_SUFFIX}`);
    await writeFile(keyPath, identity.keyPem, { mode: 0o600 });
    await chmod(keyPath, 0o600); // writeFile's mode applies only to a new file
  });
  const manifest: Manifest = {
    version: 1,
    ...(credentials.mqttUrl ? { mqttUrl: credentials.mqttUrl } : {}),
    devices: credentials.identities.map(({ deviceId, name }) => ({ deviceId, name })),
  };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
}

/** Load a saved fleet; `limit` takes the first devices only. */
export async function loadFleetCredentials(dir: string, limit?: number): Promise<FleetCredentials> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new FleetCredentialsError(`cannot read the credentials folder ${dir}: ${(error as Error).message}`);
  }
  if (!names.includes(ROOT_CA_FILE)) throw new FleetCredentialsError(`${dir} has no ${ROOT_CA_FILE}: is it a folder written by --save?`);
  const manifest = names.includes(MANIFEST_FILE) ? await readManifest(join(dir, MANIFEST_FILE)) : undefined;
  const entries = manifest?.devices ?? devicesFromFileNames(dir, new Set(names));
  if (entries.length === 0) throw new FleetCredentialsError(`${dir} holds no device credentials (<id>${CERT_SUFFIX} + <id>${KEY_SUFFIX})`);
  if (limit !== undefined && limit > entries.length) {
    throw new FleetCredentialsError(`${dir} holds ${entries.length} devices, fewer than the ${limit} asked for`);
  }
  const wanted = entries.slice(0, limit ?? entries.length);
  const caPem = await readFile(join(dir, ROOT_CA_FILE), 'utf8');
  const identities = new Array<FleetIdentity>(wanted.length);
  await eachLimited(wanted.map((entry, index) => ({ entry, index })), FILE_CONCURRENCY, async ({ entry, index }) => {
    const read = async (suffix: string) => {
      try {
        return await readFile(join(dir, `${entry.deviceId}${suffix}`), 'utf8');
      } catch (error) {
        throw new FleetCredentialsError(`device ${entry.deviceId}: cannot read ${entry.deviceId}${suffix}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    };
    const [certPem, keyPem] = await Promise.all([read(CERT_SUFFIX), read(KEY_SUFFIX)]);
    identities[index] = { deviceId: entry.deviceId, name: entry.name, certPem, keyPem };
  });
  return { caPem, ...(manifest?.mqttUrl ? { mqttUrl: manifest.mqttUrl } : {}), identities };
}

async function readManifest(path: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(path, 'utf8')) as Manifest;
  } catch (error) {
    throw new FleetCredentialsError(`${path} is not a fleet manifest: ${(error as Error).message}`);
  }
  if (!Array.isArray(manifest.devices)) throw new FleetCredentialsError(`${path} is not a fleet manifest (no "devices" list)`);
  for (const device of manifest.devices) {
    // Ids become file names: never follow one that could leave the folder.
    if (!isValidDeviceId(device.deviceId)) throw new FleetCredentialsError(`${path}: ${JSON.stringify(device.deviceId)} is not a device id`);
  }
  return manifest;
}

function devicesFromFileNames(dir: string, names: Set<string>): { deviceId: string; name: string }[] {
  const ids: string[] = [];
  for (const name of names) {
    if (!name.endsWith(CERT_SUFFIX)) continue;
    const deviceId = name.slice(0, -CERT_SUFFIX.length);
    if (!isValidDeviceId(deviceId)) continue;
    if (!names.has(`${deviceId}${KEY_SUFFIX}`)) throw new FleetCredentialsError(`${dir} has ${name} but no ${deviceId}${KEY_SUFFIX}`);
    ids.push(deviceId);
  }
  return ids.sort().map((deviceId) => ({ deviceId, name: deviceId }));
}
