/**
 * The DNS resolver every function of src/auth/ takes. It has mailauth's shape
 * (`dns.promises.resolve(name, rrtype)`), so the same function serves DKIM key lookups, SPF,
 * the DMARC tree walk and ARC. Nothing here queries the network by itself: the composition
 * root passes `systemResolver()`, tests and the self-check pass a `staticResolver`.
 */
import type { promises as Dns } from 'node:dns';
import { createRequire } from 'node:module';

/**
 * A resolver of node:dns's promise API, with node:dns loaded by the first one made: a
 * process that asks no DNS question (`malist receive` for a list that neither verifies nor
 * rewrites for DMARC) does not load it (~2 ms of each process's start).
 */
export function newResolver(options: { timeout: number; tries: number }): Dns.Resolver {
  const dns = createRequire(import.meta.url)('node:dns') as typeof import('node:dns');
  return new dns.promises.Resolver(options);
}

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
 * what the composition root passes in production. `servers` (`ip` or `ip:port`) replaces the
 * system's list, e.g. a validating resolver on the host.
 */
export function systemResolver(
  opts: { timeoutMs?: number; tries?: number; servers?: readonly string[] } = {},
): DnsResolver {
  const make = () => {
    const made = newResolver({ timeout: opts.timeoutMs ?? 3000, tries: opts.tries ?? 2 });
    if (opts.servers && opts.servers.length > 0) made.setServers([...opts.servers]);
    return made;
  };
  // Servers written in malist.yaml are set at once; the system's own resolver is made by the
  // first question. A bad server address does not throw here, while the configuration is
  // being built: `malist check` and every command say it at its line first (config's
  // authenticationProblems), and a question asked anyway fails with the same error.
  let resolver: Dns.Resolver | undefined;
  if (opts.servers && opts.servers.length > 0) {
    try {
      resolver = make();
    } catch {
      resolver = undefined;
    }
  }
  return (name, rrtype) => {
    resolver ??= make();
    return resolver.resolve(name, rrtype) as Promise<unknown[]>;
  };
}
