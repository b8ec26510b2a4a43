/**
 * The header side of a DKIM-Signature or an ARC-Message-Signature (the same algorithm,
 * RFC 8617 section 4.1.2): which fields it covers, their relaxed canonical bytes, and the
 * signature field itself, folded at tag boundaries with b= last, so the field without its
 * value is exactly what is hashed (RFC 6376 section 3.7) and no placeholder is needed.
 * Canonicalisation is header-fields.ts's (mailauth's rules, without loading `lib/tools.js`).
 */

import { type HeaderRow, relaxedField, stripSignatureValue } from './header-fields.ts';
import type { SigningKey } from './keys.ts';
import { signCanonical } from './signature-crypto.ts';

/** What the header part of a signature covers: h= and the canonical bytes of those fields. */
export interface SignedFields {
  /** The h= value. */
  h: string;
  /** The relaxed canonical form of the covered fields, each ending in CRLF. */
  canonical: Buffer;
}

/** A field's relaxed canonical form, CRLF-ended. */
export type Canonicaliser = (line: Buffer) => Buffer;

const relaxedLine: Canonicaliser = (line) => relaxedField(line, '\r\n');

/** Fields a memo keeps at most; past it, it starts again (a post has a few dozen). */
const MEMO_FIELDS = 128;
/**
 * Fields of one length a memo keeps. The personal fields (a one-click URL) are new at every
 * copy and often all of one length: without a bound each copy's would be compared with the
 * up to 128 kept before it. Past it, a field never found again makes room first.
 */
const MEMO_SAME_LENGTH = 4;

/**
 * `relaxedField` remembering the fields it canonicalised: the personalised copies of
 * one post share all their signed fields but one or two (List-Unsubscribe), so a signer
 * canonicalises each shared field once, not once a copy. Looked up by the field's length,
 * then compared byte for byte (no string of the field made to key a map); it keeps its own
 * copy of each field's bytes (a copy's buffer may be reused, or moved to another thread).
 */
export function relaxedLineMemo(): Canonicaliser {
  const seen = new Map<number, Array<{ line: Buffer; canonical: Buffer; found: boolean }>>();
  let size = 0;
  return (line) => {
    const same = seen.get(line.length);
    if (same)
      for (const entry of same)
        if (entry.line.equals(line)) {
          entry.found = true;
          return entry.canonical;
        }
    if (size >= MEMO_FIELDS) {
      seen.clear();
      size = 0;
    }
    const entry = { line: Buffer.from(line), canonical: relaxedLine(line), found: false };
    const list = seen.get(line.length);
    if (!list) seen.set(line.length, [entry]);
    else {
      if (list.length >= MEMO_SAME_LENGTH) {
        const unused = list.findIndex((e) => !e.found);
        list.splice(Math.max(0, unused), 1);
        size--;
      }
      list.push(entry);
    }
    size++;
    return entry.canonical;
  };
}

/**
 * Picks the fields a signature covers (RFC 6376 section 5.4.2: the last instance of a name
 * first) and canonicalises them (with `canonicalise`: a `relaxedLineMemo` or
 * `relaxedField` itself). Names in `oversigned` (lower case) get one more h= entry than
 * the copy has instances.
 */
export function selectSignedFields(
  rows: readonly HeaderRow[],
  names: readonly string[],
  oversigned: ReadonlySet<string> = new Set(),
  canonicalise: Canonicaliser = relaxedLine,
): SignedFields {
  const h: string[] = [];
  const chunks: Buffer[] = [];
  for (const name of names) {
    const key = name.toLowerCase();
    for (let i = rows.length - 1; i >= 0; i--) {
      const row = rows[i]!;
      if (row.key !== key) continue;
      h.push(name);
      chunks.push(canonicalise(row.line));
    }
    if (oversigned.has(key)) h.push(name);
  }
  return { h: h.join(':'), canonical: Buffer.concat(chunks) };
}

/**
 * A signed `DKIM-Signature` (`lead` 'v=1') or `ARC-Message-Signature` (`lead` 'i=N') by
 * `key` over `fields` and the body hash `bh`, at time `t` (seconds).
 */
export function messageSignature(
  name: 'DKIM-Signature' | 'ARC-Message-Signature',
  lead: string,
  key: SigningKey,
  fields: SignedFields,
  bh: string,
  t: number,
): string {
  const unsigned =
    `${name}: ${lead}; a=${key.algorithm}; c=relaxed/relaxed;\r\n d=${key.domain};` +
    ` s=${key.selector}; t=${t};\r\n h=${foldList(fields.h)};\r\n bh=${bh};\r\n b=`;
  return signField(unsigned, fields.canonical, key);
}

/**
 * `unsigned` (a signature field ending in `b=`) with its b= value: the signature of
 * `covered` followed by the relaxed form of the field itself without that value.
 */
export function signField(unsigned: string, covered: Buffer, key: SigningKey): string {
  const canonical = Buffer.concat([covered, stripSignatureValue(relaxedField(unsigned))]);
  return withSignature(unsigned, canonical, key);
}

/** `unsigned` (a signature field ending in `b=`) with the signature of `canonical`. */
export function withSignature(unsigned: string, canonical: Buffer, key: SigningKey): string {
  return unsigned + foldValue(signCanonical(key, canonical));
}

/** An h= list folded after a colon at ~70 characters (FWS is allowed there). */
function foldList(h: string): string {
  const lines: string[] = [];
  let line = '';
  for (const name of h.split(':')) {
    if (line !== '' && line.length + name.length >= 70) {
      lines.push(`${line}:`);
      line = name;
    } else line = line === '' ? name : `${line}:${name}`;
  }
  return [...lines, line].join('\r\n ');
}

/** A base64 value folded every 72 characters. */
function foldValue(value: string): string {
  if (value.length <= 72) return value;
  const lines: string[] = [];
  for (let at = 0; at < value.length; at += 72) lines.push(value.slice(at, at + 72));
  return lines.join('\r\n ');
}
