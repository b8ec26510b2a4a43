/**
 * `malist dkim keygen` and `malist check`'s DNS warnings, as an operator runs them: keygen
 * writes a key (0600) and prints the TXT record; the list names the key files; `malist
 * check` compares every configured key with its record, asked of a DNS stub on 127.0.0.1
 * (malist.yaml `dns: servers:`), and warns, file:line first, for a record that is missing
 * or publishes another key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimTxtRecord, signingKeyFrom } from '../../src/auth/keys.ts';
import { type DnsStub, startDnsStub } from '../helpers/dns-stub.ts';
import { malist, ROOT, tempConfig } from './run-malist.ts';

let dns: DnsStub;
beforeAll(async () => {
  dns = await startDnsStub();
});
afterAll(() => dns?.close());

const config = () =>
  tempConfig(
    `state_dir: state\ndns: { servers: ["${dns.address}"], timeout_ms: 5000 }\ndistribute:\n  type: maildir\n  dir: out\n`,
  );

/** `malist dkim keygen --config DIR --list red ARGS`. */
const keygen = (dir: string, ...args: string[]) =>
  malist(['dkim', 'keygen', '--config', dir, '--list', 'red', ...args]);

/** The record a zone-file line publishes: its name and its strings joined. */
function record(zone: string): { name: string; text: string } {
  const name = /^(\S+)\. IN TXT/.exec(zone)?.[1] ?? '';
  const text = [...zone.matchAll(/"([^"]*)"/g)].map((m) => m[1]).join('');
  return { name, text };
}

