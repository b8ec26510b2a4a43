/**
 * `loop-guard` — keeps a list from redistributing its own traffic or robots' mail: discards
 * mail that carries this list's List-Id or X-Loop (it went round), mail marked
 * Auto-Submitted other than `no` (RFC 3834), and mail with Precedence bulk/junk/list from
 * outside. A passing post is stamped with `X-Loop: <list address>`, so a loop through
 * another list that strips List-* fields is still caught on the way back.
 */

import { z } from 'zod';
import { Discard } from '../errors.ts';
import { listIdLabel } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { parseAddressList, sameAddress } from '../mail/address.ts';
import type { ListMail, Processor } from '../types.ts';

export interface LoopGuardOptions {
  /** Precedence values that are discarded. `[]` lets list-to-list traffic through. @default ['bulk', 'junk', 'list'] */
  precedence?: string[];
  /** Discard mail with Auto-Submitted other than `no`. @default true */
  auto_submitted?: boolean;
  /** Add `X-Loop: <list address>` to passing posts. @default true */
  stamp?: boolean;
}

/** The label inside a List-Id value ("Name <label>" or a bare label), lower case. */
function labelOf(value: string): string {
  const match = /<([^>]*)>/.exec(value);
  return (match ? match[1]! : value).trim().toLowerCase();
}

/** Why `mail` must not be distributed by `list`, or undefined. Pure. */
export function loopReason(
  list: ListSettings,
  mail: ListMail,
  options: LoopGuardOptions = {},
): string | undefined {
  const label = listIdLabel(list).toLowerCase();
  if (mail.header.getAll('List-Id').some((v) => labelOf(v) === label))
    return `it already carries this list's List-Id <${label}>`;
  for (const value of mail.header.getAll('X-Loop')) {
    const seen = [value.trim(), ...parseAddressList(value).map((m) => m.address)];
    if (seen.some((a) => sameAddress(a, list.address)))
      return `it already carries X-Loop: ${list.address}`;
  }
  if (options.auto_submitted ?? true) {
    const auto = mail.header.getAll('Auto-Submitted').map((v) =>
      v
        .replace(/\([^)]*\)/g, '')
        .split(';')[0]!
        .trim()
        .toLowerCase(),
    );
    const marked = auto.find((v) => v !== '' && v !== 'no');
    if (marked) return `it is automated mail (Auto-Submitted: ${marked})`;
  }
  const refused = (options.precedence ?? ['bulk', 'junk', 'list']).map((p) => p.toLowerCase());
  const precedence = mail.header.get('Precedence')?.trim().toLowerCase();
  if (precedence && refused.includes(precedence))
    return `it is bulk or list mail from outside (Precedence: ${precedence})`;
  return undefined;
}

/** The options of `type: loop-guard` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  precedence: z.array(z.string()).optional(),
  auto_submitted: z.boolean().optional(),
  stamp: z.boolean().optional(),
});

export default function createLoopGuard(
  list: ListSettings,
  options: LoopGuardOptions = {},
): Processor {
  return {
    name: 'loop-guard',
    async process(mail) {
      const reason = loopReason(list, mail, options);
      if (reason) throw new Discard(`not distributed to ${list.address}: ${reason}`);
      if (options.stamp ?? true) mail.header.add('X-Loop', list.address);
      return mail;
    },
  };
}
