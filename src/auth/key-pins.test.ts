import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testKey, testKeyPem } from '../../test/helpers/auth-keys.ts';
import { keyFingerprint, keyPins, mismatchProblem } from './key-pins.ts';
import { signingKeyFrom } from './keys.ts';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const key = testKey('rsa-sha256', 'list.example.org', 's1');
const other = signingKeyFrom(testKeyPem('rsa-sha256', 'another'), {
  domain: 'list.example.org',
  selector: 's1',
  key_file: 'keys/s1.pem',
});

describe('keyPins', () => {
  it('records a selector at its first check, passes the same key, refuses another', async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-pins-'));
    const pins = keyPins(dir, () => new Date('2026-12-05T10:00:00Z'));
    expect(await pins.check([key, key])).toEqual([]);
    const record = JSON.parse(
      await readFile(join(dir, 'dkim-keys', 's1._domainkey.list.example.org.json'), 'utf8'),
    );
    expect(record).toEqual({
      name: 's1._domainkey.list.example.org',
      algorithm: 'rsa-sha256',
      spki_sha256: keyFingerprint(key.publicKey),
      key_file: key.keyFile,
      recorded: '2026-12-05T10:00:00.000Z',
    });
    expect(await pins.check([key])).toEqual([]);
    const [mismatch, ...more] = await keyPins(dir).check([other]);
    expect(more).toEqual([]);
    expect(mismatch!.pinned.spki_sha256).toBe(keyFingerprint(key.publicKey));
    expect(mismatchProblem(mismatch!, 'red')).toMatch(
      /^the key file keys\/s1\.pem holds a key \(SHA-256 [0-9a-f]{16}…\) that is not the one s1\._domainkey\.list\.example\.org has signed with .*malist dkim accept-key --list red; or sign with a new selector$/,
    );
    // A new selector is a rotation: recorded, not refused.
    const rotated = testKey('ed25519-sha256', 'list.example.org', 's2');
    expect(await pins.check([rotated])).toEqual([]);
  });

  it('accept records the current key and returns what was recorded', async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-pins-'));
    const pins = keyPins(dir);
    await pins.check([key]);
    const [accepted] = await pins.accept([other]);
    expect(accepted!.was?.spki_sha256).toBe(keyFingerprint(key.publicKey));
    expect(await pins.check([other])).toEqual([]);
    expect(await pins.check([key])).toHaveLength(1);
  });

  it('two processes recording one new selector with two keys at once: the first wins, the other is refused', async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-pins-'));
    for (let round = 0; round < 20; round++) {
      await rm(join(dir, 'dkim-keys'), { recursive: true, force: true });
      const [a, b] = await Promise.all([keyPins(dir).check([key]), keyPins(dir).check([other])]);
      // Exactly one of them signs: whichever key the record names.
      expect(a!.length + b!.length).toBe(1);
      const record = JSON.parse(
        await readFile(join(dir, 'dkim-keys', 's1._domainkey.list.example.org.json'), 'utf8'),
      );
      const winner = a!.length === 0 ? key : other;
      expect(record.spki_sha256).toBe(keyFingerprint(winner.publicKey));
    }
  });

  it('a record that is not JSON is an error naming the file and the fix', async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-pins-'));
    const pins = keyPins(dir);
    await pins.check([key]);
    await writeFile(join(dir, 'dkim-keys', 's1._domainkey.list.example.org.json'), '{');
    await expect(pins.check([key])).rejects.toThrow(
      /s1\._domainkey\.list\.example\.org\.json is not the JSON record of a DKIM key; remove it and run malist dkim accept-key/,
    );
  });
});
