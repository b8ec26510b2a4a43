import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bareVerdict } from '../../test/helpers/auth-keys.ts';
import { fixtureMail, parse, redList } from '../../test/posting/corpus.ts';
import { mailBytes } from '../mail/list-mail.ts';
import { parseMime } from '../mail/mime-tree.ts';
import createDmarc, { dmarcPolicy, type TxtResolver } from './dmarc.ts';

const records: Record<string, string[][]> = {
  '_dmarc.gmail.com': [['v=DMARC1; p=none; sp=quarantine; rua=mailto:x@gmail.com']],
  '_dmarc.strict.co.uk': [['v=DMARC1; p=reject;', ' sp=reject']],
  '_dmarc.lax.example': [['v=spf1 -all'], ['v=DMARC1; p=none']],
  '_dmarc.xamarin.com': [['v=DMARC1; p=quarantine']],
};
function resolver(log: string[] = []): TxtResolver {
  return async (name) => {
    log.push(name);
    const found = records[name];
    if (found) return found;
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
}

describe('dmarc', () => {
  it('reads p, and sp of the organisational domain for a subdomain (public suffix list)', async () => {
    const log: string[] = [];
    expect(await dmarcPolicy('gmail.com', resolver(log))).toBe('none');
    expect(await dmarcPolicy('mail.strict.co.uk', resolver(log))).toBe('reject');
    expect(await dmarcPolicy('lax.example', resolver(log))).toBe('none');
    expect(await dmarcPolicy('nothing.example', resolver(log))).toBe('none');
    expect(log).toEqual([
      '_dmarc.gmail.com',
      '_dmarc.mail.strict.co.uk',
      '_dmarc.strict.co.uk',
      '_dmarc.lax.example',
      '_dmarc.nothing.example',
    ]);
  });

  it('munges From only for strict domains, poster to Reply-To, with a cached lookup', async () => {
    const log: string[] = [];
    const unit = createDmarc(redList(), { action: 'munge_from', resolver: resolver(log) });
    const lax = fixtureMail('030'); // From gmail.com: p=none
    const before = mailBytes(lax);
    await unit.process(lax);
    expect(mailBytes(lax)).toEqual(before);
    const strict = fixtureMail('033'); // gnome.org: no record
    await unit.process(strict);
    expect(strict.header.get('From')).toBe('Jeffrey Stedfast <fejj@gnome.org>');
    const always = createDmarc(redList(), {
      action: 'munge_from',
      when: 'always',
      poster_in: 'cc',
    });
    const mail = fixtureMail('030');
    await always.process(mail);
    const parsed = await parse(mail);
    expect(parsed.from?.value).toEqual([
      { name: 'Jeffrey Stedfast via Red mail list', address: 'red@list.example.com' },
    ]);
    expect(parsed.cc).toBeDefined();
    expect(mail.header.get('Cc')).toBe('Jeffrey Stedfast <jeff.stedfast@gmail.com>');
    await unit.process(fixtureMail('030'));
    expect(log.filter((n) => n === '_dmarc.gmail.com')).toHaveLength(1);
  });

  it('munges for a quarantine domain, keeping the poster for replies', async () => {
    const unit = createDmarc(redList(), { action: 'munge_from', resolver: resolver() });
    const mail = fixtureMail('030');
    mail.header.set('From', '=?utf-8?q?J=C3=B6rg?= <jorg@xamarin.com>');
    await unit.process(mail);
    const parsed = await parse(mail);
    expect(parsed.from?.value[0]).toEqual({
      name: 'Jörg via Red mail list',
      address: 'red@list.example.com',
    });
    expect(parsed.replyTo?.value[0]).toEqual({ name: 'Jörg', address: 'jorg@xamarin.com' });
  });

  it('wraps the post unchanged as message/rfc822 (DKIM-signed 030 stays verifiable inside)', async () => {
    const mail = fixtureMail('030');
    const original = mailBytes(mail);
    await createDmarc(redList(), { action: 'wrap_message', when: 'always' }).process(mail);
    expect(mail.body.includes(original)).toBe(true);
    const parsed = await parse(mail);
    expect(parsed.from?.value[0]?.address).toBe('red@list.example.com');
    expect(parsed.replyTo?.value[0]?.address).toBe('jeff.stedfast@gmail.com');
    expect(parsed.subject).toBe('Testing verification of Google DKIM-Signature headers');
    // mailparser shows an inline message/rfc822 as part of the text, as mail readers do.
    expect(parsed.text).toContain('(DMARC)');
    expect(parsed.text).toContain('This is the message body.');
    const root = parseMime(mail.header, mail.body);
    expect(root.children.map((c) => c.type.mime)).toEqual(['text/plain', 'message/rfc822']);
    expect(mail.body.subarray(root.children[1]!.bodyStart, root.children[1]!.end)).toEqual(
      original,
    );
  });

  it('treats a failed lookup as strict', async () => {
    const failing: TxtResolver = async () => {
      throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
    };
    const mail = fixtureMail('001');
    await createDmarc(redList(), { action: 'munge_from', resolver: failing }).process(mail);
    expect(mail.header.get('From')).toMatch(/via Red mail list"? <red@list\.example\.com>/);
  });

  it('reads the policy the authenticate unit found instead of looking it up again', async () => {
    const log: string[] = [];
    const unit = createDmarc(redList(), { action: 'munge_from', resolver: resolver(log) });
    const verified = (policy?: 'none' | 'quarantine' | 'reject', result = 'fail') => {
      const mail = fixtureMail('001');
      mail.ml_auth = bareVerdict({
        dmarc: { result, strictDkim: false, strictSpf: false, ...(policy ? { policy } : {}) },
      });
      return mail;
    };
    const munged = async (mail: ReturnType<typeof verified>) =>
      /via/.test(((await unit.process(mail)) as typeof mail).header.get('From') ?? '');
    expect(await munged(verified('reject'))).toBe(true);
    expect(await munged(verified('none'))).toBe(false);
    expect(await munged(verified(undefined, 'none'))).toBe(false);
    // DNS failed during the verification: strict, as a failed lookup here is.
    expect(await munged(verified(undefined, 'temperror'))).toBe(true);
    expect(log).toEqual([]);
  });
});

describe('dmarc: hostile DNS and repeated runs', () => {
  it('two v=DMARC1 records at one name are no policy (RFC 7489 §6.6.3), not the first one', async () => {
    const log: string[] = [];
    const two: TxtResolver = async (name) => {
      log.push(name);
      if (name === '_dmarc.two.example') return [['v=DMARC1; p=reject'], ['v=DMARC1; p=none']];
      if (name === '_dmarc.org.example') return [['v=DMARC1; p=reject'], ['v=DMARC1; p=reject']];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    expect(await dmarcPolicy('two.example', two)).toBe('none');
    // Discovery ends there: the organisational domain is not asked instead.
    expect(log).toEqual(['_dmarc.two.example']);
    expect(await dmarcPolicy('sub.org.example', two)).toBe('none');
  });

  it('answers are kept across processes (the state file) until cache_seconds pass', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'malist-dmarc-'));
    try {
      const log: string[] = [];
      const list = { ...redList(), state_dir: stateDir };
      const first = createDmarc(list, { action: 'munge_from', resolver: resolver(log) });
      const xamarin = () => {
        const m = fixtureMail('030');
        m.header.set('From', 'Jorg <jorg@xamarin.com>'); // p=quarantine
        return m;
      };
      await first.process(xamarin());
      expect(log).toEqual(['_dmarc.xamarin.com']);
      // A new unit, as the next `malist receive` builds: no DNS query, same decision.
      const second = createDmarc(list, { action: 'munge_from', resolver: resolver(log) });
      const mail = xamarin();
      await second.process(mail);
      expect(log).toEqual(['_dmarc.xamarin.com']);
      expect(mail.header.get('From')).toMatch(/via Red mail list/);
      const saved = JSON.parse(await readFile(join(stateDir, 'dmarc/policies.json'), 'utf8'));
      expect(saved['xamarin.com'].policy).toBe('quarantine');
      // Past its time the answer is asked for again.
      saved['xamarin.com'].until = Date.now() - 1;
      await writeFile(join(stateDir, 'dmarc/policies.json'), JSON.stringify(saved));
      const third = createDmarc(list, { action: 'munge_from', resolver: resolver(log) });
      await third.process(xamarin());
      expect(log).toEqual(['_dmarc.xamarin.com', '_dmarc.xamarin.com']);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
