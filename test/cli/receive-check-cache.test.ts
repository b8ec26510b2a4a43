/**
 * `malist receive`'s check cache through the built command (src/config/check-cache.ts): the
 * first mail fills it, the next ones are answered from it without loading the YAML package,
 * an edited list takes effect with the next mail, a broken one is refused with the same
 * message as without the cache, and a cache directory others may write to is not used.
 */
import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIsCurrent } from '../../scripts/compiled.js';
import { malist, post, ROOT, tempConfig } from './run-malist.ts';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

/** Every file under `dir` (a maildir's messages), with its text. */
async function delivered(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name), 'utf8'));
  return out;
}

describe('malist receive with its check cache', () => {
  const bundled = buildIsCurrent(ROOT);

  it('fills it, answers from it, follows an edit, refuses a broken list as before, and trusts only its own directory', async () => {
    if (!bundled) return; // only the built script keeps a cache: build.test.ts says why not built
    const dir = await tempConfig();
    made.push(dir);
    const cache = join(dir, 'cache');
    const original = await readFile(post('01-member-post.eml'), 'utf8');
    const input = (id: string) =>
      original.replace(/^Message-ID: <[^>]+>/m, `Message-ID: <${id}@mail.example.org>`);
    const receive = (id: string, env: NodeJS.ProcessEnv = { MALIST_CACHE_DIR: cache }) =>
      malist(['receive', '--config', dir, '--list', 'red'], { input: input(id), env });

    // The first mail: checked from the files, and what was checked kept.
    const first = await receive('cache-1');
    expect([first.code, first.stderr]).toEqual([0, '']);
    const entries = await readdir(cache);
    expect(entries.length).toBeGreaterThan(2);
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
    for (const name of entries) expect((await stat(join(cache, name))).mode & 0o777).toBe(0o600);

    // The next: answered from the cache, nothing new to keep (that it initializes no YAML
    // parser: receive-bundle.test.ts).
    const second = await receive('cache-2');
    expect([second.code, second.stderr]).toEqual([0, '']);
    expect(await readdir(cache)).toEqual(entries);
    let mails = await delivered(join(dir, 'out'));
    expect(mails.length).toBeGreaterThan(0);
    expect(mails.every((m) => /^Subject: \[Red\] Meeting notes/m.test(m))).toBe(true);

    // An edit takes effect with the next mail.
    const listFile = join(dir, 'lists/red.yaml');
    const red = await readFile(listFile, 'utf8');
    await writeFile(
      listFile,
      red.replace('subject_prefix: "[Red] "', 'subject_prefix: "[Rouge] "'),
    );
    await rm(join(dir, 'out'), { recursive: true });
    expect((await receive('cache-3')).code).toBe(0);
    mails = await delivered(join(dir, 'out'));
    expect(mails.length).toBeGreaterThan(0);
    expect(mails.every((m) => /^Subject: \[Rouge\] Meeting notes/m.test(m))).toBe(true);

    // A mistake is refused as without the cache, every time: no check that failed is kept.
    await writeFile(listFile, red.replace('posting: members', 'posting: member'));
    const without = await receive('cache-4', { MALIST_CACHE_DIR: 'none' });
    expect(without.code).toBe(78);
    expect(without.stderr).toMatch(/red\.yaml:6:10 posting: expected one of/);
    for (const id of ['cache-5', 'cache-6']) {
      const r = await receive(id);
      expect([r.code, r.stderr]).toEqual([without.code, without.stderr]);
    }

    // A directory others may write to is not used: the mail is handled, nothing is kept.
    await writeFile(listFile, red);
    const open = join(dir, 'open-cache');
    await receive('cache-7', { MALIST_CACHE_DIR: open });
    expect((await readdir(open)).length).toBeGreaterThan(0);
    await rm(open, { recursive: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(open));
    await chmod(open, 0o777);
    const untrusted = await receive('cache-8', { MALIST_CACHE_DIR: open });
    expect([untrusted.code, untrusted.stderr]).toEqual([0, '']);
    expect(await readdir(open)).toEqual([]);
  });
});
