/**
 * DKIM-signs a list copy with the list's key(s): relaxed/relaxed, one DKIM-Signature per key
 * (rsa-sha256 and ed25519-sha256 may both sign: receivers that know ed25519 get the short
 * key, the others RSA). The output is the input with the signature fields on top, every
 * other byte as it was.
 *
 * Built from a header parser and canonicaliser of mailauth's rules (header-fields.ts,
 * signature-field.ts) rather than mailauth's
 * `DkimSigner` stream, for two reasons: the queue signs up to 10,000 personalised copies of
 * one post, and the stream decodes the PEM key again (OpenSSL 3 takes ~1 ms for an RSA key
 * here) and yields to the event loop per chunk, for every copy; here the key is a KeyObject
 * decoded once and a copy is signed synchronously. And `DkimSigner` cannot oversign. The
 * tests verify what this signs with mailauth's verifier and with dkimpy.
 *
 * Oversigning: each field of `OVERSIGNED` is listed in h= once more than the copy has it,
 * which makes a field of that name added later (a second From, a forged Subject, a
 * List-Unsubscribe-Post that turns a mailto: unsubscribe into a one-click one) break the
 * signature. The price is that a relay which adds one of these fields breaks it too; for
 * From/To/Subject/Date/Message-ID that is what receivers expect of a list signature (DMARC
 * relies on From being covered, and every post leaves with a Date and a Message-ID, so no
 * relay has a reason to add them), and for the List-* fields it is what RFC 8058 section 4
 * asks: the one-click fields must be covered so no one else can add them. Fields that are
 * signed only when present (Cc, Reply-To, MIME fields, …) are not oversigned: a relay adding
 * a Cc or a MIME-Version to a copy that has none is harmless and happens.
 */
import { prefixBodyMemo, relaxedBodyCanon } from './body-hash.ts';
import { parseHeaderFields } from './header-fields.ts';
import type { SigningKey } from './keys.ts';
import { cutMessage, prependFields } from './message.ts';
import { messageSignature, relaxedLineMemo, selectSignedFields } from './signature-field.ts';

/** Fields signed and oversigned (the list: who, what, and the list's own fields). */
export const OVERSIGNED: readonly string[] = [
  'From',
  'To',
  'Subject',
  'Date',
  'Message-ID',
  'List-Id',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'List-Post',
];

/** Fields signed when the copy has them, not oversigned. */
export const SIGNED_IF_PRESENT: readonly string[] = [
  'Cc',
  'Reply-To',
  'Sender',
  'In-Reply-To',
  'References',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'List-Help',
  'List-Subscribe',
  'List-Owner',
  'List-Archive',
];

/** Options of a signer. */
export interface DkimSignerOptions {
  /** The signing time (t=). @default the clock */
  now?: () => Date;
}

/** Signs copies with a fixed set of keys. */
export interface DkimSigner {
  /** `raw` (wire bytes: no mbox From_ line) with one DKIM-Signature per key on top. */
  sign(raw: Buffer): Buffer;
  /** The DKIM-Signature fields for `raw`, CRLF-folded, without the message. */
  signatures(raw: Buffer): string[];
}

const SIGNED_NAMES = [...OVERSIGNED, ...SIGNED_IF_PRESENT];
const OVERSIGNED_KEYS = new Set(OVERSIGNED.map((n) => n.toLowerCase()));

/**
 * A signer for `keys` (one signature each). Everything that does not depend on the copy
 * (the parsed keys, the field list) is fixed here; a copy costs one body hash (none when its
 * body is the last copy's; only its personal end when it starts with the lines the last
 * copies shared), one header parse and one private-key operation per key.
 */
export function createDkimSigner(
  keys: readonly SigningKey[],
  opts: DkimSignerOptions = {},
): DkimSigner {
  if (keys.length === 0) throw new Error('a DKIM signer needs at least one key');
  const now = opts.now ?? (() => new Date());
  const hashBody = prefixBodyMemo(relaxedBodyCanon);
  const canonicalise = relaxedLineMemo();
  const make = (raw: Buffer): { fields: string[]; eol: string } => {
    const { header, body, eol } = cutMessage(raw);
    const rows = parseHeaderFields(header);
    if (!rows.some((r) => r.key === 'from'))
      throw new Error('a message without a From field cannot be DKIM-signed');
    const covered = selectSignedFields(rows, SIGNED_NAMES, OVERSIGNED_KEYS, canonicalise);
    const bh = hashBody(body);
    const t = Math.floor(now().getTime() / 1000);
    return {
      fields: keys.map((key) => messageSignature('DKIM-Signature', 'v=1', key, covered, bh, t)),
      eol,
    };
  };
  return {
    signatures: (raw) => make(raw).fields,
    sign(raw) {
      const { fields, eol } = make(raw);
      return prependFields(raw, fields, eol);
    },
  };
}
