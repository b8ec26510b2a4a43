/**
 * Digest volume and issue numbers (pure): the volume goes up with the year (Mailman's
 * default), the issue counts from 1 within a volume.
 */

export interface DigestNumber {
  volume: number;
  issue: number;
  /** The year the volume belongs to. */
  year: number;
}

/** The number of the next digest after `last` (undefined: the first ever), at `date`. */
export function nextNumber(last: DigestNumber | undefined, date: Date): DigestNumber {
  const year = date.getUTCFullYear();
  if (!last) return { volume: 1, issue: 1, year };
  if (year > last.year) return { volume: last.volume + 1, issue: 1, year };
  return { volume: last.volume, issue: last.issue + 1, year: last.year };
}

/** "Red Digest, Vol 2, Issue 7" */
export function digestTitle(listName: string, n: DigestNumber): string {
  return `${listName} Digest, Vol ${n.volume}, Issue ${n.issue}`;
}
