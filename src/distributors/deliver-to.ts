/**
 * `type: deliver-to` — sends every mail also to fixed addresses (an archive, a backup
 * mailbox) through another distributor, whatever the list's members are.
 */

import { z } from 'zod';
import { addressOption } from '../mail/address-option.ts';
import { cloneListMail } from '../mail/list-mail.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';
import { unitSpec } from './multiple.ts';

export interface DeliverToOptions {
  /** The fixed recipients. */
  to: string[];
  /** How to deliver to them. */
  distributor: Distributor;
}

/** The options of `type: deliver-to` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({ to: z.array(addressOption).min(1), distributor: unitSpec });

export default function createDeliverTo(options: DeliverToOptions): Distributor {
  if (!options?.to?.length) throw new Error('deliver-to: `to` needs at least one address');
  if (!options.distributor) throw new Error('deliver-to: `distributor` is required');
  return {
    name: 'deliver-to',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const copy = cloneListMail(mail);
      copy.ml_send_to = [...options.to];
      return options.distributor.distribute(copy);
    },
    async close() {
      await options.distributor.close?.();
    },
  };
}
