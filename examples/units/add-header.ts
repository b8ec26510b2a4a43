/**
 * A custom processor unit: adds a fixed header field to every post of a list (say, a
 * tracking tag your mail filters sort on). Name it in a list's pipeline by its path,
 * relative to the list file:
 *
 *   pipeline:
 *     - posting-policy
 *     - subject-prefix
 *     - type: ../examples/units/add-header.ts
 *       field: X-Team
 *       value: red
 *     - envelope
 *
 * A unit module's default export is its factory `(list, options) => Processor`. Exporting
 * `schema` (a zod schema) makes `malist check` validate the options like a built-in unit's,
 * with the file, line and column of a mistake.
 */

import type { ListMail, ListSettings, Processor } from 'malist';
import { z } from 'zod';

export const schema = z.strictObject({
  /** The header field's name. */
  field: z
    .string()
    .regex(/^[\x21-\x39\x3b-\x7e]+$/, { error: 'expected a header field name like X-Team' }),
  /** Its value; {list} is replaced by the list's short name. */
  value: z.string().regex(/^[^\r\n]*$/, { error: 'expected one line of text' }),
});

export type AddHeaderOptions = z.infer<typeof schema>;

export default function createAddHeader(list: ListSettings, options: AddHeaderOptions): Processor {
  const value = options.value.replaceAll('{list}', list.name);
  return {
    name: 'add-header',
    async process(mail: ListMail) {
      mail.header.set(options.field, value);
      return mail;
    },
  };
}
