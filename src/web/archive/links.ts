/**
 * The archive's URLs, in one place: the routes are declared from the same shapes, and the
 * permalinks match what List-Archive and Archived-At name (src/list/archive.ts):
 * `/archive/LIST/` and `/archive/LIST/m/MESSAGE-ID` (the Message-ID without its <>,
 * percent-encoded but for `@ + = $ !`). Pure.
 */
import { messageIdSegment } from '../../list/archive.ts';
import type { ArchiveLinks } from '../views/archive.tsx';

export const links: ArchiveLinks = {
  list: (list) => `/archive/${encodeURIComponent(list)}/`,
  month: (list, month, page) =>
    `/archive/${encodeURIComponent(list)}/${month}${page && page > 1 ? `?page=${page}` : ''}`,
  thread: (list, threadId) =>
    `/archive/${encodeURIComponent(list)}/t/${messageIdSegment(threadId)}`,
  post: (list, messageId) =>
    `/archive/${encodeURIComponent(list)}/m/${messageIdSegment(messageId)}`,
};

/** A Message-ID from a URL segment (already percent-decoded): `<…>` or bare, trimmed. */
export function messageIdParam(segment: string | undefined): string {
  return (segment ?? '').trim().replace(/^<(.*)>$/s, '$1');
}

/** `?page=N` as a page number from 1 (anything else: 1). */
export function pageParam(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : 1;
}
