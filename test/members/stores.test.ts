/** The contract suite against every member store, and what only the YAML store promises. */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import createMemoryMemberStore from '../../src/members/memory.ts';
import createTextMemberStore from '../../src/members/text-file.ts';
import createYamlMemberStore from '../../src/members/yaml.ts';
import { testMemberStore } from './contract.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'malist-members-'));
}

testMemberStore('memory', async () => createMemoryMemberStore());
testMemberStore('yaml (inline in the list file)', async () => {
  const file = join(await tempDir(), 'red.yaml');
  await writeFile(file, '# Red list\naddress: red@list.example.com\nname: Red\n');
  return createYamlMemberStore({ file });
});
testMemberStore('yaml (members file, created on first add)', async () =>
  createYamlMemberStore({ file: join(await tempDir(), 'red.members.yaml') }),
);

testMemberStore('text-file (one member a line)', async () =>
  createTextMemberStore({ file: join(await tempDir(), 'red.members') }),
);

describe('text-file member store', () => {
  it('keeps comments and blank lines, options as words', async () => {
    const file = join(await tempDir(), 'red.members');
    await writeFile(
      file,
      '# founders\nalice@example.com   # the first\n\nbob@example.org digest\n',
    );
    const store = createTextMemberStore({ file });
    expect(await store.list()).toEqual([
      { address: 'alice@example.com' },
      { address: 'bob@example.org', digest: true },
    ]);
    await store.update('alice@example.com', { nomail: true, nomail_reason: 'bounce' });
    await store.add({ address: 'carol@example.net', notmetoo: true });
    expect(await readFile(file, 'utf8')).toBe(
      '# founders\nalice@example.com nomail=bounce # the first\n\nbob@example.org digest\ncarol@example.net notmetoo\n',
    );
  });
});

describe('text-file member store: display names', () => {
  it('keeps `Name <addr>` lines, with options and comments; a name a line cannot hold is left out', async () => {
    const file = join(await tempDir(), 'red.members');
    await writeFile(
      file,
      '# crew\nBob Martin <bob@example.org> digest # captain\nalice@example.com\n',
    );
    const store = createTextMemberStore({ file });
    expect(await store.list()).toEqual([
      { address: 'bob@example.org', name: 'Bob Martin', digest: true },
      { address: 'alice@example.com' },
    ]);
    await store.update('alice@example.com', { name: 'Alice A' });
    await store.update('bob@example.org', { nomail: true });
    await store.add({ address: 'carol@example.net', name: 'Carol #1' });
    await store.add({ address: 'dan@example.net', name: 'Dan D', notmetoo: true });
    expect(await readFile(file, 'utf8')).toBe(
      '# crew\nBob Martin <bob@example.org> digest nomail=user # captain\nAlice A <alice@example.com>\ncarol@example.net\nDan D <dan@example.net> notmetoo\n',
    );
    expect((await store.get('DAN@example.net'))?.name).toBe('Dan D');
  });
});

