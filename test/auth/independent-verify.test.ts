/**
 * The list's signatures and seals checked by an implementation that shares no code with
 * malist or mailauth: dkimpy (Debian python3-dkim, with python3-authres for ARC), through
 * test/auth/dkimpy-verify.py, which serves the test keys from a file instead of DNS.
 *
 * Each case is a real message from the shared corpus (test/fixtures/auth, see MANIFEST.tsv)
 * made into list copies the way the list changes a post (subject prefix, List-* fields, a
 * personal footer and one-click URL per member), then sealed and dual-signed (rsa-sha256 2048
 * and ed25519-sha256). Every copy is verified as signed and as an SMTP server receives it
 * (CRLF line endings).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createArcSealer, sealPlanFor } from '../../src/auth/arc-seal.ts';
import { createCopySigner } from '../../src/auth/copy-signer.ts';
import { createDkimSigner } from '../../src/auth/dkim-sign.ts';
import { stampAuthResults } from '../../src/auth/results-header.ts';
import { verifyIncoming } from '../../src/auth/verify.ts';
import { HeaderBlock } from '../../src/mail/header-block.ts';
import { dnsFor, keyRecords, testKey } from '../helpers/auth-keys.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'dkimpy-verify.py');
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'auth');

/** Whether dkimpy and authres are importable; loud when not, a failure under CI=true. */
function dkimpyAvailable(): boolean {
  try {
    if (existsSync(PYTHON)) {
      execFileSync(PYTHON, ['-c', 'import dkim, authres'], { stdio: 'ignore' });
      return true;
    }
  } catch {
    // reported below
  }
  const message =
    'python3-dkim / python3-authres are not installed: the independent DKIM/ARC verification is SKIPPED. ' +
    'Install python3-dkim python3-authres (Debian) to run it.';
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n`);
  return false;
}
const available = dkimpyAvailable();

const rsa = testKey('rsa-sha256', 'list.example.org', 'rsa2025');
const ed = testKey('ed25519-sha256', 'list.example.org', 'ed2025');
const gmail = testKey('rsa-sha256', 'gmail.com', 'test-author');
const forwarder = testKey('rsa-sha256', 'forwarder.example', 'fwd');
const resolver = dnsFor([rsa, ed, gmail, forwarder], { '_dmarc.gmail.com': 'v=DMARC1; p=none' });
const listSigner = createCopySigner({ dkim: [rsa, ed], arc: rsa });

interface DkimpyResult {
  file: string;
  dkim: Array<{ d: string; s: string; a: string; ok: boolean; error: string | null }>;
  arc: { cv: string | null; reason: string };
}

/** What the list does to a post; `member` makes the copy personal. */
function listCopy(raw: Buffer, member?: string, touchBody = true): Buffer {
  const { header, bodyStart } = HeaderBlock.parse(raw);
  const eol = header.eol;
  header.set('Subject', `[Red] ${header.get('Subject') ?? ''}`);
  header.set('List-Id', 'Red mail list <red.list.example.org>');
  header.set('List-Post', '<mailto:red@list.example.org>');
  const unsubscribe = member
    ? `https://list.example.org/unsubscribe/red/${encodeURIComponent(member)}/t0k3n`
    : undefined;
  header.set(
    'List-Unsubscribe',
    unsubscribe
      ? `<${unsubscribe}>, <mailto:red-leave@list.example.org>`
      : '<mailto:red-leave@list.example.org>',
  );
  if (unsubscribe) header.set('List-Unsubscribe-Post', 'List-Unsubscribe=One-Click');
  const footer = touchBody
    ? `${eol}-- ${eol}Red mail list${member ? `: you are ${member}, leave at ${unsubscribe}` : ''}${eol}`
    : '';
  return Buffer.concat([
    header.toBuffer({ wire: true, hasBody: true }),
    raw.subarray(bodyStart),
    Buffer.from(footer),
  ]);
}

/** The bytes an SMTP server stores: CRLF everywhere. */
const wire = (raw: Buffer) =>
  Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

/** The list's intake and hand-off for one incoming post: verify, stamp, modify, seal, sign. */
async function listCopies(incoming: Buffer, members: Array<string | undefined>, touchBody = true) {
  const verdict = await verifyIncoming(incoming, { resolver, authservId: 'list.example.org' });
  const { header, bodyStart } = HeaderBlock.parse(incoming);
  stampAuthResults(header, verdict);
  const stamped = Buffer.concat([
    header.toBuffer({ wire: true, hasBody: true }),
    incoming.subarray(bodyStart),
  ]);
  const plan = sealPlanFor(verdict);
  const copies: Buffer[] = [];
  for (const member of members)
    copies.push(await listSigner.sign(listCopy(stamped, member, touchBody), plan));
  return { verdict, copies };
}

let dir = '';
let keysFile = '';
let fileNo = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'malist-dkimpy-'));
  keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify(keyRecords([rsa, ed, gmail, forwarder])));
});

