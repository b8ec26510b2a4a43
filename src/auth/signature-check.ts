/**
 * Verifies the list's own signatures on a copy against its own public keys, with no DNS:
 * each key's topmost DKIM-Signature, and the newest ARC set (the ARC-Message-Signature, and
 * the ARC-Seal over the chain: every set when cv=pass or none, its own when cv=fail). The
 * older ARC sets are not the list's; they were checked when the post came in.
 *
 * A verifier written apart from the signers, as a verifier at a receiver is: it reads the
 * tags from the fields as sent, picks the signed fields with mailauth's verifier-side
 * selection, hashes the body with mailauth's byte-by-byte canonicaliser (the signer takes a
 * fast path), and checks with the public key. It is not mailauth's `dkimVerify`, which costs
 * several times the signing (a stream per message, a key record parsed and validated per
 * signature); the tests run that one and dkimpy on top.
 */
import type { KeyObject } from 'node:crypto';
import type { DkimAlgorithm } from './keys.ts';
import {
  formatRelaxedLine,
  getSigningHeaderLines,
  type ParsedHeaderRow,
  parseDkimHeaders,
  parseHeaders,
  relaxedBodyHash,
  stripSignatureValue,
} from './mailauth.ts';
import { cutMessage } from './message.ts';
import { verifyCanonical } from './signature-crypto.ts';

/** A public key and the name it is published under. */
export interface CheckKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  publicKey: KeyObject;
}

const ARC_KEYS = ['arc-authentication-results', 'arc-message-signature', 'arc-seal'] as const;
type ArcKey = (typeof ARC_KEYS)[number];
type ArcSetRows = Partial<Record<ArcKey, ParsedHeaderRow>>;
const AAR_INSTANCE = /^[^:]*:\s*i\s*=\s*(\d+)\s*;/i;

/** What is wrong with the list's signatures on `raw`; empty when all verify. */
export function signatureProblems(
  raw: Buffer,
  keys: { dkim: readonly CheckKey[]; arc?: CheckKey },
): string[] {
  const { header, body } = cutMessage(raw);
  const rows = parseHeaders(header).parsed;
  const bh = relaxedBodyHash(body);
  const problems: string[] = [];
  for (const key of keys.dkim) {
    const row = rows.find((r) => r.key === 'dkim-signature' && isBy(tags(r), key));
    const name = keyName(key);
    const problem = row ? messageSignatureProblem(rows, row, bh, key) : 'missing';
    if (problem) problems.push(`DKIM-Signature by ${name}: ${problem}`);
  }
  const seal = keys.arc ? newestSealProblem(rows, bh, keys.arc) : undefined;
  return seal ? [...problems, seal] : problems;
}

function newestSealProblem(rows: ParsedHeaderRow[], bh: string, key: CheckKey): string | undefined {
  const sets = arcSets(rows);
  const n = Math.max(0, ...sets.keys());
  const newest = sets.get(n);
  const seal = newest?.['arc-seal'];
  const ams = newest?.['arc-message-signature'];
  if (!seal || !ams || !newest['arc-authentication-results'])
    return n === 0 ? 'the copy has no ARC set' : `ARC set i=${n} is incomplete`;
  const sealTags = tags(seal);
  if (!isBy(sealTags, key))
    return `the newest ARC set (i=${n}) is sealed by ${sealTags.s}._domainkey.${sealTags.d}, not by ${keyName(key)}`;
  const amsProblem = messageSignatureProblem(rows, ams, bh, key);
  if (amsProblem) return `ARC-Message-Signature i=${n}: ${amsProblem}`;
  const covered = sealTags.cv?.toLowerCase() === 'fail' ? [n] : range(n);
  const chunks: Buffer[] = [];
  for (const i of covered) {
    for (const k of ARC_KEYS) {
      const row = sets.get(i)?.[k];
      if (!row) return `ARC set i=${i} has no ${k}`;
      const last = i === n && k === 'arc-seal';
      chunks.push(
        last
          ? stripSignatureValue(formatRelaxedLine(row.line))
          : formatRelaxedLine(row.line, '\r\n'),
      );
    }
  }
  if (!verifyCanonical(key, Buffer.concat(chunks), sealTags.b ?? ''))
    return `ARC-Seal i=${n} does not verify with ${keyName(key)}`;
  return undefined;
}

/** Checks a DKIM-Signature or an ARC-Message-Signature (the same algorithm). */
function messageSignatureProblem(
  rows: ParsedHeaderRow[],
  field: ParsedHeaderRow,
  bh: string,
  key: CheckKey,
): string | undefined {
  const t = tags(field);
  if (t.a?.toLowerCase() !== key.algorithm) return `a=${t.a}, the key is ${key.algorithm}`;
  if (t.c?.toLowerCase() !== 'relaxed/relaxed') return `c=${t.c}, expected relaxed/relaxed`;
  if (t.bh !== bh) return 'the body hash does not match the body';
  const covered = getSigningHeaderLines(rows, t.h ?? '', true).headers;
  const data = Buffer.concat([
    ...covered.map((row) => formatRelaxedLine(row.line, '\r\n')),
    stripSignatureValue(formatRelaxedLine(field.line)),
  ]);
  return verifyCanonical(key, data, t.b ?? '') ? undefined : 'the signature does not verify';
}

/** The ARC fields by instance (the last of a duplicated instance: it is checked anyway). */
function arcSets(rows: readonly ParsedHeaderRow[]): Map<number, ArcSetRows> {
  const sets = new Map<number, ArcSetRows>();
  for (const row of rows) {
    const k = ARC_KEYS.find((name) => name === row.key);
    if (!k) continue;
    const i =
      k === 'arc-authentication-results'
        ? Number(AAR_INSTANCE.exec(row.line.toString('latin1'))?.[1])
        : Number(tags(row).i);
    if (Number.isInteger(i) && i >= 1) sets.set(i, { ...sets.get(i), [k]: row });
  }
  return sets;
}

/** A signature field's tags as strings (mailauth's tag-list parser). */
function tags(row: ParsedHeaderRow): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  for (const [name, entry] of Object.entries(parseDkimHeaders(row.line).parsed)) {
    const value = entry && typeof entry === 'object' ? (entry as { value?: unknown }).value : entry;
    values[name] = value === undefined || value === null ? undefined : String(value);
  }
  return values;
}

function isBy(t: Record<string, string | undefined>, key: CheckKey): boolean {
  return t.d?.toLowerCase() === key.domain && t.s === key.selector;
}

function keyName(key: CheckKey): string {
  return `${key.selector}._domainkey.${key.domain}`;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
