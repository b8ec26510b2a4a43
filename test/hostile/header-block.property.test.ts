/**
 * Hostile input for the header block: any bytes parse without an exception and come back
 * byte for byte; no edit (set, add, setRaw) ever makes a field of its own out of CR/LF in
 * a value; pathological headers parse in bounded time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../helpers/property-seed.ts';
import { HeaderBlock } from '../../src/mail/header-block.ts';
import { createListMail, mailBytes } from '../../src/mail/list-mail.ts';
import { cpuMs } from '../helpers/cpu-time.ts';

const RUNS = Number(process.env.MALIST_PROPERTY_RUNS ?? 500);
const b = (s: string) => Buffer.from(s, 'latin1');

/** Bytes that look like mail often enough to reach every branch of the parser. */
const mailish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'Subject: x',
        'From: A <a@x.example>',
        'From x@y Mon Jan  1 00:00:00 2024',
        'X-Obs  : obsolete',
        ' fold',
        '\tfold',
        'no colon here',
        '',
        ':empty name',
        '\ufeffSubject: bom',
        'Subject: caf\xe9',
      ),
      fc.string({ unit: 'binary', maxLength: 40 }),
    ),
    { maxLength: 12 },
  )
  .chain((lines) =>
    fc
      .array(fc.constantFrom('\r\n', '\n', '\r', '\r\r\n', ''), {
        minLength: lines.length,
        maxLength: lines.length,
      })
      .map((ends) => Buffer.from(lines.map((l, i) => l + ends[i]).join(''), 'utf8')),
  );

const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  mailish,
);

/** Field names as a fresh parse of `bytes` sees them. */
function names(bytes: Buffer): string[] {
  return HeaderBlock.parse(bytes).header.fields.map((f) => f.name.toLowerCase());
}

