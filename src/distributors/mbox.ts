/**
 * `type: mbox` — appends the post to an mbox file (mboxrd: `From ` lines in the body are
 * quoted with `>`), under a dot-lock, fsynced. Idempotent per post: the keys of appended
 * posts are kept in `<file>.malist-keys`, so a repeat after a crash does not append twice.
 */
import { z } from 'zod';
import { ErrorCode, StageError } from '../errors.ts';
import { mailBytes, messageId } from '../mail/list-mail.ts';
import { mboxRecord } from '../mail/mbox.ts';
import { withDotlock } from '../state/lock.ts';
import { appendMboxUnlocked } from '../state/mbox-file.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';

export interface MboxOptions {
  /** The mbox file (created when missing). */
  path: string;
  /** Wait this long for the lock, ms. @default 10000 */
  lock_timeout_ms?: number;
  /** A foreign lock older than this is broken, seconds. @default 300 */
  stale_lock_seconds?: number;
}

/** The options of `type: mbox` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  path: z.string().min(1),
  lock_timeout_ms: z.number().int().positive().optional(),
  stale_lock_seconds: z.number().positive().optional(),
});

export default function createMboxDistributor(options: MboxOptions): Distributor {
  if (!options?.path) {
    throw new StageError('option path is required', { code: ErrorCode.CONFIG, unit: 'mbox' });
  }
  return {
    name: 'mbox',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const key = `${mail.ml_list_name ?? ''}:${mail.key}`;
      try {
        await withDotlock(
          options.path,
          () =>
            appendMboxUnlocked(options.path, [
              { key, record: mboxRecord(mailBytes(mail), mail.ml_sender ?? '') },
            ]),
          {
            timeoutMs: options.lock_timeout_ms ?? 10_000,
            staleSeconds: options.stale_lock_seconds ?? 300,
          },
        );
      } catch (error) {
        throw new StageError(`could not append to ${options.path}`, {
          code: ErrorCode.STORAGE,
          unit: 'mbox',
          messageId: messageId(mail),
          cause: error,
          temporary: true,
        });
      }
      const to = mail.ml_send_to?.length ? mail.ml_send_to : [`mbox:${options.path}`];
      return {
        results: to.map((recipient) => ({ recipient, status: 'delivered', distributor: 'mbox' })),
      };
    },
  };
}
