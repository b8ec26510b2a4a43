import { describe, expect, it } from 'vitest';
import { authservIdOf, reportedResults, trustedResults } from './auth-results.ts';

describe('authservIdOf', () => {
  it('reads the authserv-id whatever the case, version, comment or folding', () => {
    expect(authservIdOf('Authentication-Results: MX.Example.NET; spf=pass')).toBe('mx.example.net');
    expect(authservIdOf('mx.example.net 1; none')).toBe('mx.example.net');
    expect(
      authservIdOf(
        Buffer.from('authentication-results :\r\n (the MX) mx.example.net;\r\n dkim=none'),
      ),
    ).toBe('mx.example.net');
  });
});

describe('reportedResults', () => {
  it('reads each method, its properties and comment', () => {
    const results = reportedResults(
      'mx.example.net; dkim=pass header.d=a.example header.s=s1; dkim=fail (bad) header.i=@b.example;' +
        ' spf=pass smtp.mailfrom=bob@a.example; dmarc=pass header.from=a.example; arc=none',
    );
    expect(results).toEqual({
      authservId: 'mx.example.net',
      dkim: [
        { result: 'pass', props: { 'header.d': 'a.example', 'header.s': 's1' } },
        { result: 'fail', props: { 'header.i': '@b.example' }, comment: 'bad' },
      ],
      spf: { result: 'pass', props: { 'smtp.mailfrom': 'bob@a.example' } },
      dmarc: { result: 'pass', props: { 'header.from': 'a.example' } },
      arc: { result: 'none', props: {} },
    });
  });
});

describe('trustedResults', () => {
  it('takes the first (topmost) field whose authserv-id is trusted, or nothing', () => {
    const fields = [
      'Authentication-Results: forger.example; spf=pass smtp.mailfrom=x@a.example',
      'Authentication-Results: mx2.example.net; spf=fail smtp.mailfrom=x@a.example',
      'Authentication-Results: mx1.example.net; spf=pass smtp.mailfrom=x@a.example',
    ].map((f) => Buffer.from(f));
    expect(trustedResults(fields, ['mx1.example.net', 'MX2.example.net'])?.spf?.result).toBe(
      'fail',
    );
    expect(trustedResults(fields, ['mx1.example.net'])?.spf?.result).toBe('pass');
    expect(trustedResults(fields, [])).toBeUndefined();
  });
});
