import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { splitQuoted } from './quote.ts';

const bodyOf = (file: string) => {
  const raw = readFileSync(
    new URL(`../../test/fixtures/archive/intl/${file}`, import.meta.url),
    'utf8',
  );
  return raw.slice(raw.indexOf('\n\n') + 2);
};

describe('splitQuoted', () => {
  it('puts quotes, the attribution before them and the signature aside', () => {
    const text =
      'I agree.\n\nOn Tue, Sep 25, 2012 at 8:59 AM, Chris Wanstrath\n<chris@example.com>wrote:\n\n> Steps 0-2 are in prod.\n>\n\nThanks\n-- \nAlice\n';
    const split = splitQuoted(text);
    expect(split.own.replace(/\n+/g, ' ')).toBe('I agree. Thanks');
    expect(split.quoted).toContain('Chris Wanstrath');
    expect(split.quoted).toContain('Steps 0-2');
    expect(split.quoted).toContain('Alice');
  });

  it('reads attributions in the languages of real replies (German over two lines, Danish)', () => {
    const german = splitQuoted(bodyOf('04-reply-german.eml'));
    expect(german.own).toBe('This is a reply with German quote multiline');
    expect(german.quoted).toContain('schrieb Rick Sanchez');
    const danish = splitQuoted(bodyOf('05-reply-danish.eml'));
    expect(danish.own).toBe('This is text from gmail set up with danish locale');
    expect(danish.quoted).toContain('skrev John Doe');
  });

  it('takes an Outlook original and everything after it as quoted', () => {
    const split = splitQuoted(
      'Try -matte.\n\n-----Original Message-----\nFrom: Steve\nSubject: x\n\nold text\n',
    );
    expect(split.own).toBe('Try -matte.');
    expect(split.quoted).toContain('old text');
  });

  it('keeps prose that merely ends in a colon', () => {
    const split = splitQuoted(
      'Here is my list of points that I think matter\nand it goes on\nfor a while\nand ends:\n\n> a quote\n',
    );
    expect(split.own).toContain('Here is my list');
    expect(split.quoted).toContain('ends:');
  });
});
