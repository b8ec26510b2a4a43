/**
 * `type: quarantine` — keeps a copy of mail the list refused (rejected or discarded, and
 * optionally mail a distributor failed on) in `STATE/quarantine/<kind>/`, bytes as fetched
 * with the reason, so an operator can see what a loop guard or a content rule threw away.
 * (Mail a processor crashed on is quarantined by `play()` itself.)
 */
import { join } from 'node:path';
import { z } from 'zod';
import { isSignal, type SignalKind } from '../errors.ts';
import { MailStore } from '../state/mail-store.ts';
import type { Reactor } from '../types.ts';

export interface QuarantineOptions {
  /** The state directory. */
  state_dir: string;
  /** Which signals' mail is kept. @default ['reject', 'discard'] */
  signals?: SignalKind[];
  /** Also keep mail a distributor failed on. @default false */
  distributor_failures?: boolean;
}

/** The options of `type: quarantine` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  state_dir: z.string().min(1),
  signals: z.array(z.enum(['hold', 'reject', 'discard'])).optional(),
  distributor_failures: z.boolean().optional(),
});

export default function createQuarantine(options: QuarantineOptions): Reactor {
  const kinds = new Set(options.signals ?? ['reject', 'discard']);
  const store = (kind: string) => new MailStore(join(options.state_dir, 'quarantine', kind));
  return {
    name: 'quarantine',
    async react(failure) {
      const { error, mail } = failure;
      if (!mail) return;
      let kind: string | undefined;
      if (isSignal(error) && kinds.has(error.kind)) kind = error.kind;
      else if (failure.stage === 'distributor' && options.distributor_failures)
        kind = 'distributor';
      if (!kind) return;
      await store(kind).put(mail, {
        reason: isSignal(error) ? error.reason : error.message,
        unit: failure.unit,
        list: mail.ml_list_name,
      });
    },
  };
}
