import { describe, expect, it } from 'vitest';
import { dnsFor, testKey } from '../../test/helpers/auth-keys.ts';
import { createArcSealer, sealPlanFor } from './arc-seal.ts';
import { createDkimSigner } from './dkim-sign.ts';
import { verifyIncoming } from './verify.ts';

const author = testKey('rsa-sha256', 'author.example', 'a1');
const forwarder = testKey('rsa-sha256', 'forwarder.example', 'f1');
const list = testKey('rsa-sha256', 'list.example.org', 'l1');
const resolver = dnsFor([author, forwarder, list]);
const verify = (raw: Buffer, authservId = 'mx.receiver.example') =>
  verifyIncoming(raw, { resolver, authservId });
const post = createDkimSigner([author]).sign(
  Buffer.from(
    'From: Bob <bob@author.example>\r\nTo: red@list.example.org\r\nSubject: Hi\r\n' +
      'Message-ID: <1@author.example>\r\n\r\nHello\r\n',
  ),
);
/** What the list does to a post: a subject prefix and a footer break the author's signature. */
const modify = (raw: Buffer) =>
  Buffer.from(
    raw.toString('latin1').replace('Subject: Hi', 'Subject: [Red] Hi') + '-- \r\nfooter\r\n',
    'latin1',
  );
const forwarded = async () => {
  const seen = await verify(post, 'mx.forwarder.example');
  return (await createArcSealer(forwarder).seal(post, sealPlanFor(seen))).message;
};

describe('createArcSealer', () => {
  it('starts a chain (i=1, cv=none) that a verifier finds passing, with the list as sealer', async () => {
    const seen = await verify(post, 'list.example.org');
    const sealer = createArcSealer(list, { now: () => new Date(1_700_000_000_000) });
    const outcome = await sealer.seal(modify(post), sealPlanFor(seen));
    expect(outcome.instance).toBe(1);
    const text = outcome.message.toString('latin1');
    expect(text).toMatch(/^ARC-Seal: i=1; a=rsa-sha256; t=1700000000; cv=none;/);
    expect(text).toMatch(
      /\r\nARC-Authentication-Results: i=1; list\.example\.org;\r\n dkim=pass header\.i=@author\.example/,
    );
    const after = await verify(outcome.message);
    expect(after.arc).toMatchObject({ result: 'pass', instance: 1, sealer: 'list.example.org' });
    expect(after.dkim[0]).toMatchObject({ domain: 'author.example', result: 'neutral' });
  });

  it("adds i=2 with cv=pass over a forwarder's valid chain", async () => {
    const incoming = await forwarded();
    const seen = await verify(incoming, 'list.example.org');
    expect(seen.arc.result).toBe('pass');
    const outcome = await createArcSealer(list).seal(modify(incoming), sealPlanFor(seen));
    expect(outcome.instance).toBe(2);
    const after = await verify(outcome.message);
    expect(after.arc).toMatchObject({ result: 'pass', instance: 2, sealer: 'list.example.org' });
    expect(after.arc.latest?.dmarc?.props['header.from']).toBe('author.example');
  });

  it('seals a broken incoming chain with cv=fail, and adds nothing to a chain that already failed', async () => {
    const tampered = Buffer.from(
      (await forwarded())
        .toString('latin1')
        .replace('ARC-Seal: i=1; a=rsa-sha256;', 'ARC-Seal: i=1; a=rsa-sha256; x=1;'),
      'latin1',
    );
    const seen = await verify(tampered, 'list.example.org');
    expect(seen.arc.result).toBe('fail');
    const sealer = createArcSealer(list);
    const failed = await sealer.seal(tampered, sealPlanFor(seen));
    expect(failed.instance).toBe(2);
    expect(failed.message.toString('latin1')).toMatch(
      /^ARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=fail;/,
    );
    const again = await sealer.seal(failed.message, sealPlanFor(seen));
    expect(again.message).toBe(failed.message);
    expect(again.instance).toBeUndefined();
    expect(again.skipped).toMatch(/cv=fail/);
  });

  it('starts a new chain when a unit removed the incoming ARC fields', async () => {
    const stripped = Buffer.from(
      (await forwarded()).toString('latin1').replace(/^ARC-[^\r]*\r\n(?:[ \t][^\r]*\r\n)*/gm, ''),
      'latin1',
    );
    const outcome = await createArcSealer(list).seal(stripped, {
      authResults: 'list.example.org; none',
      cv: 'pass',
    });
    expect(outcome.instance).toBe(1);
    expect((await verify(outcome.message)).arc.result).toBe('pass');
  });

  it('refuses an ed25519 key: ARC sets are rsa-sha256', () => {
    expect(() => createArcSealer(testKey('ed25519-sha256', 'list.example.org', 'e1'))).toThrow(
      /rsa-sha256 keys only/,
    );
  });
});