describe('HeaderBlock on arbitrary bytes', () => {
  it('parses without throwing and gives back the very same bytes', () => {
    fc.assert(
      fc.property(anyBytes, (raw) => {
        const mail = createListMail(raw, { fetcher: 'prop', id: '1' });
        expect(mailBytes(mail, { wire: false }).equals(raw)).toBe(true);
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('reads every field without throwing', () => {
    fc.assert(
      fc.property(anyBytes, (raw) => {
        const { header } = HeaderBlock.parse(raw);
        for (const f of header.fields) {
          header.get(f.name);
          header.getDecoded(f.name);
          header.getRaw(f.name);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('an unedited header re-parses to the same fields (wire form)', () => {
    fc.assert(
      fc.property(anyBytes, (raw) => {
        const mail = createListMail(raw, { fetcher: 'prop', id: '1' });
        // A headerless mail whose body starts with a BOM or a `From ` line after the mbox
        // line reads as a new prefix once the old one is gone: a parser convention, no field.
        fc.pre(mail.header.fields.length > 0);
        const wire = mailBytes(mail);
        expect(names(wire)).toEqual(mail.header.fields.map((f) => f.name.toLowerCase()));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('edits never create a field through CR/LF', () => {
  const hostileValue = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 120 }),
    fc
      .tuple(
        fc.string({ maxLength: 10 }),
        fc.constantFrom('\r\n', '\n', '\r', '\r\n\r\n', '\n\n ', '\r\n \r\n', '\n\t\n'),
        fc.constantFrom('Bcc: victim@example.com', ' ', '\t', '', 'X-Evil: 1', 'body'),
        fc.string({ maxLength: 10 }),
      )
      .map((parts) => parts.join('')),
  );
  const message = fc.constantFrom(
    'A: 1\r\nSubject: x\r\nB: 2\r\n\r\nbody\r\n',
    'A: 1\nSubject: x\nB: 2\n\nbody\n',
    'Subject: caf\xe9 \xff\r\n\r\nbody\r\n',
    'Subject: \xff\xfe\nX: y\n\nbody',
    'From x@y Mon Jan  1 00:00:00 2024\nA: 1\n\n',
    'A: 1',
    'body only, no header\r\n',
  );

  it('set / add with any value: the same fields re-parse, in order', () => {
    fc.assert(
      fc.property(
        message,
        hostileValue,
        fc.constantFrom('set', 'add', 'prepend'),
        (text, value, how) => {
          const mail = createListMail(b(text), { fetcher: 'prop', id: '1' });
          if (how === 'set') mail.header.set('Subject', value);
          else mail.header.add('X-Added', value, how === 'add' ? 'append' : 'prepend');
          const expected = mail.header.fields.map((f) => f.name.toLowerCase());
          expect(names(mailBytes(mail))).toEqual(expected);
          expect(HeaderBlock.parse(mailBytes(mail)).header.getAll('Bcc')).toEqual([]);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('setRaw with any bytes: the same fields re-parse, in order', () => {
    fc.assert(
      fc.property(message, hostileValue, (text, value) => {
        const mail = createListMail(b(text), { fetcher: 'prop', id: '1' });
        mail.header.setRaw('Subject', b(value));
        const expected = mail.header.fields.map((f) => f.name.toLowerCase());
        expect(names(mailBytes(mail))).toEqual(expected);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('bounded time on pathological headers', () => {
  /** CPU time, not wall time: the bound must hold however loaded the machine is. */
  const LIMIT_MS = 2_000;
  const timed = (label: string, raw: Buffer, work: (raw: Buffer) => void) => {
    const ms = cpuMs(() => work(raw));
    process.stdout.write(
      `hostile header ${label}: ${raw.length} bytes in ${ms.toFixed(0)} ms of CPU\n`,
    );
    expect(ms, label).toBeLessThan(LIMIT_MS);
  };
  const readAll = (raw: Buffer) => {
    const mail = createListMail(raw, { fetcher: 'prop', id: '1' });
    for (const f of mail.header.fields) {
      mail.header.get(f.name);
      mail.header.getDecoded(f.name);
    }
    mail.header.set('Subject', `[Red] ${mail.header.get('Subject') ?? ''}`);
    mailBytes(mail);
  };

  it('a 100k-character header line', () => {
    timed('100k line', b(`Subject: ${'x'.repeat(100_000)}\r\n\r\nbody\r\n`), readAll);
  });
  it('a 1M-character header line without spaces or line end', () => {
    timed('1M no eol', b(`Subject: ${'=?utf-8?q?'.repeat(100_000)}`), readAll);
  });
  it('10k fold lines in one field', () => {
    timed('10k folds', b(`Subject: a${'\r\n b'.repeat(10_000)}\r\n\r\nbody\r\n`), readAll);
  });
  it('50k fields', () => {
    timed('50k fields', b(`${'X-A: 1\n'.repeat(50_000)}\nbody\n`), readAll);
  });
  it('10k broken (unindented) continuation lines', () => {
    timed('10k broken folds', b(`A: 1\n${'junk\nB: 2\n'.repeat(10_000)}\nbody\n`), readAll);
  });
  it('20k encoded words in a subject', () => {
    timed('20k encoded words', b(`Subject: ${'=?utf-8?B?w6k=?= '.repeat(20_000)}\n\n`), readAll);
  });
  it('a million bare CRs', () => {
    timed('1M CR', b(`Subject: x${'\r'.repeat(1_000_000)}\n\n`), readAll);
  });
});

describe('regressions found by the properties above', () => {
  it('a header-only message without a final line ending comes back byte for byte', () => {
    const raw = b('Subject: x\r\nX-Last: no newline');
    expect(mailBytes(createListMail(raw, { fetcher: 't', id: '1' }), { wire: false })).toEqual(raw);
  });
  it('an added field after such a last field still starts on its own line', () => {
    const mail = createListMail(b('Subject: x'), { fetcher: 't', id: '1' });
    mail.header.add('List-Id', '<red.list.example.com>');
    expect(mailBytes(mail).toString()).toBe('Subject: x\nList-Id: <red.list.example.com>\n');
  });
  it('setRaw cannot end the header with an empty line ("\\n\\n " once did)', () => {
    const mail = createListMail(b('A: 1\r\nSubject: x\r\nB: 2\r\n\r\nbody\r\n'), {
      fetcher: 't',
      id: '1',
    });
    mail.header.setRaw('Subject', b('[R\n\n ed] \xff'));
    expect(names(mailBytes(mail))).toEqual(['a', 'subject', 'b']);
  });
});
