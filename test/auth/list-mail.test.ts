/**
 * Authenticated list mail as users run it (issue 19 acceptance): `malist receive` and
 * `malist run` with a malist.yaml that verifies posts (`authentication:`, its DNS a stub on
 * 127.0.0.1) and lists with DKIM key files, the queue handing copies to the fault SMTP
 * server. Every copy as that server received it is checked by dkimpy, an implementation
 * that shares no code with malist or mailauth: both list signatures (rsa-sha256 2048 and
 * ed25519-sha256) and the ARC chain the list sealed.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArcSealer, sealPlanFor } from '../../src/auth/arc-seal.ts';
import { createDkimSigner } from '../../src/auth/dkim-sign.ts';
import { verifyIncoming } from '../../src/auth/verify.ts';
import { HeaderBlock } from '../../src/mail/header-block.ts';
import { malist, tempConfig } from '../cli/run-malist.ts';
import { dnsFor, keyRecords, testKey, testKeyPem } from '../helpers/auth-keys.ts';
import { type DkimpyResult, dkimpyAvailable, dkimpyVerifier } from '../helpers/dkimpy.ts';
import { type DnsStub, startDnsStub } from '../helpers/dns-stub.ts';
import {
  type AcceptedMessage,
  startSmtpServer,
  type TestSmtpServer,
} from '../helpers/smtp-server.ts';

const available = dkimpyAvailable();
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'auth');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

const rsa = testKey('rsa-sha256', 'list.example.org', 'rsa2025');
const ed = testKey('ed25519-sha256', 'list.example.org', 'ed2025');
const author = testKey('rsa-sha256', 'gmail.com', 'test-author');
const forwarder = testKey('rsa-sha256', 'forwarder.example', 'fwd');
const RECORDS = {
  ...keyRecords([rsa, ed, author, forwarder]),
  '_dmarc.gmail.com': 'v=DMARC1; p=reject',
};

const KEYS_YAML = [
  'dkim:',
  '  - { domain: list.example.org, selector: rsa2025, key_file: keys/rsa2025.pem }',
  '  - { domain: list.example.org, selector: ed2025, key_file: keys/ed2025.pem, algorithm: ed25519-sha256 }',
];
const PERSONAL = ['ann@example.org', 'ben@example.net', 'cat@example.org'];
const BATCHED = ['dan@example.org', 'eve@example.net'];
const POSTER = 'jeff.stedfast@gmail.com';
const POST_ID = 'CAFksUUeRp=6VFpYM-UAXbKOmK_yEn2ma5LpLUH5j05WGFaJVFQ@mail.gmail.com';

let server: TestSmtpServer;
let dns: DnsStub;
let dir = '';
let dkimpy: (messages: Buffer[]) => Promise<DkimpyResult[]>;

beforeAll(async () => {
  if (!available) return;
  server = await startSmtpServer();
  dns = await startDnsStub(RECORDS);
  dkimpy = await dkimpyVerifier(RECORDS);
  dir = await tempConfig(
    [
      'state_dir: state',
      'authentication: { authserv_id: list.example.org }',
      `dns: { servers: ["${dns.address}"], timeout_ms: 5000 }`,
      'distribute: { type: queue, server: out }',
      `servers: { out: { host: 127.0.0.1, port: ${server.port}, starttls: never } }`,
      'queue: { dir: spool, retry: { initial_seconds: 0.001 } }',
      '',
    ].join('\n'),
  );
  await mkdir(join(dir, 'lists', 'keys'));
  await writeFile(
    join(dir, 'lists/keys/rsa2025.pem'),
    testKeyPem('rsa-sha256', 'rsa2025.list.example.org'),
    { mode: 0o600 },
  );
  await writeFile(
    join(dir, 'lists/keys/ed2025.pem'),
    testKeyPem('ed25519-sha256', 'ed2025.list.example.org'),
    { mode: 0o600 },
  );
  const list = (name: string, lines: string[]) =>
    writeFile(join(dir, 'lists', `${name}.yaml`), [...lines, ...KEYS_YAML, ''].join('\n'));
  await list('personal', [
    'address: personal@list.example.org',
    'posting: open',
    `members: [${PERSONAL.join(', ')}]`,
    'unsubscribe_url: https://list.example.org/unsubscribe/{list}/{member}/{token}',
    'unit_options:',
    '  footer: { text: "Sent to {member}. Leave: {unsubscribe_url}" }',
  ]);
  await list('batched', [
    'address: batched@list.example.org',
    'posting: open',
    `members: [${BATCHED.join(', ')}]`,
  ]);
  await list('members', [
    'address: members@list.example.org',
    'posting: members',
    `members: [${POSTER}, ann@example.org]`,
    'require_authenticated_from: true',
    'arc_trusted_sealers: [forwarder.example]',
  ]);
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await dns?.close();
});

/** Posts `raw` to `list`; returns the copies the SMTP server accepted meanwhile. */
async function post(list: string, raw: Buffer) {
  const before = server.accepted.length;
  const ran = await malist(['receive', '--config', dir, '--list', list], { input: raw });
  return { ran, copies: server.accepted.slice(before) };
}

