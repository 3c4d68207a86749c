/** Unregistering any number of devices, in batches the API accepts, with progress for thousands. */
import type { RestClient } from './client.ts';
import { maxBulkUnregister, type BulkUnregisterAnswer } from './wire.ts';

/**
 * Unregisters `deviceIds` (the caller's own: the server refuses a batch holding another user's
 * device, and so this stops there), calling `onProgress(done, total)` after each batch.
 */
export async function unregisterDevices(client: RestClient, deviceIds: readonly string[], onProgress?: (done: number, total: number) => void): Promise<BulkUnregisterAnswer> {
  const ids = [...new Set(deviceIds)];
  const answer: BulkUnregisterAnswer = { unregistered: [], notFound: [] };
  for (let start = 0; start < ids.length; start += maxBulkUnregister) {
    const batch = await client.unregisterDeviceBatch(ids.slice(start, start + maxBulkUnregister));
    answer.unregistered.push(...batch.unregistered);
    answer.notFound.push(...batch.notFound);
    onProgress?.(Math.min(start + maxBulkUnregister, ids.length), ids.length);
  }
  return answer;
}
