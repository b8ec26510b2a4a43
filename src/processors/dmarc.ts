/**
 * `dmarc` — keeps posts from domains with a strict DMARC policy deliverable: a list that
 * changes a post (subject, footer) breaks its DKIM signature, and a receiver applying the
 * poster's `p=reject` would refuse the post for every member. Two remedies: `munge_from`
 * ("Poster via List" <list@…>, the poster in Reply-To or Cc) or `wrap_message` (the post
 * travels as a message/rfc822 attachment of a message from the list). Applied `always`, or
 * only when the poster's domain (or its organisational domain, by the public suffix list)
 * publishes p=reject / p=quarantine. When the `authenticate` unit verified the post, its
 * DMARC evaluation (RFC 9989: the tree walk, sp=, np=, t=) is the policy read: no second
 * lookup; its own lookup below is for lists that do not verify.
 *
 * Answers are kept for `cache_seconds` in memory and in STATE/dmarc/policies.json, so the
 * next `malist receive` (one process per mail) does not ask DNS again. Node's resolveTxt
 * does not give a record's TTL, so `cache_seconds` stands in for it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { newResolver } from '../auth/resolver.ts';
import type { ListSettings } from '../list/settings.ts';
import { formatMailbox, parseAddressList } from '../mail/address.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { HeaderBlock, type HeaderField, makeField } from '../mail/header-block.ts';
import { mailBytes } from '../mail/list-mail.ts';
import { newBoundary } from '../mail/mime-tree.ts';
import { optionalStrings } from '../mail/shared-options.ts';
import { writeFileDurable } from '../state/durable.ts';
import type { ListMail, Processor } from '../types.ts';

/** Looks up TXT records, as `dns.promises.resolveTxt` does (chunks per record). */
export type TxtResolver = (name: string) => Promise<string[][]>;

export interface DmarcOptions {
  /** The remedy; the default does nothing, as DNS lookups are not free. @default 'none' */
  action?: 'none' | 'munge_from' | 'wrap_message';
  /** `always`, or only for posters whose domain publishes one of `policies`. @default 'policy' */
  when?: 'always' | 'policy';
  /** Policies that call for the remedy. @default ['reject', 'quarantine'] */
  policies?: string[];
  /** Where the poster's address goes once From is the list's. @default 'reply-to' */
  poster_in?: 'reply-to' | 'cc';
  /** DNS TXT lookup (tests inject one). @default node:dns resolveTxt */
  resolver?: TxtResolver;
  /** How long a looked-up policy is reused, in seconds. @default 3600 */
  cache_seconds?: number;
}

/**
 * The DMARC policy (`p`, or `sp` for a subdomain) in effect for `domain`; 'none' when absent.
 * Two or more `v=DMARC1` records at one name are no policy at all (RFC 7489 §6.6.3: policy
 * discovery ends), so a second record an attacker or a mistake adds cannot make one.
 */
export async function dmarcPolicy(domain: string, resolve: TxtResolver): Promise<string> {
  const lookup = async (name: string): Promise<string[]> => {
    try {
      const records = (await resolve(`_dmarc.${name}`)).map((chunks) => chunks.join(''));
      return records.filter((r) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(r));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
      throw error;
    }
  };
  const tag = (record: string, name: string) =>
    new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*([a-z]+)`, 'i').exec(record)?.[1]?.toLowerCase();
  const own = await lookup(domain);
  if (own.length > 1) return 'none';
  if (own[0]) return tag(own[0], 'p') ?? 'none';
  // The Public Suffix List (~11 MB in memory) is loaded by the first post that needs it.
  const { getDomain } = await import('tldts');
  const org = getDomain(domain, { allowPrivateDomains: false });
  if (!org || org === domain) return 'none';
  const parent = await lookup(org);
  if (parent.length !== 1) return 'none';
  return tag(parent[0]!, 'sp') ?? tag(parent[0]!, 'p') ?? 'none';
}

/** From becomes "Poster via List" <list>; the poster goes to Reply-To or Cc. Pure. */
export function mungeFrom(list: ListSettings, mail: ListMail, posterIn: 'reply-to' | 'cc'): void {
  const poster = parseAddressList(mail.header.get('From'))[0];
  if (!poster) return;
  const originalFrom = formatMailbox(poster.name, poster.address);
  const name = poster.name || poster.address.split('@')[0]!;
  mail.header.set(
    'From',
    formatMailbox(`${name} via ${list.display_name ?? list.name}`, list.address),
  );
  const field = posterIn === 'cc' ? 'Cc' : 'Reply-To';
  const existing = mail.header.get(field);
  const has = parseAddressList(existing).some(
    (m) => m.address.toLowerCase() === poster.address.toLowerCase(),
  );
  if (!has) mail.header.set(field, existing ? `${existing}, ${originalFrom}` : originalFrom);
}

const KEPT = /^(to|cc|subject|date|message-id|in-reply-to|references|x-loop|mime-version)$/i;

/** Replaces `mail` with a message from the list carrying the post as message/rfc822. */
export function wrapMessage(list: ListSettings, mail: ListMail, posterIn: 'reply-to' | 'cc'): void {
  const eol = mail.header.eol;
  const inner = mailBytes(mail);
  const fields: HeaderField[] = mail.header.fields.filter((f) => KEPT.test(f.name));
  const outer = new HeaderBlock(fields, Buffer.alloc(0), Buffer.from(eol), eol);
  outer.set('From', mail.header.get('From') ?? '');
  if (mail.header.has('Reply-To')) outer.set('Reply-To', mail.header.get('Reply-To')!);
  const wrapped: ListMail = { ...mail, header: outer };
  mungeFrom(list, wrapped, posterIn);
  const boundary = newBoundary(inner, mail.key);
  if (!outer.has('MIME-Version')) outer.set('MIME-Version', '1.0');
  outer.set('Content-Type', `multipart/mixed; boundary="${boundary}"`);
  const note = `The message below was sent to ${list.address}; it is attached unchanged because its sender's domain asks receivers to refuse modified copies (DMARC).`;
  mail.header = outer;
  mail.body = Buffer.concat([
    Buffer.from(
      `--${boundary}${eol}${makeField('Content-Type', 'text/plain; charset=us-ascii', eol).raw}${eol}${note}${eol}` +
        `--${boundary}${eol}Content-Type: message/rfc822${eol}Content-Disposition: inline${eol}${eol}`,
    ),
    inner,
    Buffer.from(`${eol}--${boundary}--${eol}`),
  ]);
}

