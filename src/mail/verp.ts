/**
 * VERP (variable envelope return path): the bounce address carries the recipient, so a
 * bounce names who bounced even when the report is unreadable. `red-bounces@list.example`
 * for `alice@example.com` becomes `red-bounces+alice=example.com@list.example`.
 *
 * A list's VERP addresses also carry a cookie (list/verp.ts makes it with the installation
 * secret), so a forger who knows a member's address still cannot make one:
 * `red-bounces+alice=example.com+k7q2m4x9za@list.example`. When the member's address would
 * push the local part past RFC 5321's 64 octets, an opaque token stands for it:
 * `red-bounces+t3vq…+k7q2m4x9za@list.example`. Pure encoding and decoding here; no secret.
 */

/** Cookies and tokens are lower-case RFC 4648 base32: no '=', '+', '-', '.' or '@' in them. */
const COOKIE = /^[a-z2-7]{10}$/;
const TOKEN = /^[a-z2-7]{16}$/;
export const VERP_COOKIE_LENGTH = 10;
export const VERP_TOKEN_LENGTH = 16;
/** RFC 5321 §4.5.3.1.1. */
export const MAX_LOCAL_PART = 64;

export function verpAddress(sender: string, recipient: string, delimiter = '+'): string {
  const at = sender.lastIndexOf('@');
  const rat = recipient.lastIndexOf('@');
  // The null sender has no bounces to route; an address without a domain cannot be encoded.
  if (sender === '' || at <= 0 || rat <= 0) return sender;
  const local = sender.slice(0, at);
  const domain = sender.slice(at + 1);
  return `${local}${delimiter}${recipient.slice(0, rat)}=${recipient.slice(rat + 1)}@${domain}`;
}

/** What a VERP address says: who (an address or a token) and the cookie, when it has one. */
export interface VerpParts {
  /** The recipient encoded as `local=domain`. */
  recipient?: string;
  /** An opaque token standing for the recipient (addresses too long to encode). */
  token?: string;
  /** The cookie, lower case; absent in an address without one. */
  cookie?: string;
}

/**
 * `sender` with `who` and `cookie` encoded: `LOCAL+alice=example.com+COOKIE@DOMAIN`, or
 * `LOCAL+TOKEN+COOKIE@DOMAIN`. The null sender and domainless addresses are returned as they are.
 */
export function verpEncode(
  sender: string,
  who: { recipient: string } | { token: string },
  cookie: string,
  delimiter = '+',
): string {
  const at = sender.lastIndexOf('@');
  if (sender === '' || at <= 0) return sender;
  let encoded: string;
  if ('token' in who) encoded = who.token;
  else {
    const rat = who.recipient.lastIndexOf('@');
    if (rat <= 0) return sender;
    encoded = `${who.recipient.slice(0, rat)}=${who.recipient.slice(rat + 1)}`;
  }
  return `${sender.slice(0, at)}${delimiter}${encoded}${delimiter}${cookie}@${sender.slice(at + 1)}`;
}

/** The local part of an address (what RFC 5321 caps at 64 octets). */
export function localPartLength(address: string): number {
  const at = address.lastIndexOf('@');
  return Buffer.byteLength(at < 0 ? address : address.slice(0, at));
}

/**
 * The parts of `address` as a VERP address of `sender`, or undefined when it is not one
 * (another address, or `sender` itself). Case-insensitive in the fixed parts and the cookie.
 */
export function verpDecode(
  sender: string,
  address: string,
  delimiter = '+',
): VerpParts | undefined {
  const at = sender.lastIndexOf('@');
  if (at <= 0) return undefined;
  const prefix = `${sender.slice(0, at)}${delimiter}`.toLowerCase();
  const suffix = `@${sender.slice(at + 1)}`.toLowerCase();
  const lower = address.toLowerCase();
  if (lower.length <= prefix.length + suffix.length) return undefined;
  if (!lower.startsWith(prefix) || !lower.endsWith(suffix)) return undefined;
  let middle = address.slice(prefix.length, address.length - suffix.length);
  let cookie: string | undefined;
  const last = middle.lastIndexOf(delimiter);
  if (last > 0 && COOKIE.test(middle.slice(last + 1).toLowerCase())) {
    cookie = middle.slice(last + 1).toLowerCase();
    middle = middle.slice(0, last);
  }
  const eq = middle.lastIndexOf('=');
  if (eq > 0 && eq < middle.length - 1) {
    const recipient = `${middle.slice(0, eq)}@${middle.slice(eq + 1)}`;
    return { recipient, ...(cookie ? { cookie } : {}) };
  }
  if (TOKEN.test(middle.toLowerCase()))
    return { token: middle.toLowerCase(), ...(cookie ? { cookie } : {}) };
  return undefined;
}

/** The recipient encoded in a VERP address, or undefined when `address` is not one for `sender`. */
export function verpRecipient(
  sender: string,
  address: string,
  delimiter = '+',
): string | undefined {
  return verpDecode(sender, address, delimiter)?.recipient;
}
