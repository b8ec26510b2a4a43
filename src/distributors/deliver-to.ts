/**
 * `type: deliver-to` — sends every mail also to fixed addresses (an archive, a backup
 * mailbox) through another distributor, whatever the list's members are.
 */
import { cloneListMail } from '../mail/list-mail.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';

export interface DeliverToOptions {
  /** The fixed recipients. */
  to: string[];
  /** How to deliver to them. */
  distributor: Distributor;
}

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
