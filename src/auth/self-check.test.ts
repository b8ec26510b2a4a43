import { describe, expect, it } from 'vitest';
import { testKey, testKeyPem } from '../../test/helpers/auth-keys.ts';
import { createArcSealer } from './arc-seal.ts';
import { createDkimSigner } from './dkim-sign.ts';
import { signingKeyFrom } from './keys.ts';
import { createSelfCheck, SelfCheckError } from './self-check.ts';

const rsa = testKey('rsa-sha256', 'list.example.org', 'r1');
const ed = testKey('ed25519-sha256', 'list.example.org', 'e1');
const stranger = testKey('rsa-sha256', 'list.example.org', 'r1x');
const post = Buffer.from(
  'From: Alice <alice@example.org>\r\nTo: red@list.example.org\r\nSubject: Hi\r\n' +
    'Message-ID: <m1@example.org>\r\n\r\nHello,\r\nmember@example.net\r\n',
);
const plan = { authResults: 'list.example.org; dkim=none', cv: 'none' as const };
const signedAndSealed = async () =>
  createDkimSigner([rsa, ed]).sign((await createArcSealer(rsa).seal(post, plan)).message);
const edit = (raw: Buffer, from: string, to: string) =>
  Buffer.from(raw.toString('latin1').replace(from, to), 'latin1');

