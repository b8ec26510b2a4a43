/**
 * `signing_threads:` signs a list's copies in worker threads, which the command starts from
 * the signer-worker module beside its own code: in the build's bundle (dist/bin/), the
 * sources through tsx otherwise. A post through the real `malist receive` comes out signed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { malist, tempConfig } from './run-malist.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('malist receive with signing_threads', () => {
  it('signs the copy in a worker thread', { timeout: 120_000 }, async () => {
    const dir = await tempConfig(
      'state_dir: state\nsigning_threads: 1\ndistribute:\n  type: maildir\n  dir: out\n',
    );
    dirs.push(dir);
    await rm(join(dir, 'lists'), { recursive: true });
    await mkdir(join(dir, 'lists', 'keys'), { recursive: true });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(
      join(dir, 'lists', 'keys', 's1.pem'),
      privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    await writeFile(
      join(dir, 'lists', 'red.yaml'),
      'address: red@list.example.org\nposting: open\nmembers: [a@example.org]\ndkim:\n  - { domain: list.example.org, selector: s1, key_file: keys/s1.pem }\n',
    );
    const post =
      'From: Poster <poster@example.net>\nTo: red@list.example.org\nSubject: signed\n' +
      'Date: Mon, 23 Nov 2026 20:00:00 +0000\nMessage-ID: <signed-1@example.net>\n\nhello\n';
    const r = await malist(['receive', '--config', dir, '--list', 'red'], { input: post });
    expect(r.code, r.stderr).toBe(0);
    const box = join(dir, 'out', 'a@example.org', 'new');
    const [file] = await readdir(box);
    const copy = await readFile(join(box, file!), 'utf8');
    expect(copy).toMatch(/^DKIM-Signature:[\s\S]*?\bd=list\.example\.org;[\s\S]*?\bs=s1;/m);
  });
});
