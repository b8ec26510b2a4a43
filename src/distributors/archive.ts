/**
 * `type: archive` — keeps every distributed post of a list: appended to the month's mbox
 * (`DIR/LIST/YYYY-MM.mbox`, mboxrd, dot-locked, fsynced) and/or written to the month's
 * maildir (`DIR/LIST/YYYY-MM/`). Idempotent per post (the mbox keeps the keys it holds;
 * maildir names come from the post's key). Mail malist composed itself (replies to
 * commands, notices) is not archived. Says nothing per recipient: the archive is not one.
 *
 * Then the archive index (`DIR/index.sqlite`, src/archive/db.ts) is brought up to the
 * month's files: the post is searchable and on the archive pages at once, and one appended
 * before a crash is indexed by the next post. An index that cannot be written fails the
 * distribution as temporary: the post is in the files already, and the retry adds it to
 * the index without writing it twice.
 */
import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import { ArchiveIndex } from '../archive/db.ts';
import {
  type ArchiveFormat,
  isOwnMail,
  listArchiveDir,
  maildirPath,
  mboxPath,
  monthOf,
} from '../archive/paths.ts';
import type { ArchiveStore } from '../archive/store.ts';
import { syncList } from '../archive/sync.ts';
import { ErrorCode, StageError } from '../errors.ts';
import { mailBytes, messageId } from '../mail/list-mail.ts';
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
  /** Keep the search index beside the files (`DIR/index.sqlite`). @default true */
  index?: boolean;
  /**
   * The index of an archive root, shared by everything that reads it (the composition
   * root passes its own; without it the distributor opens one itself).
   */
  openIndex?: (dir: string) => ArchiveIndex;
  /** The archive's rows (`storage: postgres`): posts go there instead of `dir`'s files. */
  rows?: Pick<ArchiveStore, 'add' | 'where'>;
}

/** The options of `type: archive` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  dir: z.string().min(1),
  format: z.enum(['mbox', 'maildir', 'both']).optional(),
  index: z.boolean().optional(),
});

export default function createArchiveDistributor(options: ArchiveOptions): Distributor {
  if (!options?.dir) throw new Error('archive distributor: `dir` is required');
  const format = options.format ?? 'mbox';
  if (!['mbox', 'maildir', 'both'].includes(format))
    throw new Error(`archive distributor: format must be mbox, maildir or both, not '${format}'`);
  const now = options.now ?? (() => new Date());
  let index: ArchiveIndex | undefined;
  const indexed = async (mail: ListMail, list: string, month: string) => {
    try {
      index ??= (options.openIndex ?? ArchiveIndex.open)(options.dir);
      await syncList(index, list, [month]);
    } catch (error) {
      throw new StageError('archived, but the archive index could not be updated', {
        code: ErrorCode.STORAGE,
        unit: 'archive',
        messageId: messageId(mail),
        cause: error,
        temporary: true,
      });
    }
  };
  return {
    name: 'archive',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      if (isOwnMail(mail.header.get('Auto-Submitted'), mail.origin.fetcher)) return { results: [] };
      const list = mail.ml_list_name ?? '_default';
      if (options.rows) {
        await options.rows.add(list, mailBytes(mail), now().getTime()).catch((error) => {
          throw new StageError(`could not archive the post in ${options.rows!.where}`, {
            code: ErrorCode.STORAGE,
            unit: 'archive',
            messageId: messageId(mail),
            cause: error,
            temporary: true,
          });
        });
        return { results: [] };
      }
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
      if (options.index !== false) await indexed(mail, list, month);
      return { results: [] };
    },
    async close() {
      // A shared index belongs to whoever opened it.
      if (!options.openIndex) index?.close();
      index = undefined;
    },
  };
}
