import { describe, expect, it } from 'vitest';
import { dnsFor, testKey } from '../../test/helpers/auth-keys.ts';
import { createCopySigner } from './copy-signer.ts';
import { SelfCheckError } from './self-check.ts';
import { verifyIncoming } from './verify.ts';

const rsa = testKey('rsa-sha256', 'list.example.org', 'r1');
const ed = testKey('ed25519-sha256', 'list.example.org', 'e1');
const resolver = dnsFor([rsa, ed]);
const copyFor = (member: string) =>
  Buffer.from(
    `From: Alice <alice@example.org>\r\nTo: red@list.example.org\r\nSubject: Hi\r\n\r\nHello\r\n-- \r\nYou are ${member}\r\n`,
  );
const plan = { authResults: 'list.example.org; none', cv: 'none' as const };

describe('createCopySigner', () => {
  it('seals and signs each personal copy for itself, every signature verifying', async () => {
    const signer = createCopySigner({ dkim: [rsa, ed], arc: rsa });
    for (const member of ['a@example.net', 'b@example.net']) {
      const copy = await signer.sign(copyFor(member), plan);
      const seen = await verifyIncoming(copy, { resolver, authservId: 'mx.example.net' });
      expect(seen.dkim.map((d) => `${d.selector}=${d.result}`)).toEqual(['r1=pass', 'e1=pass']);
      expect(seen.arc).toMatchObject({ result: 'pass', instance: 1 });
    }
  });

  it('signs without sealing when no plan is given, and refuses a plan without an ARC key', async () => {
    const copy = await createCopySigner({ dkim: [ed], arc: rsa }).sign(copyFor('a@example.net'));
    expect(copy.toString('latin1')).not.toMatch(/ARC-Seal/);
    await expect(
      createCopySigner({ dkim: [ed] }).sign(copyFor('a@example.net'), plan),
    ).rejects.toThrow(/no ARC key/);
  });

  it('does not return a copy whose signature does not verify, unless the check is off', async () => {
    // A key whose halves do not belong together: what signs is not what the check verifies.
    const other = testKey('ed25519-sha256', 'list.example.org', 'e2');
    const mixedUp = { ...ed, publicKey: other.publicKey };
    const failure = await createCopySigner({ dkim: [mixedUp] })
      .sign(copyFor('a@example.net'))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SelfCheckError);
    expect((failure as SelfCheckError).problems).toEqual([
      'DKIM-Signature by e1._domainkey.list.example.org: the signature does not verify',
    ]);
    const unchecked = createCopySigner({ dkim: [mixedUp], selfCheck: false });
    expect(Buffer.isBuffer(await unchecked.sign(copyFor('a@example.net')))).toBe(true);
  });
});
