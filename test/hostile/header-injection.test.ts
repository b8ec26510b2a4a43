/**
 * CR/LF through config values (subject prefix, display name, list name) or through a
 * poster's name never produces a new header field nor ends the header early: the list's
 * whole default pipeline runs, the result is parsed again, and its fields and body are
 * compared with what went in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSignal } from '../../src/errors.ts';
import { HeaderBlock } from '../../src/mail/header-block.ts';
import { createListMail, mailBytes } from '../../src/mail/list-mail.ts';
import createSingleList from '../../src/processors/single-list.ts';
import type { ListMail } from '../../src/types.ts';

const RUNS = Number(process.env.MALIST_PROPERTY_RUNS ?? 200);
const INJECTED = ['bcc', 'x-injected', 'content-type'];

/** A value that tries every way we know to end a line in a header. */
const hostile = fc.oneof(
  fc
    .tuple(
      fc.string({ maxLength: 8 }),
      fc.constantFrom('\r\n', '\n', '\r', '\r\n\r\n', '\n\n ', '\r\n \r\n', '\u2028', '\u0085'),
      fc.constantFrom(
        'Bcc: victim@example.com',
        'X-Injected: yes',
        'Content-Type: text/html',
        '\r\nfake body',
      ),
      fc.string({ maxLength: 8 }),
    )
    .map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

function encodedName(name: string): string {
  return `=?utf-8?B?${Buffer.from(name, 'utf8').toString('base64')}?=`;
}

function post(fromName: string, subject: string | Buffer, eol = '\r\n'): ListMail {
  const head = Buffer.from(
    `From: ${fromName} <alice@example.com>${eol}To: red@list.example.com${eol}Message-ID: <p1@example.com>${eol}Subject: `,
    'latin1',
  );
  return createListMail(
    Buffer.concat([
      head,
      Buffer.isBuffer(subject) ? subject : Buffer.from(subject, 'utf8'),
      Buffer.from(`${eol}${eol}the body${eol}`, 'latin1'),
    ]),
    { fetcher: 'test', id: '1' },
  );
}

/** The processed mail, re-parsed: its field names and body. */
function reparse(mail: ListMail) {
  const bytes = mailBytes(mail);
  const { header, bodyStart } = HeaderBlock.parse(bytes);
  return {
    names: header.fields.map((f) => f.name.toLowerCase()),
    body: bytes.subarray(bodyStart).toString('latin1'),
    edited: mail.header.fields.map((f) => f.name.toLowerCase()),
  };
}

async function runList(settings: Record<string, string>, mail: ListMail) {
  let list: ReturnType<typeof createSingleList>;
  try {
    list = createSingleList({
      name: 'red',
      address: 'red@list.example.com',
      members: ['alice@example.com', 'bob@example.com'],
      posting: 'open',
      ...settings,
    });
  } catch {
    return undefined; // refused at configuration time: nothing can be injected
  }
  try {
    return await list.process(mail);
  } catch (error) {
    if (isSignal(error)) return undefined;
    throw error;
  }
}

function expectClean(out: ListMail | undefined) {
  if (!out) return;
  const { names, body, edited } = reparse(out);
  expect(names).toEqual(edited);
  // A footer the body's charset cannot carry (a non-ASCII list name) is added by wrapping
  // the post in multipart/mixed: that Content-Type is the footer unit's own, not injected.
  const wrapped = /^multipart\/mixed; boundary="=_malist_/.test(
    out.header.get('Content-Type') ?? '',
  );
  for (const name of INJECTED)
    if (!(wrapped && name === 'content-type')) expect(names).not.toContain(name);
  // A footer may follow; the body must still start where the header really ended.
  expect(
    wrapped ? /^--=_malist_\S+\r?\n\r?\nthe body/.test(body) : body.startsWith('the body'),
  ).toBe(true);
  expect(out.ml_list ?? '').not.toMatch(/[\r\n]/);
  for (const r of out.ml_send_to ?? []) expect(r).not.toMatch(/[\r\n]/);
  expect(out.ml_sender ?? '').not.toMatch(/[\r\n]/);
}

describe('no header injection through config values', () => {
  it('subject_prefix (UTF-8 subject)', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (prefix) => {
        expectClean(await runList({ subject_prefix: prefix }, post('Alice', 'hello')));
      }),
      { numRuns: RUNS },
    );
  });

  it('subject_prefix (raw 8-bit subject, kept as bytes)', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (prefix) => {
        const subject = Buffer.from('Gr\xfc\xdfe \xff', 'latin1');
        expectClean(await runList({ subject_prefix: prefix }, post('Alice', subject)));
      }),
      { numRuns: RUNS },
    );
  });

  it('display_name and name', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, hostile, async (display, name) => {
        expectClean(await runList({ display_name: display }, post('Alice', 'hi')));
        expectClean(await runList({ name }, post('Alice', 'hi')));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("no header injection through a poster's name or subject", () => {
  it('encoded-word names and subjects that decode to CR/LF', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, hostile, async (name, subject) => {
        const mail = post(encodedName(name), encodedName(subject));
        expectClean(await runList({ subject_prefix: '[Red] ' }, mail));
      }),
      { numRuns: RUNS },
    );
  });

  it('a members list holding the post does not choke either', async () => {
    const mail = post(encodedName('Eve\r\nBcc: victim@example.com'), 'x');
    const list = createSingleList({
      name: 'red',
      address: 'red@list.example.com',
      members: ['bob@example.com'],
      posting: 'members',
    });
    await expect(list.process(mail)).rejects.toSatisfy(isSignal);
  });
});
