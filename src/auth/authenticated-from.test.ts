import { describe, expect, it } from 'vitest';
import { bareVerdict } from '../../test/helpers/auth-keys.ts';
import { aligned, authenticatedFrom, requiresAuthentication } from './authenticated-from.ts';
import type { AuthVerdict } from './verify.ts';

const base = bareVerdict();
const dkim = (domain: string, result = 'pass') => ({
  result,
  domain,
  selector: 's',
  algorithm: 'rsa-sha256',
});
const sealedBy = (sealer: string, result: 'pass' | 'fail' = 'pass'): Partial<AuthVerdict> => ({
  arc: {
    result,
    instance: 1,
    sealer,
    latest: {
      authservId: 'mx.groups.example',
      dkim: [],
      dmarc: { result: 'pass', props: { 'header.from': 'author.example' } },
    },
  },
});
const check = (over: Partial<AuthVerdict>, trustedSealers?: string[]) =>
  authenticatedFrom({ ...base, ...over }, { trustedSealers });

describe('aligned', () => {
  it('compares organisational domains from the Public Suffix List, private suffixes included', () => {
    expect(aligned('mail.author.example', 'AUTHOR.example.', false)).toBe(true);
    expect(aligned('mail.author.example', 'author.example', true)).toBe(false);
    expect(aligned('a.example.co.uk', 'b.example.co.uk', false)).toBe(true);
    expect(aligned('x.co.uk', 'y.co.uk', false)).toBe(false);
    expect(aligned('alice.github.io', 'mallory.github.io', false)).toBe(false);
    expect(aligned('', 'author.example', false)).toBe(false);
  });
});

describe('authenticatedFrom', () => {
  it('accepts a passing DKIM signature aligned with the From domain', () => {
    expect(check({ dkim: [dkim('esp.example'), dkim('mail.author.example')] })).toEqual({
      authenticated: true,
      reason: 'From authenticated by a DKIM signature of mail.author.example',
    });
  });

  it('follows the DMARC record: adkim=s wants the exact domain', () => {
    const strict = { ...base.dmarc, strictDkim: true };
    expect(check({ dkim: [dkim('mail.author.example')], dmarc: strict }).authenticated).toBe(false);
    expect(check({ dkim: [dkim('author.example')], dmarc: strict }).authenticated).toBe(true);
  });

  it('refuses a signature of another domain, a failing one, and says what was seen', () => {
    expect(check({ dkim: [dkim('esp.example'), dkim('author.example', 'fail')] })).toEqual({
      authenticated: false,
      reason:
        'From not authenticated: no passing DKIM signature aligned with author.example ' +
        '(esp.example=pass, author.example=fail); SPF not checked',
    });
    expect(check({}).reason).toBe('From not authenticated: no DKIM signature; SPF not checked');
  });

  it('accepts an aligned SPF pass, checked here or reported by a trusted MTA', () => {
    expect(
      check({ spf: { result: 'pass', domain: 'bounces.author.example', source: 'envelope' } }),
    ).toEqual({
      authenticated: true,
      reason: 'From authenticated by SPF for bounces.author.example',
    });
    const reported = check({
      spf: {
        result: 'pass',
        domain: 'author.example',
        source: 'trusted-header',
        reportedBy: 'mx.example.net',
      },
    });
    expect(reported.reason).toBe(
      'From authenticated by SPF for author.example (as mx.example.net reported)',
    );
    expect(
      check({ spf: { result: 'pass', domain: 'esp.example', source: 'envelope' } }).authenticated,
    ).toBe(false);
    expect(
      check({ spf: { result: 'softfail', domain: 'author.example', source: 'envelope' } }).reason,
    ).toMatch(/SPF softfail for author\.example/);
  });

  it('accepts a passing ARC chain only from a trusted sealer (or its subdomain) that recorded a pass', () => {
    expect(check(sealedBy('groups.example'), ['groups.example'])).toEqual({
      authenticated: true,
      reason: 'From authenticated by the ARC chain sealed by groups.example',
    });
    expect(check(sealedBy('mx.groups.example'), ['groups.example']).authenticated).toBe(true);
    expect(check(sealedBy('evilgroups.example'), ['groups.example']).reason).toMatch(
      /ARC pass sealed by evilgroups\.example \(not a trusted sealer\)$/,
    );
    expect(check(sealedBy('groups.example', 'fail'), ['groups.example']).authenticated).toBe(false);
    const spoofed = sealedBy('groups.example');
    spoofed.arc!.latest!.dmarc!.props['header.from'] = 'elsewhere.example';
    expect(check(spoofed, ['groups.example']).authenticated).toBe(false);
    const dkimOnly = sealedBy('groups.example');
    dkimOnly.arc!.latest = {
      authservId: 'mx.groups.example',
      dkim: [{ result: 'pass', props: { 'header.i': '@mail.author.example' } }],
    };
    expect(check(dkimOnly, ['groups.example']).authenticated).toBe(true);
  });

  it("accepts DMARC's own pass (the RFC 9989 tree walk may align where the PSL does not)", () => {
    const dmarc = { result: 'pass', strictDkim: false, strictSpf: false };
    expect(check({ dmarc, dkim: [dkim('esp.example')] })).toEqual({
      authenticated: true,
      reason: 'From authenticated by DMARC (an aligned pass for author.example)',
    });
  });

  it('refuses a From with several fields or domains, or none', () => {
    const two = {
      addresses: ['a@x.example', 'b@y.example'],
      domains: ['x.example', 'y.example'],
      fields: 1,
    };
    expect(check({ from: two, dkim: [dkim('x.example')] }).reason).toBe(
      'From not authenticated: the From names 2 domains',
    );
    expect(check({ from: { ...base.from, fields: 2 } }).reason).toBe(
      'From not authenticated: the post has 2 From fields',
    );
    expect(check({ from: { addresses: [], domains: [], fields: 1 } }).reason).toMatch(
      /no address with a domain/,
    );
  });
});

describe('requiresAuthentication', () => {
  it('is the list setting: always, never, or for the listed domains and their subdomains', () => {
    expect(requiresAuthentication(true, 'a.example')).toBe(true);
    expect(requiresAuthentication(false, 'a.example')).toBe(false);
    expect(requiresAuthentication(['gmail.com', 'example.org'], 'lists.example.org')).toBe(true);
    expect(requiresAuthentication(['gmail.com'], 'googlemail.com')).toBe(false);
    expect(requiresAuthentication(['gmail.com'], undefined)).toBe(true);
  });
});
