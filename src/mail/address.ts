/**
 * Addresses: parsing header fields (groups, encoded words, IDN) with nodemailer's
 * addressparser, and the one normal form every comparison in malist uses.
 */
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { decodeWords, encodePhraseIfNeeded } from './encoded-words.ts';

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

const PLAIN_LOCAL =
  /^[A-Za-z0-9!$%&'*+/=?^_`{|}~][A-Za-z0-9!$%&'*+\-/=?^_`{|}~]*(\.[A-Za-z0-9!$%&'*+\-/=?^_`{|}~]+)*$/;
const PLAIN_HOST =
  /^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * The common case, told without the URL host parser or Unicode classes: a plain ASCII
 * `local@host.name` — a dot-atom local part (no leading `-`) of at most 64 octets, host
 * labels of letters, digits and inner hyphens of at most 63, the last starting with a
 * letter (never an IPv4 number), none an `xn--` label. Such an address has no
 * `addressProblem` and its normal form is itself in lower case, exactly as the general path
 * finds (a members list of 10,000 reads each address several times: `members sync`).
 */
function plainAscii(address: string): boolean {
  if (address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at > 64) return false;
  const domain = address.slice(at + 1);
  return (
    PLAIN_LOCAL.test(address.slice(0, at)) && PLAIN_HOST.test(domain) && !/(^|\.)xn--/i.test(domain)
  );
}

/**
 * The normal form used for every comparison (membership, routing, loops): no angle
 * brackets, lower case (Mailman compares local parts case-insensitively too), the domain in
 * its ASCII (punycode) form. Returns '' for something that is not an address.
 */
export function normalizeAddress(address: string): string {
  return plainAscii(address) ? address.toLowerCase() : normalizeGeneral(address);
}

function normalizeGeneral(address: string): string {
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

/**
 * The one grammar of the addresses malist stores and mails to — a member, a list address,
 * a moderator — the same set for subscription by mail, `malist members add`, the config
 * loader and every member store, so what is stored always reads back the same. A bare
 * address: a dot-atom local part of RFC 5322 atext (or non-ASCII letters, RFC 6532) but
 * `#` (a members file's comment); a host name. Quoted local parts, comments, `@` in the
 * local part, domain literals and a leading `-` (an option to sendmail(8)) are refused:
 * each is read differently by some store, parser or MTA (`victim@example.org#@attacker.example`
 * is mailed to attacker.example but read back from a members file as victim@example.org).
 * Returns what is wrong, in words for a reply or an error, or undefined for a good address.
 */
export function addressProblem(address: string): string | undefined {
  return plainAscii(address) ? undefined : problemGeneral(address);
}

function problemGeneral(address: string): string | undefined {
  if (address.length === 0) return 'it is empty';
  if (/[\s]/u.test(address)) return 'it contains blanks or line breaks';
  const at = address.lastIndexOf('@');
  if (at < 0) return 'it has no @';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local === '') return 'it has nothing before the @';
  if (Buffer.byteLength(local) > 64) return 'its local part is longer than 64 octets';
  if (Buffer.byteLength(address) > 254) return 'it is longer than 254 octets';
  const bad = /[^A-Za-z0-9!$%&'*+\-/=?^_`{|}~.\p{L}\p{M}\p{N}]/u.exec(local);
  if (bad) return `its local part contains ${JSON.stringify(bad[0])}, which is not allowed here`;
  if (/^[.-]|\.$|\.\./.test(local))
    return 'its local part starts with "." or "-", ends with ".", or has ".." in it';
  if (domain === '') return 'it has nothing after the @';
  if (!/^[\p{L}\p{M}\p{N}-]+(\.[\p{L}\p{M}\p{N}-]+)*$/u.test(domain))
    return `its domain ${JSON.stringify(domain.slice(0, 80))} is not a host name`;
  const ascii = domainToASCII(domain.toLowerCase());
  if (!ascii || ascii.split('.').some((l) => l === '' || l.length > 63 || /^-|-$/.test(l)))
    return `its domain ${JSON.stringify(domain.slice(0, 80))} is not a host name`;
  return undefined;
}

/** The shortcut and the general paths, for the test that they agree. */
export const addressPaths = { plainAscii, normalizeGeneral, problemGeneral };

/** True when `address` is in the grammar of `addressProblem`. */
export function isStorableAddress(address: string): boolean {
  return addressProblem(address) === undefined;
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
  const encoded = encodePhraseIfNeeded(cleanName);
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
