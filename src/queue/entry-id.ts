/**
 * Spool entry IDs. A list post's ID is derived from the list and the fetched bytes, so
 * enqueueing the same post again after a crash finds the first entry (or its done record)
 * instead of sending it twice. Mail without such a key (sendmail, the API) gets a unique ID.
 */
import { createHash, randomBytes } from 'node:crypto';

/** The deterministic ID of `key` (a ListMail's sha256) posted to list `list`. */
export function entryIdFor(list: string, key: string): string {
  return createHash('sha256').update(`${list}\0${key}`).digest('hex').slice(0, 32);
}

/** A fresh ID that sorts by creation time. */
export function uniqueEntryId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(10).toString('hex')}`;
}
