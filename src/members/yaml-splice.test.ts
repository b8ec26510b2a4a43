/**
 * The YAML store's edits in the file's own text, proven by reading back only the part an
 * edit could change; and the document the configuration loader parsed, used while the file
 * still holds the text it was parsed from.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSeq, parseDocument, type YAMLSeq } from 'yaml';
import createYamlMemberStore from './yaml.ts';
import { openYamlText, splicedText } from './yaml-splice.ts';

const HEAD = '# the big list\naddress: big@list.example.com\nmembers:\n';
const entry = (i: number) => `m${i}@example.org`;
const bigList = (n: number) =>
  `${HEAD}${Array.from({ length: n }, (_, i) => `  - ${entry(i)}${i === 7 ? ' # founder' : ''}\n`).join('')}posting: members\n`;

async function listFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'malist-splice-')), 'big.yaml');
  await writeFile(file, text);
  return file;
}

describe('edits in the text of a big members list', () => {
  it('a sync of 500 members: each change on its own line, everything else byte for byte', async () => {
    const text = bigList(500);
    const file = await listFile(text);
    const store = createYamlMemberStore({ file });
    const done = await store.applyMany!({
      add: [{ address: 'new1@example.net' }, { address: 'new2@example.net', digest: true }],
      remove: [{ address: entry(3) }, { address: entry(250) }, { address: entry(499) }],
      change: [
        { address: entry(7), name: 'First One' },
        { address: entry(100), digest: true },
      ],
    });
    expect(done).toEqual({ added: 2, removed: 3, changed: 2 });
    const out = await readFile(file, 'utf8');
    const expected = text
      .replace(`  - ${entry(3)}\n`, '')
      .replace(`  - ${entry(250)}\n`, '')
      .replace(`  - ${entry(7)} # founder\n`, `  - First One <${entry(7)}> # founder\n`)
      .replace(`  - ${entry(100)}\n`, `  - address: ${entry(100)}\n    digest: true\n`)
      .replace(
        `  - ${entry(499)}\n`,
        '  - new1@example.net\n  - address: new2@example.net\n    digest: true\n',
      );
    expect(out).toBe(expected);
    expect((await store.list()).length).toBe(499);
  });

  it('an edit the read-back does not confirm is not written as it is: the document is printed instead', () => {
    const text = bigList(50);
    const doc = parseDocument(text);
    const edit = openYamlText(text, doc);
    const seq = doc.get('members', true) as YAMLSeq;
    expect(isSeq(seq)).toBe(true);
    seq.items.splice(20, 1);
    // A removal that takes the wrong line (entry 21's, not entry 20's): the text and the
    // document disagree right where the edit was made.
    const at = text.indexOf(`  - ${entry(21)}\n`);
    edit.splices.push({ from: at, to: at + `  - ${entry(21)}\n`.length, text: '' });
    expect(splicedText(edit, seq, 'members')).toBeUndefined();
    // The right line: proven, and the text is the file without that line.
    const right = openYamlText(text, parseDocument(text));
    const rightSeq = right.doc.get('members', true) as YAMLSeq;
    rightSeq.items.splice(20, 1);
    const from = text.indexOf(`  - ${entry(20)}\n`);
    right.splices.push({ from, to: from + `  - ${entry(20)}\n`.length, text: '' });
    expect(splicedText(right, rightSeq, 'members')).toBe(text.replace(`  - ${entry(20)}\n`, ''));
  });

  it('an edit that breaks the YAML near it is caught too (an entry indented into its neighbour)', () => {
    const text = bigList(50);
    const doc = parseDocument(text);
    const edit = openYamlText(text, doc);
    const seq = doc.get('members', true) as YAMLSeq;
    seq.items.push(doc.createNode('late@example.org') as never);
    const at = text.indexOf(`  - ${entry(30)}\n`);
    edit.splices.push({ from: at, to: at, text: '      late@example.org\n' });
    expect(splicedText(edit, seq, 'members')).toBeUndefined();
  });

  it("uses the loader's document while the file holds its text; a file changed since is read again", async () => {
    const text = bigList(20);
    const file = await listFile(text);
    const doc = parseDocument(text);
    // A document that says something else than the file: used only while the text matches.
    (doc.get('members', true) as YAMLSeq).items.splice(0, 19);
    const seeded = createYamlMemberStore({ file, parsed: { text, doc } });
    expect((await seeded.list()).map((m) => m.address)).toEqual([entry(19)]);
    await writeFile(file, text.replace(`  - ${entry(0)}\n`, ''));
    const stale = createYamlMemberStore({ file, parsed: { text, doc: parseDocument(text) } });
    expect((await stale.list()).length).toBe(19);
  });
});
