/**
 * VERP (variable envelope return path): the bounce address carries the recipient, so a
 * bounce names who bounced even when the DSN is unreadable. `red-bounces@list.example`
 * for `alice@example.com` becomes `red-bounces+alice=example.com@list.example`.
 */
export function verpAddress(sender: string, recipient: string, delimiter = '+'): string {
  const at = sender.lastIndexOf('@');
  const rat = recipient.lastIndexOf('@');
  // The null sender has no bounces to route; an address without a domain cannot be encoded.
  if (sender === '' || at <= 0 || rat <= 0) return sender;
  const local = sender.slice(0, at);
  const domain = sender.slice(at + 1);
  return `${local}${delimiter}${recipient.slice(0, rat)}=${recipient.slice(rat + 1)}@${domain}`;
}

/** The recipient encoded in a VERP address, or undefined when `address` is not one for `sender`. */
export function verpRecipient(
  sender: string,
  address: string,
  delimiter = '+',
): string | undefined {
  const at = sender.lastIndexOf('@');
  if (at <= 0) return undefined;
  const prefix = `${sender.slice(0, at)}${delimiter}`.toLowerCase();
  const suffix = `@${sender.slice(at + 1)}`.toLowerCase();
  const lower = address.toLowerCase();
  if (!lower.startsWith(prefix) || !lower.endsWith(suffix)) return undefined;
  const middle = address.slice(prefix.length, address.length - suffix.length);
  const eq = middle.lastIndexOf('=');
  if (eq <= 0) return undefined;
  return `${middle.slice(0, eq)}@${middle.slice(eq + 1)}`;
}
