/**
 * Verifies an incoming post: every DKIM signature, SPF (by the connecting IP when the intake
 * knows it, else as a trusted MTA recorded it), the ARC chain, and DMARC (mailauth 7 follows
 * RFC 9989: the DNS tree walk for the policy and the organisational domain, psd=, np=, t=;
 * RFC 7489's PSL lookup is what it replaces). The result is a plain, JSON-able record: the
 * journal keeps it, `authenticatedFrom()` decides on it, `authResultsValue()` writes it.
 *
 * All DNS goes through `resolver`; mailauth never falls back to the system's DNS here.
 */
import { isIP } from 'node:net';
import type { ARCResult, DKIMVerifyResult, DMARCResult, SPFResult } from 'mailauth';
import { type ReportedResults, resultsFrom, trustedResults } from './auth-results.ts';
import {
  dkimVerify,
  evaluateDmarc,
  formatAuthHeaderRow,
  type ParsedTags,
  spf,
  verifyArc,
} from './mailauth.ts';
import { cutMessage } from './message.ts';
import type { DnsResolver } from './resolver.ts';

/** What the intake knows about the post. */
export interface VerifyOptions {
  resolver: DnsResolver;
  /** The list's own authserv-id (RFC 8601): the host name its results are recorded under. */
  authservId: string;
  /** The connecting client's IP (LMTP/`receive` envelope), when known: SPF is checked. */
  ip?: string;
  /** Its HELO/EHLO name. */
  helo?: string;
  /** The envelope sender (MAIL FROM; '' for the null sender). */
  sender?: string;
  /**
   * authserv-ids of the MTAs in front of a POP3/IMAP/pipe source, whose SPF result is taken
   * when `ip` is unknown. Such an MTA must remove fields claiming its id from mail it
   * receives (RFC 8601 section 5; Postfix milters, rspamd and OpenDMARC do). Never the
   * list's own id (fields claiming it are removed as forged).
   */
  trustedAuthservIds?: readonly string[];
  /** The time signatures are checked at (t=, x=). @default the clock */
  now?: Date;
}

/** One DKIM-Signature's result. */
export interface DkimCheck {
  /** pass | fail | neutral | policy | temperror | permerror */
  result: string;
  /** d= */
  domain: string;
  selector: string;
  algorithm: string;
  comment?: string;
}

/** The SPF result and where it came from. */
export interface SpfCheck {
  /** pass | fail | softfail | neutral | none | temperror | permerror */
  result: string;
  /** The domain checked (MAIL FROM's, or the HELO name for the null sender). */
  domain?: string;
  /** `envelope`: checked here; `trusted-header`: a trusted MTA's; `none`: not known. */
  source: 'envelope' | 'trusted-header' | 'none';
  /** The trusted MTA whose result this is (source `trusted-header`). */
  reportedBy?: string;
}

/** The DMARC evaluation (RFC 9989). */
export interface DmarcCheck {
  /** pass | fail | none | temperror; `none` also when the From has no single domain. */
  result: string;
  fromDomain?: string;
  /** The organisational domain the tree walk found. */
  orgDomain?: string;
  /** The effective policy (p, sp or np; one step lower under t=y). */
  policy?: 'none' | 'quarantine' | 'reject';
  /** The record's alignment modes (relaxed unless it says `s`). */
  strictDkim: boolean;
  strictSpf: boolean;
  /** Why there is no evaluation (no-author-domain, multiple-author-domains, …). */
  reason?: string;
}

/** The ARC chain's validation and what its newest set says. */
export interface ArcCheck {
  result: 'none' | 'pass' | 'fail';
  /** The highest instance on the post (0 without a chain). */
  instance: number;
  /** d= of the newest ARC-Seal, when the chain parsed. */
  sealer?: string;
  /** The newest ARC-Authentication-Results, when the chain passed. */
  latest?: ReportedResults;
  comment?: string;
}

/** Everything the list knows about a post's authenticity. */
export interface AuthVerdict {
  authservId: string;
  /** The From addresses and their domains (lower case); `fields`: how many From fields. */
  from: { addresses: string[]; domains: string[]; fields: number };
  dkim: DkimCheck[];
  spf: SpfCheck;
  dmarc: DmarcCheck;
  arc: ArcCheck;
  /** The RFC 8601 resinfo of each check, in order, for Authentication-Results. */
  results: string[];
}

/** Verifies `raw` (the post as received). Never throws for a DNS failure: it is a result. */
export async function verifyIncoming(raw: Buffer, opts: VerifyOptions): Promise<AuthVerdict> {
  const { resolver } = opts;
  const dkim = await dkimVerify(raw, {
    resolver,
    sender: opts.sender,
    curTime: opts.now,
  });
  const spfCheck = await checkSpf(raw, opts);
  const arc = await verifyArc(dkim.arc ?? { chain: false }, { resolver });
  const passing = (dkim.results ?? []).filter((r) => r.status.result === 'pass');
  const dmarc = await evaluateDmarc({
    headerFrom: dkim.headerFrom,
    fromFields: dkim.fromFields,
    spfDomains:
      spfCheck.check.result === 'pass' && spfCheck.check.domain ? [spfCheck.check.domain] : [],
    dkimDomains: passing.map((r) => ({ id: r.id, domain: r.signingDomain ?? '' })),
    arcResult: arc,
    resolver,
  });
  const results = [
    ...(dkim.results ?? []).map((r) => r.info),
    ...(spfCheck.info ? [spfCheck.info] : []),
    ...(arc.info ? [arc.info] : []),
    ...(dmarc.response ? [dmarc.response.info] : []),
  ];
  return {
    authservId: opts.authservId.toLowerCase(),
    from: fromOf(dkim),
    // mailauth reports an unsigned post as one result without a domain: no signature here.
    dkim: (dkim.results ?? []).filter((r) => r.signingDomain).map(dkimCheck),
    spf: spfCheck.check,
    dmarc: dmarcCheck(dmarc.response, dmarc.reason),
    arc: arcCheck(arc, dkim),
    results,
  };
}

