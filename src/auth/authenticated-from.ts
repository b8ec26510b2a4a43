/**
 * Is a post from the address its From names? Only when something the forger cannot make
 * vouches for the From domain: a passing DKIM signature or an SPF pass whose domain is
 * aligned with it (DMARC alignment, RFC 7489 section 3.1: relaxed by the organisational
 * domain from the Public Suffix List, strict when the domain's DMARC record says adkim=s /
 * aspf=s), or an ARC chain that validated and whose newest sealer, a forwarder the list
 * trusts, recorded such a pass before it changed the post. A DMARC pass from the verdict
 * counts too: mailauth finds organisational domains by the RFC 9989 DNS tree walk, which can
 * see a boundary (a psd= record) the Public Suffix List does not. Pure: it reads a verdict.
 */
import { createRequire } from 'node:module';
import type { ReportedResults } from './auth-results.ts';
import type { AuthVerdict } from './verify.ts';

/** Options of the check. */
export interface AuthenticatedFromOptions {
  /**
   * Domains whose ARC seals (cv=pass) the list believes (a university's forwarder, Google
   * Groups…). A sealer matches a listed domain or a subdomain of it.
   * @default []
   */
  trustedSealers?: readonly string[];
}

/** The decision and its reason (for the journal, and the hold notice when it fails). */
export interface FromAuthentication {
  authenticated: boolean;
  /** `From authenticated by …` or `From not authenticated: …` */
  reason: string;
}

type Verdict = Pick<AuthVerdict, 'from' | 'dkim' | 'spf' | 'dmarc' | 'arc'>;

type Tldts = typeof import('tldts');
let tldts: Tldts | undefined;

/** The organisational domain (PSL, private suffixes included), or the name itself. */
export function organisationalDomain(domain: string): string {
  const name = domain.toLowerCase().replace(/\.$/, '');
  // The public-suffix list is loaded on first use (~0.1 CPU-s): a post that no rule asks to
  // align never needs it, and `malist receive` starts without it.
  tldts ??= createRequire(import.meta.url)('tldts') as Tldts;
  return tldts.getDomain(name, { allowPrivateDomains: true }) ?? name;
}

/** DMARC identifier alignment of `domain` with the From domain. */
export function aligned(domain: string, fromDomain: string, strict: boolean): boolean {
  const a = domain.toLowerCase().replace(/\.$/, '');
  const b = fromDomain.toLowerCase().replace(/\.$/, '');
  if (a === '' || b === '') return false;
  return strict ? a === b : organisationalDomain(a) === organisationalDomain(b);
}

/** Decides whether the post is authenticated as from its From domain. */
export function authenticatedFrom(
  verdict: Verdict,
  opts: AuthenticatedFromOptions = {},
): FromAuthentication {
  const no = (why: string) => ({ authenticated: false, reason: `From not authenticated: ${why}` });
  const yes = (how: string) => ({ authenticated: true, reason: `From authenticated by ${how}` });
  const { from } = verdict;
  if (from.fields !== 1) return no(`the post has ${from.fields} From fields`);
  if (from.domains.length !== 1)
    return no(
      from.domains.length === 0
        ? 'the From has no address with a domain'
        : `the From names ${from.domains.length} domains`,
    );
  const fromDomain = from.domains[0]!;
  const strictDkim = verdict.dmarc.strictDkim;
  const strictSpf = verdict.dmarc.strictSpf;
  const dkim = verdict.dkim.find(
    (d) => d.result === 'pass' && aligned(d.domain, fromDomain, strictDkim),
  );
  if (dkim) return yes(`a DKIM signature of ${dkim.domain}`);
  const { spf } = verdict;
  if (spf.result === 'pass' && spf.domain && aligned(spf.domain, fromDomain, strictSpf))
    return yes(
      `SPF for ${spf.domain}${spf.source === 'trusted-header' ? ` (as ${spf.reportedBy} reported)` : ''}`,
    );
  // DMARC found an aligned pass by the RFC 9989 tree walk where the PSL above did not (a
  // psd= record the list does not know): the newer rule wins.
  if (verdict.dmarc.result === 'pass') return yes(`DMARC (an aligned pass for ${fromDomain})`);
  const sealer = trustedSealer(verdict.arc, opts.trustedSealers ?? []);
  if (sealer && verdict.arc.latest && vouches(verdict.arc.latest, fromDomain))
    return yes(`the ARC chain sealed by ${sealer}`);
  return no(whyNot(verdict, fromDomain, opts.trustedSealers ?? []));
}

/** The newest sealer of a passing chain, when it is trusted. */
function trustedSealer(arc: Verdict['arc'], trusted: readonly string[]): string | undefined {
  if (arc.result !== 'pass' || !arc.sealer) return undefined;
  const sealer = arc.sealer;
  return trusted.some((t) => withinDomain(sealer, t)) ? sealer : undefined;
}

/** Whether `name` is `domain` or one of its subdomains (case and root dot ignored). */
function withinDomain(name: string, domain: string): boolean {
  const a = name.toLowerCase().replace(/\.$/, '');
  const b = domain.toLowerCase().replace(/\.$/, '');
  return a === b || a.endsWith(`.${b}`);
}

/** Whether a sealer's recorded results authenticate the From domain (relaxed alignment). */
function vouches(results: ReportedResults, fromDomain: string): boolean {
  const { dmarc, spf, dkim } = results;
  if (dmarc?.result === 'pass' && (dmarc.props['header.from'] ?? '').toLowerCase() === fromDomain)
    return true;
  if (dkim.some((d) => d.result === 'pass' && aligned(dkimDomain(d.props), fromDomain, false)))
    return true;
  const mailfrom = spf?.props['smtp.mailfrom'] ?? '';
  return (
    spf?.result === 'pass' &&
    aligned(mailfrom.slice(mailfrom.lastIndexOf('@') + 1), fromDomain, false)
  );
}

/** header.d, or the domain of header.i, of a reported DKIM result. */
function dkimDomain(props: Record<string, string>): string {
  const i = props['header.i'] ?? '';
  return props['header.d'] ?? i.slice(i.lastIndexOf('@') + 1);
}

/** What was tried, for the operator and the poster. */
function whyNot(verdict: Verdict, fromDomain: string, trusted: readonly string[]): string {
  const signed = verdict.dkim.map((d) => `${d.domain}=${d.result}`);
  const parts = [
    signed.length === 0
      ? `no DKIM signature`
      : `no passing DKIM signature aligned with ${fromDomain} (${signed.join(', ')})`,
    verdict.spf.source === 'none'
      ? 'SPF not checked'
      : `SPF ${verdict.spf.result}${verdict.spf.domain ? ` for ${verdict.spf.domain}` : ''}`,
  ];
  if (verdict.arc.result !== 'none') {
    const by = verdict.arc.sealer ? ` sealed by ${verdict.arc.sealer}` : '';
    const untrusted = verdict.arc.result === 'pass' && !trustedSealer(verdict.arc, trusted);
    parts.push(`ARC ${verdict.arc.result}${by}${untrusted ? ' (not a trusted sealer)' : ''}`);
  }
  return parts.join('; ');
}

/**
 * Whether a list's `require_authenticated_from` applies to a poster's From domain: `true`
 * for every poster, `false` for none, a list of domains for posters of those domains (or
 * their subdomains): the domains known to sign their mail.
 */
export function requiresAuthentication(
  setting: boolean | readonly string[],
  fromDomain: string | undefined,
): boolean {
  if (typeof setting === 'boolean') return setting;
  if (!fromDomain) return setting.length > 0;
  return setting.some((listed) => withinDomain(fromDomain, listed));
}
