/**
 * Verifies the list's own signatures on a copy against its own public keys, with no DNS:
 * each key's topmost DKIM-Signature, and the newest ARC set (the ARC-Message-Signature, and
 * the ARC-Seal over the chain: every set when cv=pass or none, its own when cv=fail). The
 * older ARC sets are not the list's; they were checked when the post came in.
 *
 * A verifier written apart from the signers, as a verifier at a receiver is: it parses the
 * copy as sent again, reads the tags from the fields (mailauth's tag-list parser), picks the
 * signed fields as a verifier does (header-fields.ts `signedFieldRows`, from h= as written),
 * hashes the body with mailauth's canonicaliser (not the signer's, body-hash.ts; its line
 * endings made CRLF first, as mailauth's own parser does, which keeps it off its slow path
 * for LF-ended bodies) and checks with the public key. It shares the header canonicaliser
 * (header-fields.ts `relaxedField`) with the signers: mailauth's would load `lib/tools.js`
 * (~0.3 s of CPU) into every process that signs; property tests hold that one to mailauth's
 * bytes, and the tests check signed copies with mailauth's verifier and dkimpy. It is not
 * mailauth's `dkimVerify`, which costs several times the signing (a stream per message, a
 * key record parsed and validated per signature).
 */
import type { KeyObject } from 'node:crypto';
import { arcSets, chainLines, sealedData, tagsOf } from './arc-sets.ts';
import { crlfLines } from './body-hash.ts';
import {
  type HeaderRow,
  parseHeaderFields,
  relaxedField,
  signedFieldRows,
  stripSignatureValue,
} from './header-fields.ts';
import type { DkimAlgorithm } from './keys.ts';
import { relaxedBodyHash } from './mailauth.ts';
import { cutMessage } from './message.ts';
import { verifyCanonical } from './signature-crypto.ts';
import type { Canonicaliser } from './signature-field.ts';

/** A public key and the name it is published under. */
export interface CheckKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  publicKey: KeyObject;
}

/** The body hash as this verifier computes it (mailauth's canonicaliser). */
export function checkedBodyHash(body: Buffer): string {
  return relaxedBodyHash(Buffer.from(crlfLines(body.toString('latin1')), 'latin1'));
}

/**
 * What is wrong with the list's signatures on `raw`; empty when all verify. `hashBody`:
 * `checkedBodyHash`, or a memo of it (body-hash.ts's `lastBodyMemo`); `canonicalise`: a
 * covered field's relaxed form, or a memo of it (signature-field.ts's `relaxedLineMemo`:
 * keyed by the field's bytes, so it answers what `relaxedField` would).
 */
export function signatureProblems(
  raw: Buffer,
  keys: { dkim: readonly CheckKey[]; arc?: CheckKey },
  hashBody: (body: Buffer) => string = checkedBodyHash,
  canonicalise: Canonicaliser = (line) => relaxedField(line, '\r\n'),
): string[] {
  const { header, body } = cutMessage(raw);
  const rows = parseHeaderFields(header);
  const bh = hashBody(body);
  const signatures = rows
    .filter((r) => r.key === 'dkim-signature')
    .map((row) => ({ row, tags: tagsOf(row) }));
  const problems: string[] = [];
  for (const key of keys.dkim) {
    const own = signatures.find((s) => isBy(s.tags, key));
    const problem = own
      ? messageSignatureProblem(rows, own.row, own.tags, bh, key, canonicalise)
      : 'missing';
    if (problem) problems.push(`DKIM-Signature by ${keyName(key)}: ${problem}`);
  }
  const seal = keys.arc ? newestSealProblem(rows, bh, keys.arc, canonicalise) : undefined;
  return seal ? [...problems, seal] : problems;
}

function newestSealProblem(
  rows: HeaderRow[],
  bh: string,
  key: CheckKey,
  canonicalise: Canonicaliser,
): string | undefined {
  const sets = arcSets(rows);
  const n = Math.max(0, ...sets.keys());
  const newest = sets.get(n);
  const seal = newest?.['arc-seal'];
  const ams = newest?.['arc-message-signature'];
  const aar = newest?.['arc-authentication-results'];
  if (!seal || !ams || !aar)
    return n === 0 ? 'the copy has no ARC set' : `ARC set i=${n} is incomplete`;
  const sealTags = tagsOf(seal);
  if (!isBy(sealTags, key))
    return `the newest ARC set (i=${n}) is sealed by ${sealTags.s}._domainkey.${sealTags.d}, not by ${keyName(key)}`;
  const amsProblem = messageSignatureProblem(rows, ams, tagsOf(ams), bh, key, canonicalise);
  if (amsProblem) return `ARC-Message-Signature i=${n}: ${amsProblem}`;
  const own = { aar: aar.line, ams: ams.line, seal: seal.line };
  const covered = sealTags.cv?.toLowerCase() === 'fail' ? [own] : chainLines(sets, n);
  if (!covered) return `the ARC chain below i=${n} is incomplete`;
  if (!verifyCanonical(key, sealedData(covered), sealTags.b ?? ''))
    return `ARC-Seal i=${n} does not verify with ${keyName(key)}`;
  return undefined;
}

/** Checks a DKIM-Signature or an ARC-Message-Signature (the same algorithm). */
function messageSignatureProblem(
  rows: HeaderRow[],
  field: HeaderRow,
  t: Record<string, string | undefined>,
  bh: string,
  key: CheckKey,
  canonicalise: Canonicaliser,
): string | undefined {
  if (t.a?.toLowerCase() !== key.algorithm) return `a=${t.a}, the key is ${key.algorithm}`;
  if (t.c?.toLowerCase() !== 'relaxed/relaxed') return `c=${t.c}, expected relaxed/relaxed`;
  if (t.bh !== bh) return 'the body hash does not match the body';
  const covered = signedFieldRows(rows, t.h ?? '');
  const data = Buffer.concat([
    ...covered.map((row) => canonicalise(row.line)),
    stripSignatureValue(relaxedField(field.line)),
  ]);
  return verifyCanonical(key, data, t.b ?? '') ? undefined : 'the signature does not verify';
}

function isBy(t: Record<string, string | undefined>, key: CheckKey): boolean {
  return t.d?.toLowerCase() === key.domain && t.s === key.selector;
}

function keyName(key: CheckKey): string {
  return `${key.selector}._domainkey.${key.domain}`;
}