describe('malist dkim keygen, then malist check against DNS', () => {
  it('writes the keys (0600), prints the records; check warns only for the key DNS does not publish', async () => {
    const dir = await config();
    const rsa = await keygen(dir, '--selector', 'rsa1');
    expect(rsa.code, rsa.stderr).toBe(0);
    expect(rsa.stdout).toMatch(
      /^rsa1\._domainkey\.list\.example\.com\. IN TXT \( "v=DKIM1; k=rsa; p=/,
    );
    expect(rsa.stderr).toContain('key_file: keys/red.rsa1.pem');
    const rsaFile = join(dir, 'lists/keys/red.rsa1.pem');
    expect((await stat(rsaFile)).mode & 0o777).toBe(0o600);
    const pem = await readFile(rsaFile, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    const ed = await keygen(dir, '--algorithm', 'ed25519', '--selector', 'ed1');
    expect(ed.code, ed.stderr).toBe(0);
    expect(ed.stdout).toMatch(
      /^ed1\._domainkey\.list\.example\.com\. IN TXT \( "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=" \)/,
    );

    // A key is never overwritten: rotation takes a new selector.
    const again = await keygen(dir, '--selector', 'rsa1');
    expect(again.code).toBe(73);
    expect(again.stderr).toContain('exists: a key is never overwritten');
    expect(await readFile(rsaFile, 'utf8')).toBe(pem);

    await appendFile(
      join(dir, 'lists/red.yaml'),
      [
        'dkim:',
        '  - { domain: list.example.com, selector: rsa1, key_file: keys/red.rsa1.pem }',
        '  - { domain: list.example.com, selector: ed1, key_file: keys/red.ed1.pem, algorithm: ed25519-sha256 }',
        '',
      ].join('\n'),
    );
    const published = record(rsa.stdout.trim());
    const other = signingKeyFrom(
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      { domain: 'list.example.com', selector: 'ed1', key_file: 'other' },
    );
    dns.set({ [published.name]: published.text });

    // The ed25519 record is missing.
    const missing = await malist(['check', '--config', dir]);
    expect(missing.code, missing.stderr).toBe(0);
    const lines = missing.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /lists\/red\.yaml:\d+: warning: list red: the DKIM key ed1 \(list\.example\.com\): no TXT record at ed1\._domainkey\.list\.example\.com; publish: ed1\._domainkey\.list\.example\.com\. IN TXT \( "v=DKIM1; k=ed25519; p=/,
    );
    expect(lines[0]).toContain(ed.stdout.trim());

    // It publishes another key.
    dns.set({ [dkimTxtRecord(other).name]: dkimTxtRecord(other).text });
    const mismatch = await malist(['check', '--config', dir]);
    expect(mismatch.code).toBe(0);
    expect(mismatch.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /the DKIM key ed1 \(list\.example\.com\): the published p= is a different key; publish: /,
      ),
    ]);

    // Both published: no warning.
    dns.set({ [record(ed.stdout.trim()).name]: record(ed.stdout.trim()).text });
    const fine = await malist(['check', '--config', dir]);
    expect(fine.code).toBe(0);
    expect(fine.stderr).toBe('');
    expect(dns.asked).toContain('rsa1._domainkey.list.example.com');
  });

  it('accept-key records the keys each selector signs with, and says what it replaced', async () => {
    const dir = await config();
    expect((await keygen(dir, '--selector', 'rsa1')).code).toBe(0);
    await appendFile(
      join(dir, 'lists/red.yaml'),
      'dkim: { domain: list.example.com, selector: rsa1, key_file: keys/red.rsa1.pem }\n',
    );
    const accept = (...args: string[]) =>
      malist(['dkim', 'accept-key', '--config', dir, '--list', 'red', ...args]);
    // The first run as README's "A selector keeps its key" writes it.
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const line = /\*\*A selector keeps its key\.\*\*[\s\S]*?```sh\n([\s\S]*?)```/
      .exec(readme)![1]!
      .replace(/#.*$/m, '')
      .trim();
    const [command, ...args] = line.split(/\s+/);
    expect(command).toBe('malist');
    const first = await malist([...args, '--config', dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^rsa1\._domainkey\.list\.example\.com: recorded .*red\.rsa1\.pem \(SHA-256 [0-9a-f]{16}…; first record\); its DNS record must be: rsa1\._domainkey\.list\.example\.com\. IN TXT/,
    );
    const record = join(dir, 'state/dkim-keys/rsa1._domainkey.list.example.com.json');
    const before = JSON.parse(await readFile(record, 'utf8')) as { spki_sha256: string };
    expect((await accept()).stdout).toContain('; unchanged)');
    // The key file replaced on purpose: accept-key names the key it replaces.
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    await writeFile(join(dir, 'lists/keys/red.rsa1.pem'), pem, { mode: 0o600 });
    // malist check says so before anything is deferred.
    const check = await malist(['check', '--config', dir]);
    expect(check.stderr).toMatch(
      /lists\/red\.yaml:\d+: warning: list red: the key file .*red\.rsa1\.pem holds a key \(SHA-256 [0-9a-f]{16}…\) that is not the one rsa1\._domainkey\.list\.example\.com has signed with .*malist dkim accept-key --list red; or sign with a new selector; until then its copies are deferred/,
    );
    const replaced = await accept();
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain(`was SHA-256 ${before.spki_sha256.slice(0, 16)}…`);
    const wrong = await accept('--selector', 'nope');
    expect([wrong.code, wrong.stderr]).toEqual([
      64,
      expect.stringContaining('list red signs with no key of selector nope (its selectors: rsa1)'),
    ]);
  });

  it('a key the list names but nobody made: check names file:line and keygen, which writes that file', async () => {
    const dir = await config();
    await appendFile(
      join(dir, 'lists/red.yaml'),
      'dkim: { domain: list.example.com, selector: s2030, key_file: secret/red.pem }\n',
    );
    const before = await malist(['check', '--config', dir]);
    expect(before.code).toBe(78);
    expect(before.stderr).toMatch(
      /lists\/red\.yaml:\d+:\d+ dkim\.key_file: cannot read the key file .*red\.pem: ENOENT/,
    );
    expect(before.stderr).toContain('run malist dkim keygen --list red');

    const made = await keygen(dir);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^s2030\._domainkey\.list\.example\.com\. IN TXT/);
    expect(made.stderr).not.toContain('add to');
    expect((await stat(join(dir, 'lists/secret/red.pem'))).mode & 0o777).toBe(0o600);
    dns.set({ [record(made.stdout.trim()).name]: record(made.stdout.trim()).text });
    const after = await malist(['check', '--config', dir]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toBe('');
  });

  it('usage errors: no --list, an unknown algorithm, an unknown list', async () => {
    const dir = await config();
    const none = await malist(['dkim', 'keygen', '--config', dir]);
    expect([none.code, none.stderr]).toEqual([
      64,
      expect.stringContaining('--list NAME is required'),
    ]);
    const alg = await keygen(dir, '--algorithm', 'dsa');
    expect([alg.code, alg.stderr]).toEqual([
      64,
      expect.stringContaining('expected rsa-sha256 or ed25519'),
    ]);
    const list = await malist(['dkim', 'keygen', '--config', dir, '--list', 'pink']);
    expect([list.code, list.stderr]).toEqual([67, expect.stringContaining('no list pink')]);
  });

  it("README's authenticated-mail example: keygen makes its keys, check finds no problem", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const block = /\*\*Authenticated mail\.\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    const [main, list] = block!.split('# lists/red.yaml\n');
    const dir = await tempConfig(
      `${main!.replace(/^dns: .*$/m, `dns: { servers: ["${dns.address}"] }`)}state_dir: state\ndistribute: { type: maildir, dir: out }\n`,
    );
    await appendFile(join(dir, 'lists/red.yaml'), list!);
    const keys = /selector: (\S+), key_file: (\S+)[, ]/g;
    for (const [, selector] of list!.matchAll(keys)) {
      const made = await keygen(dir, '--selector', selector!);
      expect(made.code, made.stderr).toBe(0);
      dns.set({ [record(made.stdout.trim()).name]: record(made.stdout.trim()).text });
    }
    const checked = await malist(['check', '--config', dir]);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stderr).toBe('');
    expect(checked.stdout).toContain('authenticate');
  });
});