/** Both list signatures pass and the ARC chain validates, for each copy as received. */
async function expectSigned(copies: AcceptedMessage[]): Promise<DkimpyResult[]> {
  const results = await dkimpy(copies.map((c) => c.raw));
  for (const [i, result] of results.entries()) {
    const own = result.dkim.filter((d) => d.d === 'list.example.org');
    const label = `${copies[i]!.to.join(',')}: ${result.file}`;
    expect(
      own.map((d) => [d.s, d.a, d.ok, d.error]),
      label,
    ).toEqual([
      ['rsa2025', 'rsa-sha256', true, null],
      ['ed2025', 'ed25519-sha256', true, null],
    ]);
    expect(result.arc, label).toEqual({ cv: 'pass', reason: 'success' });
  }
  return results;
}

/** The unfolded header block of a copy. */
const headerOf = (copy: AcceptedMessage) =>
  copy.raw
    .subarray(0, HeaderBlock.parse(copy.raw).bodyStart)
    .toString('latin1')
    .replace(/\r?\n[ \t]+/g, ' ');

describe.skipIf(!available)(
  'every copy DKIM-signed and ARC-sealed, as the SMTP server received it',
  () => {
    it('a personalised list: footer and one-click URL per member, and a retried member (451 once) signed again', async () => {
      server.addRule({
        stage: 'rcpt',
        recipient: 'ben@example.net',
        reply: { code: 451, message: 'greylisted' },
        times: 1,
      });
      const first = await post('personal', fixture('plain-post.eml'));
      expect(first.ran.code, first.ran.stderr).toBe(0);
      expect(first.copies.map((c) => c.to)).toEqual(
        expect.arrayContaining([['ann@example.org'], ['cat@example.org']]),
      );
      expect(first.copies).toHaveLength(2);
      const before = server.accepted.length;
      const retry = await malist(['run', '--config', dir]);
      expect(retry.code, retry.stderr).toBe(0);
      const retried = server.accepted.slice(before);
      expect(retried.map((c) => c.to)).toEqual([['ben@example.net']]);
      const copies = [...first.copies, ...retried];
      expect(new Set(copies.map((c) => c.raw.toString('base64'))).size).toBe(3);
      for (const copy of copies) {
        const member = copy.to[0]!;
        const header = headerOf(copy);
        expect(header).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
        expect(header).toMatch(
          new RegExp(
            `List-Unsubscribe: .*<https://list\\.example\\.org/unsubscribe/personal/${encodeURIComponent(member)}/`,
          ),
        );
        // The signature covers the one-click fields (RFC 8058 section 4).
        const signed = /DKIM-Signature: [^\r\n]*a=rsa-sha256;[^\r\n]*?[; ]h=([^;]+);/.exec(
          header,
        )?.[1];
        expect(
          signed
            ?.toLowerCase()
            .split(':')
            .map((h) => h.trim()),
        ).toEqual(
          expect.arrayContaining(['from', 'list-unsubscribe', 'list-unsubscribe-post', 'list-id']),
        );
        expect(copy.raw.toString('latin1')).toContain(`Sent to ${member}.`);
      }
      await expectSigned(copies);
    });

    it('a batched list: one signed copy shared by every member', async () => {
      const { ran, copies } = await post('batched', fixture('plain-post.eml'));
      expect(ran.code, ran.stderr).toBe(0);
      expect(copies.flatMap((c) => c.to).sort()).toEqual([...BATCHED].sort());
      expect(new Set(copies.map((c) => c.raw.toString('base64'))).size).toBe(1);
      await expectSigned(copies);
    });

    it('an 8-bit post (Shift_JIS body), personalised', async () => {
      const { ran, copies } = await post('personal', fixture('eight-bit.eml'));
      expect(ran.code, ran.stderr).toBe(0);
      expect(copies).toHaveLength(3);
      expect(copies[0]!.raw.some((byte) => byte >= 0x80)).toBe(true);
      await expectSigned(copies);
    });

    it('a multipart/signed post, to both lists', async () => {
      // Without its `Precedence: bulk` (the loop guard would discard it as list mail).
      const raw = Buffer.from(
        fixture('multipart-signed.eml')
          .toString('latin1')
          .replace(/^Precedence: bulk\r?\n/m, ''),
        'latin1',
      );
      const personal = await post('personal', raw);
      const batched = await post('batched', raw);
      expect([personal.ran.code, batched.ran.code]).toEqual([0, 0]);
      expect(personal.copies).toHaveLength(3);
      await expectSigned([...personal.copies, ...batched.copies]);
    });
  },
);