/** SPF by IP when the envelope gave one, else a trusted MTA's result, else none. */
async function checkSpf(
  raw: Buffer,
  opts: VerifyOptions,
): Promise<{ check: SpfCheck; info?: string }> {
  if (opts.ip) {
    // As mailauth's authenticate(): no HELO name known means the address literal.
    const helo = opts.helo ?? opts.ip;
    const result: SPFResult = await spf({
      ip: opts.ip,
      helo: isIP(helo) ? `[${helo}]` : helo,
      sender: opts.sender,
      mta: opts.authservId,
      resolver: opts.resolver,
    });
    return {
      check: { result: result.status.result, domain: result.domain, source: 'envelope' },
      info: result.info,
    };
  }
  const reported = trustedResults(authResultsFields(raw), opts.trustedAuthservIds ?? []);
  if (!reported?.spf) return { check: { result: 'none', source: 'none' } };
  const { result, props } = reported.spf;
  const identity = props['smtp.mailfrom'] || props['smtp.helo'] || '';
  const domain = identity.slice(identity.lastIndexOf('@') + 1).toLowerCase() || undefined;
  const smtp = props['smtp.mailfrom']
    ? { mailfrom: props['smtp.mailfrom'] }
    : props['smtp.helo']
      ? { helo: props['smtp.helo'] }
      : undefined;
  return {
    check: { result, domain, source: 'trusted-header', reportedBy: reported.authservId },
    info: formatAuthHeaderRow('spf', {
      result,
      comment: `as reported by ${reported.authservId}`,
      ...(smtp ? { smtp } : {}),
    }),
  };
}

/** The raw Authentication-Results fields of the post, top first. */
function authResultsFields(raw: Buffer): Buffer[] {
  const header = cutMessage(raw).header.toString('latin1');
  const fields = header.split(/\r?\n(?![ \t])/);
  return fields
    .filter((f) => /^authentication-results\s*:/i.test(f))
    .map((f) => Buffer.from(f, 'latin1'));
}

function fromOf(dkim: DKIMVerifyResult): AuthVerdict['from'] {
  const addresses = dkim.headerFrom ?? [];
  const domains = [
    ...new Set(
      addresses
        .filter((a) => a.includes('@'))
        .map((a) =>
          a
            .slice(a.lastIndexOf('@') + 1)
            .toLowerCase()
            .replace(/\.$/, ''),
        ),
    ),
  ];
  return { addresses, domains, fields: dkim.fromFields ?? 0 };
}

function dkimCheck(r: DKIMVerifyResult['results'][number]): DkimCheck {
  return {
    result: r.status.result,
    domain: (r.signingDomain ?? '').toLowerCase(),
    selector: r.selector ?? '',
    algorithm: r.algo ?? '',
    ...(r.status.comment ? { comment: r.status.comment } : {}),
  };
}

function dmarcCheck(response: DMARCResult | false, reason?: string): DmarcCheck {
  if (!response) return { result: 'none', strictDkim: false, strictSpf: false, reason };
  const policy = response.policy as DmarcCheck['policy'];
  return {
    result: response.status.result,
    fromDomain: response.status.header?.from,
    orgDomain: response.domain,
    ...(policy ? { policy } : {}),
    strictDkim: response.alignment?.dkim?.strict ?? false,
    strictSpf: response.alignment?.spf?.strict ?? false,
    ...(response.error ? { reason: response.error } : {}),
  };
}

function arcCheck(arc: ARCResult, dkim: DKIMVerifyResult): ArcCheck {
  const result = arc.status.result as ArcCheck['result'];
  const last = dkim.arc?.lastEntry;
  const sealer = (last?.['arc-seal']?.parsed as ParsedTags | undefined)?.d as
    | { value?: unknown }
    | undefined;
  const latest = result === 'pass' ? latestResults(arc) : undefined;
  return {
    result,
    instance: typeof arc.i === 'number' ? arc.i : (last?.i ?? 0),
    ...(typeof sealer?.value === 'string' ? { sealer: sealer.value.toLowerCase() } : {}),
    ...(latest ? { latest } : {}),
    ...(arc.status.comment ? { comment: arc.status.comment } : {}),
  };
}

/** The newest ARC-Authentication-Results as mailauth parsed it, in the shape of our own. */
function latestResults(arc: ARCResult): ReportedResults | undefined {
  const ar = arc.authenticationResults as ParsedTags | undefined;
  if (!ar) return undefined;
  return resultsFrom(ar, String(ar.mta ?? '').toLowerCase(), 'result');
}