describe('yaml member store', () => {
  it('keeps comments, order and untouched entries', async () => {
    const file = join(await tempDir(), 'red.yaml');
    const original = [
      '# The red list',
      'address: red@list.example.com # posting address',
      'members:',
      '  # founders',
      '  - alice@example.com',
      '  - Bob Example <bob@example.org> # keeps his name',
      '  - { address: carol@example.net, digest: true }',
      'subject_prefix: "[Red] "',
      '',
    ].join('\n');
    await writeFile(file, original);
    const store = createYamlMemberStore({ file });
    expect(await store.list()).toEqual([
      { address: 'alice@example.com' },
      { address: 'bob@example.org', name: 'Bob Example' },
      { address: 'carol@example.net', digest: true },
    ]);
    await store.add({ address: 'dave@example.com' });
    await store.update('alice@example.com', { nomail: true });
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# The red list');
    expect(text).toContain('address: red@list.example.com # posting address');
    expect(text).toContain('# founders');
    expect(text).toContain('  - Bob Example <bob@example.org> # keeps his name');
    expect(text).toContain('subject_prefix: "[Red] "');
    expect(text.indexOf('subject_prefix')).toBeGreaterThan(text.indexOf('dave@example.com'));
    expect(text).toMatch(/address: alice@example.com\s+nomail: true\s+nomail_reason: user/);
    // A no-op change does not rewrite the file.
    const before = await readFile(file, 'utf8');
    await store.add({ address: 'DAVE@example.com' });
    expect(await readFile(file, 'utf8')).toBe(before);
    // Nothing left behind: no temp files, no lock.
    expect((await readdir(join(file, '..'))).sort()).toEqual(['red.yaml']);
  });

  it("keeps an entry's own comment on its line when options come and go", async () => {
    const file = join(await tempDir(), 'red.yaml');
    await writeFile(file, 'members:\n  - alice@example.com # founder\n');
    const store = createYamlMemberStore({ file });
    await store.update('alice@example.com', { digest: true });
    expect(await readFile(file, 'utf8')).toBe(
      'members:\n  - address: alice@example.com # founder\n    digest: true\n',
    );
    await store.update('alice@example.com', { digest: false });
    expect(await readFile(file, 'utf8')).toBe('members:\n  - alice@example.com # founder\n');
  });

  it('an edit changes only the member lines: comments, blank lines, folded text and flow style survive byte for byte', async () => {
    const file = join(await tempDir(), 'red.yaml');
    const head = [
      '# The Red list   (comment with   extra blanks)',
      'address: red@list.example.com   # aligned comment',
      'description: >',
      '  A folded description that is longer than eighty columns and must not be re-folded by an edit.',
      '',
      "subject_prefix: '[Red] '",
      'deliver_to: [ archive@list.example.com,   other@list.example.com ]',
      'members:',
      '  - alice@example.com     # founder',
      '',
      '  # the second wave',
      '  - Bob Martin <bob@example.net>',
      '  - {address: carol@example.org, digest: true}',
    ].join('\n');
    const tail = '# end of members\nfooter: |\n  -- \n  Red list\n';
    await writeFile(file, `${head}\n${tail}`);
    const store = createYamlMemberStore({ file });
    await store.add({ address: 'dave@example.com' });
    expect(await readFile(file, 'utf8')).toBe(`${head}\n  - dave@example.com\n${tail}`);
    await store.remove('dave@example.com');
    expect(await readFile(file, 'utf8')).toBe(`${head}\n${tail}`);
    await store.update('carol@example.org', { digest: false });
    expect(await readFile(file, 'utf8')).toBe(
      `${head.replace('{address: carol@example.org, digest: true}', 'carol@example.org')}\n${tail}`,
    );
  });

  it('works with a flow sequence and a document that is a sequence', async () => {
    const dir = await tempDir();
    const flow = join(dir, 'flow.yaml');
    await writeFile(flow, 'address: x@list.example\nmembers: [a@example.com, b@example.com]\n');
    await createYamlMemberStore({ file: flow }).add({ address: 'c@example.com' });
    // The sequence keeps the file's own spacing (no `[ a, b ]` re-print).
    expect(await readFile(flow, 'utf8')).toBe(
      'address: x@list.example\nmembers: [a@example.com, b@example.com, c@example.com]\n',
    );
    const seq = join(dir, 'red.members');
    await writeFile(seq, '# one per line\n- a@example.com\n');
    const store = createYamlMemberStore({ file: seq });
    await store.add({ address: 'b@example.com', notmetoo: true });
    expect(await readFile(seq, 'utf8')).toBe(
      '# one per line\n- a@example.com\n- address: b@example.com\n  notmetoo: true\n',
    );
  });

  it('two stores on one file (two processes) lose no change', async () => {
    const file = join(await tempDir(), 'red.yaml');
    const a = createYamlMemberStore({ file });
    const b = createYamlMemberStore({ file });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).add({ address: `p${i}@example.com` })),
    );
    expect(await a.list()).toHaveLength(10);
  });

  it('refuses a broken file with its name', async () => {
    const file = join(await tempDir(), 'bad.yaml');
    await writeFile(file, 'members: [a@example.com\n');
    await expect(createYamlMemberStore({ file }).list()).rejects.toThrow(/bad\.yaml/);
  });
});
