import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dnsFor, testKey } from '../../test/helpers/auth-keys.ts';
import { createDkimSigner } from '../auth/dkim-sign.ts';
import { dnsError } from '../auth/resolver.ts';
import type { ListSettings } from '../list/settings.ts';
import { createListMail } from '../mail/list-mail.ts';
import type { ListMail, Origin } from '../types.ts';
import createAuthenticate, { isLoopback } from './authenticate.ts';

const list: ListSettings = { name: 'red', address: 'red@list.example.org', members: [] };
const author = testKey('rsa-sha256', 'author.example', 'a1');
const resolver = dnsFor([author], {
  'author.example': { TXT: [['v=spf1 ip4:192.0.2.0/24 -all']] },
  '_dmarc.author.example': 'v=DMARC1; p=reject',
});
const verify = {
  resolver,
  authserv_id: 'list.example.org',
  trusted_authserv_ids: ['mx.example.org'],
};

/** A post from bob@author.example, signed by the author's domain unless `signed` is false. */
function post(extraTop = '', signed = true, origin: Partial<Origin> = {}): ListMail {
  const base = readFileSync(join(import.meta.dirname, '../../test/fixtures/auth/plain-post.eml'))
    .toString('latin1')
    .replace(/^From: .*$/m, 'From: Bob <bob@author.example>');
  let raw: Buffer = Buffer.from(base, 'latin1');
  if (signed) raw = createDkimSigner([author]).sign(raw);
  raw = Buffer.concat([Buffer.from(extraTop, 'latin1'), raw]);
  return createListMail(raw, { fetcher: 'test', id: 'p', ...origin });
}

describe('authenticate', () => {
  it('lets posts pass unverified when the installation does not verify', async () => {
    const mail = post();
    const out = (await createAuthenticate(list).process(mail)) as ListMail;
    expect(out.ml_auth).toBeUndefined();
    expect(out.header.has('Authentication-Results')).toBe(false);
  });

  it('records one Authentication-Results of its own, removing forged ones, keeping others', async () => {
    const mail = post(
      'Authentication-Results: list.example.org; dkim=pass header.d=evil.example\n' +
        'Authentication-Results: elsewhere.example; spf=none\n',
    );
    const out = (await createAuthenticate(list, { verify }).process(mail)) as ListMail;
    expect(out.ml_auth?.dkim).toEqual([
      expect.objectContaining({ result: 'pass', domain: 'author.example', selector: 'a1' }),
    ]);
    expect(out.ml_auth?.dmarc).toEqual(
      expect.objectContaining({ result: 'pass', policy: 'reject' }),
    );
    const fields = out.header.getAll('Authentication-Results');
    expect(fields).toHaveLength(2);
    expect(fields[0]).toMatch(/^list\.example\.org; dkim=pass header\.i=@author\.example/);
    expect(fields[0]).not.toContain('evil.example');
    expect(fields[1]).toBe('elsewhere.example; spf=none');
  });

  it('checks SPF by the connecting client when the intake knows it, not a loopback hop', async () => {
    const unit = createAuthenticate(list, { verify });
    const sender = { sender: 'bob@author.example' };
    const viaClient = (await unit.process(
      post('', false, { ...sender, client: { ip: '192.0.2.7', helo: 'mail.author.example' } }),
    )) as ListMail;
    expect(viaClient.ml_auth?.spf).toEqual({
      result: 'pass',
      domain: 'author.example',
      source: 'envelope',
    });
    const outside = (await unit.process(
      post('', false, { ...sender, client: { ip: '198.51.100.9' } }),
    )) as ListMail;
    expect(outside.ml_auth?.spf.result).toBe('fail');
    const local = (await unit.process(
      post('', false, { ...sender, client: { ip: '127.0.0.1' } }),
    )) as ListMail;
    expect(local.ml_auth?.spf).toEqual({ result: 'none', source: 'none' });
    expect(isLoopback('::ffff:127.0.0.2')).toBe(true);
    expect(isLoopback('192.0.2.1')).toBe(false);
  });

  it("takes a trusted MTA's SPF result when the client is unknown, never an untrusted one", async () => {
    const unit = createAuthenticate(list, { verify });
    const reported = (id: string) =>
      `Authentication-Results: ${id}; spf=pass smtp.mailfrom=bob@author.example\n`;
    const trusted = (await unit.process(post(reported('mx.example.org'), false))) as ListMail;
    expect(trusted.ml_auth?.spf).toEqual(
      expect.objectContaining({
        result: 'pass',
        source: 'trusted-header',
        reportedBy: 'mx.example.org',
      }),
    );
    const other = (await unit.process(post(reported('mx.evil.example'), false))) as ListMail;
    expect(other.ml_auth?.spf).toEqual({ result: 'none', source: 'none' });
  });

  it('a DNS failure is a temporary result, not a crash', async () => {
    const failing = async (name: string) => {
      throw dnsError('ESERVFAIL', name);
    };
    const unit = createAuthenticate(list, { verify: { ...verify, resolver: failing } });
    const out = (await unit.process(post())) as ListMail;
    expect(out.ml_auth?.dkim[0]?.result).toBe('temperror');
    expect(out.header.get('Authentication-Results')).toMatch(/dkim=temperror/);
  });
});
