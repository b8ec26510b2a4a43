/**
 * The ARC sets of a message as its header has them (RFC 8617 section 4.2), and the bytes an
 * ARC-Seal signs (section 5.1.1): shared by the sealer and the self-check. Deliberately not
 * mailauth's chain parser, which refuses a chain whose newest seal says cv=fail; the list
 * must still see such a chain to leave it alone (section 5.1 step 2), and check its own
 * cv=fail seal.
 */
import { type HeaderRow, relaxedField, stripSignatureValue } from './header-fields.ts';
import { tagValues } from './tag-list.ts';

/** The three fields of one ARC set (a set may lack some: then it is not a valid chain). */
export type ArcSetRows = Partial<
  Record<'arc-authentication-results' | 'arc-message-signature' | 'arc-seal', HeaderRow>
>;

/** The three fields of a set as they are signed, oldest field first. */
export interface ArcSetLines {
  aar: Buffer | string;
  ams: Buffer | string;
  seal: Buffer | string;
}

const AAR_INSTANCE = /^[^:]*:\s*i\s*=\s*(\d+)\s*;/i;

/** The ARC fields by instance (the last of a duplicated instance: it is checked anyway). */
export function arcSets(rows: readonly HeaderRow[]): Map<number, ArcSetRows> {
  const sets = new Map<number, ArcSetRows>();
  for (const row of rows) {
    const key = row.key;
    if (
      key !== 'arc-authentication-results' &&
      key !== 'arc-message-signature' &&
      key !== 'arc-seal'
    )
      continue;
    const i =
      key === 'arc-authentication-results'
        ? Number(AAR_INSTANCE.exec(row.line.toString('latin1'))?.[1])
        : Number(tagsOf(row).i);
    if (Number.isInteger(i) && i >= 1) sets.set(i, { ...sets.get(i), [key]: row });
  }
  return sets;
}

/** Sets 1…n as lines, or undefined when one of them lacks a field. */
export function chainLines(sets: Map<number, ArcSetRows>, n: number): ArcSetLines[] | undefined {
  const lines: ArcSetLines[] = [];
  for (let i = 1; i <= n; i++) {
    const set = sets.get(i);
    const [aar, ams, seal] = [
      set?.['arc-authentication-results'],
      set?.['arc-message-signature'],
      set?.['arc-seal'],
    ];
    if (!aar || !ams || !seal) return undefined;
    lines.push({ aar: aar.line, ams: ams.line, seal: seal.line });
  }
  return lines;
}

/**
 * What an ARC-Seal signs: each set's ARC-Authentication-Results, ARC-Message-Signature and
 * ARC-Seal in relaxed form, oldest set first, the last seal without its b= value.
 */
export function sealedData(sets: readonly ArcSetLines[]): Buffer {
  const chunks: Buffer[] = [];
  sets.forEach((set, index) => {
    chunks.push(relaxedField(set.aar, '\r\n'), relaxedField(set.ams, '\r\n'));
    chunks.push(
      index === sets.length - 1
        ? stripSignatureValue(relaxedField(set.seal))
        : relaxedField(set.seal, '\r\n'),
    );
  });
  return Buffer.concat(chunks);
}

/** A signature field's tags as strings (tag-list.ts: mailauth's values, without mailauth). */
export function tagsOf(row: HeaderRow): Record<string, string | undefined> {
  return tagValues(row.line);
}