describe.skipIf(!available)('authenticated posting (require_authenticated_from: true)', () => {
  const signedByAuthor = () => createDkimSigner([author]).sign(fixture('author-signed.eml'));

  it("a member's post with a valid DKIM signature of their domain is distributed, sealed with the pass", async () => {
    const incoming = signedByAuthor();
    const { ran, copies } = await post('members', incoming);
    expect(ran.code, ran.stderr).toBe(0);
    expect(copies.flatMap((c) => c.to).sort()).toEqual(['ann@example.org', POSTER].sort());
    const results = await expectSigned(copies);
    // The list's changes broke the author's signature; the seal carries what it verified.
    expect(results[0]!.dkim.find((d) => d.s === 'test-author')?.ok).toBe(false);
    const header = headerOf(copies[0]!);
    expect(header).toMatch(
      /ARC-Authentication-Results: i=1; list\.example\.org; dkim=pass header\.i=@gmail\.com header\.s=test-author/,
    );
    expect(header).toMatch(/Authentication-Results: list\.example\.org;.* dmarc=pass/);
    expect(dns.asked).toContain('test-author._domainkey.gmail.com');
  });

  it('the same post with its signature broken, and a forged From, are held: "From not authenticated"', async () => {
    const broken = Buffer.from(
      signedByAuthor().toString('latin1').replace('Subject: ', 'Subject: [changed] '),
      'latin1',
    );
    const forged = fixture('author-signed.eml'); // the From, with no signature the list can check
    for (const raw of [broken, forged]) {
      const { ran, copies } = await post('members', raw);
      expect(ran.code, ran.stderr).toBe(0);
      // Only notices leave (the poster's, the moderators'), no member's copy of the post.
      expect(copies.flatMap((c) => c.to)).not.toContain('ann@example.org');
      expect(copies.filter((c) => c.messageId === POST_ID)).toEqual([]);
      expect(`${ran.stdout}${ran.stderr}`).toContain('From not authenticated');
    }
    const held = await malist(['held', 'list', '--config', dir]);
    // The REASON column is cut to its width.
    expect(held.stdout.match(/: From not authen/g)?.length, held.stdout).toBe(2);
  });

  it('a post a trusted forwarder changed and sealed (cv=pass) is accepted; the list adds i=2', async () => {
    const original = signedByAuthor();
    const seen = await verifyIncoming(original, {
      resolver: dnsFor([author], { '_dmarc.gmail.com': RECORDS['_dmarc.gmail.com'] }),
      authservId: 'mx.forwarder.example',
    });
    // The forwarder tags the subject (the author's signature no longer verifies), then seals.
    const changed = Buffer.from(
      original.toString('latin1').replace('Subject: ', 'Subject: [fwd] '),
      'latin1',
    );
    const incoming = (await createArcSealer(forwarder).seal(changed, sealPlanFor(seen))).message;
    const { ran, copies } = await post('members', incoming);
    expect(ran.code, ran.stderr).toBe(0);
    expect(copies.flatMap((c) => c.to).sort()).toEqual(['ann@example.org', POSTER].sort());
    await expectSigned(copies);
    expect(copies[0]!.raw.toString('latin1')).toMatch(
      /\nARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=pass;/,
    );
  });
});
