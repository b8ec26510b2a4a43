/**
 * `approved` — honours a moderator's pre-approval: a post carrying `Approved:` (or
 * `Approve:`) with the list's moderator password skips the rules that would hold it. The
 * field is always removed, right or wrong, so the password never reaches the members.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ListSettings } from '../list/settings.ts';
import type { Processor } from '../types.ts';

export type ApprovedOptions = Record<string, never>;

const FIELDS = ['Approved', 'Approve'];

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** True when `given` is the password; constant time, so the password cannot be guessed byte by byte. */
export function passwordMatches(given: string | undefined, password: string | undefined): boolean {
  if (!given || !password) return false;
  return timingSafeEqual(digest(given.trim()), digest(password));
}

/** The options of `type: approved` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({});

export default function createApproved(
  list: ListSettings,
  _options: ApprovedOptions = {},
): Processor {
  return {
    name: 'approved',
    async process(mail) {
      const given = FIELDS.map((f) => mail.header.get(f)).find((v) => v !== undefined);
      for (const f of FIELDS) mail.header.remove(f);
      if (passwordMatches(given, list.moderator_password)) mail.ml_approved ??= 'approved-header';
      return mail;
    },
  };
}
