/**
 * `type: multiple` — several distributors for one mail (SMTP and an archive, say). Every
 * child runs even when one fails; the reports are merged. If a child threw, the merged
 * report marks that child's recipients deferred, so the mail is tried again for them.
 */

import { z } from 'zod';
import { describeError } from '../errors.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import type { DeliveryReport, Distributor, ListMail, RecipientResult } from '../types.ts';

/** A unit in YAML: its type name, or a mapping with `type:` and its options. */
export const unitSpec = lazySchema(() =>
  z.union(
    [
      z.string().min(1),
      z.looseObject({
        type: z.string({ error: 'expected the unit type, e.g. type: maildir' }).min(1),
      }),
    ],
    { error: 'expected a unit: its type name, or a mapping with type: and its options' },
  ),
);

export interface MultipleOptions {
  /** The distributors to run, in order. */
  distributors: Distributor[];
}

/** The options of `type: multiple` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() => z.strictObject({ distributors: z.array(unitSpec).min(1) }));

export default function createMultiple(options: MultipleOptions): Distributor {
  if (!options?.distributors?.length)
    throw new Error('multiple: `distributors` needs at least one entry');
  return {
    name: 'multiple',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const results: RecipientResult[] = [];
      for (const child of options.distributors) {
        try {
          results.push(...(await child.distribute(mail)).results);
        } catch (error) {
          for (const recipient of mail.ml_send_to ?? []) {
            results.push({
              recipient,
              status: 'deferred',
              distributor: child.name,
              response: describeError(error),
            });
          }
        }
      }
      return { results };
    },
    async close() {
      for (const child of options.distributors) await child.close?.().catch(() => {});
    },
  };
}
