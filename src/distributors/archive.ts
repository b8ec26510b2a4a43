/**
 * `type: archive` — keeps every distributed post of a list: appended to the month's mbox
 * (`DIR/LIST/YYYY-MM.mbox`, mboxrd, dot-locked, fsynced) and/or written to the month's
 * maildir (`DIR/LIST/YYYY-MM/`). Idempotent per post (the mbox keeps the keys it holds;
 * maildir names come from the post's key). Mail malist composed itself (replies to
 * commands, notices) is not archived. Says nothing per recipient: the archive is not one.
 */
import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import {
  type ArchiveFormat,
  isOwnMail,
  listArchiveDir,
  maildirPath,
  mboxPath,
  monthOf,
} from '../archive/paths.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';
import createMaildirDistributor from './maildir.ts';
import createMboxDistributor from './mbox.ts';

export interface ArchiveOptions {
  /** The archive root: one folder per list inside. */
  dir: string;
  /** What to write. @default 'mbox' */
  format?: ArchiveFormat;
  /** The clock (the month a post is filed under). @default () => new Date() */
  now?: () => Date;
}

/** The options of `type: archive` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  dir: z.string().min(1),
  format: z.enum(['mbox', 'maildir', 'both']).optional(),
});

export default function createArchiveDistributor(options: ArchiveOptions): Distributor {
  if (!options?.dir) throw new Error('archive distributor: `dir` is required');
  const format = options.format ?? 'mbox';
  if (!['mbox', 'maildir', 'both'].includes(format))
    throw new Error(`archive distributor: format must be mbox, maildir or both, not '${format}'`);
  const now = options.now ?? (() => new Date());
  return {
    name: 'archive',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      if (isOwnMail(mail.header.get('Auto-Submitted'), mail.origin.fetcher)) return { results: [] };
      const list = mail.ml_list_name ?? '_default';
      const month = monthOf(now());
      // The archive is one copy, whatever the recipients: hand the inner units none.
      const copy: ListMail = { ...mail, ml_send_to: [] };
      await mkdir(listArchiveDir(options.dir, list), { recursive: true });
      if (format !== 'maildir')
        await createMboxDistributor({ path: mboxPath(options.dir, list, month) }).distribute(copy);
      if (format !== 'mbox')
        await createMaildirDistributor({
          dir: maildirPath(options.dir, list, month),
          single: true,
        }).distribute(copy);
      return { results: [] };
    },
  };
}
