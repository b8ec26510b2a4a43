/**
 * `envelope` — sets the ml_* fields: the list's identity (`ml_list`), its bounce address
 * as envelope sender (`ml_sender`), and the members as envelope recipients (`ml_send_to`).
 */
import { formatMailbox, normalizeAddress } from '../mail/address.ts';
import type { Processor } from '../types.ts';
import { bounceAddress, type ListSettings } from './list.ts';

export type EnvelopeOptions = Record<string, never>;

export default function createEnvelope(
  list: ListSettings,
  _options: EnvelopeOptions = {},
): Processor {
  const sendTo = [
    ...new Set(list.members.map((m) => m.trim()).filter((m) => normalizeAddress(m) !== '')),
  ];
  const identity = formatMailbox(list.display_name ?? list.name, list.address);
  return {
    name: 'envelope',
    async process(mail) {
      mail.ml_list = identity;
      mail.ml_list_name = list.name;
      mail.ml_sender = bounceAddress(list);
      mail.ml_send_to = [...sendTo];
      return mail;
    },
  };
}