describe('createSelfCheck', () => {
  it('passes a copy whose signatures and seal verify with the public halves of the keys', async () => {
    const check = createSelfCheck({ dkim: [rsa, ed], arc: rsa });
    const copy = await signedAndSealed();
    expect(check.problems(copy)).toEqual([]);
    expect(() => check.assert(copy)).not.toThrow();
  });

  it('names each signature a changed byte breaks', async () => {
    const check = createSelfCheck({ dkim: [rsa, ed], arc: rsa });
    const copy = await signedAndSealed();
    expect(check.problems(edit(copy, 'member@', 'someone@'))).toEqual([
      'DKIM-Signature by r1._domainkey.list.example.org: the body hash does not match the body',
      'DKIM-Signature by e1._domainkey.list.example.org: the body hash does not match the body',
      'ARC-Message-Signature i=1: the body hash does not match the body',
    ]);
    expect(check.problems(edit(copy, 'Subject: Hi', 'Subject: Ho'))).toEqual([
      'DKIM-Signature by r1._domainkey.list.example.org: the signature does not verify',
      'DKIM-Signature by e1._domainkey.list.example.org: the signature does not verify',
      'ARC-Message-Signature i=1: the signature does not verify',
    ]);
    expect(check.problems(edit(copy, 'cv=none;', 'cv=none; '))).toEqual([]);
    expect(check.problems(edit(copy, 'dkim=none', 'dkim=pass'))).toEqual([
      'ARC-Seal i=1 does not verify with r1._domainkey.list.example.org',
    ]);
  });

  it('fails a copy signed with another key, or not signed or sealed at all', async () => {
    const copy = await signedAndSealed();
    expect(createSelfCheck({ dkim: [stranger] }).problems(copy)).toEqual([
      'DKIM-Signature by r1x._domainkey.list.example.org: missing',
    ]);
    expect(createSelfCheck({ dkim: [ed], arc: rsa }).problems(post)).toEqual([
      'DKIM-Signature by e1._domainkey.list.example.org: missing',
      'the copy has no ARC set',
    ]);
    // Signed by r1 but claiming r1x: the stranger's key does not verify it.
    const forged = Buffer.from(copy.toString('latin1').replace(/s=r1;/g, 's=r1x;'), 'latin1');
    expect(createSelfCheck({ dkim: [stranger] }).problems(forged)[0]).toMatch(
      /r1x\._domainkey\.list\.example\.org: the signature does not verify/,
    );
  });

  it('checks LF-ended copies as the queue signs them: a changed footer or field fails, blanks relaxed ignores pass', () => {
    const lf = Buffer.from(
      'From: Alice <alice@example.org>\nTo: red@list.example.org\nSubject: Hi\n' +
        'List-Unsubscribe: <mailto:red-request@list.example.org>,\n <https://list.example.org/u/m1>\n' +
        'Message-ID: <m2@example.org>\n\nHello,\n\n-- \nYou are m1@example.net\n',
    );
    const copy = createDkimSigner([rsa]).sign(lf);
    const check = createSelfCheck({ dkim: [rsa] });
    expect(check.problems(copy)).toEqual([]);
    expect(check.problems(edit(copy, 'You are m1', 'You are m2'))).toEqual([
      'DKIM-Signature by r1._domainkey.list.example.org: the body hash does not match the body',
    ]);
    expect(check.problems(edit(copy, '/u/m1>', '/u/m2>'))).toEqual([
      'DKIM-Signature by r1._domainkey.list.example.org: the signature does not verify',
    ]);
    // Relaxed canonicalisation: trailing blanks, blank runs and empty lines at the end.
    expect(check.problems(edit(copy, 'Hello,\n', 'Hello, \t\n'))).toEqual([]);
    expect(check.problems(Buffer.concat([copy, Buffer.from('\n\n')]))).toEqual([]);
  });

  it('checks the personal copies of a post whose shared lines it hashes once: a copy whose shared part differs fails', () => {
    const post = (member: string) =>
      Buffer.from(
        'From: Alice <alice@example.org>\nTo: red@list.example.org\nSubject: Hi\n' +
          `List-Unsubscribe: <https://list.example.org/u/${member}>\nMessage-ID: <m3@example.org>\n\n` +
          `Hello,\n\nthe post, the same for everyone.\n\n-- \nYou are ${member}@example.net\n`,
      );
    const signer = createDkimSigner([rsa]);
    const check = createSelfCheck({ dkim: [rsa] });
    // The first two copies teach the memo the lines they share; the others hash from there.
    for (const member of ['m1', 'm2', 'm3', 'm4'])
      expect(check.problems(signer.sign(post(member)))).toEqual([]);
    const copy = signer.sign(post('m5'));
    const bodyHashFails = [
      'DKIM-Signature by r1._domainkey.list.example.org: the body hash does not match the body',
    ];
    // A byte changed in the shared lines, in the footer, or a line added after it.
    expect(check.problems(edit(copy, 'the same for', 'the sane for'))).toEqual(bodyHashFails);
    expect(check.problems(edit(copy, 'Hello,\n\n', 'Hello,\n'))).toEqual(bodyHashFails);
    expect(check.problems(edit(copy, 'You are m5', 'You are m6'))).toEqual(bodyHashFails);
    expect(check.problems(Buffer.concat([copy, Buffer.from('P.S.\n')]))).toEqual(bodyHashFails);
    // A copy signed over a changed shared part, checked as it is: it passes, and so do the
    // others after it.
    expect(check.problems(signer.sign(edit(post('m7'), 'the same', 'not the same')))).toEqual([]);
    expect(check.problems(copy)).toEqual([]);
  });

  it('fails a copy signed with another key under the configured name (a replaced key file)', () => {
    const replaced = signingKeyFrom(testKeyPem('rsa-sha256', 'another'), {
      domain: 'list.example.org',
      selector: 'r1',
      key_file: 'test:another',
    });
    expect(replaced.publicKey.equals(rsa.publicKey)).toBe(false);
    const copy = createDkimSigner([replaced]).sign(post);
    expect(createSelfCheck({ dkim: [rsa] }).problems(copy)).toEqual([
      'DKIM-Signature by r1._domainkey.list.example.org: the signature does not verify',
    ]);
  });

  it('throws a temporary ESIGNATURE error naming the Message-ID and every problem', async () => {
    const check = createSelfCheck({ dkim: [ed] });
    let error: unknown;
    try {
      check.assert(post);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SelfCheckError);
    expect(error).toMatchObject({
      code: 'ESIGNATURE',
      temporary: true,
      messageId: 'm1@example.org',
      problems: ['DKIM-Signature by e1._domainkey.list.example.org: missing'],
    });
    expect((error as Error).message).toMatch(/failed its self-check, not sent/);
  });
});
