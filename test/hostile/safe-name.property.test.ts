/**
 * Names from config or mail (list names, message keys, recipients, token ids) become file
 * names only through safeName(): whatever the input, the result stays inside its directory.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../helpers/property-seed.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import { FileJournal } from '../../src/state/journal.ts';
import { MailStore } from '../../src/state/mail-store.ts';
import { safeName } from '../../src/state/safe-name.ts';
import { TokenStore } from '../../src/state/tokens.ts';

const RUNS = Number(process.env.MALIST_PROPERTY_RUNS ?? 500);

const hostileName = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .array(fc.constantFrom('..', '/', '\\', '.', 'a', '\u0000', '%2e', '~', ' ', 'C:', '\u2024'), {
      maxLength: 20,
    })
    .map((p) => p.join('')),
  fc.constantFrom('', '.', '..', '../../etc/passwd', '/etc/passwd', '.hidden', 'a/../../b'),
);

describe('safeName', () => {
  it('is never a path: no separator, no NUL, no "..", no leading dot, not empty, bounded', () => {
    fc.assert(
      fc.property(hostileName, (value) => {
        const name = safeName(value);
        expect(name).not.toMatch(/[/\\\0]/);
        expect(name).not.toContain('..');
        expect(name.startsWith('.')).toBe(false);
        expect(name.length).toBeGreaterThan(0);
        expect(name.length).toBeLessThanOrEqual(101);
        const root = resolve('/state/dir');
        const inside = relative(root, resolve(root, name));
        expect(inside.startsWith('..') || inside.includes(sep)).toBe(false);
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('keeps plain names, and different inputs stay different', () => {
    expect(safeName('red')).toBe('red');
    expect(safeName('alice@example.com')).toBe('alice@example.com');
    fc.assert(
      fc.property(hostileName, hostileName, (a, b) => {
        fc.pre(a !== b);
        expect(safeName(a)).not.toBe(safeName(b));
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('state stores keep hostile names inside the state directory', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'malist-hostile-names-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const evil = ['../../escaped', '/tmp/absolute', '..', '.', 'a/../../../b', '\u0000x', ''];

  it('journal scopes and keys', async () => {
    const state = join(root, 'journal-state');
    const journal = new FileJournal(join(state, 'journal'));
    for (const scope of evil)
      for (const key of evil) {
        await journal.record(scope, key, { outcome: 'distributed' });
        expect((await journal.get(scope, key))?.outcome).toBe('distributed');
      }
    expect(await readdir(root)).toEqual(['journal-state']);
  });

  it('the held/quarantine store with a hostile id', async () => {
    const store = new MailStore(join(root, 'held-state', 'held'));
    const mail = createListMail(Buffer.from('Subject: x\r\n\r\nbody\r\n'), {
      fetcher: '../../x',
      id: '../../../y',
    });
    await store.put(mail, { reason: 'test', unit: 'test', list: '../../escape' });
    for (const id of evil) await expect(store.read(id)).rejects.toThrow();
    await store.remove('../../../held-state');
    expect((await readdir(root)).sort()).toEqual(['held-state', 'journal-state']);
  });

  it('a token store given a path-like token finds nothing and writes nothing outside', async () => {
    const tokens = new TokenStore(join(root, 'tok-state', 'tokens'), Buffer.alloc(32, 1));
    for (const token of [...evil, `${'../'.repeat(5)}${'0'.repeat(32)}-${'0'.repeat(24)}`]) {
      expect(await tokens.consume(token)).toBeUndefined();
    }
    expect((await readdir(root)).sort()).toEqual(['held-state', 'journal-state']);
  });
});
