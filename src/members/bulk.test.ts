/** The bulk module's reading and difference, without a disk. */
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describeDiff,
  diffMembers,
  membersCsv,
  membersText,
  parseMembersFile,
  parseOnOff,
  simpleCsvRows,
} from './bulk.ts';
import type { Member } from './store.ts';

const current: Member[] = [
  { address: 'alice@example.org', name: 'Alice' },
  { address: 'Bob@Example.net', digest: true },
  { address: 'carol@example.org', nomail: true, nomail_reason: 'bounce' },
  { address: 'dave@example.org' },
];

describe('members files', () => {
  it('reads lines with names, options and comments; reports bad lines and repeats by line', () => {
    const got = parseMembersFile(
      '# roster\nAlice A <alice@example.org> digest\nbob@example.net   # no options\n\nnot-an-address\nALICE@example.org\nx@example.org sometimes\n',
    );
    expect(got.members).toEqual([
      {
        address: 'alice@example.org',
        name: 'Alice A',
        digest: true,
        stated: ['name', 'digest', 'plain', 'nomail', 'notmetoo', 'moderate'],
      },
      { address: 'bob@example.net', stated: [] },
    ]);
    expect(got.problems.map((p) => p.line)).toEqual([5, 6, 7]);
    expect(got.problems[1]!.message).toBe('ALICE@example.org is already on line 2');
    expect(got.problems[2]!.message).toMatch(/unknown option 'sometimes'/);
  });

  it('reads CSV with a header in any column order; option cells are yes/no, nothing else', () => {
    const got = parseMembersFile(
      'name,E-mail,nomail\n"Smith, Jo",jo@example.org,yes\n,kim@example.org,maybe\n',
    );
    expect(got.members).toEqual([
      {
        address: 'jo@example.org',
        name: 'Smith, Jo',
        nomail: true,
        nomail_reason: 'admin',
        stated: ['name', 'nomail'],
      },
    ]);
    expect(got.problems).toEqual([
      { line: 3, message: "nomail: expected yes or no (on/off, true/false, 1/0, x), got 'maybe'" },
    ]);
  });

  it('on/off: yes/no and true/false too, nothing else', () => {
    expect(['on', 'YES', 'true', 'off', 'no', 'False', 'maybe', ''].map(parseOnOff)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      undefined,
      undefined,
    ]);
  });
});

describe('the difference', () => {
  it('sync: added, removed, changed by what the file states; the rest unchanged', () => {
    const file = parseMembersFile(
      'address,name,digest\nalice@example.org,Alice Liddell,no\nbob@example.net,,yes\nnew@example.org,New,\n',
    );
    // carol (nomail by bounces) and dave are not in the file.
    const diff = diffMembers(current, file.members, 'sync');
    expect(diff.add).toEqual([{ address: 'new@example.org', name: 'New' }]);
    expect(diff.remove.map((m) => m.address)).toEqual(['carol@example.org', 'dave@example.org']);
    expect(diff.change).toEqual([
      {
        before: { address: 'alice@example.org', name: 'Alice' },
        after: { address: 'alice@example.org', name: 'Alice Liddell' },
      },
    ]);
    expect(diff.unchanged).toBe(1);
    expect(describeDiff(diff, true)).toBe(
      [
        '+ New <new@example.org>',
        '- carol@example.org',
        '- dave@example.org',
        '~ alice@example.org: name "Alice" -> "Alice Liddell"',
        'dry run: 1 would add, 2 would remove, 1 would change, 1 unchanged',
        '',
      ].join('\n'),
    );
  });

  it('a plain address line keeps the name, the digest and the nomail bounces set', () => {
    const file = parseMembersFile(
      'alice@example.org\nbob@example.net\ncarol@example.org\ndave@example.org nomail\n',
    );
    const diff = diffMembers(current, file.members, 'sync');
    expect([diff.add, diff.remove, diff.unchanged]).toEqual([[], [], 3]);
    expect(diff.change).toEqual([
      {
        before: { address: 'dave@example.org' },
        after: { address: 'dave@example.org', nomail: true, nomail_reason: 'admin' },
      },
    ]);
  });

  it('add: only new members; nobody removed or changed', () => {
    const diff = diffMembers(
      current,
      parseMembersFile('Alice X <alice@example.org>\nzed@example.org\n').members,
      'add',
    );
    expect([diff.add, diff.remove, diff.change, diff.unchanged]).toEqual([
      [{ address: 'zed@example.org' }],
      [],
      [],
      1,
    ]);
  });

  it('an export read back is no change, as CSV and as text', () => {
    for (const text of [membersCsv(current), membersText(current)]) {
      const diff = diffMembers(current, parseMembersFile(text).members, 'sync');
      expect([diff.add.length, diff.remove.length, diff.change.length, diff.unchanged]).toEqual([
        0, 0, 0, 4,
      ]);
    }
  });
});

describe('CSV without a CSV parser', () => {
  const csvParse = (text: string) =>
    (
      parse(text, {
        relax_column_count: true,
        skip_empty_lines: true,
        trim: true,
        comment: '#',
        info: true,
      }) as unknown as Array<{ record: string[]; info: { lines: number } }>
    ).map((r) => ({ record: r.record, info: { lines: r.info.lines } }));

  it('reads a simple text exactly as csv-parse does, and leaves any other to it', () => {
    const piece = fc.constantFrom(
      'a',
      'b@x.org',
      ' ',
      '\t',
      ',',
      'Al B',
      'yes',
      '',
      '\n',
      '\r\n',
      '\n\n',
      '  \n',
      '"',
      '#',
      'é',
      '\r',
    );
    let simple = 0;
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const text = pieces.join('');
        const rows = simpleCsvRows(text);
        if (rows === undefined) return;
        simple++;
        expect(rows).toEqual(csvParse(text));
      }),
      { numRuns: 3000 },
    );
    expect(simple).toBeGreaterThan(300);
    for (const text of ['a,"b"\n', 'a # note\n', 'a\rb\n', 'a\r\nb\n', 'é,b\n'])
      expect(simpleCsvRows(text)).toBeUndefined();
  });
});
