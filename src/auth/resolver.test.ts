import { describe, expect, it } from 'vitest';
import { staticResolver } from './resolver.ts';

describe('staticResolver', () => {
  it('answers TXT strings and typed records, case-insensitively and without the root dot', async () => {
    const resolve = staticResolver({
      'Sel._domainkey.Example.org.': 'v=DKIM1; p=abc',
      'mx.example.org': { A: ['192.0.2.1'] },
    });
    expect(await resolve('sel._domainkey.example.org', 'TXT')).toEqual([['v=DKIM1; p=abc']]);
    expect(await resolve('MX.example.org.', 'A')).toEqual(['192.0.2.1']);
  });

  it('says NXDOMAIN for an unknown name and NODATA for a known name without that type', async () => {
    const resolve = staticResolver({ 'example.org': 'v=spf1 -all' });
    await expect(resolve('other.example', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolve('example.org', 'MX')).rejects.toMatchObject({ code: 'ENODATA' });
  });
});
