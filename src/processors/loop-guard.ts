/**
 * `loop-guard` — keeps a list from redistributing its own traffic: discards mail that
 * carries this list's List-Id or X-Loop (it went round). A passing post is stamped with
 * `X-Loop: <list address>`, so a loop through another list that strips List-* fields is
 * still caught on the way back. Robots and posts relayed by other lists are the
 * `automated` unit's business (it forwards, holds or drops them by configuration).
 */

import { z } from 'zod';
import { Discard } from '../errors.ts';
import { listIdLabel } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { parseAddressList, sameAddress } from '../mail/address.ts';
import { listIdOf } from '../mail/automated.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { optionalBoolean } from '../mail/shared-options.ts';
import type { ListMail, Processor } from '../types.ts';

export interface LoopGuardOptions {
  /** Add `X-Loop: <list address>` to passing posts. @default true */
  stamp?: boolean;
}

/** Why `mail` must not be distributed by `list` (it went round), or undefined. Pure. */
export function loopReason(list: ListSettings, mail: ListMail): string | undefined {
  const label = listIdLabel(list).toLowerCase();
  if (mail.header.getAll('List-Id').some((v) => listIdOf(v) === label))
    return `it already carries this list's List-Id <${label}>`;
  for (const value of mail.header.getAll('X-Loop')) {
    const seen = [value.trim(), ...parseAddressList(value).map((m) => m.address)];
    if (seen.some((a) => sameAddress(a, list.address)))
      return `it already carries X-Loop: ${list.address}`;
  }
  return undefined;
}

/** The options of `type: loop-guard` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() => z.strictObject({ stamp: optionalBoolean }));

export default function createLoopGuard(
  list: ListSettings,
  options: LoopGuardOptions = {},
): Processor {
  return {
    name: 'loop-guard',
    async process(mail) {
      const reason = loopReason(list, mail);
      if (reason) throw new Discard(`not distributed to ${list.address}: ${reason}`);
      if (options.stamp ?? true) mail.header.add('X-Loop', list.address);
      return mail;
    },
  };
}
