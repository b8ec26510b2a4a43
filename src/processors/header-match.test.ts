import { describe, expect, it } from 'vitest';
import { mailOf, redList } from '../../test/posting/corpus.ts';
import { Discard, Hold, Reject } from '../errors.ts';
import type { HeaderMatchRule } from './header-match.ts';
import createHeaderMatch, { MAX_VALUE, patternProblem } from './header-match.ts';

const unit = (rules: HeaderMatchRule[]) => createHeaderMatch(redList({ header_matches: rules }));
const nested = mailOf(
  [
    'From: a@x.example',
    'Subject: report',
    'Content-Type: multipart/mixed; boundary=o',
    '',
    '--o',
    'Content-Type: text/plain',
    '',
    'see attached',
    '--o',
    'Content-Type: multipart/alternative; boundary=i',
    '',
    '--i',
    'Content-Type: application/x-shockwave-flash; name="a.swf"',
    'X-Origin: =?utf-8?q?B=C3=B6se?=',
    '',
    'FWS',
    '--i--',
    '--o--',
    '',
  ].join('\n'),
);

describe('header-match', () => {
  it('checks the top-level header, case-insensitively, and the first match decides', async () => {
    const mail = () => mailOf('From: a@x.example\nX-Spam-Flag: YES\nSubject: buy\n\nx\n');
    await expect(
      unit([{ header: 'x-spam-flag', pattern: '^yes', action: 'discard' }]).process(mail()),
    ).rejects.toBeInstanceOf(Discard);
    await expect(
      unit([
        { header: 'Subject', pattern: 'buy', action: 'reject' },
        { header: 'X-Spam-Flag', pattern: 'yes', action: 'discard' },
      ]).process(mail()),
    ).rejects.toBeInstanceOf(Reject);
    const accepted = await unit([
      { header: 'From', pattern: '@x\\.example$', action: 'accept' },
      { header: 'X-Spam-Flag', pattern: 'yes', action: 'hold' },
    ]).process(mail());
    expect(accepted).toMatchObject({ ml_approved: 'header-match: From' });
  });

  it('checks the headers of nested MIME parts, encoded words decoded', async () => {
    const thrown = await unit([{ header: 'Content-Type', pattern: 'shockwave', action: 'hold' }])
      .process(nested)
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Hold);
    expect((thrown as Hold).reason).toMatch(/of a MIME part/);
    await expect(
      unit([{ header: 'X-Origin', pattern: 'böse', action: 'reject' }]).process(nested),
    ).rejects.toBeInstanceOf(Reject);
  });

  it('puts the site rules first', async () => {
    const rules: HeaderMatchRule[] = [
      { header: 'Subject', pattern: 'report', action: 'discard', site: true },
      { header: 'Subject', pattern: 'report', action: 'accept' },
    ];
    const thrown = await unit(rules)
      .process(nested)
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Discard);
    expect((thrown as Discard).reason).toMatch(/^site header rule/);
  });

  it('refuses bad patterns and runs any pattern in linear time on bounded input', async () => {
    expect(patternProblem('(unclosed')).toMatch(/missing/);
    expect(patternProblem('(a)\\1')).toBeDefined(); // no backreferences in RE2
    expect(patternProblem('^(a+)+$')).toBeUndefined();
    const long = mailOf(`From: a@x.example\nSubject: ${'a'.repeat(100_000)}!\n\nx\n`);
    // A backtracking engine would take longer than the universe's age here; RE2 does not.
    await expect(
      unit([{ header: 'Subject', pattern: '^(a+)+b$', action: 'hold' }]).process(long),
    ).resolves.toBeDefined();
    expect(MAX_VALUE).toBeLessThan(100_000);
  });
});

describe('header-match: padding cannot hide a header', () => {
  const padded = (parts: number, filler: number) =>
    mailOf(
      [
        'From: a@x.example',
        'Subject: padded',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        ...Array.from({ length: parts }, (_, i) => [
          '--b',
          'Content-Type: text/plain',
          `X-Filler: ${'a'.repeat(filler)}`,
          '',
          `part ${i}`,
        ]).flat(),
        '--b',
        'Content-Type: application/x-msdownload; name="evil.exe"',
        '',
        'MZ',
        '--b--',
        '',
      ].join('\n'),
    );

  it('past the budget of header text a reject rule counts as matched; an accept rule does not', async () => {
    // 20 parts of 8 KB filler: more X-Filler text than one rule reads (MAX_SCAN).
    const mail = padded(20, MAX_VALUE - 1);
    const reject = unit([{ header: 'X-Filler', pattern: 'never-there', action: 'reject' }]);
    await expect(reject.process(mail)).rejects.toThrow(/more MIME parts or header text/);
    const accept = unit([{ header: 'X-Filler', pattern: 'never-there', action: 'accept' }]);
    const passed = padded(20, MAX_VALUE - 1);
    await accept.process(passed);
    expect(passed.ml_approved).toBeUndefined();
    // Within the budget the banned part is found by its own rule as usual.
    const small = unit([{ header: 'Content-Type', pattern: 'x-msdownload', action: 'reject' }]);
    await expect(small.process(padded(3, 100))).rejects.toThrow(/x-msdownload/);
  });
});