/** The options of `type: dmarc` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({
    action: z.enum(['none', 'munge_from', 'wrap_message']).optional(),
    when: z.enum(['always', 'policy']).optional(),
    policies: optionalStrings,
    poster_in: z.enum(['reply-to', 'cc']).optional(),
    cache_seconds: z.number().min(0).optional(),
  }),
);

/** At most this many domains are kept in the file (the oldest answers go first). */
const CACHE_MAX = 10_000;

/** Policies by domain, until their expiry: in memory, and in `file` across processes. */
class PolicyCache {
  private entries: Record<string, { policy: string; until: number }> | undefined;
  constructor(private readonly file: string | undefined) {}

  private async load(): Promise<Record<string, { policy: string; until: number }>> {
    if (this.entries) return this.entries;
    this.entries = {};
    if (!this.file) return this.entries;
    try {
      const read = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      if (read && typeof read === 'object') this.entries = read as typeof this.entries;
    } catch {
      // no file yet, or a torn one: ask DNS again
    }
    return this.entries;
  }

  async get(domain: string, now = Date.now()): Promise<string | undefined> {
    const hit = (await this.load())[domain];
    return hit && typeof hit.policy === 'string' && hit.until > now ? hit.policy : undefined;
  }

  async set(domain: string, policy: string, until: number, now = Date.now()): Promise<void> {
    const entries = await this.load();
    entries[domain] = { policy, until };
    if (!this.file) return;
    const kept = Object.entries(entries)
      .filter(([, e]) => e.until > now)
      .sort((a, b) => b[1].until - a[1].until)
      .slice(0, CACHE_MAX);
    this.entries = Object.fromEntries(kept);
    // A cache: a failed write only costs a DNS lookup next time.
    await writeFileDurable(this.file, JSON.stringify(this.entries)).catch(() => undefined);
  }
}

export default function createDmarc(list: ListSettings, options: DmarcOptions = {}): Processor {
  const action = options.action ?? 'none';
  const policies = new Set(
    (options.policies ?? ['reject', 'quarantine']).map((p) => p.toLowerCase()),
  );
  const resolver = options.resolver ? undefined : newResolver({ timeout: 3000, tries: 2 });
  const resolve: TxtResolver = options.resolver ?? ((name) => resolver!.resolveTxt(name));
  const ttl = (options.cache_seconds ?? 3600) * 1000;
  const cache = new PolicyCache(
    list.state_dir && ttl > 0 ? join(list.state_dir, 'dmarc', 'policies.json') : undefined,
  );

  async function strict(mail: ListMail): Promise<boolean> {
    if ((options.when ?? 'policy') === 'always') return true;
    const verified = mail.ml_auth?.dmarc;
    // A verification that could not read DNS counts as strict, as a failed lookup does.
    if (verified) return verified.result === 'temperror' || policies.has(verified.policy ?? 'none');
    const address = parseAddressList(mail.header.get('From'))[0]?.address ?? '';
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    if (!domain || !address.includes('@')) return false;
    const hit = await cache.get(domain);
    if (hit !== undefined) return policies.has(hit);
    let policy: string;
    try {
      policy = await dmarcPolicy(domain, resolve);
    } catch {
      // A failed lookup counts as strict: munging costs little, a refused post costs more.
      return true;
    }
    await cache.set(domain, policy, Date.now() + ttl);
    return policies.has(policy);
  }

  return {
    name: 'dmarc',
    async process(mail) {
      if (action === 'none' || !(await strict(mail))) return mail;
      const posterIn = options.poster_in ?? 'reply-to';
      if (action === 'wrap_message') wrapMessage(list, mail, posterIn);
      else mungeFrom(list, mail, posterIn);
      return mail;
    },
  };
}
