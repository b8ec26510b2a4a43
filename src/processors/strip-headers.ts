/**
 * `strip-headers` — removes fields that must not reach the members: other lists' List-*
 * fields (this list adds its own), read-receipt requests that would make every member's
 * client answer the poster (Return-Receipt-To, Disposition-Notification-To…), a leftover
 * moderator password (Approved), and any configured names.
 */

import { z } from 'zod';
import type { ListSettings } from '../list/settings.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { optionalBoolean, optionalStrings } from '../mail/shared-options.ts';
import type { Processor } from '../types.ts';

export interface StripHeadersOptions {
  /** More field names (case-insensitive) to remove; a trailing `*` matches a prefix. @example ["X-Spam-*", "X-Originating-IP"] */
  remove?: string[];
  /** Keep incoming List-* fields (when `list-headers` is not in the pipeline). @default false */
  keep_list_fields?: boolean;
}

/** Always removed (besides List-*). */
export const ALWAYS_STRIPPED = [
  'Return-Receipt-To',
  'Disposition-Notification-To',
  'Disposition-Notification-Options',
  'X-Confirm-Reading-To',
  'X-PMRQC',
  'Approved',
  'Approve',
  'Urgent',
];

/** A matcher for field names from a list of names and `prefix*` patterns. Pure. */
export function nameMatcher(names: readonly string[]): (name: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const n of names) {
    const lower = n.trim().toLowerCase();
    if (lower.endsWith('*')) prefixes.push(lower.slice(0, -1));
    else exact.add(lower);
  }
  return (name) => {
    const lower = name.toLowerCase();
    return exact.has(lower) || prefixes.some((p) => lower.startsWith(p));
  };
}

/** The options of `type: strip-headers` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({
    remove: optionalStrings,
    keep_list_fields: optionalBoolean,
  }),
);

export default function createStripHeaders(
  _list: ListSettings,
  options: StripHeadersOptions = {},
): Processor {
  const patterns = [...ALWAYS_STRIPPED, ...(options.remove ?? [])];
  if (!options.keep_list_fields) patterns.push('List-*');
  const match = nameMatcher(patterns);
  return {
    name: 'strip-headers',
    async process(mail) {
      mail.header.removeWhere(match);
      return mail;
    },
  };
}
