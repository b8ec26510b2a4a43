/**
 * Where a list's archive lives: `DIR/LIST/YYYY-MM.mbox` (mboxrd) and/or the maildir
 * `DIR/LIST/YYYY-MM/`, by the month (UTC) in which the post was distributed.
 */
import { join } from 'node:path';
import { safeName } from '../state/safe-name.ts';

export type ArchiveFormat = 'mbox' | 'maildir' | 'both';

/** `2026-11` for a date (UTC). */
export function monthOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}

export function listArchiveDir(dir: string, list: string): string {
  return join(dir, safeName(list));
}

export function mboxPath(dir: string, list: string, month: string): string {
  return join(listArchiveDir(dir, list), `${month}.mbox`);
}

export function maildirPath(dir: string, list: string, month: string): string {
  return join(listArchiveDir(dir, list), month);
}

/** True for mail malist itself composed (replies, notices, digests): never archived. */
export function isOwnMail(auto: string | undefined, fetcher: string): boolean {
  return fetcher === 'malist' || (auto !== undefined && !/^\s*no\b/i.test(auto));
}
