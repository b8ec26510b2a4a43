/**
 * Verifies the list's own signatures on a copy against its own public keys, with no DNS:
 * each key's topmost DKIM-Signature, and the newest ARC set (the ARC-Message-Signature, and
 * the ARC-Seal over the chain: every set when cv=pass or none, its own when cv=fail). The
 * older ARC sets are not the list's; they were checked when the post came in.
 *
 * A verifier written apart from the signers, as a verifier at a receiver is: it parses the
 * copy as sent again, reads the tags from the fields (tag-list.ts), picks the signed fields
 * as a verifier does (header-fields.ts `signedFieldRows`, from h= as written), hashes the
 * body with its own canonicaliser (`checkedBodyHash` below: a byte loop, where the signer's
 * body-hash.ts works by regular expressions over a string) and checks with the public key.
 *
 * What it shares with the signers, and why that is safe: the header parser and the header
 * canonicaliser (header-fields.ts `parseHeaderFields`, `relaxedField`), the tag-list
 * reader (tag-list.ts, which the sealer reads cv= and i= with), and the memo that hashes a
 * post's shared body lines once (body-hash.ts `prefixBodyMemo`: it compares those bytes in
 * full with every copy and feeds this verifier's own canonicaliser the rest; a property
 * test holds it to the unmemoised hash, and self-check.test.ts fails a copy changed there). Each is held to mailauth
 * 7.1's bytes by property tests (header-fields.test.ts, tag-list.test.ts; the body
 * canonicaliser in body-hash.test.ts), and signed copies are checked by mailauth's verifier
 * and by dkimpy in the tests, so a bug in a shared piece is caught there, not left to the
 * self-check; what the self-check guards against at run time (a copy changed after signing,
 * a signature over other bytes, a key that is not the configured one, a broken body hash)
 * goes through the parts it does not share. Taking mailauth's own would load its modules
 * into every process that signs (`lib/tools.js` ~0.3 s of CPU; its tag parser and body
 * canonicaliser ~15 ms, which was most of a batched post's signing overhead). It is not
 * mailauth's `dkimVerify`, which costs several times the signing (a stream per message, a
 * key record parsed and validated per signature).
 */
import type { KeyObject } from 'node:crypto';
import { arcSets, chainLines, sealedData, tagsOf } from './arc-sets.ts';
import { type BodyCanon, startBodyHash } from './body-hash.ts';
import {
  type HeaderRow,
  parseHeaderFields,
  relaxedField,
  signedFieldRows,
  stripSignatureValue,
} from './header-fields.ts';
import type { DkimAlgorithm } from './keys.ts';
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

/** Bytes of canonical body gathered before they go into the hash. */
const CHUNK = 16 * 1024;
const SP = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;

/** Where the canonical bytes gather before they go into the hash (used synchronously only). */
const scratch = Buffer.allocUnsafe(CHUNK);

/**
 * The relaxed body canonicaliser of this verifier: one pass over the bytes, the canonical
 * form written into a small buffer that goes into the hash each time it fills (no string of
 * the body, no copy of it). A line ends at LF (a CR just before it is part of the ending;
 * any other CR is content, as mailauth and dkimpy read it); its blank runs become one SP and
 * its trailing blanks go; empty lines at the end go; a non-empty result ends in CRLF. Its own
 * code, not the signer's (body-hash.ts works by regular expressions over a latin1 string); a
 * property test holds it to mailauth's canonicaliser. It can stop after an LF and go on from
 * a copy of its state (body-hash.ts `prefixBodyMemo`).
 */
export const checkedBodyCanon: BodyCanon = {
  feed(state, body) {
    const out = scratch;
    let w = 0;
    let emptyLines = state.emptyLines;
    /** Whether the line has content so far; whether blanks came after its last content. */
    let content = false;
    let blank = false;
    const flush = () => {
      state.hash.update(out.subarray(0, w));
      w = 0;
    };
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (c === SP || c === TAB) {
        blank = true;
        continue;
      }
      if (c === LF || (c === CR && body[i + 1] === LF)) {
        if (c === CR) i++;
        if (content) {
          if (w + 2 > out.length) flush();
          out[w++] = CR;
          out[w++] = LF;
        } else emptyLines++;
        content = false;
        blank = false;
        continue;
      }
      if (!content) {
        for (; emptyLines > 0; emptyLines--) {
          if (w + 2 > out.length) flush();
          out[w++] = CR;
          out[w++] = LF;
        }
        content = true;
      }
      if (w + 2 > out.length) flush();
      if (blank) {
        out[w++] = SP;
        blank = false;
      }
      out[w++] = c;
    }
    // A body's last part may end without a line end: its line still ends in CRLF.
    if (content) {
      if (w + 2 > out.length) flush();
      out[w++] = CR;
      out[w++] = LF;
    }
    if (w > 0) flush();
    state.emptyLines = emptyLines;
  },
};

/** The relaxed/sha256 body hash (RFC 6376 section 3.4.4) as this verifier computes it. */
export function checkedBodyHash(body: Buffer): string {
  const state = startBodyHash();
  checkedBodyCanon.feed(state, body);
  return state.hash.digest('base64');
}

/**
 * What is wrong with the list's signatures on `raw`; empty when all verify. `hashBody`:
 * `checkedBodyHash`, or a memo of it (body-hash.ts's `prefixBodyMemo` of `checkedBodyCanon`); `canonicalise`: a
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
