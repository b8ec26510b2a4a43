import { describe, expect, it } from 'vitest';
import { dnsFor, keyRecords, testKey } from '../../test/helpers/auth-keys.ts';
import { createDkimSigner } from './dkim-sign.ts';
import { dnsError, staticResolver } from './resolver.ts';
import { verifyIncoming } from './verify.ts';

const author = testKey('rsa-sha256', 'author.example', 'a1');
const authservId = 'list.example.org';
const message = (from: string, extra = '') =>
  Buffer.from(
    `${extra}From: ${from}\r\nTo: red@list.example.org\r\nSubject: Hi\r\nMessage-ID: <1@x>\r\n\r\nHello\r\n`,
  );
const signed = createDkimSigner([author]).sign(message('Bob <bob@author.example>'));

describe('verifyIncoming', () => {
  it('checks every DKIM signature and evaluates DMARC with the From domain', async () => {
    const resolver = dnsFor([author], { '_dmarc.author.example': 'v=DMARC1; p=reject; adkim=s' });
    const verdict = await verifyIncoming(signed, { resolver, authservId: 'List.Example.ORG' });
    expect(verdict).toMatchObject({
      authservId,
      from: { addresses: ['bob@author.example'], domains: ['author.example'], fields: 1 },
      dkim: [{ result: 'pass', domain: 'author.example', selector: 'a1', algorithm: 'rsa-sha256' }],
      spf: { result: 'none', source: 'none' },
      dmarc: { result: 'pass', fromDomain: 'author.example', policy: 'reject', strictDkim: true },
      arc: { result: 'none', instance: 0 },
    });
    expect(verdict.results[0]).toMatch(/^dkim=pass header\.i=@author\.example header\.s=a1/);
    expect(verdict.results.at(-1)).toMatch(/^dmarc=pass .*header\.from=author\.example/);
    // A plain record: the journal keeps it as JSON.
    expect(JSON.parse(JSON.stringify(verdict))).toEqual(verdict);
  });

  it('checks SPF with the envelope IP, HELO and sender when the intake knows them', async () => {
    const resolver = staticResolver({ 'author.example': 'v=spf1 ip4:192.0.2.0/24 -all' });
    const envelope = {
      resolver,
      authservId,
      sender: 'bob@author.example',
      helo: 'mail.author.example',
    };
    const pass = await verifyIncoming(message('bob@author.example'), {
      ...envelope,
      ip: '192.0.2.25',
    });
    expect(pass.spf).toEqual({ result: 'pass', domain: 'author.example', source: 'envelope' });
    expect(pass.results).toContainEqual(
      expect.stringMatching(/^spf=pass .*smtp\.mailfrom=bob@author\.example/),
    );
    const fail = await verifyIncoming(message('bob@author.example'), {
      ...envelope,
      ip: '198.51.100.7',
    });
    expect(fail.spf.result).toBe('fail');
  });

  it('takes SPF from the topmost field of a trusted MTA, never from another authserv-id', async () => {
    const fields =
      'Authentication-Results: evil.example; spf=pass smtp.mailfrom=bob@author.example\r\n' +
      'Authentication-Results: mx.example.net;\r\n spf=softfail smtp.mailfrom=bob@author.example\r\n' +
      'Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=old@author.example\r\n';
    const raw = message('bob@author.example', fields);
    const resolver = staticResolver({});
    const trusted = await verifyIncoming(raw, {
      resolver,
      authservId,
      trustedAuthservIds: ['MX.example.net'],
    });
    expect(trusted.spf).toEqual({
      result: 'softfail',
      domain: 'author.example',
      source: 'trusted-header',
      reportedBy: 'mx.example.net',
    });
    expect(trusted.results).toContain(
      'spf=softfail (as reported by mx.example.net) smtp.mailfrom=bob@author.example',
    );
    const untrusted = await verifyIncoming(raw, {
      resolver,
      authservId,
      trustedAuthservIds: ['other.example'],
    });
    expect(untrusted.spf).toEqual({ result: 'none', source: 'none' });
  });

  it('applies the RFC 9989 tree walk: a missing subdomain takes np=, an existing one sp=', async () => {
    const resolver = staticResolver({
      '_dmarc.author.example': 'v=DMARC1; p=none; sp=quarantine; np=reject',
      'news.author.example': { A: ['192.0.2.1'] },
    });
    const gone = await verifyIncoming(message('x@ghost.author.example'), { resolver, authservId });
    expect(gone.dmarc).toMatchObject({
      result: 'fail',
      policy: 'reject',
      orgDomain: 'author.example',
    });
    const news = await verifyIncoming(message('x@news.author.example'), { resolver, authservId });
    expect(news.dmarc).toMatchObject({ result: 'fail', policy: 'quarantine' });
  });

  it('gives an unsigned post no DKIM check, and checks SPF of the address literal without a HELO', async () => {
    const verdict = await verifyIncoming(message('a@b.example'), {
      resolver: staticResolver({}),
      authservId,
      ip: '192.0.2.1',
    });
    expect(verdict.dkim).toEqual([]);
    expect(verdict.results[0]).toBe('dkim=none (message not signed)');
    expect(verdict.spf).toEqual({ result: 'none', domain: '[192.0.2.1]', source: 'envelope' });
  });

  it('reports why DMARC cannot be evaluated for a From with two domains', async () => {
    const raw = message('a@one.example, b@two.example');
    const verdict = await verifyIncoming(raw, { resolver: staticResolver({}), authservId });
    expect(verdict.from.domains).toEqual(['one.example', 'two.example']);
    expect(verdict.dmarc).toMatchObject({ result: 'none', reason: 'multiple-author-domains' });
  });

  it('turns a failing DNS into temperror results instead of throwing', async () => {
    const resolver = async (name: string) => {
      throw dnsError('ESERVFAIL', name);
    };
    const verdict = await verifyIncoming(signed, { resolver, authservId });
    expect(verdict.dkim[0]!.result).toBe('temperror');
    expect(verdict.dmarc.result).toBe('temperror');
  });

  it('fails a signature whose key DNS no longer publishes', async () => {
    const other = testKey('rsa-sha256', 'author.example', 'a2');
    const resolver = staticResolver({
      'a1._domainkey.author.example': keyRecords([other])['a2._domainkey.author.example']!,
    });
    const verdict = await verifyIncoming(signed, { resolver, authservId });
    expect(verdict.dkim[0]).toMatchObject({ result: 'fail', domain: 'author.example' });
  });
});
