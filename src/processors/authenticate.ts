/**
 * `authenticate` — verifies every post as it came in (src/auth: every DKIM signature, SPF,
 * DMARC with the RFC 9989 tree walk, the ARC chain), records the result in one
 * Authentication-Results field under the installation's authserv-id (fields claiming that
 * id are removed: they were forged, or are stale from an earlier pass), and keeps the
 * verdict on the mail (`ml_auth`) for the units after it (`posting-policy`'s
 * `require_authenticated_from`, `dmarc`), the queue's ARC seal and the journal.
 *
 * SPF is checked by the connecting client's IP and HELO when the intake knows them
 * (`malist receive` under Postfix, an LMTP intake: `origin.client`), else taken from the
 * Authentication-Results of an MTA in front named in `trusted_authserv_ids`. A loopback
 * client is a local re-injection (a content filter), not the sender: it is not checked.
 *
 * The composition root gives `verify` when malist.yaml has `authentication:`; without it
 * the unit lets posts pass unverified (a verification costs DNS lookups). A DNS failure is
 * a result (temperror), never a crash.
 */
import { z } from 'zod';
import type { DnsResolver } from '../auth/resolver.ts';
import { stampAuthResults } from '../auth/results-header.ts';
import { type AuthVerdict, verifyIncoming } from '../auth/verify.ts';
import type { ListSettings } from '../list/settings.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import type { ListMail, Processor } from '../types.ts';

/** How the installation verifies posts (malist.yaml `authentication:` and `dns:`). */
export interface VerifySettings {
  /** Every DNS question of the verification. */
  resolver: DnsResolver;
  /** This host's name in Authentication-Results. */
  authserv_id: string;
  /** MTAs in front whose SPF result is believed when the client IP is unknown. */
  trusted_authserv_ids?: string[];
}

export interface AuthenticateOptions {
  /** Set by the composition root; without it posts pass unverified. */
  verify?: VerifySettings;
  /** The time signatures are checked at (tests). @default the clock */
  now?: () => Date;
}

/** The options of `type: authenticate` as written in YAML (none: malist.yaml configures it). */
export const schema = lazySchema(() => z.strictObject({}));

/** Whether `ip` is a loopback address (127/8, ::1, ::ffff:127.x): a local hop. */
export function isLoopback(ip: string): boolean {
  const v4 = ip.replace(/^::ffff:/i, '');
  return /^127\./.test(v4) || ip === '::1';
}

/** Verifies `mail` as fetched (without an mbox `From ` line or byte-order mark). */
export function verifyPost(
  mail: ListMail,
  settings: VerifySettings,
  now?: Date,
): Promise<AuthVerdict> {
  const client = mail.origin.client;
  const ip = client && !isLoopback(client.ip) ? client : undefined;
  return verifyIncoming(mail.raw.subarray(mail.header.prefix.length), {
    resolver: settings.resolver,
    authservId: settings.authserv_id,
    ...(ip ? { ip: ip.ip, ...(ip.helo ? { helo: ip.helo } : {}) } : {}),
    ...(mail.origin.sender !== undefined ? { sender: mail.origin.sender } : {}),
    trustedAuthservIds: settings.trusted_authserv_ids ?? [],
    ...(now ? { now } : {}),
  });
}

export default function createAuthenticate(
  _list: ListSettings,
  options: AuthenticateOptions = {},
): Processor {
  const settings = options.verify;
  return {
    name: 'authenticate',
    async process(mail) {
      if (!settings) return mail;
      const verdict = await verifyPost(mail, settings, options.now?.());
      stampAuthResults(mail.header, verdict);
      mail.ml_auth = verdict;
      return mail;
    },
  };
}
