/**
 * Addresses: parsing header fields (groups, encoded words, IDN) with nodemailer's
 * addressparser, and the one normal form every comparison in malist uses.
 */
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { decodeWords, encodeWordsIfNeeded } from './encoded-words.ts';

export interface Mailbox {
  /** Display name, encoded words decoded. */
  name: string;
  /** The address as written (may be empty or odd for broken input). */
  address: string;
}

/** Every mailbox in an address field, groups flattened; never throws. */
export function parseAddressList(value: string | undefined): Mailbox[] {
  if (!value) return [];
  const text = value.trim();
  // "a@x b@y": addresses separated by blanks instead of commas (seen in the wild).
  if (!/[<>",;:()]/.test(text) && text.split(/\s+/).every((t) => t.includes('@'))) {
    return text.split(/\s+/).map((address) => ({ name: '', address }));
  }
  let parsed: ReturnType<typeof addressparser>;
  try {
    parsed = addressparser(text, { flatten: true });
  } catch {
    return [];
  }
  const out: Mailbox[] = [];
  for (const entry of parsed) {
    if (!('address' in entry) || entry.address === undefined) continue;
    out.push({ name: decodeWords(entry.name ?? ''), address: entry.address });
  }
  return out;
}

/**
 * The normal form used for every comparison (membership, routing, loops): no angle
 * brackets, lower case (Mailman compares local parts case-insensitively too), the domain in
 * its ASCII (punycode) form. Returns '' for something that is not an address.
 */
export function normalizeAddress(address: string): string {
  let text = address.trim();
  if (text.startsWith('<') && text.endsWith('>')) text = text.slice(1, -1).trim();
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return '';
  const local = text.slice(0, at);
  const domain = text.slice(at + 1).replace(/\.+$/, '');
  // `\ / ? # %` would be taken by the URL host parser as the end of the host.
  if (/[\s<>,;]/.test(local) || /[\s<>,;@\\/?#%]/.test(domain)) return '';
  // The host parser may map characters to dots (U+3002): no empty label may come out.
  const ascii = domainToASCII(domain.toLowerCase()).replace(/\.+$/, '');
  if (!ascii || ascii.startsWith('.') || ascii.includes('..')) return '';
  return `${local.toLowerCase()}@${ascii}`;
}

/** True when both strings are the same address in normal form (never a substring match). */
export function sameAddress(a: string, b: string): boolean {
  const na = normalizeAddress(a);
  return na !== '' && na === normalizeAddress(b);
}

/** Normalised addresses found in the named fields (To, Cc, …), in order, without repeats. */
export function addressesIn(values: Iterable<string>): string[] {
  const seen = new Set<string>();
  for (const value of values) {
    for (const mailbox of parseAddressList(value)) {
      const normal = normalizeAddress(mailbox.address);
      if (normal) seen.add(normal);
    }
  }
  return [...seen];
}

/** "Name <address>" with the name quoted or encoded as needed; no CR/LF survives. */
export function formatMailbox(name: string, address: string): string {
  const cleanName = name.replace(/[\r\n]+/g, ' ').trim();
  const cleanAddress = address.replace(/[\r\n<>\s]+/g, '');
  if (!cleanName) return `<${cleanAddress}>`;
  const encoded = encodeWordsIfNeeded(cleanName);
  if (encoded !== cleanName) return `${encoded} <${cleanAddress}>`;
  const quoted = /^[\w !#$%&'*+\-/=?^`{|}~]+$/.test(cleanName)
    ? cleanName
    : `"${cleanName.replace(/(["\\])/g, '\\$1')}"`;
  return `${quoted} <${cleanAddress}>`;
}

/** Splits "Name <addr>" (a configured list identity) into its parts. */
export function parseMailbox(value: string): Mailbox | undefined {
  return parseAddressList(value)[0];
}
