/**
 * The DNS resolver every function of src/auth/ takes. It has mailauth's shape
 * (`dns.promises.resolve(name, rrtype)`), so the same function serves DKIM key lookups, SPF,
 * the DMARC tree walk and ARC. Nothing here queries the network by itself: the composition
 * root passes `systemResolver()`, tests and the self-check pass a `staticResolver`.
 */
import { promises as dns } from 'node:dns';

/** Looks up `name` (TXT, A, AAAA, MX, PTR, CNAME…); throws an error with a DNS `code`. */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown[]>;

/** What a static resolver serves: per name, TXT strings (one per record) or per-type answers. */
export type StaticRecords = Record<string, string | string[] | Record<string, unknown[]>>;

/** A DNS error as node:dns throws it, so callers tell "no such record" from a failure. */
export function dnsError(code: 'ENOTFOUND' | 'ENODATA' | 'ESERVFAIL', name: string): Error {
  return Object.assign(new Error(`${code} ${name}`), { code, hostname: name });
}

/**
 * A resolver that answers only from `records` (names compared case-insensitively, without a
 * trailing dot); any other name is NXDOMAIN (`ENOTFOUND`), a known name without the asked
 * type is `ENODATA`. A TXT string is served as one record of one character-string.
 */
export function staticResolver(records: StaticRecords): DnsResolver {
  const table = new Map<string, Record<string, unknown[]>>();
  for (const [name, value] of Object.entries(records)) {
    const byType =
      typeof value === 'string' || Array.isArray(value)
        ? { TXT: [value].flat().map((txt) => [txt]) }
        : value;
    table.set(normalName(name), byType);
  }
  return async (name, rrtype) => {
    const entry = table.get(normalName(name));
    if (!entry) throw dnsError('ENOTFOUND', name);
    const answers = entry[rrtype.toUpperCase()];
    if (!answers || answers.length === 0) throw dnsError('ENODATA', name);
    return answers;
  };
}

function normalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * The system's resolver with a bounded wait (a slow DNS server must not hold a post forever):
 * what the composition root passes in production.
 */
export function systemResolver(opts: { timeoutMs?: number; tries?: number } = {}): DnsResolver {
  const resolver = new dns.Resolver({ timeout: opts.timeoutMs ?? 3000, tries: opts.tries ?? 2 });
  return (name, rrtype) => resolver.resolve(name, rrtype) as Promise<unknown[]>;
}