/** dkimpy's verdict on each message, as signed and as received (CRLF). */
async function dkimpy(messages: Buffer[]): Promise<DkimpyResult[]> {
  const files: string[] = [];
  for (const message of messages.flatMap((m) => [m, wire(m)])) {
    const file = join(dir, `${++fileNo}.eml`);
    await writeFile(file, message);
    files.push(file);
  }
  const out = execFileSync(PYTHON, [SCRIPT, keysFile, ...files], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as DkimpyResult);
}

/** Our two signatures pass and the chain validates, for every copy in both forms. */
function expectListSigned(results: DkimpyResult[]): void {
  for (const result of results) {
    const own = result.dkim.filter((d) => d.d === 'list.example.org');
    expect(
      own.map((d) => [d.s, d.a, d.ok, d.error]),
      result.file,
    ).toEqual([
      ['rsa2025', 'rsa-sha256', true, null],
      ['ed2025', 'ed25519-sha256', true, null],
    ]);
    expect(result.arc, result.file).toEqual({ cv: 'pass', reason: 'success' });
  }
}

const fixture = (name: string) => readFileSync(join(FIXTURES, name));

describe.skipIf(!available)('list signatures and seals, verified by dkimpy', () => {
  it('a plain post (LF line endings)', async () => {
    const { copies } = await listCopies(fixture('plain-post.eml'), [undefined]);
    expectListSigned(await dkimpy(copies));
  });

  it('a post with a personal footer and one-click URL: different bytes for each member', async () => {
    const members = ['alice@example.net', 'bob@example.com', 'carol+lists@example.org'];
    const { copies } = await listCopies(fixture('plain-post.eml'), members);
    expect(new Set(copies.map((c) => c.toString('base64'))).size).toBe(3);
    expectListSigned(await dkimpy(copies));
  });

  it('an 8-bit post (Shift_JIS body, CRLF)', async () => {
    const { copies } = await listCopies(fixture('eight-bit.eml'), [undefined, 'dave@example.net']);
    expect(copies[0]!.some((byte) => byte >= 0x80)).toBe(true);
    expectListSigned(await dkimpy(copies));
  });

  it('a multipart/signed post, its body untouched', async () => {
    const raw = fixture('multipart-signed.eml');
    const { copies } = await listCopies(raw, [undefined], false);
    const body = raw.subarray(HeaderBlock.parse(raw).bodyStart);
    expect(copies[0]!.subarray(copies[0]!.length - body.length).equals(body)).toBe(true);
    expectListSigned(await dkimpy(copies));
  });

  it("a post signed by its author's domain, which the list's changes break: ARC carries the pass", async () => {
    const incoming = createDkimSigner([gmail]).sign(fixture('author-signed.eml'));
    const { verdict, copies } = await listCopies(incoming, [undefined, 'erin@example.net']);
    expect(verdict.dkim.find((d) => d.selector === 'test-author')?.result).toBe('pass');
    // Two results a message (as signed, as received): the incoming post's, then the copies'.
    const results = await dkimpy([incoming, ...copies]);
    expect(results[0]!.dkim.find((d) => d.s === 'test-author')?.ok).toBe(true);
    const copiesOnly = results.slice(2);
    expectListSigned(copiesOnly);
    for (const result of copiesOnly)
      expect(result.dkim.find((d) => d.s === 'test-author')?.ok, result.file).toBe(false);
    const aar = copies[0]!.toString('latin1');
    expect(aar).toMatch(
      /ARC-Authentication-Results: i=1; list\.example\.org;\r?\n dkim=pass header\.i=@gmail\.com header\.s=test-author/,
    );
  });

  it('a post a forwarder already sealed: the list adds i=2 with cv=pass', async () => {
    const signedByAuthor = createDkimSigner([gmail]).sign(fixture('author-signed.eml'));
    const seen = await verifyIncoming(signedByAuthor, {
      resolver,
      authservId: 'mx.forwarder.example',
    });
    const incoming = (await createArcSealer(forwarder).seal(signedByAuthor, sealPlanFor(seen)))
      .message;
    const { verdict, copies } = await listCopies(incoming, ['frank@example.net']);
    expect(verdict.arc).toMatchObject({ result: 'pass', sealer: 'forwarder.example' });
    expect(copies[0]!.toString('latin1')).toMatch(/\nARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=pass;/);
    expectListSigned(await dkimpy(copies));
  });

  it('and dkimpy does fail a copy changed after signing (the harness is not vacuous)', async () => {
    const { copies } = await listCopies(fixture('plain-post.eml'), ['gina@example.net']);
    const changed = Buffer.from(copies[0]!.toString('latin1').replace('gina@', 'hank@'), 'latin1');
    const [result] = await dkimpy([changed]);
    expect(result!.dkim.filter((d) => d.d === 'list.example.org').map((d) => d.ok)).toEqual([
      false,
      false,
    ]);
    expect(result!.arc.cv).toBe('fail');
  });
});
