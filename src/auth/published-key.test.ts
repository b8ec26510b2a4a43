import { describe, expect, it } from 'vitest';
import { testKey } from '../../test/helpers/auth-keys.ts';
import { dkimTxtRecord, publicKeyData } from './keys.ts';
import { checkPublishedKey } from './published-key.ts';
import { dnsError, staticResolver } from './resolver.ts';

const rsa = testKey('rsa-sha256', 'list.example.org', 'r1');
const ed = testKey('ed25519-sha256', 'list.example.org', 'e1');
const other = testKey('rsa-sha256', 'list.example.org', 'other');
const name = 'r1._domainkey.list.example.org';

describe('checkPublishedKey', () => {
  it('matches the record keygen printed, split into strings or not, for both algorithms', async () => {
    const text = dkimTxtRecord(rsa).text;
    const split = async () => [[text.slice(0, 255), text.slice(255)]];
    expect((await checkPublishedKey(rsa, split)).status).toBe('match');
    const edName = dkimTxtRecord(ed).name;
    const check = await checkPublishedKey(ed, staticResolver({ [edName]: dkimTxtRecord(ed).text }));
    expect(check).toMatchObject({ status: 'match', name: edName });
  });

  it('says mismatch for another key, another k=, a revoked key or two records', async () => {
    const otherP = publicKeyData(other.publicKey);
    const cases: Array<[string | string[], RegExp]> = [
      [`v=DKIM1; k=rsa; p=${otherP}`, /different key/],
      [`v=DKIM1; k=ed25519; p=${publicKeyData(rsa.publicKey)}`, /k=ed25519, the key is rsa/],
      ['v=DKIM1; k=rsa; p=', /revoked/],
      [[dkimTxtRecord(rsa).text, `v=DKIM1; p=${otherP}`], /2 DKIM records/],
    ];
    for (const [record, detail] of cases) {
      const check = await checkPublishedKey(rsa, staticResolver({ [name]: record }));
      expect(check.status, String(record)).toBe('mismatch');
      expect(check.detail).toMatch(detail);
    }
  });

  it('says missing without a record (or without a DKIM one), error when DNS fails', async () => {
    expect((await checkPublishedKey(rsa, staticResolver({}))).status).toBe('missing');
    const spfOnly = staticResolver({ [name]: 'v=spf1 -all' });
    expect(await checkPublishedKey(rsa, spfOnly)).toMatchObject({
      status: 'missing',
      published: 'v=spf1 -all',
    });
    const failing = async () => {
      throw dnsError('ESERVFAIL', name);
    };
    expect(await checkPublishedKey(rsa, failing)).toMatchObject({
      status: 'error',
      detail: `lookup of ${name} failed (ESERVFAIL)`,
    });
  });
});
